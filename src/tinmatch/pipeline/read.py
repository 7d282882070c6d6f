"""Read a request file (.csv or .xlsx) as chunks of canonical, cleaned text columns.

Every chunk has the contract §2 columns in lower_snake case (absent optional columns all None),
every value a stripped ``str`` or ``None``, and ``_row``: the row number in the sheet or file.
Only a failure of the whole file raises (``InputFileError``); bad cells are for the validator.

Spreadsheets as analysts make them (``docs/operations.md``, "What a request file may look like"):

- **the data sheet** is found by its columns, not its position: among the visible worksheets, the
  one whose header names the most request columns (an "Instructions" sheet first is passed over);
- **the header row** is the row, among the first ``HEADER_SCAN_ROWS`` (20),
  that names the most request columns (title rows, dates, blank rows above it are skipped); common
  synonyms are recognised (``Surname``, ``DOB``, ``Case #``; see ``pipeline.headers``);
- **trailing notes are not rows**: after the last row that fills two or more of the request's
  columns, rows that fill only one ("Prepared by ...", "Total: 120") are notes; they are not
  counted, and are listed in :attr:`RequestReader.notes`;
- **formula cells without a saved result** (a workbook written by a script, never opened in Excel)
  are named as such in the row's rejection, not taken for a blank.

Every whole-file error says which sheet and row were read and what was expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tinmatch.agreement import REQUEST_COLUMNS
from tinmatch.errors import InputFileError
from tinmatch.pipeline.headers import (
    FULL_NAME,
    HEADER_SCAN_ROWS,
    Header,
    find_header,
    header_key,
    split_full_name,
)
from tinmatch.pipeline.sniff import (
    MAX_UNZIPPED_BYTES,
    check_xlsx,
    csv_encoding,
    not_utf8_message,
    uncached_formulas,
)
from tinmatch.spool import Spool

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
ROW = "_row"
OVERLONG = "_overlong"  # ';'-joined names of cells longer than max_cell_chars (blanked)
FORMULA = "_formula"  # ';'-joined names of cells holding a formula without a saved result
#: ``chunk.attrs[EXTRAS]``: the requester's own columns of the chunk's rows (``keep_extras``)
EXTRAS = "extras"
#: At most this many of the requester's own columns are kept (the first, left to right).
MAX_EXTRA_COLUMNS = 20
#: A trailing row that fills at most this many of the request's columns is a note, not a row.
NOTE_MAX_CELLS = 1
#: The csv module refuses fields over 128 KiB by default, which would refuse a whole file for
#: one long cell. The file size limit bounds a field anyway; a cell longer than the agreement's
#: ``max_cell_chars`` is blanked and its row rejected.
CSV_FIELD_LIMIT = (1 << 31) - 1

__all__ = [
    "EXTRAS", "FORMULA", "OVERLONG", "ROW", "Note", "RequestReader", "header_key",
    "read_request",
]


def _rechunk(chunks: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """`chunks` (with their ``attrs[EXTRAS]``) cut again into chunks of `size` rows, in order."""
    buffer: list[pd.DataFrame] = []
    held = 0
    for chunk in chunks:
        buffer.append(chunk)
        held += len(chunk)
        while held >= size:
            whole = _concat(buffer)
            yield _rows(whole, 0, size)
            rest = _rows(whole, size, held)
            buffer, held = ([rest] if len(rest) else []), len(rest)
    if held:
        yield _concat(buffer)


def _concat(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    if len(chunks) == 1:
        return chunks[0]
    out = pd.concat([_bare(c) for c in chunks], ignore_index=True)
    for column in set(out.columns) - set.intersection(*(set(c.columns) for c in chunks)):
        # A flag column only some chunks have (``_formula``): missing, as a chunk holds it.
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    if EXTRAS in chunks[0].attrs:
        out.attrs[EXTRAS] = pd.concat([c.attrs[EXTRAS] for c in chunks], ignore_index=True)
    return out


def _bare(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk without its attrs (pandas compares attrs when concatenating: frames there
    cannot be compared)."""
    out = chunk.copy(deep=False)
    out.attrs = {}
    return out


