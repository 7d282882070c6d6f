"""Write the result: matched, rejected and unmatched CSVs plus ``result.xlsx`` (contract §3).

The disclosure guard sits here: a writer is opened with the agreement's disclosed fields and
refuses any other field (``ResultWriter``), and ``add_matched`` refuses any column outside them.
Every text cell is neutralized against formula injection; numbers stay numbers.

Chunks are appended to CSV files in a staging folder (memory stays bounded); ``close`` builds the
workbook from them (:mod:`tinmatch.pipeline.workbook`) and publishes every file at once, the
workbook last (:mod:`tinmatch.pipeline.publish`): a run that fails or is killed half way leaves
no partial file under a final name.
"""

from __future__ import annotations

import csv
import numbers
import os
import re
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

from tinmatch.agreement import DISCLOSABLE_FIELDS, FORBIDDEN_FIELDS
from tinmatch.errors import TinmatchError
from tinmatch.neutralize import neutralize
from tinmatch.pipeline.headers import canonical
from tinmatch.pipeline.publish import Staging, crash_point, fsync_file
from tinmatch.pipeline.workbook import Echo, generated_at, write_workbook
from tinmatch.reasons import codes as reason_codes
from tinmatch.report import NOT_DISCLOSED, REJECT_REASONS, UNMATCHED_REASONS

HELD_COLUMNS = ("record_id",)
REJECTED_COLUMNS = ("record_id", "reason_codes", "fields", "message")
UNMATCHED_COLUMNS = ("record_id", "reason_code", "message")
NUMERIC_COLUMNS = frozenset({"tax_year", "match_probability"})
INTERNAL_COLUMNS = frozenset({"_row"})
#: ``request_columns.csv``: the requester's own columns by record_id, echoed in the workbook.
REQUEST_COLUMNS_TABLE = "request_columns"
#: Summary key saying whether the requester sees why nothing is disclosed for a row.
UNMATCHED_REASONS_KEY = "unmatched_reasons"
REASONS_NOT_SHOWN = "not shown to the requester: every such row says not_disclosed"
REASONS_SHOWN = "shown to the requester (the agreement's [disclosure] unmatched_reasons = true)"
_FORBIDDEN_KEYS = frozenset(re.sub(r"[^a-z0-9]", "", f.lower()) for f in FORBIDDEN_FIELDS)
# The result tables' own columns: an echoed column never looks like one of them.
_RESULT_KEYS = frozenset(
    re.sub(r"[^a-z0-9]", "", c.lower())
    for c in (*DISCLOSABLE_FIELDS, "match_probability", "reason_code", *REJECTED_COLUMNS)
)


