"""Tax periods as requested: ``2024``, ``2022-2024``, ``2022;2024``, ``2022, 2024`` or a mix."""

from __future__ import annotations

import re

MIN_YEAR = 1913  # the first federal income tax year
MAX_YEAR = 2100

_PART = re.compile(r"^(\d{4})(?:\s*[-\u2013\u2014]\s*(\d{4}))?$")
_SEPARATORS = re.compile(r"[;,\s]+")


def _year(text: str) -> int:
    year = int(text)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"{year} is not a plausible tax year")
    return year


def parse_tax_periods(text: str) -> list[int]:
    """Return the sorted, distinct years named by ``text``; ValueError if it names none."""
    raw = str(text).strip()
    if raw.endswith(".0") and raw[:-2].isdigit():  # a year typed as a number, e.g. 2024.0
        raw = raw[:-2]
    # Spaces around a dash belong to a range; elsewhere whitespace, ';' and ',' separate.
    raw = re.sub(r"\s*([-\u2013\u2014])\s*", r"\1", raw)
    parts = [p for p in _SEPARATORS.split(raw) if p]
    if not parts:
        raise ValueError("no tax period given")
    years: set[int] = set()
    for part in parts:
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a year or a range of years")
        first = _year(match[1])
        last = _year(match[2]) if match[2] else first
        if last < first:
            raise ValueError(f"range {part!r} runs backwards")
        years.update(range(first, last + 1))
    return sorted(years)
