"""Write the ledger out: as CSV (one row per entry, every field, text neutralized against
spreadsheet formula injection) or as JSON Lines (one leaf per line, byte for byte: what an
outside verifier re-hashes, see tools/verify_ledger.py)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TextIO

from tinmatch.ledger.entry import LedgerEntry, canonical_json, leaf_bytes

FIELD_NAMES: tuple[str, ...] = (
    "seq",
    "entry_type",
    "request_id",
    "agency",
    "official",
    "record_id",
    "tin",
    "fields_released",
    "values",
    "tax_year",
    "match_probability",
    "agreement_id",
    "agreement_sha256",
    "model_sha256",
    "statute",
    "case_number",
    "reviewer",
    "note",
    "recalls_seq",
    "created_at",
    "released_at",
    "detail",
    "leaf_hash",
)


def _cell(value: Any, neutralize: Callable[[str], str]) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return neutralize(canonical_json(value))
    return neutralize(value) if isinstance(value, str) else str(value)


def write_csv(entries: Iterable[LedgerEntry], out: TextIO) -> int:
    """Write a header and one row per entry to `out`; return the number of entries written."""
    # imported here: tinmatch.pipeline pulls in the linkage stack, which `import` need not pay
    from tinmatch.neutralize import neutralize

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELD_NAMES)
    n = 0
    for entry in entries:
        row = entry.as_dict()
        row["entry_type"] = row.pop("kind")
        writer.writerow([_cell(row[name], neutralize) for name in FIELD_NAMES])
        n += 1
    return n


def write_jsonl(entries: Iterable[LedgerEntry], out: BinaryIO) -> int:
    """Each entry's leaf bytes followed by a newline (a leaf never contains one)."""
    n = 0
    for entry in entries:
        out.write(leaf_bytes(entry) + b"\n")
        n += 1
    return n


def read_jsonl_line(line: bytes) -> dict[str, Any]:
    """One exported leaf, parsed (for tests and tools that read an export back)."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("an exported leaf is a JSON object")
    return value
