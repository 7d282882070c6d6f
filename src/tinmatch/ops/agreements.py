"""The agreement registry: an agreement runs only once registered by its content hash.

Registering records the file's bytes, who approved it and when, and what it loosens relative to
the agreement it replaces (the last active one of the same agency) and to the packaged default.
An agreement that loosens anything needs a second, different approver before it may run.
Each approval is a ledger entry.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinmatch.agreement import Agreement
from tinmatch.errors import ConfigError, ConflictError, NotFoundError
from tinmatch.ledger.entry import LedgerEntry, utc
from tinmatch.loosening import loosenings
from tinmatch.ops import chain
from tinmatch.ops.registry_models import RegisteredAgreementRow
from tinmatch.ops.requesters import require_agency
from tinmatch.ops.suspensions import EVERY_AGENCY

PACKAGED_APPROVER = "tinmatch (packaged default)"


@dataclass(frozen=True)
class Registration:
    sha256: str
    agreement_id: str
    agency: str
    status: str  # pending | active
    loosens: tuple[str, ...]
    replaces_sha256: str | None
    registered_at: datetime
    approved_by: str
    second_by: str | None
    second_at: datetime | None
    active_at: datetime | None
    source: str
    body: str

    @property
    def approvers(self) -> str:
        return self.approved_by + (f", {self.second_by}" if self.second_by else "")


def registration(row: RegisteredAgreementRow) -> Registration:
    return Registration(
        row.sha256, row.agreement_id, row.agency, row.status, tuple(json.loads(row.loosens)),
        row.replaces_sha256, utc(row.registered_at), row.approved_by, row.second_by,
        None if row.second_at is None else utc(row.second_at),
        None if row.active_at is None else utc(row.active_at), row.source, row.body,
    )  # fmt: skip


def scope(s: Session, agreement: Agreement) -> str:
    """The agreement's agency as registered (`*` for any agency)."""
    agency = agreement.agreement.requesting_agency
    return EVERY_AGENCY if agency.strip() == EVERY_AGENCY else require_agency(s, agency).name


def _previous(s: Session, agency: str, sha256: str) -> RegisteredAgreementRow | None:
    return s.scalars(
        select(RegisteredAgreementRow)
        .where(
            RegisteredAgreementRow.agency == agency,
            RegisteredAgreementRow.status == "active",
            RegisteredAgreementRow.sha256 != sha256,
        )
        .order_by(RegisteredAgreementRow.active_at.desc())
        .limit(1)
    ).first()


def register(
    s: Session,
    agreement: Agreement,
    body: bytes,
    *,
    approver: str,
    default: Agreement,
    now: datetime,
) -> Registration:
    """Record `approver`'s approval of `agreement` (whose file bytes are `body`).

    The first approval registers it: `active` at once unless it loosens something, else
    `pending` until a second, different approver registers the same file.
    """
    now = utc(now)
    row = s.get(RegisteredAgreementRow, agreement.sha256, with_for_update=True)
    if row is not None:
        if row.status == "active":
            raise ConflictError(
                f"agreement {row.agreement_id!r} (sha256 {row.sha256[:12]}) is registered "
                f"already, approved by {row.approved_by}"
                + (f" and {row.second_by}" if row.second_by else "")
            )
        if _same(row.approved_by, approver):
            raise ConflictError(
                f"agreement {row.agreement_id!r} loosens "
                f"{'; '.join(json.loads(row.loosens))}: it needs a second approver other "
                f"than {row.approved_by}"
            )
        row.second_by, row.second_at, row.status, row.active_at = approver, now, "active", now
        _ledger(s, row, approver, "second approval: agreement active", now)
        return registration(row)
    agency = scope(s, agreement)
    previous = _previous(s, agency, agreement.sha256)
    loosens: list[str] = []
    if previous is not None:
        before = Agreement.from_bytes(previous.body.encode("utf-8"), source=previous.source)
        loosens += [f"vs {previous.agreement_id}: {x}" for x in loosenings(agreement, before)]
    replaces_default = previous is not None and previous.sha256 == default.sha256
    if agreement.sha256 != default.sha256 and not replaces_default:
        loosens += [f"vs the packaged default: {x}" for x in loosenings(agreement, default)]
    status = "pending" if loosens else "active"
    row = RegisteredAgreementRow(
        sha256=agreement.sha256,
        agreement_id=agreement.id,
        agency=agency,
        body=body.decode("utf-8"),
        source=agreement.source,
        status=status,
        loosens=json.dumps(loosens),
        replaces_sha256=previous.sha256 if previous is not None else None,
        registered_at=now,
        approved_by=approver,
        active_at=now if status == "active" else None,
    )
    s.add(row)
    s.flush()
    _ledger(s, row, approver, "registered" + ("" if loosens else ": agreement active"), now)
    return registration(row)


