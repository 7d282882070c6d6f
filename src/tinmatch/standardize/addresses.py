"""Standardize mailing addresses into the columns the linkage model compares.

Street lines are parsed by :mod:`tinmatch.standardize.streets` (USPS Publication 28
abbreviations from ``usaddress-scourgify``, ``usaddress`` for the unusual shapes). Cities lose
punctuation and get abbreviations spelled out (``St.`` -> ``saint``, ``Ft`` -> ``fort``, ``Mt`` ->
``mount``, ``N`` -> ``north``); states become 2-letter USPS codes; ZIP codes keep their first five
digits, with the leading zeros that spreadsheets strip put back.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
from scourgify.address_constants import CITY_ABBREVIATIONS, STATE_ABBREVIATIONS

from tinmatch.standardize.streets import (
    EMPTY,
    PLACEHOLDERS,
    StreetParts,
    parse_line2,
    parse_street,
)
from tinmatch.standardize.text import Row, as_text, fold, map_unique, truthy_sql

__all__ = [
    "ADDRESS_SCHEMA",
    "CITY_SCHEMA",
    "LINE2_SCHEMA",
    "STATE_SCHEMA",
    "STREET_SCHEMA",
    "ZIP_SCHEMA",
    "address_features",
    "address_features_sql",
    "city_columns",
    "is_placeholder_street",
    "line2_columns",
    "state_columns",
    "street_columns",
    "valid_state",
    "zip_columns",
]

ADDRESS_COLUMNS = ("street", "address_line2", "city", "state", "zip")
# Arrow types of address_features' columns (all text): pass as ``schema=`` to
# ``pa.Table.from_pandas`` so that an all-None column keeps its type.
ADDRESS_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in ("house_number", "street_name", "street_key", "unit", "po_box", "city_std",
                     "state_std", "zip5")
    ]
)  # fmt: skip

# USPS codes: 50 states, DC, territories and freely associated states, military post offices.
USPS_STATES = frozenset(
    """al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj
    nm ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc pr vi gu as mp fm mh pw
    aa ae ap""".split()
)
_STATE_NAMES = {name.lower(): code.lower() for name, code in STATE_ABBREVIATIONS.items()}
_STATE_NAMES.update(
    {
        "puerto rico": "pr",
        "virgin islands": "vi",
        "us virgin islands": "vi",
        "guam": "gu",
        "american samoa": "as",
        "northern mariana islands": "mp",
        "federated states of micronesia": "fm",
        "marshall islands": "mh",
        "palau": "pw",
        "washington dc": "dc",
        "district of columbia": "dc",
    }
)
_CITY_WORDS = {k.lower(): v.lower() for k, v in CITY_ABBREVIATIONS.items()}
_CITY_WORDS["ste"] = "sainte"
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_LETTER = re.compile(r"[^a-z]+")
_NOT_DIGIT = re.compile(r"\D+")
_WHOLE_FLOAT = re.compile(r"(?<=\d)\.0+$")


def valid_state(value: object) -> bool:
    """True for a 2-letter USPS code (any case): states, DC, territories, military AA/AE/AP."""
    text = as_text(value)
    return text is not None and len(text) == 2 and text.lower() in USPS_STATES


def is_placeholder_street(value: object) -> bool:
    """True when a street value is not an address.

    Blank, ``NA``, ``N/A``, ``NA NA``, ``NONE``, ``-``, ``UNKNOWN``, ``Failed to Provide`` (any case
    or punctuation), digits only (a ZIP code), or a street with no street name (``123``, ``#4``,
    ``APT 5``). ``123 Main St``, ``PO Box 12`` and ``W 42nd St`` are addresses.
    """
    text = as_text(value)
    if text is None:
        return True
    parts = parse_street(text)
    return parts.street_name is None and parts.po_box is None


def _street(value: object) -> StreetParts:
    text = as_text(value)
    return EMPTY if text is None else parse_street(text)


def _line2(value: object) -> StreetParts:
    text = as_text(value)
    return EMPTY if text is None else parse_line2(text)


def _city(value: object) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    words = _NOT_ALNUM.sub(" ", fold(text).replace("'", "").replace(".", " ")).split()
    if not words or "".join(words) in PLACEHOLDERS:
        return None
    if len(words) > 1:
        words = [_CITY_WORDS.get(w, w) for w in words]
    return " ".join(words)


def _state(value: object) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    letters = _NOT_LETTER.sub(" ", fold(text)).strip()
    code = letters.replace(" ", "") if len(letters.replace(" ", "")) == 2 else None
    if code in USPS_STATES:
        return code
    return _STATE_NAMES.get(" ".join(letters.split()))


def _zip5(value: object) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    text = _WHOLE_FLOAT.sub("", text)  # "2134.0" from a spreadsheet
    head = text.split("-", 1)[0]
    digits = _NOT_DIGIT.sub("", head)
    if "-" not in text and len(digits) in (7, 8, 9):
        digits = digits.zfill(9)[:5]  # ZIP+4 written without the hyphen
    elif 3 <= len(digits) <= 5:
        digits = digits.zfill(5)
    else:
        return None
    return None if digits == "00000" else digits


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def address_features(df: pd.DataFrame) -> pd.DataFrame:
    """Standardized address columns for ``df`` (columns street, address_line2, city, state, zip).

    Returns a new frame with the same index and the columns house_number, street_name, street_key,
    unit, po_box, city_std, state_std, zip5 (lower-case strings or None). Each distinct value is
    parsed once; parses are also cached across calls.
    """
    street = map_unique(_column(df, "street"), _street, EMPTY)
    line2 = map_unique(_column(df, "address_line2"), _line2, EMPTY)
    n = len(df)
    house: list[str | None] = [None] * n
    name: list[str | None] = [None] * n
    key: list[str | None] = [None] * n
    unit: list[str | None] = [None] * n
    box: list[str | None] = [None] * n
    for i in range(n):
        s, extra = street[i], line2[i]
        house[i], name[i] = s.house_number, s.street_name
        if s.house_number and s.street_name:
            key[i] = f"{s.house_number} {s.street_name}"
        unit[i] = s.unit or extra.unit
        box[i] = s.po_box or extra.po_box

    def column(values: object) -> pd.Series:
        return pd.Series(values, index=df.index, dtype=object)

    return pd.DataFrame(
        {
            "house_number": column(house),
            "street_name": column(name),
            "street_key": column(key),
            "unit": column(unit),
            "po_box": column(box),
            "city_std": column(map_unique(_column(df, "city"), _city, None)),
            "state_std": column(map_unique(_column(df, "state"), _state, None)),
            "zip5": column(map_unique(_column(df, "zip"), _zip5, None)),
        },
        index=df.index,
    )


# --- one column at a time: the master's path -----------------------------------------------------
#
# The master file standardizes each distinct value of each address column once, with the function
# of its column kind below (a row of the columns its schema lists), and combines them in SQL with
# address_features_sql. address_features above is the definition both must agree with
# (tests/unit/test_standardize_parity.py). Plain street lines take a shortcut through
# streets.plain_street_sql and streets.street_rest_columns.

STREET_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("house_number", "street_name", "unit", "po_box")]
)
LINE2_SCHEMA = pa.schema([("line2_unit", pa.string()), ("line2_po_box", pa.string())])
CITY_SCHEMA = pa.schema([("city_std", pa.string())])
STATE_SCHEMA = pa.schema([("state_std", pa.string())])
ZIP_SCHEMA = pa.schema([("zip5", pa.string())])


def street_columns(value: object) -> Row:
    """A street line's columns (STREET_SCHEMA): house number, street name, unit, PO box."""
    return tuple(_street(value))


