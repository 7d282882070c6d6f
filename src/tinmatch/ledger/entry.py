"""One ledger entry (one leaf of the Merkle log), its kind, and the canonical bytes of its leaf.

Kinds
-----
Every entry has a ``kind`` (the ``entry_type`` field), one of :data:`KINDS`. Adding a kind is one
line in ``KINDS``; the Store method that writes it builds the entry with
:meth:`LedgerEntry.event` (or the full constructor for per-row kinds) and passes it to
``ops.chain.append`` -- the leaf encoding, the tree, checkpoints and proofs need no change.
Put what is particular to the kind in ``detail`` (a JSON object) and, for anything that leaves
the agency, the values themselves in ``values``.

Leaf bytes (version 1)
----------------------
The leaf of an entry is its canonical JSON (docs/ledger.md): a JSON object with exactly the keys
``v`` (1), ``seq``, ``kind``, ``request_id``, ``agency``, ``official``, ``record_id``, ``tin``,
``fields_released`` (list of names), ``values`` (object: what was disclosed, e.g. street, line2,
city, state, zip, tax_year), ``tax_year``, ``match_probability``, ``agreement_id``,
``agreement_sha256``, ``model_sha256``, ``statute``, ``case_number``, ``reviewer``, ``note``,
``recalls_seq``, ``created_at``, ``released_at``, ``detail``; keys sorted by code point at every
depth, no whitespace, UTF-8 without escaping non-ASCII, numbers as integers or the shortest
decimal that round-trips an IEEE double, timestamps ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC).
``seq`` is the leaf index plus one, so an entry moved to another position no longer matches its
leaf. The leaf hash is RFC 9162's ``SHA-256(0x00 || leaf)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from tinmatch.ledger.merkle import leaf_hash

LEAF_VERSION = 1

KINDS: dict[str, str] = {
    "disclosure": "a row released to a requesting agency (values: what left)",
    "recall": "a released disclosure withdrawn (recalls_seq: the disclosure's seq)",
    "withheld": "a row a reviewer kept back from a release (note: why)",
    "review": "a reviewer's decision on a request (detail: outcome, rows)",
    "suspension": "an agreement or agency suspended (detail: scope, why)",
    "resumption": "a suspension lifted (detail: scope, why)",
    "agreement_registration": "an agreement registered (detail: sha256, approvers)",
}
"""Every kind of entry the ledger accepts, and what it records. One line per kind."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of the append-only ledger: a disclosed row, a recall, or another event.

    `created_at` is when the entry was written; `released_at` when the data left the agency
    (for a recall: the release time of the disclosure it recalls, `recalls_seq`). `seq` is
    assigned by the append (1 for the first leaf); `leaf_hash` is filled on append and read.
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
    values: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    leaf_hash: bytes = b""

    @classmethod
    def event(
        cls,
        kind: str,
        *,
        at: datetime,
        detail: dict[str, Any],
        agency: str = "",
        agreement_id: str = "",
        request_id: str = "",
        reviewer: str = "",
        note: str = "",
    ) -> LedgerEntry:
        """An entry that records an event rather than a disclosed row (a suspension, an
        agreement registration, a review decision): the per-row fields are left empty."""
        return cls(
            seq=0,
            entry_type=kind,
            request_id=request_id,
            agency=agency,
            official="",
            record_id="",
            tin="",
            fields_released=(),
            tax_year=None,
            match_probability=None,
            agreement_id=agreement_id,
            agreement_sha256="",
            model_sha256=None,
            statute="",
            case_number="",
            reviewer=reviewer,
            note=note,
            recalls_seq=None,
            created_at=at,
            released_at=at,
            detail=detail,
        )

    @property
    def kind(self) -> str:
        return self.entry_type

    @property
    def leaf_index(self) -> int:
        return self.seq - 1

    def leaf(self) -> bytes:
        """The canonical bytes of this entry's leaf."""
        return leaf_bytes(self)

    def with_leaf_hash(self) -> LedgerEntry:
        return replace(self, leaf_hash=leaf_hash(leaf_bytes(self)))

    def as_dict(self) -> dict[str, Any]:
        """The leaf's fields as JSON-able values (plus `leaf_hash`, hex)."""
        return leaf_fields(self) | {"leaf_hash": self.leaf_hash.hex()}


def utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@lru_cache(maxsize=64)
def timestamp(value: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC (cached: a release's entries share their times)."""
    return utc(value).strftime(TIMESTAMP_FORMAT)


def leaf_fields(entry: LedgerEntry) -> dict[str, Any]:
    """The object the leaf encodes (see the module docstring)."""
    return {
        "v": LEAF_VERSION,
        "seq": entry.seq,
        "kind": entry.entry_type,
        "request_id": entry.request_id,
        "agency": entry.agency,
        "official": entry.official,
        "record_id": entry.record_id,
        "tin": entry.tin,
        "fields_released": list(entry.fields_released),
        "values": dict(entry.values),
        "tax_year": entry.tax_year,
        "match_probability": (
            None if entry.match_probability is None else float(entry.match_probability)
        ),
        "agreement_id": entry.agreement_id,
        "agreement_sha256": entry.agreement_sha256,
        "model_sha256": entry.model_sha256,
        "statute": entry.statute,
        "case_number": entry.case_number,
        "reviewer": entry.reviewer,
        "note": entry.note,
        "recalls_seq": entry.recalls_seq,
        "created_at": timestamp(entry.created_at),
        "released_at": timestamp(entry.released_at),
        "detail": dict(entry.detail),
    }


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII as is; NaN and infinities refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def leaf_bytes(entry: LedgerEntry) -> bytes:
    return canonical_json(leaf_fields(entry)).encode("utf-8")
