"""Address standardization: streets, units, PO boxes, placeholders, cities, states, ZIP codes."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinmatch.standardize import (
    ADDRESS_SCHEMA,
    address_features,
    is_placeholder_street,
    valid_state,
)


def features(street=None, line2=None, city=None, state=None, zip=None) -> dict:  # noqa: A002
    df = pd.DataFrame(
        {"street": [street], "address_line2": [line2], "city": [city], "state": [state],
         "zip": [zip]},
        dtype=object,
    )  # fmt: skip
    return address_features(df).iloc[0].to_dict()


@pytest.mark.parametrize(
    ("street", "house", "name"),
    [
        ("123 North Main Street", "123", "n main st"),
        ("123 N. Main St.", "123", "n main st"),
        ("123 Main St N", "123", "main st n"),
        ("1600 Pennsylvania Avenue Northwest", "1600", "pennsylvania ave nw"),
        ("1 Fifth Avenue", "1", "5th ave"),
        ("1 5th Ave", "1", "5th ave"),
        ("77 Twenty-First Street", "77", "21st st"),
        ("12 Boulevard", "12", "blvd"),
        ("12 Avenue N", "12", "ave n"),
        ("10 Avenue of the Americas", "10", "ave of the americas"),
        ("10 Ave. of the Americas", "10", "ave of the americas"),
        ("500 Oak Boulevard", "500", "oak blvd"),
        ("9 Elm Lane", "9", "elm ln"),
        ("9 elm LN", "9", "elm ln"),
        ("42 Saint James Place", "42", "st james pl"),
        ("42 St James Pl", "42", "st james pl"),
        ("123 North Ave", "123", "north ave"),
        ("123-A Elm St", "123a", "elm st"),
        ("0681 Crystal Stream", "681", "crystal strm"),
        ("12-34 56th St", "12-34", "56th st"),
        ("W 42nd St", None, "w 42nd st"),
        ("123 Avenue B", "123", "ave b"),
        ("456 County Road 12", "456", "county rd 12"),
        ("123 Main St, Springfield IL 62704", "123", "main st"),
        ("123 Calle Ñandú", "123", "calle nandu"),
    ],
)
def test_street_name_and_house_number(street: str, house: str | None, name: str) -> None:
    row = features(street=street)
    assert row["house_number"] == house
    assert row["street_name"] == name
    assert row["street_key"] == (f"{house} {name}" if house else None)


def test_spelled_and_numbered_streets_share_a_key() -> None:
    keys = {
        features(street=s)["street_key"] for s in ["1 Fifth Avenue", "1 5th Ave.", "1 FIFTH AV"]
    }
    assert keys == {"1 5th ave"}


@pytest.mark.parametrize(
    ("street", "line2", "unit"),
    [
        ("123 Main St Apt 4B", None, "4b"),
        ("123 Main St #4b", None, "4b"),
        ("123 Main St # 4B", None, "4b"),
        ("123 Main St Unit 4-B", None, "4b"),
        ("123 Main St Apartment 4 B", None, "4b"),
        ("123 Main St Ste 200", None, "200"),
        ("123 Main St 4B", None, "4b"),
        ("123 Main St Rear", None, "rear"),
        ("123 Main St", "Apt 4B", "4b"),
        ("123 Main St", "#4B", "4b"),
        ("123 Main St", "Unit 4-B", "4b"),
        ("123 Main St", "4B", "4b"),
        ("123 Main St", "Suite 100", "100"),
        ("123 Main St", "c/o Maria Lopez", None),
        ("123 Main St", None, None),
        ("123 Pier Ave", None, None),
        ("4 Harbor Pier Rd", None, None),
        ("123 Front St", None, None),
    ],
)
def test_units_from_street_or_line2(street: str, line2: str | None, unit: str | None) -> None:
    row = features(street=street, line2=line2)
    assert row["unit"] == unit
    assert row["street_key"] is not None
    assert unit is None or unit not in row["street_key"].split()[1:]


def test_unit_does_not_leak_into_street_key() -> None:
    assert features(street="123 Main St Apt 4B")["street_key"] == "123 main st"
    assert features(street="123 Pier Ave")["street_key"] == "123 pier ave"


@pytest.mark.parametrize(
    ("street", "line2", "box"),
    [
        ("PO Box 12", None, "12"),
        ("P.O. Box 12", None, "12"),
        ("p o box 12", None, "12"),
        ("POBox 12", None, "12"),
        ("Post Office Box 3456", None, "3456"),
        ("Box 77", None, "77"),
        ("123 Main St", "PO Box 9", "9"),
        ("RR 2 Box 7", None, "7"),
        ("123 Box Elder Rd", None, None),
    ],
)
def test_po_boxes(street: str, line2: str | None, box: str | None) -> None:
    row = features(street=street, line2=line2)
    assert row["po_box"] == box
    if street.lower().startswith(("po", "p.o", "p o", "post", "box")):
        assert row["street_key"] is None


@pytest.mark.parametrize(
    "street",
    [
        None, float("nan"), "", "   ", "NA", "na", "N/A", "n/a", "N.A.", "NA NA", "NONE", "None",
        "-", "--", "UNKNOWN", "Unknown", "Failed to Provide", "FAILED TO PROVIDE",
        "failed-to-provide.", "90210", "902101234", "12345-6789", "123", "#4", "APT 5", "Unit 4B",
    ],
)  # fmt: skip
def test_placeholders(street: object) -> None:
    assert is_placeholder_street(street)
    assert features(street=street)["street_key"] is None


@pytest.mark.parametrize(
    "street", ["123 Main St", "PO Box 12", "1 5th Ave", "W 42nd St", "123 Avenue B", "Fifth Avenue"]
)
def test_real_streets_are_not_placeholders(street: str) -> None:
    assert not is_placeholder_street(street)


@pytest.mark.parametrize(
    ("raw", "zip5"),
    [
        ("90210", "90210"),
        ("90210-1234", "90210"),
        ("902101234", "90210"),
        ("2134", "02134"),
        ("2134-1234", "02134"),
        ("21341234", "02134"),
        (2134, "02134"),
        (2134.0, "02134"),
        ("2134.0", "02134"),
        ("501", "00501"),
        (" 02134 ", "02134"),
        ("00000", None),
        ("12", None),
        ("123456", None),
        ("ABCDE", None),
        (None, None),
    ],
)
def test_zip5(raw: object, zip5: str | None) -> None:
    assert features(zip=raw)["zip5"] == zip5


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("CA", "ca"), ("ca", "ca"), (" Ny ", "ny"), ("N.Y.", "ny"), ("California", "ca"),
        ("NEW YORK", "ny"), ("Calif.", "ca"), ("District of Columbia", "dc"), ("PR", "pr"),
        ("Puerto Rico", "pr"), ("Guam", "gu"), ("AE", "ae"), ("XX", None), ("Cal-i", None),
        ("", None), (None, None),
    ],
)  # fmt: skip
def test_state(raw: object, code: str | None) -> None:
    assert features(state=raw)["state_std"] == code


@pytest.mark.parametrize(
    ("raw", "ok"),
    [("CA", True), ("dc", True), ("PR", True), ("VI", True), ("AP", True), ("XX", False),
     ("California", False), ("C", False), (None, False)],
)  # fmt: skip
def test_valid_state(raw: object, ok: bool) -> None:
    assert valid_state(raw) is ok


@pytest.mark.parametrize(
    ("raw", "city"),
    [
        ("St. Louis", "saint louis"), ("ST LOUIS", "saint louis"), ("Ft. Worth", "fort worth"),
        ("Mt Vernon", "mount vernon"), ("N Las Vegas", "north las vegas"),
        ("San José", "san jose"), ("Coeur d'Alene", "coeur dalene"),
        ("Winston-Salem", "winston salem"), ("Unknown", None), ("N/A", None), (None, None),
    ],
)  # fmt: skip
def test_city(raw: object, city: str | None) -> None:
    assert features(city=raw)["city_std"] == city


def test_frame_shape_index_and_missing_columns() -> None:
    df = pd.DataFrame({"street": ["123 Main St", None]}, index=["a", "b"])
    out = address_features(df)
    assert list(out.index) == ["a", "b"]
    assert list(out.columns) == [
        "house_number", "street_name", "street_key", "unit", "po_box", "city_std", "state_std",
        "zip5",
    ]  # fmt: skip
    assert out.loc["a", "street_key"] == "123 main st"
    assert out.loc["b"].isna().all()
    assert out.loc["a", "zip5"] is None


words = st.sampled_from(
    ["North", "N", "Main", "Fifth", "5th", "Street", "St", "Ave", "Avenue", "Saint", "James",
     "Apt", "#", "4B", "Unit", "Pier", "Box", "Rd", "SW", "Park", "Twenty", "First", "Lane", "-"]
)  # fmt: skip
streets = st.one_of(
    st.tuples(st.integers(0, 99999).map(str), st.lists(words, min_size=0, max_size=5)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
    st.text(max_size=25),
)


@settings(max_examples=300, deadline=None)
@given(street=streets)
def test_street_key_of_a_street_key_is_itself(street: str) -> None:
    once = features(street=street)
    if once["street_key"] is None:
        return
    line2 = f"Apt {once['unit']}" if once["unit"] else None
    again = features(street=once["street_key"], line2=line2)
    assert again["street_key"] == once["street_key"]
    assert again["unit"] == once["unit"]


def test_schema_types_an_all_missing_batch() -> None:
    out = address_features(pd.DataFrame({"street": ["123 Main St"]}, dtype=object))
    assert list(out.columns) == ADDRESS_SCHEMA.names
    table = pa.Table.from_pandas(out, schema=ADDRESS_SCHEMA, preserve_index=False)
    assert table.schema.field("po_box").type == pa.string()
    assert table.column("po_box").null_count == 1
