"""Reading and writing rows of the operational database (helpers of the Store)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinmatch.errors import ConflictError, InvalidInputError, NotFoundError
from tinmatch.ledger.entry import utc
from tinmatch.ops.models import (
    AgreementEventRow,
    DecisionRow,
    LedgerRow,
    PendingRow,
    RequestRow,
    ReviewApprovalRow,
)
from tinmatch.ops.records import Approval, Decision, PendingDisclosure, RequestRecord


def clean(text: str) -> str:
    """Whitespace collapsed: names compare alike however they were typed."""
    return " ".join(text.split())


def active_suspension(s: Session, agreement_id: str) -> str | None:
    last = s.scalars(
        select(AgreementEventRow)
        .where(AgreementEventRow.agreement_id == agreement_id)
        .order_by(AgreementEventRow.id.desc())
        .limit(1)
    ).first()
    if last is None or last.action != "suspend":
        return None
    return f"{last.why} (since {utc(last.at):%Y-%m-%d %H:%M} UTC)"


def find_request(s: Session, request_id: str) -> RequestRow:
    row = s.get(RequestRow, request_id)
    if row is None:
        raise NotFoundError(f"no request {request_id!r} (see `tinmatch review list`)")
    return row


def lock_request(s: Session, request_id: str) -> RequestRow:
    row = s.scalars(
        select(RequestRow).where(RequestRow.id == request_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no request {request_id!r} (see `tinmatch review list`)")
    return row


def require_undecided(row: RequestRow, action: str) -> None:
    if row.status in ("released", "denied"):
        when = f"{utc(row.decided_at):%Y-%m-%d %H:%M} UTC" if row.decided_at else "earlier"
        raise ConflictError(
            f"request {row.id} was already {row.status} by {row.reviewer} at {when}: "
            f"it cannot be {action} again; nothing written"
            if row.status == action
            else f"request {row.id} was already {row.status} by {row.reviewer} at {when}: "
            f"it cannot be {action}; nothing written"
        )


def pending_row(request_id: str, d: PendingDisclosure) -> PendingRow:
    return PendingRow(**pending_values(request_id, d))


def pending_values(request_id: str, d: PendingDisclosure) -> dict[str, Any]:
    """Column values of a pending disclosure, for a bulk insert."""
    if not d.tin.strip():
        raise InvalidInputError(f"request {request_id}: disclosure of {d.record_id!r} has no TIN")
    return dict(
        request_id=request_id,
        record_id=d.record_id,
        tin=d.tin.strip(),
        fields_json=json.dumps(dict(d.fields)),
        tax_year=d.tax_year,
        match_probability=d.match_probability,
        statute=d.statute,
        case_number=d.case_number,
        request_json=json.dumps(dict(d.asked)) if d.asked else None,
    )


def decision_row(request_id: str, d: Decision) -> DecisionRow:
    return DecisionRow(**decision_values(request_id, d))


def decision_values(request_id: str, d: Decision) -> dict[str, Any]:
    """Column values of a decision-log row, for a bulk insert."""
    return dict(
        request_id=request_id,
        record_id=d.record_id,
        outcome=d.outcome,
        reason=d.reason,
        tin=d.tin,
        probability=d.probability,
        message=d.message,
        fields=d.fields,
    )


def record(s: Session, row: RequestRow) -> RequestRecord:
    n_pending = s.scalar(
        select(func.count()).select_from(PendingRow).where(PendingRow.request_id == row.id)
    )
    n_disclosed = s.scalar(
        select(func.count())
        .select_from(LedgerRow)
        .where(LedgerRow.request_id == row.id, LedgerRow.entry_type == "disclosure")
    )
    recalled = s.scalars(
        select(LedgerRow.record_id)
        .where(LedgerRow.request_id == row.id, LedgerRow.entry_type == "recall")
        .order_by(LedgerRow.seq)
    ).all()
    approvals = s.scalars(
        select(ReviewApprovalRow)
        .where(ReviewApprovalRow.request_id == row.id)
        .order_by(ReviewApprovalRow.id)
    ).all()
    return RequestRecord(
        id=row.id,
        request_key=row.request_key,
        agency=row.agency,
        official=row.official,
        attestation=row.attestation,
        agreement_id=row.agreement_id,
        agreement_sha256=row.agreement_sha256,
        model_sha256=row.model_sha256,
        input_sha256=row.input_sha256,
        input_name=row.input_name,
        out_dir=row.out_dir,
        n_rows=row.n_rows,
        status=row.status,
        counts=json.loads(row.counts_json or "{}"),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        outcome_at=utc(row.outcome_at) if row.outcome_at else None,
        reviewer=row.reviewer,
        review_note=row.review_note,
        decided_at=utc(row.decided_at) if row.decided_at else None,
        purged_at=utc(row.purged_at) if row.purged_at else None,
        n_pending=int(n_pending or 0),
        n_disclosed=int(n_disclosed or 0),
        recalled_record_ids=tuple(recalled),
        reviewers_required=int(row.reviewers_required or 1),
        approvals=tuple(approval(a) for a in approvals),
    )


def approval(row: ReviewApprovalRow) -> Approval:
    withheld = json.loads(row.withhold_json or "{}")
    return Approval(row.reviewer, row.note, dict(withheld), utc(row.at))


def pending(row: PendingRow) -> PendingDisclosure:
    return PendingDisclosure(
        row.record_id,
        row.tin,
        json.loads(row.fields_json),
        row.tax_year,
        row.match_probability,
        row.statute,
        row.case_number,
        json.loads(row.request_json) if row.request_json else {},
    )


def decision(row: DecisionRow) -> Decision:
    return Decision(
        row.record_id, row.outcome, row.reason, row.tin, row.probability, row.message, row.fields
    )
