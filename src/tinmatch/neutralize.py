"""Neutralize text against spreadsheet formula injection (OWASP "CSV Injection").

A text cell that a spreadsheet could read as a formula, i.e. one starting (after any leading
whitespace or zero-width characters, which some importers strip) with ``= + - @`` (or their
full-width forms), a tab or a carriage return, or one holding a DDE-like ``program|topic!item``
pattern, is prefixed with a single quote. Numbers stay numbers.
"""

from __future__ import annotations

import re
from typing import TypeVar

import pandas as pd

# Full-width = + - @ are read as formula starters by some spreadsheet locales.
_STARTERS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_FORMULA = re.compile(rf"^[\s{_INVISIBLE}]*[{re.escape(_STARTERS)}]")
_DDE = re.compile(r"\w+\s*\|.*!", re.DOTALL)

T = TypeVar("T")


def neutralize(value: str) -> str:
    """Return ``value`` made safe to open in a spreadsheet (unchanged when already safe)."""
    if value.startswith("'"):  # already neutralized (or literal text): idempotent
        return value
    first = value[:1]
    leading = first.isspace() or (first != "" and first in _INVISIBLE)
    if first and (first in _STARTERS or (leading and _FORMULA.match(value))):
        return "'" + value
    if "|" in value and "!" in value and _DDE.search(value):
        return "'" + value
    return value


def neutralize_cell(value: T) -> T | str:
    """Neutralize a text cell; anything that is not text (numbers, None) passes unchanged."""
    return neutralize(value) if isinstance(value, str) else value


def neutralize_series(values: pd.Series) -> pd.Series:
    return values.map(neutralize_cell).astype(object)
