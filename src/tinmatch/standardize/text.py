"""Small text helpers shared by name and address standardization.

``fold`` turns any text into lower-case ASCII; ``map_unique`` runs a function once per distinct
value of a column and spreads the results back, which is what makes standardization fast on real
data, where names, streets and cities repeat heavily.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")

#: One input value's standardized columns, in the order of its column kind's schema.
Row = tuple[Any, ...]

# Latin letters that Unicode does not decompose into a base letter plus accents.
_UNDECOMPOSED = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
    }
)


def is_missing(value: object) -> bool:
    """True for None, NaN, pandas NA/NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def as_text(value: object) -> str | None:
    """The value as a stripped string, or None when missing or blank.

    Whole floats (how spreadsheets hand back numbers such as ZIP codes) lose their ``.0``.
    """
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    return text or None


def fold(text: str) -> str:
    """Lower-case ASCII: accents stripped (``José`` -> ``jose``), other non-ASCII dropped."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return text.encode("ascii", "ignore").decode("ascii").lower()


def map_unique(series: pd.Series, func: Callable[[object], T], missing: T) -> np.ndarray:
    """``func`` applied once per distinct non-missing value; ``missing`` where the value is missing.

    Returns an object array aligned with ``series`` (never coerced: lists stay lists).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        table[i] = func(value)
    table[-1] = missing  # code -1 (missing) picks the last slot
    return table[codes]


def truthy_sql(expr: str) -> str:
    """SQL: `expr` is neither NULL nor empty (Python's truthiness of an optional string)."""
    return f"coalesce({expr}, '') <> ''"