def _rows(chunk: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    """Rows start..stop of a chunk, its requester's columns cut alike."""
    out = _bare(chunk).iloc[start:stop].reset_index(drop=True)
    if EXTRAS in chunk.attrs:
        out.attrs[EXTRAS] = chunk.attrs[EXTRAS].iloc[start:stop].reset_index(drop=True)
    return out


def _clean(values: pd.Series) -> pd.Series:
    """Strip strings; blanks and missing become None; dtype object."""
    text = _arrow_text(values)
    if text is None:  # not all text (or not encodable): the same through pandas
        stripped = values.astype("string").str.strip()
        keep = stripped.notna() & (stripped != "").fillna(False)
        return stripped.astype(object).where(keep, None)
    text = pc.utf8_trim_whitespace(text)  # what pandas' arrow-backed str.strip() does
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype=object)


def _arrow_text(values: pd.Series) -> pa.Array | None:
    """The values as an Arrow string array (missing -> null), or None if one is not text."""
    try:
        return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None


@dataclass(frozen=True)
class Note:
    """A trailing line that is not a request row ("Prepared by ...")."""

    row: int
    text: str


class RequestReader:
    """A request file, iterable (any number of times) as DataFrame chunks.

    After opening: ``sheet`` (the worksheet read, None for CSV), ``header`` (the header row found:
    its number, which column each position holds, synonyms used, headers not understood),
    ``columns`` (the request columns present). After a full pass: ``n_rows`` and ``notes``.
    """

    def __init__(
        self,
        path: Path,
        *,
        required_columns: Sequence[str],
        chunk_rows: int = 50_000,
        max_cell_chars: int | None = None,
        max_file_bytes: int | None = None,
        max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
        split_full_name: bool = False,
        keep_extras: bool = False,
    ) -> None:
        self.path = Path(path)
        self.keep_extras = keep_extras
        self.chunk_rows = max(1, int(chunk_rows))
        self.max_cell_chars = max_cell_chars
        self.n_rows: int | None = None
        self.notes: list[Note] = []
        self.sheet: str | None = None
        self.formula_cells = 0  # formula cells without a saved result, in the request's columns
        self._kept: Spool[pd.DataFrame] | None = None  # the first pass's chunks (record_ids)
        suffix = self.path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise InputFileError(
                f"{self.path.name}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx"
            )
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise InputFileError(f"cannot read {self.path}: {exc.strerror}") from exc
        if size == 0:
            raise InputFileError(f"{self.path.name} is empty")
        if max_file_bytes is not None and size > max_file_bytes:
            raise InputFileError(
                f"{self.path.name} is {size:,} bytes, over the agreement's {max_file_bytes:,}"
            )
        self._xlsx = suffix == ".xlsx"
        self._encoding = "utf-8-sig"
        self._sheet_index = 0
        self._col_offset = 0
        self._formulas: dict[int, set[int]] = {}  # sheet row -> positions (0-based, in row)
        self._sheets_looked: list[str] = []
        if self._xlsx:
            check_xlsx(self.path, max_unzipped_bytes)
        else:
            self._encoding = csv_encoding(self.path)
            if csv.field_size_limit() < CSV_FIELD_LIMIT:
                csv.field_size_limit(min(CSV_FIELD_LIMIT, sys.maxsize))
        self.header = self._find_header()
        where = self.where()
        if self.header.repeated:
            raise InputFileError(
                f"{self.path.name}: column {', '.join(self.header.repeated)} appears twice "
                f"({where})"
            )
        self._mapping = dict(self.header.mapping)
        found = self.header.columns
        self._full_name: int | None = None
        name_parts = ("first_name", "middle_name", "last_name", "suffix")
        if split_full_name and FULL_NAME in found:
            if {"first_name", "last_name"} <= found:
                raise InputFileError(
                    f"{self.path.name}: --split-full-name, but the file already has first_name "
                    f"and last_name columns ({where}); leave the option out"
                )
            self._full_name = self.header.full_name_position()
            found = found | set(name_parts)
        elif split_full_name:
            raise InputFileError(
                f"{self.path.name}: --split-full-name, but no whole-name column (such as "
                f"'Full Name' or 'Name') in the header ({where}: {self.header.describe()})"
            )
        self._mapping = {p: c for p, c in self._mapping.items() if c != FULL_NAME}
        self.columns: tuple[str, ...] = tuple(c for c in REQUEST_COLUMNS if c in found)
        missing = [c for c in required_columns if c not in found]
        if missing:
            hints = self.header.suggestions(missing)
            if len(self.header.cells) == 1 and any(
                sep in str(self.header.cells[0]) for sep in ";\t|"
            ):
                hints.append("the header is one column: is the file separated by ';' or tabs?")
            if self.header.score == 0 and len(self._sheets_looked) > 1:
                hints.append(
                    "no sheet has the request's columns (looked at "
                    + ", ".join(repr(n) for n in self._sheets_looked) + ")"
                )
            hint = "; " + "; ".join(hints) if hints else ""
            raise InputFileError(
                f"{self.path.name}: missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} ({where}: {self.header.describe()}){hint}"
            )
        if self._xlsx:
            self._formulas = uncached_formulas(self.path, self._sheet_index, self._col_offset)

    # -- where the request is --------------------------------------------------------------

    def where(self) -> str:
        """``sheet 'Requests', header row 3`` (or ``header row 1`` for a CSV)."""
        sheet = f"sheet {self.sheet!r}, " if self.sheet is not None else ""
        return f"{sheet}header row {self.header.row}"

    @property
    def extra_columns(self) -> list[str]:
        """Header cells that name no request column (the requester's own columns)."""
        return [text for _, text in self.header.unrecognized]

    def _find_header(self) -> Header:
        if not self._xlsx:
            return self._csv_header()
        return self._xlsx_header()

    def _csv_header(self) -> Header:
        rows: list[list[str]] = []
        try:
            with self.path.open(encoding=self._encoding, newline="") as handle:
                for record in csv.reader(handle):
                    rows.append(record)
                    if len(rows) >= HEADER_SCAN_ROWS:
                        break
        except UnicodeDecodeError as exc:
            raise InputFileError(
                not_utf8_message(self.path.name, exc.object, exc.start, " in the header")
            ) from None
        except csv.Error as exc:
            raise InputFileError(f"{self.path.name}: unreadable CSV header ({exc})") from None
        header = find_header(rows)
        if header is None:
            raise InputFileError(f"{self.path.name} is empty (no header row)")
        return header

    def _xlsx_header(self) -> Header:
        """The visible worksheet whose header names the most request columns."""
        from python_calamine import SheetTypeEnum, SheetVisibleEnum

        name = self.path.name
        meta = self._workbook_meta()
        if not meta:
            raise InputFileError(f"{name} has no sheet")
        best: tuple[int, Header, int] | None = None  # index, header, column offset
        hidden: list[tuple[str, Header]] = []
        looked: list[str] = []
        for index, sheet in enumerate(meta):
            if sheet.typ != SheetTypeEnum.WorkSheet:
                continue
            visible = sheet.visible == SheetVisibleEnum.Visible
            if visible:
                looked.append(sheet.name)
            rows, offset = self._first_rows(index)
            header = find_header(rows)
            if header is None:
                continue
            if not visible:
                if header.score:
                    hidden.append((sheet.name, header))
                continue
            if best is None or header.score > best[1].score:
                best = (index, header, offset)
        if hidden and (best is None or max(h.score for _, h in hidden) > best[1].score):
            sheet_name = max(hidden, key=lambda item: item[1].score)[0]
            raise InputFileError(
                f"{name}: the sheet with the request's columns, {sheet_name!r}, is hidden; "
                "hidden sheets are never read (unhide it)"
            )
        if best is None:
            if not any(m.typ == SheetTypeEnum.WorkSheet for m in meta):
                raise InputFileError(f"{name}: no worksheet (only charts or dialogs)")
            raise InputFileError(f"{name} is empty")
        index, header, offset = best
        self._sheet_index, self._col_offset = index, offset
        self.sheet = meta[index].name
        self._sheets_looked = looked
        return header

    def _workbook_meta(self) -> list[Any]:
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            return list(workbook.sheets_metadata)
        except BaseException as exc:  # calamine errors, and a Rust panic (a BaseException)
            _reraise_interrupts(exc)
            raise InputFileError(
                f"{self.path.name}: unreadable spreadsheet ({_one_line(exc)})"
            ) from None

    def _first_rows(self, index: int) -> tuple[list[list[Any]], int]:
        rows, offset = self._open_sheet(index)
        first: list[list[Any]] = []
        for row in self._guarded(rows):
            first.append(row)
            if len(first) >= HEADER_SCAN_ROWS:
                break
        return first, offset

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """The request's chunks of ``chunk_rows`` rows: read from the file, or replayed from
        the pass that ``record_ids(keep=True)`` made."""
        if self._kept is not None:
            yield from _rechunk(self._kept, self.chunk_rows)
            return
        records = self._xlsx_records() if self._xlsx else self._csv_records()
        for raw in self._chunks(self._without_notes(records)):
            chunk = self._finish(raw)
            if len(chunk):
                yield chunk

    def record_ids(self, *, keep: bool = False) -> list[str | None]:
        """Every row's record_id, in file order (a full first pass; sets ``n_rows``).

        With `keep`, the chunks read are kept in a temporary file (``tinmatch.spool``: memory
        stays bounded) and iterating the reader afterwards replays them instead of reading
        and cleaning the file again: the same rows, cut to ``chunk_rows`` as it is then.

        A file with a header but no data row is refused (``InputFileError``): there is
        nothing to answer, and an empty request is almost always the wrong file.
        """
        self.close()
        kept: Spool[pd.DataFrame] | None = Spool(batch_items=1) if keep else None
        ids: list[str | None] = []
        try:
            for chunk in self:
                ids.extend(chunk["record_id"].tolist())
                if kept is not None:
                    kept.append(chunk)
            if not ids:
                raise InputFileError(
                    f"{self.path.name} has a header row but no data rows ({self.where()})"
                )
        except BaseException:  # a file refused part way: what was kept of it goes now
            if kept is not None:
                kept.close()
            raise
        self.n_rows = len(ids)
        self._kept = kept
        return ids

    def close(self) -> None:
        """Drop the chunks ``record_ids(keep=True)`` kept (the next pass reads the file)."""
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    def _positions(self) -> list[int]:
        """Positions read: the request's columns (and a whole-name column to split)."""
        positions = sorted(self._mapping)
        if self._full_name is not None:
            positions.append(self._full_name)
        return positions

    def _extra_positions(self) -> list[int]:
        """Positions of the requester's own columns, kept when ``keep_extras``."""
        if not self.keep_extras:
            return []
        taken = set(self._positions())
        return [p for p, _ in self.header.unrecognized if p not in taken][:MAX_EXTRA_COLUMNS]

    @property
    def extra_names(self) -> list[str]:
        """The names of the kept own columns, as in the header (made unique)."""
        names: list[str] = []
        texts = dict(self.header.unrecognized)
        for position in self._extra_positions():
            name, n = texts[position], 2
            while name in names:
                name, n = f"{texts[position]} ({n})", n + 1
            names.append(name)
        return names

    def _csv_records(self) -> Iterator[tuple[int, list[Any], str | None]]:
        positions = self._positions() + self._extra_positions()
        width = len(self.header.cells)
        number = 1
        try:
            with self.path.open(encoding=self._encoding, newline="") as handle:
                reader = csv.reader(handle)
                for number, record in enumerate(reader, start=1):
                    if number <= self.header.row:
                        continue
                    if len(record) > width and any(v.strip() for v in record[width:]):
                        raise InputFileError(
                            f"{self.path.name}: row {number} has {len(record)} fields but the "
                            f"header (row {self.header.row}) has {width} (an unquoted comma?)"
                        )
                    yield number, [record[p] if p < len(record) else None for p in positions], None
        except UnicodeDecodeError as exc:
            where = f" after row {number}"
            raise InputFileError(
                not_utf8_message(self.path.name, exc.object, exc.start, where)
            ) from None
        except csv.Error as exc:
            raise InputFileError(
                f"{self.path.name}: unreadable CSV after row {number} ({exc})"
            ) from None

    def _open_sheet(self, index: int) -> tuple[Iterator[list[Any]], int]:
        """A worksheet's rows from row 1, and the position of its first used column (calamine
        starts each row there)."""
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            sheet = workbook.get_sheet_by_index(index)
            start = sheet.start
            return iter(sheet.iter_rows()), int(start[1]) if start else 0
        except BaseException as exc:  # calamine errors, and a Rust panic (a BaseException)
            _reraise_interrupts(exc)
            raise InputFileError(
                f"{self.path.name}: unreadable spreadsheet ({_one_line(exc)})"
            ) from None

    def _xlsx_rows(self, index: int | None = None) -> Iterator[list[Any]]:
        """A worksheet's rows (the request's sheet unless ``index`` is given); row i is the
        sheet's row i + 1."""
        rows, _ = self._open_sheet(self._sheet_index if index is None else index)
        return self._guarded(rows)

    def _guarded(self, rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
        """``rows``, with calamine's failures (a Rust panic included) as InputFileError."""
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except BaseException as exc:
                _reraise_interrupts(exc)
                raise InputFileError(
                    f"{self.path.name}: unreadable spreadsheet ({_one_line(exc)})"
                ) from None
            yield row

    def _xlsx_records(self) -> Iterator[tuple[int, list[Any], str | None]]:
        width = len(self._positions())
        positions = self._positions() + self._extra_positions()
        names = [self._mapping.get(p, FULL_NAME) for p in positions]
        formulas = self._formulas
        for index, row in enumerate(self._xlsx_rows()):
            number = index + 1
            if number <= self.header.row:
                continue
            values = [_cell_text(row[p], names[i]) if p < len(row) else None
                      for i, p in enumerate(positions)]  # fmt: skip
            flags: str | None = None
            if number in formulas:
                hit = [names[i] for i, p in enumerate(positions[:width])
                       if p in formulas[number] and values[i] is None]  # fmt: skip
                if hit:
                    flags = ";".join(hit)
                    self.formula_cells += len(hit)
            yield number, values, flags

    def _without_notes(
        self, records: Iterator[tuple[int, list[Any], str | None]]
    ) -> Iterator[tuple[int, list[Any], str | None]]:
        """Hold back rows filling at most NOTE_MAX_CELLS cells; they are rows again when a
        fuller row follows, and notes when they trail the data (after at least one fuller row)."""
        held: list[tuple[int, list[Any], str | None]] = []
        width = len(self._positions())  # the request's own cells (not the requester's columns)
        seen_data = False
        self.notes = []
        self.formula_cells = 0
        for record in records:
            filled = sum(1 for v in record[1][:width] if v is not None and str(v).strip())
            if filled == 0 and not record[2]:
                continue  # blank: dropped anyway
            if filled <= NOTE_MAX_CELLS and not record[2]:
                held.append(record)
                continue
            seen_data = True
            yield from held
            held.clear()
            yield record
        if not seen_data or len(self._positions()) <= NOTE_MAX_CELLS:
            yield from held
            return
        self.notes = [
            Note(number, next(
                str(v).strip() for v in values[:width] if v is not None and str(v).strip()
            ))
            for number, values, _ in held
        ]

    def _chunks(
        self, records: Iterator[tuple[int, list[Any], str | None]]
    ) -> Iterator[pd.DataFrame]:
        names = [self._mapping.get(p, FULL_NAME) for p in self._positions()]
        names += [f"{EXTRAS}:{i}" for i in range(len(self._extra_positions()))]
        buffer: list[list[Any]] = []
        rows: list[int] = []
        flags: list[str | None] = []
        for number, values, flag in records:
            buffer.append(values)
            rows.append(number)
            flags.append(flag)
            if len(buffer) >= self.chunk_rows:
                yield _frame(buffer, names, rows, flags)
                buffer, rows, flags = [], [], []
        if buffer:
            yield _frame(buffer, names, rows, flags)

    def _finish(self, raw: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=raw.index)
        for column in REQUEST_COLUMNS:
            if column in raw.columns:
                out[column] = _clean(raw[column])
            else:
                out[column] = pd.Series([None] * len(raw), index=raw.index, dtype=object)
        if FULL_NAME in raw.columns:
            parts = [split_full_name(v) for v in _clean(raw[FULL_NAME])]
            for i, column in enumerate(("first_name", "middle_name", "last_name", "suffix")):
                if column not in raw.columns:
                    out[column] = pd.Series([p[i] for p in parts], index=raw.index, dtype=object)
        out["zip"] = out["zip"].map(restore_zip).astype(object)
        if self.max_cell_chars is not None:
            out[OVERLONG] = _blank_overlong(out, self.max_cell_chars)
        if raw[FORMULA].notna().any():
            out[FORMULA] = raw[FORMULA]
        out[ROW] = raw[ROW].astype("int64")
        # A row is kept when it holds a value, or held one that was taken out: an overlong cell
        # (blanked above) or a formula without a saved result. Those rows are the validator's
        # to reject, and count as rows (``record_ids``), even when that cell was their only one.
        present = out[list(REQUEST_COLUMNS)].notna().any(axis=1)
        for flag in (OVERLONG, FORMULA):
            if flag in out:
                present |= out[flag].notna()
        kept = out[present].reset_index(drop=True)
        if self.keep_extras:
            extras = pd.DataFrame(index=raw.index)
            for i, name in enumerate(self.extra_names):
                extras[name] = _clean(raw[f"{EXTRAS}:{i}"])
            kept.attrs[EXTRAS] = extras[present].reset_index(drop=True)
        return kept


def _reraise_interrupts(exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
        raise exc


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def restore_zip(value: str | None) -> str | None:
    """A ZIP code that a spreadsheet stored as a number gets its leading zeros back.

    ``2134`` -> ``02134``, ``2134.0`` -> ``02134``, ``21341234`` -> ``021341234``; anything else
    (letters, dashes, 1-2 digits, already 5 or 9 digits) is returned unchanged for the validator.
    """
    if value is None:
        return None
    digits = value[:-2] if value.endswith(".0") else value
    if not digits.isascii() or not digits.isdigit():
        return value
    if 3 <= len(digits) <= 5:
        return digits.zfill(5)
    if 6 <= len(digits) <= 9:
        return digits.zfill(9)
    return value


def _blank_overlong(frame: pd.DataFrame, limit: int) -> pd.Series:
    """Blank cells longer than ``limit``; return which fields were blanked, per row."""
    flags = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for column in REQUEST_COLUMNS:
        text = _arrow_text(frame[column])
        if text is None:
            lengths = frame[column].astype("string").str.len()
        else:
            lengths = pd.Series(
                pc.utf8_length(text).to_numpy(zero_copy_only=False), index=frame.index
            )
        long = (lengths > limit).fillna(False).astype(bool)
        if long.any():
            frame.loc[long, column] = None
            flags[long] = [f"{f};{column}" if f else column for f in flags[long]]
    return flags


def _frame(
    buffer: list[list[Any]], names: list[str], rows: list[int], flags: list[str | None]
) -> pd.DataFrame:
    frame = pd.DataFrame(buffer, columns=names, dtype=object)
    frame[ROW] = rows
    frame[FORMULA] = pd.Series(flags, dtype=object)
    return frame


def _cell_text(value: Any, column: str) -> str | None:
    """Spreadsheet cell -> text: native dates as YYYY-MM-DD, integral numbers without '.0'."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float | int):
        if float(value).is_integer():
            return str(int(value))  # a ZIP typed as a number gets its zeros back in restore_zip
        return repr(float(value))
    return str(value)


def read_request(
    path: Path,
    *,
    required_columns: Sequence[str],
    chunk_rows: int = 50_000,
    max_cell_chars: int | None = None,
    max_file_bytes: int | None = None,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    split_full_name: bool = False,
    keep_extras: bool = False,
) -> RequestReader:
    """Open a request file; raises ``InputFileError`` if it cannot be read or lacks a column."""
    return RequestReader(
        Path(path),
        required_columns=required_columns,
        chunk_rows=chunk_rows,
        max_cell_chars=max_cell_chars,
        max_file_bytes=max_file_bytes,
        max_unzipped_bytes=max_unzipped_bytes,
        split_full_name=split_full_name,
        keep_extras=keep_extras,
    )


def read_record_ids(path: Path) -> list[str | None]:
    """A cheap first pass: every row's record_id, so duplicates are known before streaming."""
    return read_request(Path(path), required_columns=("record_id",)).record_ids()


def duplicate_ids(ids: Iterable[str | None]) -> set[str]:
    """The record_ids that occur more than once (missing ids are not duplicates)."""
    counts = Counter(i for i in ids if i is not None)
    return {i for i, n in counts.items() if n > 1}
