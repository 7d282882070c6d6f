"""Write the result: matched, rejected and unmatched CSVs plus ``result.xlsx`` (contract §3).

Chunks are appended to files in a hidden staging folder inside the output folder (memory stays
bounded); ``close`` builds the workbook in constant-memory mode and moves every file into place
with ``os.replace``, so a run that fails or is killed half way leaves no partial file under a
final name. ``close`` first removes an older ``result.xlsx``, then publishes the three CSVs, then
``result.xlsx`` last: when ``result.xlsx`` exists, the CSVs beside it are from the same run.
Staging folders left by a killed run are removed by the next writer in the same folder.

The workbook is reproducible: with ``SOURCE_DATE_EPOCH`` set, ``generated_at`` and the document's
creation date are that time, and the same input gives byte-identical files.
Every text cell is neutralized against formula injection, and ``add_matched`` refuses any
column the agreement does not disclose.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import numbers
import os
import re
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tinmatch.agreement import DISCLOSABLE_FIELDS
from tinmatch.errors import TinmatchError
from tinmatch.neutralize import neutralize, neutralize_cell
from tinmatch.report import REJECT_REASONS, UNMATCHED_REASONS

HELD_COLUMNS = ("record_id",)
REJECTED_COLUMNS = ("record_id", "reason_codes", "fields", "message")
UNMATCHED_COLUMNS = ("record_id", "reason_code", "message")
NUMERIC_COLUMNS = frozenset({"tax_year", "match_probability"})
INTERNAL_COLUMNS = frozenset({"_row"})
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
STAGING_PREFIX = ".tinmatch-partial-"
#: Test hook: when this environment variable names a crash point (see ``_crash_point``), the
#: process kills itself there with SIGKILL, as ``kill -9`` would. Only the crash tests set it.
CRASH_ENV = "TINMATCH_TEST_CRASH_AT"
CRASH_POINTS = (
    "first_chunk", "before_publish", "after_first_csv", "before_xlsx", "after_publish",
)


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def generated_at() -> dt.datetime:
    """Now (UTC, whole seconds), or ``SOURCE_DATE_EPOCH`` when set (reproducible output)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove staging folders of writers that are no longer running; return what was removed."""
    removed: list[Path] = []
    for entry in out_dir.glob(f"{STAGING_PREFIX}*"):
        pid_text = entry.name[len(STAGING_PREFIX):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DisclosureGuardError(TinmatchError):
    """Something tried to write a column the agreement does not disclose."""


@dataclass(frozen=True)
class ResultPaths:
    matched: Path
    rejected: Path
    unmatched: Path
    xlsx: Path
    counts: Mapping[str, int] = field(default_factory=dict)


def matched_columns(disclosed_fields: Sequence[str]) -> tuple[str, ...]:
    """``record_id``, the disclosed fields in contract order, then ``match_probability``."""
    named = set(disclosed_fields)
    return ("record_id", *(f for f in DISCLOSABLE_FIELDS if f in named), "match_probability")


def _number(value: object, column: str) -> int | float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if column == "tax_year":
        return int(float(str(value)))
    probability = float(str(value))
    if not 0.0 <= probability <= 1.0:
        raise DisclosureGuardError(f"match_probability {probability} is outside [0, 1]")
    return probability


class _Table:
    """One output table: a header and rows appended to a temporary CSV."""

    def __init__(
        self,
        out_dir: Path,
        name: str,
        columns: Sequence[str],
        staging: Path | None = None,
        numbers_anywhere: bool = False,
    ) -> None:
        self.name = name
        self.columns = tuple(columns)
        self.numbers_anywhere = numbers_anywhere
        self.final = out_dir / f"{name}.csv"
        temp_dir = staging or out_dir
        fd, temp = tempfile.mkstemp(dir=temp_dir, prefix=f".{name}.", suffix=".csv.tmp")
        self.temp = Path(temp)
        self.handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(self.columns)
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        data: dict[str, list[Any]] = {}
        for column in self.columns:
            values = frame[column] if column in frame else pd.Series([None] * len(frame))
            if column in NUMERIC_COLUMNS:
                data[column] = [_number(v, column) for v in values]
            else:
                data[column] = _cells(values, self.numbers_anywhere)
        self.writer.writerows(zip(*(data[c] for c in self.columns), strict=True))
        self.rows += len(frame)
        if len(frame):
            _crash_point("first_chunk")

    def finish(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()

    def read_back(self) -> Iterator[list[str]]:
        with self.temp.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            yield from reader

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.temp.unlink(missing_ok=True)


class ResultWriter:
    """Collect result chunks, then ``close`` to publish every file at once.

    With ``held=True`` (what ``process`` writes before review) the first table is
    ``held.csv``, record ids only: no address or other taxpayer field exists in the folder
    until a release renders ``matched.csv`` from the operational store.
    """

    def __init__(
        self, out_dir: Path, disclosed_fields: Sequence[str], *, held: bool = False
    ) -> None:
        unknown = [f for f in disclosed_fields if f not in DISCLOSABLE_FIELDS]
        if unknown:
            raise DisclosureGuardError(f"field(s) {', '.join(unknown)} may never be written")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.held = held
        remove_stale_staging(self.out_dir)
        self.staging = Path(
            tempfile.mkdtemp(dir=self.out_dir, prefix=f"{STAGING_PREFIX}{os.getpid()}.")
        )
        self.matched_columns = matched_columns(disclosed_fields)
        self._allowed = frozenset(self.matched_columns) | INTERNAL_COLUMNS
        self._reasons: Counter[str] = Counter()
        self._tables: dict[str, _Table] = {}
        self._extras: dict[str, _Table] = {}
        try:
            for name, columns in (
                ("held", HELD_COLUMNS) if held else ("matched", self.matched_columns),
                ("rejected", REJECTED_COLUMNS),
                ("unmatched", UNMATCHED_COLUMNS),
            ):
                self._tables[name] = _Table(self.out_dir, name, columns, self.staging)
        except OSError:
            self.abort()
            raise

    # -- adding rows -----------------------------------------------------------------------

    def add_held(self, record_ids: Sequence[str]) -> None:
        """Append the record ids of rows held for review (nothing else about them)."""
        if not self.held:
            raise DisclosureGuardError("this writer publishes released rows, not held ones")
        self._tables["held"].append(pd.DataFrame({"record_id": list(record_ids)}))

    def add_matched(self, frame: pd.DataFrame) -> None:
        """Append disclosed rows; refuse any column the agreement does not disclose."""
        if self.held:
            raise DisclosureGuardError(
                "refusing to write matched rows before release: held rows are record ids only"
            )
        extra = sorted(str(c) for c in frame.columns if c not in self._allowed)
        if extra:
            raise DisclosureGuardError(
                f"refusing to write matched rows carrying {', '.join(extra)}: "
                "not disclosed under the agreement"
            )
        for required in ("record_id", "match_probability"):
            if required not in frame.columns:
                raise DisclosureGuardError(f"matched rows lack the {required} column")
        self._tables["matched"].append(frame)

    def add_rejected(self, frame: pd.DataFrame) -> None:
        for codes in frame["reason_codes"]:
            self._reasons.update(str(codes).split(";"))
        self._tables["rejected"].append(frame)

    def add_unmatched(self, frame: pd.DataFrame) -> None:
        self._reasons.update(str(code) for code in frame["reason_code"])
        self._tables["unmatched"].append(frame)

    def add_extra(self, name: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
        """Append rows to a further CSV, ``name.csv``, published with the results.

        For tables beside the contract's three (such as ``explain``): staged and published
        atomically like them (before ``result.xlsx``), every text cell neutralized; numbers
        stay numbers. Not a sheet of the workbook, not counted in the summary.
        """
        if not name.isidentifier() or name in (*self._tables, "result"):
            raise ValueError(f"{name!r} cannot name an extra result table")
        table = self._extras.get(name)
        if table is None:
            table = _Table(self.out_dir, name, columns, self.staging, numbers_anywhere=True)
            self._extras[name] = table
        elif tuple(columns) != table.columns:
            raise ValueError(f"extra table {name!r} was started with other columns")
        table.append(frame)

    # -- publishing ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        tables = {f"rows_{name}": table.rows for name, table in self._tables.items()}
        tables["rows_total"] = sum(tables.values())
        return tables

    def summary_rows(self, summary: Mapping[str, object]) -> list[tuple[str, object]]:
        """The key/value rows of the summary sheet: the caller's, then counts and reasons."""
        rows = list(_flatten(summary))
        keys = {k for k, _ in rows}
        if "review_status" not in keys:
            rows.append(("review_status", "held"))
        rows.extend((k, v) for k, v in self.counts().items() if k not in keys)
        rows.extend(
            (f"reason.{code}", self._reasons.get(code, 0))
            for code in (*REJECT_REASONS, *UNMATCHED_REASONS)
        )
        if "generated_at" not in keys:
            rows.append(("generated_at", generated_at().isoformat()))
        return rows

    def close(self, summary: Mapping[str, object]) -> ResultPaths:
        """Write ``result.xlsx`` and move every file into place; return their paths."""
        final_xlsx = self.out_dir / "result.xlsx"
        try:
            for table in (*self._tables.values(), *self._extras.values()):
                table.finish()
            xlsx_temp = self.staging / "result.xlsx.tmp"
            self._write_xlsx(xlsx_temp, self.summary_rows(summary))
            os.chmod(xlsx_temp, 0o600)  # like the CSVs (mkstemp): results are for the owner
            _fsync_file(xlsx_temp)
            _crash_point("before_publish")
            # result.xlsx is published last: while the CSVs are replaced, no workbook claims
            # them, so a result.xlsx that exists always sits beside the CSVs of its own run.
            final_xlsx.unlink(missing_ok=True)
            for index, table in enumerate((*self._tables.values(), *self._extras.values())):
                os.replace(table.temp, table.final)
                if index == 0:
                    _crash_point("after_first_csv")
            _crash_point("before_xlsx")
            os.replace(xlsx_temp, final_xlsx)
            _fsync_dir(self.out_dir)
        except BaseException:
            self.abort()
            raise
        shutil.rmtree(self.staging, ignore_errors=True)
        _crash_point("after_publish")
        tables = self._tables
        return ResultPaths(
            matched=tables["held" if self.held else "matched"].final,
            rejected=tables["rejected"].final,
            unmatched=tables["unmatched"].final,
            xlsx=final_xlsx,
            counts=self.counts(),
        )

    def abort(self) -> None:
        """Remove the temporary files; nothing more is published."""
        for table in (*self._tables.values(), *self._extras.values()):
            table.discard()
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()

    def _write_xlsx(self, path: Path, summary: list[tuple[str, object]]) -> None:
        import xlsxwriter

        options = {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": str(self.staging),
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
        for table in self._tables.values():
            _write_sheets(workbook, table, bold)
        sheet = workbook.add_worksheet("summary")
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 1, 66)
        sheet.write_row(0, 0, ("key", "value"), bold)
        reason_rows = []
        for index, (key, value) in enumerate(summary, start=1):
            sheet.write_string(index, 0, _excel_text(key))
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(index, 1, value)
            else:
                sheet.write_string(index, 1, _excel_text(_text(value)))
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


