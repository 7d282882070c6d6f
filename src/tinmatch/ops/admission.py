"""Admitting a request: the caps are checked and the request recorded in one transaction.

The transaction locks the requesting agency's row first (SELECT ... FOR UPDATE on PostgreSQL;
on SQLite every transaction is BEGIN IMMEDIATE and holds the write lock), so two requests of
one agency are admitted one after the other: the second sees the rows the first reserved, and
the rows admitted in a period never exceed the agency's cap, however many arrive at once.

A request reserves the rows it may have looked up: all of its rows, or what is left of the
agency's cap in the period, or the per-request cap, whichever is least. Once processed, its
count becomes the rows actually looked up (never more than reserved). What counts against the
caps and what they allow is ``ops.quota``'s; this module is the transaction around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinmatch.errors import RefusedError
from tinmatch.ledger.entry import utc
from tinmatch.ops import quota, suspensions
from tinmatch.ops import rows as db
from tinmatch.ops.models import RequestRow
from tinmatch.ops.records import Limits, Quota, RequestRecord
from tinmatch.ops.registry_models import AgencyRow
from tinmatch.ops.requesters import resolve


@dataclass(frozen=True)
class Admission:
    record: RequestRecord
    quota: Quota
    reserved: int


@dataclass(frozen=True)
class Submission:
    """What is known of a request before it is processed."""

    request_id: str
    request_key: str
    agency: str
    official: str
    attestation: str
    agreement_id: str
    agreement_scope: str
    agreement_sha256: str
    input_sha256: str
    input_name: str
    out_dir: str
    n_rows: int


def admit(s: Session, sub: Submission, limits: Limits, now: datetime) -> Admission:
    """Refuse the request whole, or record it (status `received`) with the rows it reserves."""
    now = utc(now)
    agency, official = resolve(s, sub.agency, sub.official)
    s.scalars(select(AgencyRow).where(AgencyRow.id == agency.id).with_for_update()).one()
    why = suspensions.blocking(s, agency.name, sub.agreement_scope)
    if why is not None:
        raise RefusedError(f"the agreement is suspended ({why}); the request is refused whole")
    existing = s.scalars(
        select(RequestRow).where(RequestRow.request_key == sub.request_key).with_for_update()
    ).one_or_none()
    if existing is not None and existing.status in ("released", "denied"):
        return Admission(db.record(s, existing), Quota(0, limits.max_rows_per_request), 0)
    verdict = quota.judge(
        limits,
        quota.usage(
            s,
            agency=RequestRow.agency == agency.name,
            official=RequestRow.official == official.name,
            others=RequestRow.request_key != sub.request_key,
            limits=limits,
            now=now,
        ),
        agency=agency.name,
        official=official.name,
        n_rows=sub.n_rows,
        now=now,
    )
    reserved = verdict.reserved
    row = existing
    if row is None:
        row = RequestRow(
            id=sub.request_id, request_key=sub.request_key, agency=agency.name,
            official=official.name, attestation=sub.attestation, agreement_id=sub.agreement_id,
            agreement_sha256=sub.agreement_sha256, model_sha256=None,
            input_sha256=sub.input_sha256, input_name=sub.input_name, out_dir=sub.out_dir,
            n_rows=reserved, status="received", counts_json="{}", created_at=now,
            updated_at=now,
        )  # fmt: skip
        s.add(row)
    else:
        row.out_dir, row.n_rows, row.updated_at = sub.out_dir, reserved, now
        row.agreement_sha256 = sub.agreement_sha256
    s.flush()
    return Admission(db.record(s, row), verdict.quota, reserved)
