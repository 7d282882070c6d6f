"""Write the ledger as CSV, one row per entry, every field (text neutralized against
spreadsheet formula injection)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from tinmatch.ledger.entry import FIELD_NAMES, LedgerEntry


def _cell(name: str, value: Any, neutralize: Callable[[str], str]) -> str:
    if value is None:
        return ""
    if name == "fields_released":
        return json.dumps(list(value))
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
        writer.writerow([_cell(name, row[name], neutralize) for name in FIELD_NAMES])
        n += 1
    return n