# A cell that neither starts with something other than an ASCII letter or digit nor holds a
# '|' is never changed by ``neutralize``: only these are looked at one by one.
_MAY_NEED_NEUTRALIZING = r"^[^A-Za-z0-9]|\|"


def _cells(values: pd.Series, numbers_anywhere: bool) -> list[Any]:
    """A column's cells as written: missing -> None, text neutralized (numbers kept as numbers
    where ``numbers_anywhere``, else written as neutralized text)."""
    dtype = values.dtype
    if numbers_anywhere and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return list(values.tolist())
    if numbers_anywhere and isinstance(dtype, np.dtype) and dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    text_only = (
        isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan
    ) or (dtype == np.dtype(object) and pd.api.types.infer_dtype(values, skipna=False) == "string")
    if text_only:
        cells: list[Any] = values.to_numpy(dtype=object, na_value=None).tolist()
        try:
            flags = pc.match_substring_regex(
                pa.array(cells, type=pa.string()), _MAY_NEED_NEUTRALIZING
            )
        except (pa.ArrowException, UnicodeError):  # e.g. a lone surrogate: one by one below
            pass
        else:
            for i in np.flatnonzero(flags.fill_null(False).to_numpy(zero_copy_only=False)):
                cells[i] = neutralize(cells[i])
            return cells
    return [
        None if v is None or (isinstance(v, float) and v != v) else
        v if numbers_anywhere and _is_number(v) else
        neutralize(v if isinstance(v, str) else str(v))
        for v in values
    ]


