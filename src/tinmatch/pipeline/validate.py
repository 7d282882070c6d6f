"""Validate request rows against the agreement: each row passes, or is rejected with ALL its codes.

Nothing is looked up for a rejected row. Checks run column-wise over a chunk (each distinct value
parsed once); only the rows that fail are gathered row by row into their reason codes and message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tinmatch.agreement import REQUEST_COLUMNS
from tinmatch.pipeline.periods import parse_tax_periods
from tinmatch.pipeline.read import FORMULA, OVERLONG, ROW
from tinmatch.pipeline.statutes import normalize_statute
from tinmatch.reasons import (
    DUPLICATE_RECORD_ID,
    INVALID_VALUE,
    MISSING_FIELD,
    STATUTE_NOT_AUTHORIZED,
    TAX_PERIOD_OUT_OF_RANGE,
    VOLUME_CAP_EXCEEDED,
)
from tinmatch.report import REJECT_REASONS
from tinmatch.standardize.addresses import is_placeholder_street, valid_state

if TYPE_CHECKING:
    from tinmatch.agreement import Agreement

REJECTED_COLUMNS = ("record_id", "reason_codes", "fields", "message", ROW)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
EARLIEST_BIRTH = dt.date(1900, 1, 1)
EARLIEST_DATE = dt.date(1900, 1, 1)  # no removal order predates this; 1/5/24 is not year 24
_ZIP = re.compile(r"\d{5}(?:-?\d{4})?")
# Four-digit years only (strptime would read 1/5/24 as the year 24); a midnight time part, as
# a spreadsheet or pandas export writes it, is allowed.
_DATE_SHAPE = re.compile(
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})(?:[ T]00:00(?::00(?:\.0+)?)?)?"
)
# C0 control characters other than tab, newline and carriage return, and DEL: no name,
# address or reference holds them; they hide text from a reviewer or break other tools.
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


@dataclass
class ValidationContext:
    """What validation needs beyond one chunk; ``remaining_quota`` and ``counters`` are updated."""

    #: (first, last) allowed tax years; None when not known (``tinmatch check`` without a master
    #: and an agreement that takes the most recent years in the master): the range is not checked.
    allowed_years: tuple[int, int] | None
    today: dt.date
    duplicate_ids: set[str] = field(default_factory=set)
    remaining_quota: int | None = None
    counters: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Problem:
    code: str
    field: str
    rows: pd.Index
    messages: list[str]


def parse_date(text: object) -> dt.date | None:
    """A request date (YYYY-MM-DD, MM/DD/YYYY or M/D/YYYY) or None if it is not one."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if _DATE_SHAPE.fullmatch(value) is None:
        return None
    value = re.split(r"[ T]", value, maxsplit=1)[0]
    try:  # the two shapes without strptime (10 us a value): the same dates, the same refusals
        if "/" in value:
            month, day, year = value.split("/")
            return dt.date(int(year), int(month), int(day))
        if len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _map_unique(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply ``func`` once per distinct non-missing value; missing values map to None."""
    present = values.dropna()
    lookup: dict[Hashable, Any] = {v: func(v) for v in present.unique()}
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    if len(present):
        out[present.index] = [lookup[v] for v in present]
    return out


def _show(value: object, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _fixed(message: str) -> Callable[[Any], str]:
    return lambda _value: message


def _names(column: str) -> Callable[[Any], bool]:
    return lambda flags: isinstance(flags, str) and column in flags.split(";")


def _try_periods(text: str) -> list[int] | str:
    try:
        return parse_tax_periods(text)
    except ValueError as exc:
        return str(exc)


class _Collector:
    def __init__(self, chunk: pd.DataFrame) -> None:
        self.chunk = chunk
        self.problems: list[_Problem] = []

    def add(self, code: str, column: str, mask: pd.Series, say: Callable[[Any], str]) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            rows = mask.index[mask.to_numpy()]
            values = self.chunk.loc[rows, column] if column in self.chunk else [None] * len(rows)
            self.problems.append(_Problem(code, column, rows, [say(v) for v in values]))


def validate(
    chunk: pd.DataFrame, agreement: Agreement, ctx: ValidationContext
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a chunk from ``read_request`` into (valid, rejected) under ``agreement``.

    Valid rows keep every column and gain ``tax_years`` (sorted list of int; all allowed years
    if the agreement leaves tax_periods optional and it is blank), ``dob`` (ISO date
    or None) and ``statute`` (normalized citation). Rejected rows are ``record_id, reason_codes,
    fields, message, _row``.
    """
    chunk = chunk.reset_index(drop=True)
    found = _Collector(chunk)
    present = {c: chunk[c].notna() for c in REQUEST_COLUMNS}

    formula = {c: pd.Series(False, index=chunk.index) for c in REQUEST_COLUMNS}
    if FORMULA in chunk:
        for column in REQUEST_COLUMNS:
            formula[column] = chunk[FORMULA].map(_names(column)).astype(bool)
            found.add(
                INVALID_VALUE.code, column, formula[column],
                _fixed(INVALID_VALUE.message("formula", column=column)),
            )
    for column in agreement.request.required_columns:
        found.add(
            MISSING_FIELD.code, column, ~present[column] & ~formula[column],
            _fixed(MISSING_FIELD.message(column=column)),
        )

    if OVERLONG in chunk:
        limit = agreement.limits.max_cell_chars
        for column in REQUEST_COLUMNS:
            long = chunk[OVERLONG].map(_names(column))
            found.add(
                INVALID_VALUE.code, column, long,
                _fixed(INVALID_VALUE.message("too_long", column=column, limit=limit)),
            )

    for column in REQUEST_COLUMNS:
        texts = chunk[column].astype("string")
        found.add(
            INVALID_VALUE.code, column, present[column] & texts.str.contains(_CONTROL, regex=True),
            _fixed(INVALID_VALUE.message("control", column=column)),
        )

    dob = _map_unique(chunk["date_of_birth"], parse_date)
    bad_dob = present["date_of_birth"] & dob.map(
        lambda d: d is None or not EARLIEST_BIRTH <= d <= ctx.today
    )
    found.add(
        INVALID_VALUE.code, "date_of_birth", bad_dob,
        lambda v: INVALID_VALUE.message("date_of_birth", value=_show(v)),
    )
    placeholder = _map_unique(chunk["street"], is_placeholder_street)
    found.add(
        INVALID_VALUE.code, "street", present["street"] & (placeholder == True),  # noqa: E712
        lambda v: INVALID_VALUE.message("street", value=_show(v)),
    )
    state_ok = _map_unique(chunk["state"], valid_state)
    found.add(
        INVALID_VALUE.code, "state", present["state"] & (state_ok != True),  # noqa: E712
        lambda v: INVALID_VALUE.message("state", value=_show(v)),
    )
    zip_ok = _map_unique(chunk["zip"], lambda v: _ZIP.fullmatch(v) is not None)
    found.add(
        INVALID_VALUE.code, "zip", present["zip"] & (zip_ok != True),  # noqa: E712
        lambda v: INVALID_VALUE.message("zip", value=_show(v)),
    )
    removal = _map_unique(chunk["removal_order_date"], parse_date)
    found.add(
        INVALID_VALUE.code, "removal_order_date",
        present["removal_order_date"] & removal.isna(),
        lambda v: INVALID_VALUE.message("not_a_date", column="removal_order_date", value=_show(v)),
    )
    found.add(
        INVALID_VALUE.code, "removal_order_date",
        removal.map(lambda d: d is not None and d > ctx.today),
        lambda v: INVALID_VALUE.message("future", column="removal_order_date", value=_show(v)),
    )
    found.add(
        INVALID_VALUE.code, "removal_order_date",
        removal.map(lambda d: d is not None and d < EARLIEST_DATE),
        lambda v: INVALID_VALUE.message(
            "too_early", column="removal_order_date", value=_show(v), year=EARLIEST_DATE.year
        ),
    )
    periods = _map_unique(chunk["tax_periods"], _try_periods)
    found.add(
        INVALID_VALUE.code, "tax_periods", periods.map(lambda p: isinstance(p, str)),
        lambda v: INVALID_VALUE.message("tax_periods", value=_show(v), why=_try_periods(v)),
    )

    statute = _map_unique(chunk["criminal_statute"], normalize_statute)
    authorized = set(agreement.request.authorized_statutes)
    found.add(
        STATUTE_NOT_AUTHORIZED.code, "criminal_statute",
        present["criminal_statute"] & ~statute.isin(authorized),
        lambda v: STATUTE_NOT_AUTHORIZED.message(value=_show(v), agreement=agreement.id),
    )

    if ctx.allowed_years is not None:
        first, last = ctx.allowed_years
        found.add(
            TAX_PERIOD_OUT_OF_RANGE.code, "tax_periods",
            periods.map(lambda p: isinstance(p, list) and not all(first <= y <= last for y in p)),
            lambda v: TAX_PERIOD_OUT_OF_RANGE.message(value=_show(v), first=first, last=last),
        )
    found.add(
        DUPLICATE_RECORD_ID.code, "record_id",
        present["record_id"] & chunk["record_id"].isin(ctx.duplicate_ids),
        lambda v: DUPLICATE_RECORD_ID.message(value=_show(v)),
    )

    bad = pd.Series(False, index=chunk.index)
    for problem in found.problems:
        bad[problem.rows] = True
    if ctx.remaining_quota is not None:
        passing = chunk.index[~bad.to_numpy()]
        over = passing[max(ctx.remaining_quota, 0):]
        found.add(
            VOLUME_CAP_EXCEEDED.code, "record_id",
            pd.Series(chunk.index.isin(over), index=chunk.index) & ~bad,
            _fixed(VOLUME_CAP_EXCEEDED.message()),
        )
        bad[over] = True
        ctx.remaining_quota = max(ctx.remaining_quota - (len(passing) - len(over)), 0)

    valid = chunk[~bad.to_numpy()].drop(columns=[OVERLONG, FORMULA], errors="ignore").copy()
    every_year: list[int] = []  # when an agreement leaves tax_periods optional: every year
    if ctx.allowed_years is not None:
        every_year = list(range(ctx.allowed_years[0], ctx.allowed_years[1] + 1))
    valid["tax_years"] = [p if isinstance(p, list) else every_year for p in periods[valid.index]]
    valid["dob"] = pd.Series(
        [d.isoformat() if d is not None else None for d in dob[valid.index]],
        index=valid.index, dtype=object,
    )
    valid["statute"] = statute[valid.index]
    rejected = _rejected_frame(chunk, found.problems)

    ctx.counters["rows"] += len(chunk)
    ctx.counters["valid"] += len(valid)
    ctx.counters["rejected"] += len(rejected)
    for code in rejected["reason_codes"]:
        ctx.counters.update(code.split(";"))
    return valid.reset_index(drop=True), rejected


def _rejected_frame(chunk: pd.DataFrame, problems: list[_Problem]) -> pd.DataFrame:
    order = {code: i for i, code in enumerate(REJECT_REASONS)}
    columns = {c: i for i, c in enumerate(REQUEST_COLUMNS)}
    per_row: dict[int, list[tuple[int, int, str, str, str]]] = {}
    for problem in problems:
        key = (order[problem.code], columns.get(problem.field, len(columns)))
        for row, message in zip(problem.rows, problem.messages, strict=True):
            per_row.setdefault(int(row), []).append((*key, problem.code, problem.field, message))
    records = []
    row_numbers = chunk[ROW].tolist()
    record_ids = chunk["record_id"].tolist()
    for row in sorted(per_row):
        found = sorted(per_row[row], key=lambda p: p[:2])
        codes = list(dict.fromkeys(p[2] for p in found))
        fields = list(dict.fromkeys(p[3] for p in found if p[2] != VOLUME_CAP_EXCEEDED.code))
        message = "; ".join(p[4] for p in found)
        records.append({
            "record_id": record_ids[row],
            "reason_codes": ";".join(codes),
            "fields": ";".join(fields),
            "message": message + ".",
            ROW: int(row_numbers[row]),
        })
    frame = pd.DataFrame(records, columns=list(REJECTED_COLUMNS), dtype=object)
    frame[ROW] = frame[ROW].astype("int64")
    return frame
