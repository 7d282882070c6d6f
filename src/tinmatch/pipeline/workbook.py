"""``result.xlsx``: the result tables as sheets, and a summary sheet with a chart (contract §3).

Built in xlsxwriter's constant-memory mode from the tables' staged CSVs (memory stays bounded;
rows go through :class:`~tinmatch.pipeline.xlsx_adapter.FastRows`); a table longer than Excel's
row limit continues in ``name_2``, ``name_3``... No cell becomes a formula, URL or number that
was not one: every text cell is neutralized and the string conversions are off.

The workbook is reproducible: with ``SOURCE_DATE_EPOCH`` set, ``generated_at`` and the
document's creation date are that time, and the same input gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

from tinmatch.neutralize import neutralize_cell
from tinmatch.pipeline.xlsx_adapter import EXCEL_MAX_CHARS, FastRows
from tinmatch.settings import SOURCE_DATE_EPOCH

EXCEL_MAX_ROWS = 1_048_576


class SheetSource(Protocol):
    """A table to write as a sheet: its name, header, which columns are numbers, and its rows
    (as text; an empty string is an empty cell)."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def numeric(self) -> list[bool]: ...

    def read_back(self) -> Iterator[list[str]]: ...


def generated_at() -> dt.datetime:
    """Now (UTC, whole seconds), or ``SOURCE_DATE_EPOCH`` when set (reproducible output)."""
    epoch = (SOURCE_DATE_EPOCH.text() or "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def write_workbook(
    path: Path,
    tables: Sequence[SheetSource],
    summary: list[tuple[str, object]],
    *,
    tmpdir: Path,
) -> None:
    """Write `tables` as sheets and `summary` (key/value rows) as the sheet ``summary``, with a
    bar chart of its ``reason.*`` rows, to `path`. `tmpdir` holds xlsxwriter's row files."""
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "tmpdir": str(tmpdir),
    }
    workbook = xlsxwriter.Workbook(str(path), options)
    created = dict(summary).get("generated_at")
    when = generated_at()
    if isinstance(created, str):
        try:
            when = dt.datetime.fromisoformat(created)
        except ValueError:
            pass
    workbook.set_properties({"created": when.replace(tzinfo=None)})
    bold = workbook.add_format({"bold": True})
    for table in tables:
        _write_sheets(workbook, table, bold)
    sheet = workbook.add_worksheet("summary")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 66)
    sheet.write_row(0, 0, ("key", "value"), bold)
    reason_rows = []
    for index, (key, value) in enumerate(summary, start=1):
        sheet.write_string(index, 0, excel_text(key))
        if isinstance(value, int | float) and not isinstance(value, bool):
            sheet.write_number(index, 1, value)
        else:
            sheet.write_string(index, 1, excel_text(_text(value)))
        if key.startswith("reason."):
            reason_rows.append(index)
    if reason_rows:
        chart = workbook.add_chart({"type": "bar"})
        first, last = reason_rows[0], reason_rows[-1]
        chart.add_series({
            "name": "rows by reason",
            "categories": ["summary", first, 0, last, 0],
            "values": ["summary", first, 1, last, 1],
        })
        chart.set_title({"name": "Rows by reason"})
        chart.set_legend({"none": True})
        sheet.insert_chart(1, 3, chart)
    workbook.close()


def _write_sheets(workbook: Any, table: SheetSource, bold: Any) -> None:
    """Stream a table's rows into its sheet (continued in ``name_2``... past Excel's row limit)."""
    part, sheet, row = 1, None, EXCEL_MAX_ROWS
    rows: FastRows | None = None
    for record in _with_sentinel(table.read_back()):
        if sheet is None or row >= EXCEL_MAX_ROWS:
            if rows is not None:
                rows.finish()
            sheet = workbook.add_worksheet(table.name if part == 1 else f"{table.name}_{part}")
            sheet.write_row(0, 0, table.columns, bold)
            rows = FastRows(sheet, table.numeric, excel_text)
            part, row = part + 1, 1
        if record is None:
            break
        assert rows is not None
        rows.write(row, record)
        row += 1
    if rows is not None:
        rows.finish()


def _with_sentinel(rows: Iterator[list[str]]) -> Iterator[list[str] | None]:
    """The rows, then None (so an empty table still gets its sheet and header)."""
    yield from rows
    yield None


def excel_text(value: str) -> str:
    """A text cell as the workbook holds it: neutralized, cut to Excel's limit."""
    return str(neutralize_cell(value))[:EXCEL_MAX_CHARS]


def _text(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(_text(v) for v in value)
    return "" if value is None else str(value)