def _is_number(value: object) -> bool:
    """int, float and numpy numbers; never bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _write_sheets(workbook: Any, table: _Table, bold: Any) -> None:
    """Stream a table's CSV into its sheet (continued in ``name_2``... past Excel's row limit)."""
    numeric = [c in NUMERIC_COLUMNS for c in table.columns]
    part, sheet, row = 1, None, EXCEL_MAX_ROWS
    rows: _SheetRows | None = None
    for record in _with_sentinel(table.read_back()):
        if sheet is None or row >= EXCEL_MAX_ROWS:
            if rows is not None:
                rows.finish()
            sheet = workbook.add_worksheet(table.name if part == 1 else f"{table.name}_{part}")
            sheet.write_row(0, 0, table.columns, bold)
            rows = _SheetRows(sheet, numeric)
            part, row = part + 1, 1
        if record is None:
            break
        assert rows is not None
        rows.write(row, record)
        row += 1
    if rows is not None:
        rows.finish()


# Text that neither neutralizing nor XML needs to touch: starts with an ASCII letter or digit,
# no '|', no XML-special or control character, no '_xHHHH_', no trailing whitespace.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9][^|&<>\x00-\x08\x0b-\x1f\ufffe\uffff]*")


class _SheetRows:
    """Data rows of one constant-memory xlsxwriter sheet, written as XML text directly.

    xlsxwriter's ``write_string``/``write_number`` cost a few microseconds per cell (30-40 s
    for a million-row result). This writes the same XML that xlsxwriter's constant-memory mode
    writes for those calls (inline strings, ``.16G`` numbers, control characters as
    ``_xHHHH_``, ``xml:space="preserve"`` for outer whitespace) into the sheet's row file,
    and leaves the sheet's dimensions as those calls would. One deliberate difference: a cell
    whose text looks like ``<r>...</r>`` is escaped like any other (xlsxwriter would copy it
    into the XML unescaped, as rich text).
    """

    def __init__(self, sheet: Any, numeric: list[bool]) -> None:
        from xlsxwriter.utility import xl_col_to_name

        self.sheet = sheet
        self.numeric = numeric
        self.letters = [xl_col_to_name(c) for c in range(len(numeric))]
        sheet._write_single_row(1)  # the header row goes to the row file now
        self.fh = sheet.row_data_fh
        self.last = 0  # last row that has a cell
        self.next = 1

    def write(self, row: int, record: list[str]) -> None:
        cells = []
        number = str(row + 1)
        plain = _PLAIN_TEXT.fullmatch
        for col, value in enumerate(record):
            if value == "":
                continue
            ref = self.letters[col] + number
            if self.numeric[col]:
                x = float(value)
                if not math.isfinite(x):  # as xlsxwriter: refused
                    self.sheet.write_number(row, col, x)
                cells.append(f'<c r="{ref}"><v>{x:.16G}</v></c>')
            elif (
                len(value) <= EXCEL_MAX_CHARS // 2
                and plain(value)
                and not value[-1].isspace()
                and "_x" not in value
            ):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(_inline_string(ref, _excel_text(value)))
        if cells:
            self.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
            self.last = row
        self.next = row + 1

    def finish(self) -> None:
        sheet = self.sheet
        if self.last:
            sheet.dim_rowmax = max(sheet.dim_rowmax or 0, self.last)
        sheet.previous_row = self.next


def _inline_string(ref: str, text: str) -> str:
    """One text cell as xlsxwriter's constant-memory mode writes it (never as rich text)."""
    from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate
    from xlsxwriter.xmlwriter import XMLwriter

    if len(text) > EXCEL_MAX_CHARS // 2 and _utf16_len(text) > EXCEL_MAX_CHARS:
        text = _utf16_truncate(text, EXCEL_MAX_CHARS)
    text = XMLwriter._escape_control_characters(text)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _with_sentinel(rows: Iterator[list[str]]) -> Iterator[list[str] | None]:
    """The rows, then None (so an empty table still gets its sheet and header)."""
    yield from rows
    yield None


def _excel_text(value: str) -> str:
    return str(neutralize_cell(value))[:EXCEL_MAX_CHARS]


def _text(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _flatten(mapping: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