def echoable(column: str) -> bool:
    """Whether a requester's own column may be echoed: not one named like a field that may
    never be disclosed (``SSN``, ``TIN``, ``Spouse Name``...), a request column or a result
    column (``street``, ``Tax Year``, ``match_probability``...), so the workbook never shows
    such a column beside what was disclosed, whoever filled it in."""
    key = re.sub(r"[^a-z0-9]", "", column.lower())
    return key not in _FORBIDDEN_KEYS and key not in _RESULT_KEYS and canonical(column) is None


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
        staging: Path,
        numbers_anywhere: bool = False,
    ) -> None:
        self.name = name
        self.columns = tuple(columns)
        self.numbers_anywhere = numbers_anywhere
        self.numeric = [c in NUMERIC_COLUMNS for c in self.columns]
        self.final = out_dir / f"{name}.csv"
        fd, temp = tempfile.mkstemp(dir=staging, prefix=f".{name}.", suffix=".csv.tmp")
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
            crash_point("first_chunk")

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
        self._staging = Staging(self.out_dir)
        self.staging = self._staging.path
        self.matched_columns = matched_columns(disclosed_fields)
        self._allowed = frozenset(self.matched_columns) | INTERNAL_COLUMNS
        self._reasons: Counter[str] = Counter()
        self._tables: dict[str, _Table] = {}
        self._extras: dict[str, _Table] = {}
        self._echo_source: Path | None = None
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

    def add_request_columns(self, frame: pd.DataFrame) -> None:
        """Append the requester's own columns of some rows (``record_id`` first): published as
        ``request_columns.csv`` and echoed beside each row of the workbook's sheets. Columns
        named like a field that may never be disclosed are dropped (:func:`echoable`)."""
        columns = [str(c) for c in frame.columns]
        if not columns or columns[0] != "record_id":
            raise ValueError("the requester's columns start with record_id")
        kept = ["record_id", *(c for c in columns[1:] if echoable(c))]
        if len(kept) > 1:
            self.add_extra(REQUEST_COLUMNS_TABLE, kept, frame[kept])

    def echo_from(self, path: Path) -> None:
        """Echo the requester's columns from an earlier ``request_columns.csv`` (a release
        renders the workbook again); nothing happens if it does not exist."""
        self._echo_source = Path(path)

    def _echo(self) -> Echo | None:
        table = self._extras.get(REQUEST_COLUMNS_TABLE)
        records: Iterator[list[str]]
        if table is not None:
            columns, records = list(table.columns), table.read_back()
        elif self._echo_source is not None and self._echo_source.is_file():
            with self._echo_source.open(encoding="utf-8", newline="") as handle:
                lines = list(csv.reader(handle))  # at most a request's rows
            columns, records = (lines[0] if lines else []), iter(lines[1:])
        else:
            return None
        if not columns or columns[0] != "record_id":
            return None
        own = [c for c in columns[1:] if echoable(c)]
        keep = [i for i, c in enumerate(columns) if i and echoable(c)]
        rows: dict[str, list[str]] = {}
        for record in records:
            if record and record[0] not in rows:
                rows[record[0]] = [record[i] if i < len(record) else "" for i in keep]
        return Echo(own, rows) if own else None

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
            for code in (*REJECT_REASONS, *self._unmatched_codes(dict(rows)))
        )
        if "generated_at" not in keys:
            rows.append(("generated_at", generated_at().isoformat()))
        return rows

    def _unmatched_codes(self, summary: Mapping[str, object]) -> list[str]:
        """The unmatched codes the summary counts: ``not_disclosed`` alone where the requester
        is not told why; else matching's codes and any other given (withheld, recalled)."""
        hidden = summary.get(UNMATCHED_REASONS_KEY) == REASONS_NOT_SHOWN
        if hidden or self._reasons.get(NOT_DISCLOSED):
            return [NOT_DISCLOSED]
        return [
            c for c in reason_codes("unmatched")
            if c != NOT_DISCLOSED and (c in UNMATCHED_REASONS or self._reasons.get(c))
        ]

    def close(self, summary: Mapping[str, object]) -> ResultPaths:
        """Write ``result.xlsx`` and move every file into place; return their paths."""
        final_xlsx = self.out_dir / "result.xlsx"
        tables = (*self._tables.values(), *self._extras.values())
        try:
            for table in tables:
                table.finish()
            xlsx_temp = self.staging / "result.xlsx.tmp"
            write_workbook(
                xlsx_temp, list(self._tables.values()), self.summary_rows(summary),
                tmpdir=self.staging, echo=self._echo(),
            )
            os.chmod(xlsx_temp, 0o600)  # like the CSVs (mkstemp): results are for the owner
            fsync_file(xlsx_temp)
            self._staging.publish(
                [(table.temp, table.final) for table in tables], (xlsx_temp, final_xlsx)
            )
        except BaseException:
            self.abort()
            raise
        self._staging.remove()
        crash_point("after_publish")
        return ResultPaths(
            matched=self._tables["held" if self.held else "matched"].final,
            rejected=self._tables["rejected"].final,
            unmatched=self._tables["unmatched"].final,
            xlsx=final_xlsx,
            counts=self.counts(),
        )

    def abort(self) -> None:
        """Remove the temporary files; nothing more is published."""
        for table in (*self._tables.values(), *self._extras.values()):
            table.discard()
        self._staging.remove()

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


def _flatten(mapping: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
