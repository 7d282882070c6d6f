"""Who may decide a request, and what its result files are rendered from (helpers of the Store).

A reviewer is a registered account (the ``reviewers`` table the web service also logs in with),
never the request's own official, and never the same person twice on one request. The result
files of a decided request are rendered from here only: the rows released, less the rows
recalled since, and every other row's reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tinmatch.errors import ConflictError, InvalidInputError, RefusedError
from tinmatch.ledger.entry import utc
from tinmatch.ops import rows as db
from tinmatch.ops.models import Base, DecisionRow, LedgerRow, PendingRow, RequestRow
from tinmatch.ops.records import DeliveredRow, Delivery, Recall

WITHHELD = "withheld_by_reviewer"
RECALLED = "previously_recalled"
WITHHELD_MESSAGE = "nothing is disclosed for this row"
REPEAT_DAYS = 90


def _reviewers() -> Table:
    # The accounts table belongs to the web service's models (migration 0002); it is looked up
    # by name so that ops does not import the web package.
    return Base.metadata.tables["reviewers"]


def require_reviewer(s: Session, name: str, row: RequestRow) -> str:
    """`name` cleaned, when it is a live reviewer account other than the request's official."""
    name = db.clean(name)
    if not name:
        raise InvalidInputError("a decision needs the reviewer's name (--reviewer)")
    accounts = _reviewers()
    found = s.execute(
        select(accounts.c.name, accounts.c.disabled_at).where(accounts.c.name == name)
    ).first()
    if found is None or found.disabled_at is not None:
        raise RefusedError(
            f"{name!r} is not a registered reviewer (tinmatch reviewers add NAME); nothing decided"
        )
    if name.casefold() == db.clean(row.official).casefold():
        raise RefusedError(
            f"{name!r} is the official who sent request {row.id}: the requester cannot review "
            "their own request; nothing decided"
        )
    return name


def check_withheld(s: Session, request_id: str, withhold: Mapping[str, str]) -> dict[str, str]:
    """The rows to withhold, each a pending row of the request with a reason."""
    out: dict[str, str] = {}
    if not withhold:
        return out
    pending = set(
        s.scalars(select(PendingRow.record_id).where(PendingRow.request_id == request_id))
    )
    for record_id, reason in withhold.items():
        if record_id not in pending:
            raise RefusedError(
                f"record {record_id!r} is not a row request {request_id} would disclose: "
                "only those can be withheld; nothing decided"
            )
        why = " ".join(str(reason).split())
        if not why:
            raise InvalidInputError(f"say why record {record_id!r} is withheld (--why)")
        out[record_id] = why
    return out


def mark_withheld(s: Session, request_id: str, record_ids: Iterable[str]) -> None:
    """Rows no longer disclosed: their address leaves the store, the decision log says why."""
    ids = list(record_ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        s.query(PendingRow).filter(
            PendingRow.request_id == request_id, PendingRow.record_id.in_(part)
        ).delete(synchronize_session=False)
        s.query(DecisionRow).filter(
            DecisionRow.request_id == request_id,
            DecisionRow.record_id.in_(part),
            DecisionRow.outcome == "matched",
        ).update(
            {"outcome": "unmatched", "reason": WITHHELD, "message": WITHHELD_MESSAGE},
            synchronize_session=False,
        )


def recalled_tins(s: Session, agency: str) -> set[str]:
    """Taxpayers whose disclosure to `agency` was ever recalled."""
    return set(
        s.scalars(
            select(LedgerRow.tin).where(
                LedgerRow.entry_type == "recall",
                func.lower(LedgerRow.agency) == db.clean(agency).lower(),
            )
        )
    )


def repeats(
    s: Session, row: RequestRow, now: datetime, days: int = REPEAT_DAYS
) -> dict[str, list[tuple[str, datetime]]]:
    """record_id -> (request, released_at) of this taxpayer's disclosures to the same agency in
    the last `days` days, for every pending row of `row` that has any."""
    tins: dict[str, list[str]] = {}
    for record_id, tin in s.execute(
        select(PendingRow.record_id, PendingRow.tin).where(PendingRow.request_id == row.id)
    ):
        tins.setdefault(tin, []).append(record_id)
    found: dict[str, list[tuple[str, datetime]]] = {}
    if not tins:
        return found
    since = utc(now) - timedelta(days=days)
    keys = list(tins)
    for start in range(0, len(keys), 500):
        earlier = s.execute(
            select(LedgerRow.tin, LedgerRow.request_id, LedgerRow.released_at).where(
                LedgerRow.entry_type == "disclosure",
                func.lower(LedgerRow.agency) == row.agency.lower(),
                LedgerRow.request_id != row.id,
                LedgerRow.released_at >= since,
                LedgerRow.tin.in_(keys[start : start + 500]),
            )
        )
        for tin, request_id, released_at in earlier:
            for record_id in tins[tin]:
                found.setdefault(record_id, []).append((request_id, utc(released_at)))
    return found


def delivery(s: Session, row: RequestRow) -> Delivery:
    """What the result files of a decided request say now (recalled rows left out)."""
    if row.status not in ("released", "denied"):
        raise ConflictError(
            f"request {row.id} is {row.status}: nothing is rendered before a reviewer decides"
        )
    recalls = [
        Recall(r.record_id, utc(r.created_at), r.note)
        for r in s.scalars(
            select(LedgerRow)
            .where(LedgerRow.request_id == row.id, LedgerRow.entry_type == "recall")
            .order_by(LedgerRow.seq)
        )
    ]
    gone = {r.record_id for r in recalls}
    matched: list[DeliveredRow] = []
    if row.status == "released":
        for p in s.scalars(
            select(PendingRow).where(PendingRow.request_id == row.id).order_by(PendingRow.id)
        ):
            if p.record_id in gone:
                continue
            matched.append(
                DeliveredRow(
                    p.record_id, json.loads(p.fields_json), p.tax_year, p.match_probability
                )
            )
    decisions = [
        db.decision(d)
        for d in s.scalars(
            select(DecisionRow).where(DecisionRow.request_id == row.id).order_by(DecisionRow.id)
        )
    ]
    return Delivery(db.record(s, row), matched, decisions, recalls)
