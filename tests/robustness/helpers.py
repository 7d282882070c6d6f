"""Shared helpers: a valid request row, request files in every shape, read + validate in one go."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd

from tinmatch.agreement import Agreement
from tinmatch.pipeline.read import duplicate_ids, read_request
from tinmatch.pipeline.validate import ValidationContext, validate

TODAY = dt.date(2026, 6, 1)
ALLOWED_YEARS = (2019, 2025)
HEADER = (
    "record_id", "first_name", "last_name", "street", "city", "state", "zip",
    "removal_order_date", "criminal_statute", "case_number", "tax_periods",
)  # fmt: skip


def good_row(record_id: str = "r1", **changes: str) -> dict[str, str]:
    row = {
        "record_id": record_id, "first_name": "Ann", "last_name": "Lee",
        "street": "12 Elm St", "city": "Boston", "state": "MA", "zip": "02134",
        "removal_order_date": "2024-01-05", "criminal_statute": "8 U.S.C. 1326",
        "case_number": "C-1", "tax_periods": "2024",
    }  # fmt: skip
    row.update(changes)
    return row


def csv_text(rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # \r\n endings: a lone \r in a cell is then quoted
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue()


@dataclass
class Outcome:
    """What the reader and validator made of a file: rows split, or a whole-file error."""

    rows: int = 0
    valid: pd.DataFrame | None = None
    rejected: pd.DataFrame | None = None
    error: str | None = None

    def reasons(self, record_id: str) -> set[str]:
        assert self.rejected is not None
        found = self.rejected[self.rejected["record_id"] == record_id]
        return {c for codes in found["reason_codes"] for c in codes.split(";")}

    def valid_ids(self) -> list[str]:
        assert self.valid is not None
        return [str(v) for v in self.valid["record_id"]]


def run_file(path: Path, agreement: Agreement | None = None, chunk_rows: int = 50_000) -> Outcome:
    """Read and validate ``path`` like ``process`` does (no master needed)."""
    from tinmatch.errors import InputFileError

    agreement = agreement or Agreement.load()
    limits = agreement.limits
    try:
        reader = read_request(
            path,
            required_columns=agreement.request.required_columns,
            chunk_rows=chunk_rows,
            max_cell_chars=limits.max_cell_chars,
            max_file_bytes=limits.max_file_bytes,
        )
        ids = reader.record_ids()
    except InputFileError as exc:
        return Outcome(error=str(exc))
    ctx = ValidationContext(
        allowed_years=ALLOWED_YEARS,
        today=TODAY,
        duplicate_ids=duplicate_ids(ids),
        remaining_quota=limits.max_rows_per_request,
    )
    valid, rejected = [], []
    rows = 0
    for chunk in reader:
        rows += len(chunk)
        ok, bad = validate(chunk, agreement, ctx)
        valid.append(ok)
        rejected.append(bad)
    return Outcome(rows, pd.concat(valid, ignore_index=True),
                   pd.concat(rejected, ignore_index=True))


# Judged on the literal text, independently of tinmatch.neutralize (a test that asked neutralize
# whether its own output is safe could not fail when neutralize is broken).
_LIVE_FIRST = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"  # zero-width: some importers strip them
_LIVE_DDE = re.compile(r"\w+\s*\|.*!", re.DOTALL)


def dangerous(text: str) -> bool:
    """Would a spreadsheet read ``text`` as live? (A leading quote is the known prefix.)"""
    if text.startswith("'"):
        return False
    if text[:1] and text[0] in _LIVE_FIRST:
        return True
    rest = text
    while rest[:1] and (rest[0].isspace() or rest[0] in _INVISIBLE):
        rest = rest[1:]
    if rest[:1] and rest[0] in _LIVE_FIRST:
        return True
    return bool(_LIVE_DDE.search(text))


def assert_inert(out: Path) -> int:
    """Check every CSV and XLSX cell; return how many text cells were looked at."""
    seen = 0
    for name in ("matched", "rejected", "unmatched"):
        with (out / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            for record in csv.reader(handle):
                for value in record:
                    assert not dangerous(value), (name, value)
                    seen += 1
    book = openpyxl.load_workbook(out / "result.xlsx")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None, (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not dangerous(cell.value), (sheet.title, cell.coordinate, cell.value)
                    seen += 1
    with zipfile.ZipFile(out / "result.xlsx") as archive:
        names = archive.namelist()
        assert not [n for n in names if "externalLink" in n or "vbaProject" in n]
        for sheet_xml in (n for n in names if n.startswith("xl/worksheets/")):
            xml = archive.read(sheet_xml).decode()
            assert not re.search(r"<f[ >]", xml), sheet_xml
            assert "<hyperlink" not in xml, sheet_xml
    return seen
