"""Properties over the request reader, validation and standardization (hypothesis).

Any input either validates or gets a reason; the outputs always partition the input; a whole
file is only ever refused with a one-line ``InputFileError``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.pipeline.read import ROW
from tinmatch.pipeline.validate import ValidationContext, validate
from tinmatch.report import REJECT_REASONS
from tinmatch.standardize import address_features, clean_name, name_features

from .helpers import ALLOWED_YEARS, HEADER, TODAY, csv_text, good_row, run_file

AGREEMENT = Agreement.load()

#: Values close to valid ones, plus hostile text.
_nasty = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=20,
)
_near = st.sampled_from([
    "", " ", "NA", "N/A", "-", "=1+1", "12 Elm St", "Boston", "MA", "ma", "XX", "02134", "2134",
    "2024", "2019-2025", "2022;2024", "1999", "2024-01-05", "1/5/24", "13/45/2024", "2031-01-01",
    "8 U.S.C. 1326", "8 USC 1253(a)(1)", "18 USC 1", "Ann", "O'Brien", "José", "r1", "r2",
    "\u00a0", "a\nb", "x" * 1200,
])  # fmt: skip
_cell = st.one_of(_near, _nasty)
_row = st.fixed_dictionaries({c: _cell for c in HEADER})
_rows = st.lists(st.one_of(_row, st.builds(good_row, st.sampled_from(["g1", "g2", "g3"]))),
                 min_size=1, max_size=12)


def _nonblank(row: dict[str, str]) -> bool:
    return any(v.strip() for v in row.values())


def _write(tmp: Path, rows: list[dict[str, str]], fmt: str) -> Path:
    if fmt == "csv":
        path = tmp / "req.csv"
        path.write_text(csv_text(rows), encoding="utf-8")
        return path
    path = tmp / "req.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(HEADER):
            if row[column] != "":
                sheet.write_string(r, c, row[column][:32_000])
    book.close()
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows, st.sampled_from(["csv", "xlsx"]))
def test_reader_and_validator_partition_any_file(rows: list[dict[str, str]], fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outcome = run_file(_write(Path(tmp), rows, fmt), chunk_rows=5)
    if outcome.error is not None:
        assert "\n" not in outcome.error and outcome.error.startswith("req.")
        assert not any(_nonblank(r) for r in rows) or "no data rows" not in outcome.error
        return
    assert outcome.valid is not None and outcome.rejected is not None
    expected = [i + 2 for i, r in enumerate(rows) if _nonblank(r)]
    valid_rows, rejected_rows = list(outcome.valid[ROW]), list(outcome.rejected[ROW])
    assert sorted(valid_rows + rejected_rows) == expected  # every row exactly once
    for codes, message in zip(outcome.rejected["reason_codes"], outcome.rejected["message"],
                              strict=True):
        assert codes and set(codes.split(";")) <= set(REJECT_REASONS)
        assert message and "\n" not in message
    for years in outcome.valid["tax_years"]:
        assert years and all(ALLOWED_YEARS[0] <= y <= ALLOWED_YEARS[1] for y in years)


def _chunk(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in REQUEST_COLUMNS}, dtype=object)
    frame[ROW] = list(range(2, len(rows) + 2))
    return frame


_value = st.one_of(st.none(), _cell.map(lambda v: v.strip() or None))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({c: _value for c in REQUEST_COLUMNS}), min_size=1, max_size=20),
    st.integers(min_value=0, max_value=25),
)
def test_validate_gives_every_row_a_verdict(
    rows: list[dict[str, str | None]], quota: int
) -> None:
    chunk = _chunk(rows)
    ids = [r["record_id"] for r in rows if r["record_id"] is not None]
    ctx = ValidationContext(allowed_years=ALLOWED_YEARS, today=TODAY,
                            duplicate_ids={i for i in ids if ids.count(i) > 1},
                            remaining_quota=quota)
    valid, rejected = validate(chunk, AGREEMENT, ctx)
    assert sorted([*valid[ROW], *rejected[ROW]]) == list(chunk[ROW])
    assert len(valid) <= quota
    for column in AGREEMENT.request.required_columns:
        assert valid[column].notna().all()
    for codes in rejected["reason_codes"]:
        assert set(codes.split(";")) <= set(REJECT_REASONS)
    for value in valid["removal_order_date"]:
        parsed = dt.date.fromisoformat(value) if "-" in value[:5] else None
        assert parsed is None or dt.date(1900, 1, 1) <= parsed <= TODAY


_name = st.one_of(st.none(), _nasty, _near)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "first_name": _name, "middle_name": _name, "last_name": _name, "suffix": _name,
    "street": _name, "address_line2": _name, "city": _name, "state": _name, "zip": _name,
}), min_size=1, max_size=10))
def test_standardization_never_fails_and_keeps_every_row(rows: list[dict[str, str | None]]) -> None:
    frame = pd.DataFrame(rows, dtype=object)
    names, addresses = name_features(frame), address_features(frame)
    assert len(names) == len(addresses) == len(frame)
    assert list(names.index) == list(addresses.index) == list(frame.index)


@settings(max_examples=300, deadline=None)
@given(_name)
def test_clean_name_is_idempotent(value: str | None) -> None:
    once = clean_name(value)
    assert clean_name(once) == once
    assert once is None or (once == once.strip() and once.isascii() and "  " not in once)
