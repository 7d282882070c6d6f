"""One ledger entry, and the canonical form its hash is computed over."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""

ENTRY_TYPES = ("disclosure", "recall")


@dataclass(frozen=True)
class LedgerEntry:
    """One disclosed row (or the recall of one), as stored in the append-only ledger.

    `created_at` is when the entry was written; `released_at` when the data left the agency
    (for a recall: the release time of the disclosure it recalls, `recalls_seq`).
    """

    seq: int
    entry_type: str
    request_id: str
    agency: str
    official: str
    record_id: str
    tin: str
    fields_released: tuple[str, ...]
    tax_year: int | None
    match_probability: float | None
    agreement_id: str
    agreement_sha256: str
    model_sha256: str | None
    statute: str
    case_number: str
    reviewer: str
    note: str
    recalls_seq: int | None
    created_at: datetime
    released_at: datetime
    prev_hash: str
    entry_hash: str = ""

    def with_hash(self) -> LedgerEntry:
        """This entry with `entry_hash` computed from its other fields."""
        return replace(self, entry_hash=compute_hash(self))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (lists, ISO-8601 UTC timestamps)."""
        return canonical_fields(self) | {"entry_hash": self.entry_hash}


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(LedgerEntry))


def utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def canonical_fields(entry: LedgerEntry) -> dict[str, Any]:
    """Every field but `entry_hash`, as JSON-able values in a stable form."""
    data = asdict(entry)
    del data["entry_hash"]
    data["fields_released"] = list(entry.fields_released)
    data["created_at"] = utc(entry.created_at).isoformat()
    data["released_at"] = utc(entry.released_at).isoformat()
    if entry.match_probability is not None:
        data["match_probability"] = float(entry.match_probability)
    return data


def canonical_json(entry: LedgerEntry) -> str:
    """Sorted keys, no whitespace, UTF-8: the exact text that is hashed."""
    return json.dumps(
        canonical_fields(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def compute_hash(entry: LedgerEntry) -> str:
    """sha256 (hex) of the entry's canonical JSON, which includes `seq` and `prev_hash`."""
    return hashlib.sha256(canonical_json(entry).encode("utf-8")).hexdigest()
