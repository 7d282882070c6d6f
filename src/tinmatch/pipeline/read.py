"""Read a request file (.csv or .xlsx) as chunks of canonical, cleaned text columns.

Every chunk has the contract §2 columns in lower_snake case (absent optional columns all None),
every value a stripped ``str`` or ``None``, and ``_row``: the row number in the file (header = 1).
Only a failure of the whole file raises (``InputFileError``); bad cells are for the validator.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tinmatch.agreement import REQUEST_COLUMNS
from tinmatch.errors import InputFileError
from tinmatch.pipeline.sniff import MAX_UNZIPPED_BYTES, check_xlsx, csv_encoding, not_utf8_message

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
ROW = "_row"
OVERLONG = "_overlong"  # ';'-joined names of cells longer than max_cell_chars (blanked)
#: The csv module refuses fields over 128 KiB by default, which would refuse a whole file for
#: one long cell. The file size limit bounds a field anyway; a cell longer than the agreement's
#: ``max_cell_chars`` is blanked and its row rejected.
CSV_FIELD_LIMIT = (1 << 31) - 1

# A few headers requesters write for the contract's columns (keys without separators).
_ALIASES = {
    "dob": "date_of_birth", "birthdate": "date_of_birth", "dateofbirth": "date_of_birth",
    "zipcode": "zip", "postalcode": "zip", "addressline1": "street", "address1": "street",
    "streetaddress": "street", "address2": "address_line2", "taxperiod": "tax_periods",
    "statute": "criminal_statute",
}


def header_key(name: object) -> str:
    """Fold a header: BOM and case ignored, spaces, underscores and hyphens equivalent."""
    return re.sub(r"[\s_\-]+", "", str(name).replace("\ufeff", "")).lower()


_CANONICAL = {header_key(c): c for c in REQUEST_COLUMNS} | _ALIASES


def _map_header(header: Sequence[object], path: Path) -> dict[int, str]:
    """Position -> canonical column for each recognised header cell."""
    mapping: dict[int, str] = {}
    for position, name in enumerate(header):
        canonical = _CANONICAL.get(header_key(name))
        if canonical is not None:
            mapping[position] = canonical
    twice = [c for c, n in Counter(mapping.values()).items() if n > 1]
    if twice:
        raise InputFileError(f"{path.name}: column {', '.join(sorted(twice))} appears twice")
    return mapping


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


class RequestReader:
    """A request file, iterable (any number of times) as DataFrame chunks."""

    def __init__(
        self,
        path: Path,
        *,
        required_columns: Sequence[str],
        chunk_rows: int = 50_000,
        max_cell_chars: int | None = None,
        max_file_bytes: int | None = None,
        max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    ) -> None:
        self.path = Path(path)
        self.chunk_rows = max(1, int(chunk_rows))
        self.max_cell_chars = max_cell_chars
        self.n_rows: int | None = None
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
        if self._xlsx:
            check_xlsx(self.path, max_unzipped_bytes)
        else:
            self._encoding = csv_encoding(self.path)
            if csv.field_size_limit() < CSV_FIELD_LIMIT:
                csv.field_size_limit(min(CSV_FIELD_LIMIT, sys.maxsize))
        self._header, self._header_row = self._read_header()
        self._mapping = _map_header(self._header, self.path)
        found = set(self._mapping.values())
        self.columns: tuple[str, ...] = tuple(c for c in REQUEST_COLUMNS if c in found)
        missing = [c for c in required_columns if c not in found]
        if missing:
            hint = ""
            if len(self._header) == 1 and any(sep in str(self._header[0]) for sep in ";\t|"):
                hint = " (the header is one column: is the file separated by ';' or tabs?)"
            raise InputFileError(
                f"{self.path.name}: missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}{hint}"
            )

    # -- header ----------------------------------------------------------------------------

    def _read_header(self) -> tuple[list[object], int]:
        if self._xlsx:
            for index, row in enumerate(self._xlsx_rows()):
                if any(cell not in ("", None) for cell in row):
                    return list(row), index + 1
            raise InputFileError(f"{self.path.name} is empty")
        try:
            with self.path.open(encoding=self._encoding, newline="") as handle:
                header = next(csv.reader(handle), [])
        except UnicodeDecodeError as exc:
            raise InputFileError(
                not_utf8_message(self.path.name, exc.object, exc.start, " in the header")
            ) from None
        except csv.Error as exc:
            raise InputFileError(f"{self.path.name}: unreadable CSV header ({exc})") from None
        if not any(str(h).strip() for h in header):
            raise InputFileError(f"{self.path.name} is empty (no header row)")
        return list(header), 1

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[pd.DataFrame]:
        chunks = self._xlsx_chunks() if self._xlsx else self._csv_chunks()
        for raw in chunks:
            chunk = self._finish(raw)
            if len(chunk):
                yield chunk

    def record_ids(self) -> list[str | None]:
        """Every row's record_id, in file order (a full first pass; sets ``n_rows``).

        A file with a header but no data row is refused (``InputFileError``): there is
        nothing to answer, and an empty request is almost always the wrong file.
        """
        ids: list[str | None] = []
        for chunk in self:
            ids.extend(chunk["record_id"].tolist())
        if not ids:
            raise InputFileError(f"{self.path.name} has a header row but no data rows")
        self.n_rows = len(ids)
        return ids

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        positions = sorted(self._mapping)
        names = [self._mapping[p] for p in positions]
        width = len(self._header)
        buffer: list[list[str | None]] = []
        rows: list[int] = []
        number = 1
        try:
            with self.path.open(encoding=self._encoding, newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                for number, record in enumerate(reader, start=2):
                    if len(record) > width and any(v.strip() for v in record[width:]):
                        raise InputFileError(
                            f"{self.path.name}: row {number} has {len(record)} fields but the "
                            f"header has {width} (an unquoted comma?)"
                        )
                    buffer.append([record[p] if p < len(record) else None for p in positions])
                    rows.append(number)
                    if len(buffer) >= self.chunk_rows:
                        yield _frame(buffer, names, rows)
                        buffer, rows = [], []
        except UnicodeDecodeError as exc:
            where = f" after row {number}"
            raise InputFileError(
                not_utf8_message(self.path.name, exc.object, exc.start, where)
            ) from None
        except csv.Error as exc:
            raise InputFileError(
                f"{self.path.name}: unreadable CSV after row {number} ({exc})"
            ) from None
        if buffer:
            yield _frame(buffer, names, rows)

    def _xlsx_rows(self) -> Iterator[list[Any]]:
        """The first sheet's rows (refused if that sheet is hidden or not a worksheet)."""
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

        name = self.path.name
        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            meta = workbook.sheets_metadata
            if not meta:
                raise InputFileError(f"{name} has no sheet")
            first = meta[0]
            if first.typ != SheetTypeEnum.WorkSheet:
                raise InputFileError(f"{name}: the first sheet {first.name!r} is not a worksheet")
            if first.visible != SheetVisibleEnum.Visible:
                raise InputFileError(
                    f"{name}: the first sheet {first.name!r} is hidden; the request must be "
                    "the first visible sheet (unhide it, or move it first)"
                )
            sheet = workbook.get_sheet_by_index(0)
            # iter_rows starts at the sheet's first row, so index + 1 is the spreadsheet row.
            rows = iter(sheet.iter_rows())
        except InputFileError:
            raise
        except BaseException as exc:  # calamine errors, and a Rust panic (a BaseException)
            _reraise_interrupts(exc)
            raise InputFileError(f"{name}: unreadable spreadsheet ({_one_line(exc)})") from None
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except BaseException as exc:
                _reraise_interrupts(exc)
                raise InputFileError(
                    f"{name}: unreadable spreadsheet ({_one_line(exc)})"
                ) from None
            yield row

    def _xlsx_chunks(self) -> Iterator[pd.DataFrame]:
        positions = sorted(self._mapping)
        names = [self._mapping[p] for p in positions]
        buffer: list[list[str | None]] = []
        rows: list[int] = []
        for index, row in enumerate(self._xlsx_rows()):
            if index < self._header_row:
                continue
            buffer.append(
                [_cell_text(row[p], names[i]) if p < len(row) else None
                 for i, p in enumerate(positions)]
            )
            rows.append(index + 1)
            if len(buffer) >= self.chunk_rows:
                yield _frame(buffer, names, rows)
                buffer, rows = [], []
        if buffer:
            yield _frame(buffer, names, rows)

    def _finish(self, raw: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=raw.index)
        for column in REQUEST_COLUMNS:
            if column in raw.columns:
                out[column] = _clean(raw[column])
            else:
                out[column] = pd.Series([None] * len(raw), index=raw.index, dtype=object)
        out["zip"] = out["zip"].map(restore_zip).astype(object)
        if self.max_cell_chars is not None:
            out[OVERLONG] = _blank_overlong(out, self.max_cell_chars)
        out[ROW] = raw[ROW].astype("int64")
        present = out[list(REQUEST_COLUMNS)].notna().any(axis=1)
        return out[present].reset_index(drop=True)


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


def _frame(buffer: list[list[str | None]], names: list[str], rows: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(buffer, columns=names, dtype=object)
    frame[ROW] = rows
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
) -> RequestReader:
    """Open a request file; raises ``InputFileError`` if it cannot be read or lacks a column."""
    return RequestReader(
        Path(path),
        required_columns=required_columns,
        chunk_rows=chunk_rows,
        max_cell_chars=max_cell_chars,
        max_file_bytes=max_file_bytes,
        max_unzipped_bytes=max_unzipped_bytes,
    )


def read_record_ids(path: Path) -> list[str | None]:
    """A cheap first pass: every row's record_id, so duplicates are known before streaming."""
    return read_request(Path(path), required_columns=("record_id",)).record_ids()


def duplicate_ids(ids: Iterable[str | None]) -> set[str]:
    """The record_ids that occur more than once (missing ids are not duplicates)."""
    counts = Counter(i for i in ids if i is not None)
    return {i for i, n in counts.items() if n > 1}