def ensure_packaged(s: Session, default: Agreement, body: bytes, now: datetime) -> None:
    """Register the packaged default agreement on first use (it is the baseline itself)."""
    if s.get(RegisteredAgreementRow, default.sha256) is not None:
        return
    now = utc(now)
    row = RegisteredAgreementRow(
        sha256=default.sha256, agreement_id=default.id, agency=scope(s, default),
        body=body.decode("utf-8"), source=default.source, status="active", loosens="[]",
        replaces_sha256=None, registered_at=now, approved_by=PACKAGED_APPROVER, active_at=now,
    )  # fmt: skip
    s.add(row)
    s.flush()
    _ledger(s, row, PACKAGED_APPROVER, "packaged default registered on first use", now)


def require_active(s: Session, agreement: Agreement) -> RegisteredAgreementRow:
    """The registration of `agreement`, or ConfigError saying it is not registered."""
    row = s.get(RegisteredAgreementRow, agreement.sha256)
    if row is None:
        raise ConfigError(
            f"agreement {agreement.source} (id {agreement.id!r}, sha256 "
            f"{agreement.sha256[:12]}) is not registered: an approver registers it with "
            f"`tinmatch agreement register FILE --by NAME`"
        )
    if row.status != "active":
        raise ConfigError(
            f"agreement {agreement.source} (sha256 {agreement.sha256[:12]}) is not registered "
            f"yet: it loosens {'; '.join(json.loads(row.loosens))} and awaits a second "
            f"approver (approved so far by {row.approved_by})"
        )
    return row


def find(s: Session, ref: str) -> RegisteredAgreementRow:
    """A registration by SHA-256 (or a prefix of 6+ characters), or the newest of an id."""
    ref = ref.strip().lower()
    if len(ref) >= 6:
        rows = s.scalars(
            select(RegisteredAgreementRow).where(RegisteredAgreementRow.sha256.startswith(ref))
        ).all()
        if len(rows) == 1:
            return rows[0]
    by_id = s.scalars(
        select(RegisteredAgreementRow)
        .where(RegisteredAgreementRow.agreement_id == ref)
        .order_by(RegisteredAgreementRow.registered_at.desc())
        .limit(1)
    ).first()
    if by_id is None:
        raise NotFoundError(f"no registered agreement {ref!r} (see `tinmatch agreement list`)")
    return by_id


def listing(s: Session) -> list[Registration]:
    rows = s.scalars(
        select(RegisteredAgreementRow).order_by(RegisteredAgreementRow.registered_at)
    ).all()
    return [registration(r) for r in rows]


def diff(s: Session, ref: str, default_body: str) -> str:
    """A unified diff from the agreement it replaced (or the packaged default) to `ref`."""
    row = find(s, ref)
    before = s.get(RegisteredAgreementRow, row.replaces_sha256) if row.replaces_sha256 else None
    old_name = f"{before.agreement_id} ({before.sha256[:12]})" if before else "packaged default"
    old_text = before.body if before is not None else default_body
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True), row.body.splitlines(keepends=True),
        fromfile=old_name, tofile=f"{row.agreement_id} ({row.sha256[:12]})",
    )  # fmt: skip
    return "".join(lines)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _ledger(
    s: Session, row: RegisteredAgreementRow, approver: str, note: str, now: datetime
) -> None:
    entry = LedgerEntry.event(
        "agreement_registration",
        at=now,
        detail={"sha256": row.sha256, "status": row.status, "loosens": json.loads(row.loosens)},
        agency=row.agency,
        agreement_id=row.agreement_id,
        reviewer=approver,
        note=note,
    )
    chain.append(s, [replace(entry, agreement_sha256=row.sha256)])
