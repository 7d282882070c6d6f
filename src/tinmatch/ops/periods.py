"""Calendar periods (`2026-Q3`, `2026-09`, `2026`) and durations (`30d`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tinmatch.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_period(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a year `2026`, a quarter `2026-Q3` or a month `2026-09`."""
    text = period.strip().upper()
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m.group(1))
        return _utc(year, 1), _utc(year + 1, 1)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(m.group(1)), int(m.group(2))
        start_month = 3 * (quarter - 1) + 1
        return _utc(year, start_month), _next_month(year, start_month, 3)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            return _utc(year, month), _next_month(year, month, 1)
    raise ConfigError(
        f"period {period!r}: use a year (2026), a quarter (2026-Q3) or a month (2026-09)"
    )


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `90m`, `45s` as a timedelta."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"duration {text!r}: use a number and a unit, e.g. 30d, 12h, 2w")
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


def _utc(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def _next_month(year: int, month: int, months: int) -> datetime:
    index = year * 12 + (month - 1) + months
    return _utc(index // 12, index % 12 + 1)
