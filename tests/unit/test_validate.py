import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.errors import ConfigError
from tinmatch.pipeline.validate import ValidationContext, parse_date, validate

AGREEMENT = Agreement.load()
TODAY = dt.date(2026, 3, 1)

GOOD: dict[str, Any] = {
    "record_id": "r1", "first_name": "Ann", "middle_name": None, "last_name": "Lee",
    "suffix": None, "date_of_birth": "1980-05-06", "street": "12 Elm St",
    "address_line2": None, "city": "Boston", "state": "MA", "zip": "02134",
    "removal_order_date": "2024-01-02", "criminal_statute": "8 U.S.C. 1326",
    "case_number": "C-1", "tax_periods": "2022-2024",
}


def chunk(*changes: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for i, change in enumerate(changes):
        rows.append({**GOOD, "record_id": f"r{i + 1}", **change, "_row": i + 2})
    frame = pd.DataFrame(rows, columns=[*REQUEST_COLUMNS, "_row"]).astype(object)
    return frame.where(frame.notna(), None).astype({"_row": "int64"})


def context(**kwargs: Any) -> ValidationContext:
    return ValidationContext(allowed_years=(2019, 2024), today=TODAY, **kwargs)


def run(*changes: dict[str, Any], **ctx: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    return validate(chunk(*changes), AGREEMENT, context(**ctx))


def only_rejection(change: dict[str, Any]) -> dict[Any, Any]:
    valid, rejected = run(change)
    assert valid.empty and len(rejected) == 1
    row: dict[Any, Any] = rejected.iloc[0].to_dict()
    return row


def test_a_good_row_passes_with_parsed_extras() -> None:
    valid, rejected = run({}, {"date_of_birth": None, "criminal_statute": "8 usc §1253 (a)(1)",
                               "tax_periods": "2024;2022"})
    assert rejected.empty and list(rejected.columns) == [
        "record_id", "reason_codes", "fields", "message", "_row",
    ]
    assert valid["tax_years"].tolist() == [[2022, 2023, 2024], [2022, 2024]]
    assert valid["dob"].tolist() == ["1980-05-06", None]
    assert valid["statute"].tolist() == ["8 U.S.C. 1326", "8 U.S.C. 1253(a)(1)"]
    assert valid["_row"].tolist() == [2, 3]


@pytest.mark.parametrize("column", AGREEMENT.request.required_columns)
def test_each_required_field_missing(column: str) -> None:
    row = only_rejection({column: None})
    assert row["reason_codes"] == "missing_field"
    assert column in row["fields"].split(";")
    assert f"{column} is missing" in row["message"]


def test_optional_fields_may_be_missing() -> None:
    valid, _ = run({"middle_name": None, "suffix": None, "date_of_birth": None, "zip": None,
                    "address_line2": None})
    assert len(valid) == 1


@pytest.mark.parametrize(
    "street",
    ["NA", "N/A", "na na", "NONE", "-", "UNKNOWN", "Failed to Provide", "failed to provide",
     "n/a", "None", "unknown", "02134", "123"],
)
def test_every_placeholder_street_is_invalid(street: str) -> None:
    row = only_rejection({"street": street})
    assert (row["reason_codes"], row["fields"]) == ("invalid_value", "street")
    assert "is not an address" in row["message"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("state", "XX"), ("state", "Massachusetts"),
        ("zip", "0213"), ("zip", "02134-12"), ("zip", "ABCDE"),
        ("removal_order_date", "2024-13-01"), ("removal_order_date", "yesterday"),
        ("removal_order_date", "2026-03-02"),  # the day after today
        ("date_of_birth", "1899-12-31"), ("date_of_birth", "2027-01-01"),
        ("date_of_birth", "31/12/1980"),
        ("tax_periods", "twenty"), ("tax_periods", "2024-2022"),
    ],
)
def test_invalid_values(column: str, value: str) -> None:
    row = only_rejection({column: value})
    assert (row["reason_codes"], row["fields"]) == ("invalid_value", column)


@pytest.mark.parametrize(
    ("column", "value"),
    [("zip", "02134-1234"), ("zip", "021341234"), ("state", "ma"), ("state", "DC"),
     ("removal_order_date", "01/02/2024"), ("removal_order_date", "1/2/2024"),
     ("removal_order_date", "2026-03-01"), ("date_of_birth", "5/6/1980")],
)
def test_valid_variants(column: str, value: str) -> None:
    valid, rejected = run({column: value})
    assert rejected.empty and len(valid) == 1


def test_statute_not_authorized() -> None:
    row = only_rejection({"criminal_statute": "8 U.S.C. 1253(a)(2)"})
    assert (row["reason_codes"], row["fields"]) == ("statute_not_authorized", "criminal_statute")
    assert "not authorized by agreement default" in row["message"]


@pytest.mark.parametrize("periods", ["2018", "2024-2025", "2019;2025"])
def test_tax_period_out_of_range(periods: str) -> None:
    row = only_rejection({"tax_periods": periods})
    assert (row["reason_codes"], row["fields"]) == ("tax_period_out_of_range", "tax_periods")
    assert "2019-2024" in row["message"]


def test_duplicate_record_ids_reject_every_occurrence() -> None:
    valid, rejected = run({"record_id": "x"}, {"record_id": "y"}, {"record_id": "x"},
                          duplicate_ids={"x"})
    assert valid["record_id"].tolist() == ["y"]
    assert rejected["record_id"].tolist() == ["x", "x"]
    assert set(rejected["reason_codes"]) == {"duplicate_record_id"}
    assert rejected["_row"].tolist() == [2, 4]


def test_volume_cap_counts_only_rows_that_would_pass_across_chunks() -> None:
    ctx = context(remaining_quota=3)
    valid1, rejected1 = validate(chunk({}, {"first_name": None}, {}), AGREEMENT, ctx)
    assert len(valid1) == 2 and rejected1["reason_codes"].tolist() == ["missing_field"]
    assert ctx.remaining_quota == 1
    valid2, rejected2 = validate(chunk({}, {}, {"state": "XX"}), AGREEMENT, ctx)
    assert valid2["record_id"].tolist() == ["r1"]
    assert rejected2["reason_codes"].tolist() == ["volume_cap_exceeded", "invalid_value"]
    assert ctx.remaining_quota == 0
    assert ctx.counters["volume_cap_exceeded"] == 1 and ctx.counters["valid"] == 3
    assert ctx.counters["rows"] == 6 and ctx.counters["rejected"] == 3


def test_a_row_gets_all_its_codes_in_contract_order() -> None:
    valid, rejected = run(
        {"record_id": "d", "first_name": None, "state": "ZZ", "criminal_statute": "18 USC 1",
         "tax_periods": "2010"},
        duplicate_ids={"d"},
    )
    assert valid.empty
    got = rejected.iloc[0]
    assert got["reason_codes"] == (
        "missing_field;invalid_value;statute_not_authorized;tax_period_out_of_range;"
        "duplicate_record_id"
    )
    assert got["fields"] == "first_name;state;criminal_statute;tax_periods;record_id"
    message = got["message"]
    for part in ("first_name is missing", "state 'ZZ'", "statute '18 USC 1'", "'2010'",
                 "occurs more than once"):
        assert part in message


def test_missing_and_statute_together() -> None:
    row = only_rejection({"case_number": None, "criminal_statute": "8 USC 1324"})
    assert row["reason_codes"] == "missing_field;statute_not_authorized"
    assert row["fields"] == "case_number;criminal_statute"


def test_overlong_cell_is_invalid() -> None:
    frame = chunk({"first_name": None})
    frame["_overlong"] = ["first_name"]
    valid, rejected = validate(frame, AGREEMENT, context())
    assert valid.empty
    assert rejected.iloc[0]["reason_codes"] == "missing_field;invalid_value"
    assert "longer than 1000 characters" in rejected.iloc[0]["message"]


def test_parse_date_forms() -> None:
    assert parse_date("2024-01-02") == dt.date(2024, 1, 2)
    assert parse_date("01/02/2024") == parse_date("1/2/2024") == dt.date(2024, 1, 2)
    assert parse_date("2024/01/02") is None and parse_date(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-1-2", dt.date(2024, 1, 2)),  # one-digit month and day, ISO order
        ("2024-01-02T00:00", dt.date(2024, 1, 2)),
        ("02/29/2024", dt.date(2024, 2, 29)),
        ("02/29/2023", None),  # no such day, in either shape
        ("2023-02-29", None),
        ("13/01/2024", None),
        ("2024-13-01", None),
        ("0/10/2020", None),
        ("1/1/0000", None),  # no year 0
        ("0000-01-01", None),
        ("2024-01-02 12:30", None),  # a time of day is not a date
    ],
)
def test_parse_date_accepts_real_dates_only(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_tax_periods_cannot_be_made_optional(tmp_path: Any) -> None:
    """A floor (contract section 4): an agreement that drops tax_periods is refused."""
    text = (Path(__file__).parents[2] / "src/tinmatch/data/default_agreement.toml").read_text()
    path = tmp_path / "a.toml"
    path.write_text(text.replace('"case_number", "tax_periods",', '"case_number",'))
    with pytest.raises(ConfigError, match="must include tax_periods"):
        Agreement.load(path)