def line2_columns(value: object) -> Row:
    """A second address line's columns (LINE2_SCHEMA): the unit or PO box it holds."""
    parts = _line2(value)
    return (parts.unit, parts.po_box)


def city_columns(value: object) -> Row:
    """A city's columns (CITY_SCHEMA)."""
    return (_city(value),)


def state_columns(value: object) -> Row:
    """A state's columns (STATE_SCHEMA): the 2-letter USPS code."""
    return (_state(value),)


def zip_columns(value: object) -> Row:
    """A ZIP code's columns (ZIP_SCHEMA): its first five digits."""
    return (_zip5(value),)


def address_features_sql(
    street: str, line2: str, city: str, state: str, zip_code: str
) -> dict[str, str]:
    """ADDRESS_SCHEMA's columns as SQL expressions over one address's per-column rows, aliased
    `street`, `line2`, `city`, `state` and `zip_code` (with the columns of the schemas above): the
    street key is house number and street name, a unit or PO box on the street line wins over
    one on the second line, as in address_features."""
    s, li = street, line2
    return {
        "house_number": f"{s}.house_number",
        "street_name": f"{s}.street_name",
        "street_key": (
            f"CASE WHEN {truthy_sql(s + '.house_number')} AND {truthy_sql(s + '.street_name')} "
            f"THEN {s}.house_number || ' ' || {s}.street_name END"
        ),
        "unit": f"CASE WHEN {truthy_sql(s + '.unit')} THEN {s}.unit ELSE {li}.line2_unit END",
        "po_box": (
            f"CASE WHEN {truthy_sql(s + '.po_box')} THEN {s}.po_box ELSE {li}.line2_po_box END"
        ),
        "city_std": f"{city}.city_std",
        "state_std": f"{state}.state_std",
        "zip5": f"{zip_code}.zip5",
    }
