"""Per-agency accounting for a calendar period."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinmatch.ops.models import LedgerRow, RequestRow
from tinmatch.ops.periods import parse_period

FIXED_COLUMNS = ("agency", "requests", "held", "released", "denied")
LEDGER_COLUMNS = ("ledger_disclosed", "ledger_recalled")


def period_report(s: Session, period: str) -> list[dict[str, object]]:
    """One dict per agency, sorted by agency.

    Requests received in the period: how many, by current status, and the sum of each batch
    figure the pipeline recorded (received, rejected by reason, matched, ambiguous, ...).
    From the ledger: `ledger_disclosed`, the entries released in the period, and
    `ledger_recalled`, the recalls written in it (authoritative, unlike the batch figures).
    Every dict has the same keys; figures absent for an agency are 0.
    """
    start, end = parse_period(period)
    per_agency: dict[str, Counter[str]] = defaultdict(Counter)
    count_keys: set[str] = set()
    requests = s.execute(
        select(RequestRow.agency, RequestRow.status, RequestRow.counts_json).where(
            RequestRow.created_at >= start, RequestRow.created_at < end
        )
    )
    for agency, status, counts_json in requests:
        figures = per_agency[agency]
        figures["requests"] += 1
        figures[status] += 1
        for key, value in json.loads(counts_json or "{}").items():
            figures[key] += int(value)
            count_keys.add(key)
    for entry_type, column, moment in (
        ("disclosure", "ledger_disclosed", LedgerRow.released_at),
        ("recall", "ledger_recalled", LedgerRow.created_at),
    ):
        rows = s.execute(
            select(LedgerRow.agency, func.count())
            .where(LedgerRow.entry_type == entry_type, moment >= start, moment < end)
            .group_by(LedgerRow.agency)
        )
        for agency, n in rows:
            per_agency[agency][column] += int(n)
    keys = [*FIXED_COLUMNS[1:], *sorted(count_keys - set(FIXED_COLUMNS)), *LEDGER_COLUMNS]
    return [
        {"agency": agency, **{k: per_agency[agency][k] for k in keys}}
        for agency in sorted(per_agency)
    ]
