"""``result.xlsx``: a summary sheet with a chart, then the result tables as sheets (contract §3).

A workbook the requester can use: the summary comes first; every data sheet has its header row
frozen, a filter on every column and columns as wide as their contents (within reason); the
summary's timestamps are date cells; and the requester's own columns (those of the request that
are not the contract's, :class:`Echo`) are echoed beside each row, after the fixed columns, under
a header of their own colour (never in the CSVs, whose columns are fixed by the contract).

Built in xlsxwriter's constant-memory mode from the tables' staged CSVs (memory stays bounded;
rows go through :class:`~tinmatch.pipeline.xlsx_adapter.FastRows`); a table longer than Excel's
row limit continues in ``name_2``, ``name_3``... No cell becomes a formula, URL or number that
was not one: every text cell is neutralized and the string conversions are off.

The workbook is reproducible: with ``SOURCE_DATE_EPOCH`` set, ``generated_at`` and the
document's creation date are that time, and the same input gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

from tinmatch.neutralize import neutralize_cell
from tinmatch.pipeline.xlsx_adapter import EXCEL_MAX_CHARS, FastRows
from tinmatch.settings import SOURCE_DATE_EPOCH

EXCEL_MAX_ROWS = 1_048_576
MIN_WIDTH, MAX_WIDTH = 8, 60
#: Summary keys whose ISO timestamps are written as date cells.
DATE_KEYS = ("generated_at", "reviewed_at", "released_at", "decided_at", "received_at")


@dataclass
class Echo:
    """The requester's own columns, by record_id: echoed beside each row of every data sheet.

    A record_id that occurs on several rows of the request (they are rejected
    ``duplicate_record_id``) shows the first row's values."""

    columns: list[str]
    rows: Mapping[str, list[str]] = field(default_factory=dict)

    def values(self, record_id: str) -> list[str]:
        return list(self.rows.get(record_id) or [""] * len(self.columns))


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
    echo: Echo | None = None,
) -> None:
    """Write `summary` (key/value rows) as the first sheet, ``summary``, with a bar chart of its
    ``reason.*`` rows, and `tables` as sheets after it, to `path`. `tmpdir` holds xlsxwriter's
    row files; `echo` the requester's own columns to show beside each row."""
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
    bold = workbook.add_format({"bold": True, "bottom": 1})
    own = workbook.add_format({"bold": True, "italic": True, "bottom": 1, "bg_color": "#EDEDED"})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", "align": "left"})
    sheet = workbook.add_worksheet("summary")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 66)
    sheet.write_row(0, 0, ("key", "value"), bold)
    sheet.freeze_panes(1, 0)
    reason_rows = []
    for index, (key, value) in enumerate(summary, start=1):
        sheet.write_string(index, 0, excel_text(key))
        moment = _timestamp(key, value)
        if moment is not None:
            sheet.write_datetime(index, 1, moment, stamp)
        elif isinstance(value, int | float) and not isinstance(value, bool):
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
    for table in tables:
        _write_sheets(workbook, table, (bold, own), echo)
    workbook.close()


class _Sheet:
    """One data sheet being streamed: its rows, and the widths its cells need."""

    def __init__(
        self, workbook: Any, name: str, columns: Sequence[str], n_own: int,
        numeric: list[bool], formats: tuple[Any, Any],
    ) -> None:  # fmt: skip
        self.sheet = workbook.add_worksheet(name)
        fixed = len(columns) - n_own
        for col, title in enumerate(columns):
            self.sheet.write_string(0, col, excel_text(title), formats[col >= fixed])
        self.rows = FastRows(self.sheet, numeric, excel_text)
        self.widths = [len(c) + 2 for c in columns]
        self.last = 0

    def write(self, row: int, record: list[str]) -> None:
        self.rows.write(row, record)
        widths = self.widths
        for col, value in enumerate(record):
            if len(value) >= widths[col]:
                widths[col] = len(value) + 1
        self.last = row

    def finish(self) -> None:
        self.rows.finish()
        sheet = self.sheet
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(self.last, 1), len(self.widths) - 1)
        for col, width in enumerate(self.widths):
            sheet.set_column(col, col, max(MIN_WIDTH, min(MAX_WIDTH, width)))


def _write_sheets(
    workbook: Any, table: SheetSource, formats: tuple[Any, Any], echo: Echo | None
) -> None:
    """Stream a table's rows into its sheet (continued in ``name_2``... past Excel's row limit),
    each row followed by the requester's own columns when `echo` has any."""
    own = echo.columns if echo is not None and echo.columns else []
    columns = [*table.columns, *own]
    numeric = [*table.numeric, *([False] * len(own))]
    key = table.columns.index("record_id") if own and "record_id" in table.columns else None
    part, row = 1, EXCEL_MAX_ROWS
    sheet: _Sheet | None = None
    for record in _with_sentinel(table.read_back()):
        if sheet is None or row >= EXCEL_MAX_ROWS:
            if sheet is not None:
                sheet.finish()
            name = table.name if part == 1 else f"{table.name}_{part}"
            sheet = _Sheet(workbook, name, columns, len(own), numeric, formats)
            part, row = part + 1, 1
        if record is None:
            break
        if own:
            extra = echo.values(record[key]) if echo is not None and key is not None else []
            record = [*record, *(extra or [""] * len(own))]
        sheet.write(row, record)
        row += 1
    if sheet is not None:
        sheet.finish()


def _timestamp(key: str, value: object) -> dt.datetime | None:
    """A summary timestamp as a (naive, UTC) datetime for a date cell, else None."""
    if not key.endswith(DATE_KEYS) or not isinstance(value, str | dt.datetime):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


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
