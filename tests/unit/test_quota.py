"""The caps as policy (ops.quota.judge): no database, each rule played at its edge.

What counts (ops.quota.usage) is exercised through the Store and the admission in
test_ops_store.py and test_registry.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tinmatch.errors import RefusedError
from tinmatch.ops import Limits, Quota
from tinmatch.ops.quota import DEFAULT_PERIOD_DAYS, Usage, Verdict, judge, period_days

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
NOTHING = Usage(last_request_at=None, official_rows=0, agency_rows=0)


def verdict(limits: Limits, used: Usage = NOTHING, n_rows: int = 10) -> Verdict:
    return judge(limits, used, agency="Agency A", official="J. Doe", n_rows=n_rows, now=NOW)


def test_no_limits_reserve_every_row() -> None:
    got = verdict(Limits(), n_rows=1_000_000)
    assert got.quota == Quota(None, None) and got.reserved == 1_000_000
    assert period_days(Limits()) == DEFAULT_PERIOD_DAYS == 30


def test_minimum_interval_at_its_edge() -> None:
    limits = Limits(min_interval_seconds=60)
    just_now = Usage(NOW - timedelta(seconds=59), 0, 0)
    with pytest.raises(RefusedError, match=r"requires 60 s between requests \(next allowed at "
                       r"2026-09-01 12:00:01 UTC\)"):  # fmt: skip
        verdict(limits, just_now)
    assert verdict(limits, Usage(NOW - timedelta(seconds=60), 0, 0)).reserved == 10
    # naive times from SQLite are UTC
    naive = Usage(datetime(2026, 9, 1, 11, 59, 30), 0, 0)
    with pytest.raises(RefusedError, match="sent a request at 2026-09-01 11:59:30 UTC"):
        verdict(limits, naive)


def test_official_caseload_cap_refuses_whole() -> None:
    limits = Limits(max_rows_per_official_per_period=100, period_days=7)
    assert verdict(limits, Usage(None, 90, 90), n_rows=10).reserved == 10  # exactly the cap
    with pytest.raises(RefusedError) as refused:
        verdict(limits, Usage(None, 91, 91), n_rows=10)
    assert str(refused.value) == (
        "official 'J. Doe' of 'Agency A' already has 91 rows in the last 7 days; 10 more would "
        "exceed the agreement's cap of 100 rows per official (request refused whole)"
    )


def test_agency_cap_and_request_cap_limit_what_is_looked_up() -> None:
    limits = Limits(max_rows_per_agency_per_period=500, max_rows_per_request=50)
    got = verdict(limits, Usage(None, 0, 480), n_rows=100)
    assert got.quota == Quota(20, 50) and got.reserved == 20
    got = verdict(limits, Usage(None, 0, 100), n_rows=100)
    assert got.quota == Quota(400, 50) and got.reserved == 50
    over = verdict(limits, Usage(None, 0, 900), n_rows=100)  # never negative
    assert over.quota == Quota(0, 50) and over.reserved == 0
