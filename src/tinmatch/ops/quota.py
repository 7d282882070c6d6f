"""The agreement's volume caps and pacing as policy: what counts against them, and the verdict.

Two parts, both used inside the one transaction that admits a request (``ops.admission.admit``,
which locks the agency first; and ``Store.check_submission``):

- :func:`usage` says *what counts*: the same agency's other requests (a request never counts
  against itself, so re-processing it is not refused by its own rows), not denied, created in
  the agreement's rolling period; and, for the minimum interval, the agency's latest other
  request whatever its state. It reads; it never writes.
- :func:`judge` is the *limit*: refuse the request whole (:class:`~tinmatch.errors.RefusedError`:
  too soon after the last one, or over the official's caseload cap) or say how many rows it may
  look up (what is left of the agency's cap, and the per-request cap). No database.

The callers keep the persistence: the transaction, the locks, and recording the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tinmatch.errors import RefusedError
from tinmatch.ledger.entry import utc
from tinmatch.ops.models import RequestRow
from tinmatch.ops.records import Limits, Quota

DEFAULT_PERIOD_DAYS = 30
"""The rolling period of the caps when the agreement gives none."""

UNCOUNTED_STATUSES: tuple[str, ...] = ("denied",)
"""Requests in these states do not count against the caps: nothing under them is disclosed."""


def period_days(limits: Limits) -> int:
    return limits.period_days or DEFAULT_PERIOD_DAYS


@dataclass(frozen=True)
class Usage:
    """What an agency has used, as far as the caps are concerned."""

    last_request_at: datetime | None
    """The agency's latest other request, whatever its state (for the minimum interval)."""
    official_rows: int
    """Rows of the official's requests that count in the period."""
    agency_rows: int
    """Rows of the agency's requests that count in the period."""


@dataclass(frozen=True)
class Verdict:
    quota: Quota
    """What validation may still accept: rows beyond it are rejected `volume_cap_exceeded`."""
    reserved: int
    """The rows this request may look up: its own, at most what is left and the request cap."""


def usage(
    s: Session,
    *,
    agency: ColumnElement[bool],
    official: ColumnElement[bool],
    others: ColumnElement[bool],
    limits: Limits,
    now: datetime,
) -> Usage:
    """Measure what counts, in the caller's transaction.

    `agency` and `official` select the requests of the agency and of its official (exact names
    once they are registered, else case-insensitive); `others` leaves out the request itself.
    """
    since = utc(now) - timedelta(days=period_days(limits))
    counted = (
        agency,
        others,
        RequestRow.status.not_in(UNCOUNTED_STATUSES),
        RequestRow.created_at > since,
    )
    total = func.coalesce(func.sum(RequestRow.n_rows), 0)
    last = s.scalar(select(func.max(RequestRow.created_at)).where(agency, others))
    return Usage(
        last_request_at=utc(last) if last is not None else None,
        official_rows=int(s.scalar(select(total).where(*counted, official)) or 0),
        agency_rows=int(s.scalar(select(total).where(*counted)) or 0),
    )


def judge(
    limits: Limits, used: Usage, *, agency: str, official: str, n_rows: int, now: datetime
) -> Verdict:
    """Refuse a request of `n_rows` rows whole, or say what it may look up."""
    now = utc(now)
    if limits.min_interval_seconds and used.last_request_at is not None:
        last = utc(used.last_request_at)
        next_ok = last + timedelta(seconds=limits.min_interval_seconds)
        if now < next_ok:
            raise RefusedError(
                f"agency {agency!r} sent a request at {last:%Y-%m-%d %H:%M:%S} UTC; "
                f"the agreement requires {limits.min_interval_seconds} s between "
                f"requests (next allowed at {next_ok:%Y-%m-%d %H:%M:%S} UTC)"
            )
    cap = limits.max_rows_per_official_per_period
    if cap is not None and used.official_rows + n_rows > cap:
        raise RefusedError(
            f"official {official!r} of {agency!r} already has {used.official_rows} rows in the "
            f"last {period_days(limits)} days; {n_rows} more would exceed the agreement's cap of "
            f"{cap} rows per official (request refused whole)"
        )
    remaining: int | None = None
    reserved = n_rows
    if limits.max_rows_per_agency_per_period is not None:
        remaining = max(0, limits.max_rows_per_agency_per_period - used.agency_rows)
        reserved = min(reserved, remaining)
    if limits.max_rows_per_request is not None:
        reserved = min(reserved, limits.max_rows_per_request)
    return Verdict(Quota(remaining, limits.max_rows_per_request), reserved)
