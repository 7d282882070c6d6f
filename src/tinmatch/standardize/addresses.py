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
from tinmatch.standardize.text import as_text, fold, map_unique

__all__ = ["ADDRESS_SCHEMA", "address_features", "is_placeholder_street", "valid_state"]

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
