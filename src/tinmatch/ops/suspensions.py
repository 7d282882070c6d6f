"""Suspension by agency: every agreement of a suspended agency is stopped until it is resumed.

An agreement's agency is its `requesting_agency` (a registered agency, or `*`). Suspending `*`
(an agreement open to any agency, such as the packaged default) stops every agency. Each
suspension and resumption is also a ledger entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinmatch.errors import ConflictError, InvalidInputError
from tinmatch.ledger.entry import LedgerEntry, utc
from tinmatch.ops import chain
from tinmatch.ops.registry_models import RegisteredAgreementRow, SuspensionRow

EVERY_AGENCY = "*"


def active(s: Session, agency: str) -> str | None:
    """Why `agency` (a registered name, or `*`) is suspended, or None."""
    last = s.scalars(
        select(SuspensionRow)
        .where(SuspensionRow.agency == agency)
        .order_by(SuspensionRow.id.desc())
        .limit(1)
    ).first()
    if last is None or last.action != "suspend":
        return None
    who = "every agency" if agency == EVERY_AGENCY else agency
    return f"{who} suspended: {last.why} (since {utc(last.at):%Y-%m-%d %H:%M} UTC, by {last.by})"


def blocking(s: Session, *agencies: str | None) -> str | None:
    """The suspension that stops a request of these agencies (its own, its agreement's), if any."""
    for agency in (EVERY_AGENCY, *agencies):
        if agency:
            why = active(s, agency)
            if why is not None:
                return why
    return None


def for_request(s: Session, agency: str, agreement_sha256: str) -> str | None:
    """The suspension that stops releasing or serving a request of `agency` made under the
    agreement with this hash (its own agency, the agreement's, or every agency), if any."""
    registered = s.get(RegisteredAgreementRow, agreement_sha256)
    return blocking(s, agency, registered.agency if registered is not None else None)


def change(s: Session, agency: str, action: str, why: str, by: str, now: datetime) -> None:
    """Suspend or resume `agency`, with a ledger entry in the same transaction."""
    if action == "suspend" and not why.strip():
        raise InvalidInputError("say why the agreements are suspended (--why)")
    current = active(s, agency)
    if action == "suspend" and current is not None:
        raise ConflictError(f"already suspended: {current}")
    if action == "resume" and current is None:
        raise ConflictError(
            f"{'no agency' if agency == EVERY_AGENCY else repr(agency)} is not suspended"
            if agency != EVERY_AGENCY
            else "agreements open to every agency are not suspended"
        )
    now = utc(now)
    s.add(SuspensionRow(agency=agency, action=action, why=why.strip(), by=by, at=now))
    kind = "suspension" if action == "suspend" else "resumption"
    detail = {"scope": agency, "why": why.strip()}
    entry = LedgerEntry.event(kind, at=now, detail=detail, agency=agency, reviewer=by, note=why)
    chain.append(s, [entry])


def history(s: Session, agency: str | None = None) -> list[SuspensionRow]:
    query = select(SuspensionRow).order_by(SuspensionRow.id)
    if agency is not None:
        query = query.where(SuspensionRow.agency == agency)
    return list(s.scalars(query))
