"""The registries behind one object: agencies and officials, agreements, suspensions, and the
admission of requests under them. Every method runs in its own transaction of the Store."""

from __future__ import annotations

from datetime import datetime

from tinmatch.agreement import Agreement
from tinmatch.errors import ConflictError
from tinmatch.ops import admission, agreements, requesters, rows, suspensions
from tinmatch.ops.admission import Admission, Submission
from tinmatch.ops.agreements import Registration
from tinmatch.ops.records import Limits
from tinmatch.ops.registry_models import SuspensionRow
from tinmatch.ops.requesters import Agency, Official
from tinmatch.ops.store import Store


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- requesters ------------------------------------------------------------------------

    def add_agency(self, name: str, now: datetime) -> Agency:
        with self.store._tx() as s:
            return requesters.add_agency(s, name, now)

    def add_official(self, name: str, agency: str, now: datetime) -> Official:
        with self.store._tx() as s:
            return requesters.add_official(s, name, agency, now)

    def agencies(self) -> list[Agency]:
        with self.store._tx() as s:
            return requesters.list_agencies(s)

    def officials(self, agency: str | None = None) -> list[Official]:
        with self.store._tx() as s:
            return requesters.list_officials(s, agency)

    def resolve(self, agency: str, official: str) -> tuple[str, str]:
        """The registered names of the agency and official a cover names (RefusedError when
        either is not registered: the request is refused whole)."""
        with self.store._tx() as s:
            home, person = requesters.resolve(s, agency, official)
            return home.name, person.name

    def agency_name(self, name: str) -> str:
        """The registered name of an agency (NotFoundError when it is not registered)."""
        with self.store._tx() as s:
            return requesters.require_agency(s, name).name

    # -- agreements ------------------------------------------------------------------------

    def register(
        self, agreement: Agreement, body: bytes, *, approver: str, now: datetime
    ) -> Registration:
        default = Agreement.load()
        with self.store._tx() as s:
            return agreements.register(
                s, agreement, body, approver=approver, default=default, now=now
            )

    def require_registered(self, agreement: Agreement, now: datetime) -> Registration:
        """The agreement's active registration; the packaged default registers itself first.
        ConfigError (exit 2) when the file is not registered."""
        if agreement.packaged:
            try:
                with self.store._tx() as s:
                    agreements.ensure_packaged(s, agreement, agreement.raw_bytes, now)
            except ConflictError:
                pass  # registered at the same moment by another process
        with self.store._tx() as s:
            return agreements.registration(agreements.require_active(s, agreement))

    def registrations(self) -> list[Registration]:
        with self.store._tx() as s:
            return agreements.listing(s)

    def registration(self, ref: str) -> Registration:
        with self.store._tx() as s:
            return agreements.registration(agreements.find(s, ref))

    def diff(self, ref: str) -> str:
        default = Agreement.load()
        with self.store._tx() as s:
            return agreements.diff(s, ref, default.raw_bytes.decode("utf-8"))

    def scope(self, agreement: Agreement) -> str:
        with self.store._tx() as s:
            return agreements.scope(s, agreement)

    # -- suspensions -----------------------------------------------------------------------

    def suspend(self, agency: str, why: str, by: str, now: datetime) -> None:
        with self.store._tx() as s:
            suspensions.change(s, agency, "suspend", why, by, now)

    def resume(self, agency: str, why: str, by: str, now: datetime) -> None:
        with self.store._tx() as s:
            suspensions.change(s, agency, "resume", why, by, now)

    def suspension(self, *agencies: str | None) -> str | None:
        """Why requests of these agencies are stopped, or None."""
        with self.store._tx() as s:
            return suspensions.blocking(s, *agencies)

    def request_suspension(
        self, agency: str, agreement_sha256: str, agreement_id: str
    ) -> str | None:
        """Why a request of `agency` under this agreement cannot be released or served now
        (its agency, its agreement's agency, every agency, or a suspension from before 0004)."""
        with self.store._tx() as s:
            return suspensions.for_request(s, agency, agreement_sha256) or (
                rows.active_suspension(s, agreement_id)
            )

    def suspension_history(self, agency: str | None = None) -> list[SuspensionRow]:
        with self.store._tx() as s:
            return suspensions.history(s, agency)

    def agreement_scope_of(self, sha256: str) -> str | None:
        """The agency of a registered agreement (by hash), or None when unknown."""
        with self.store._tx() as s:
            reg = s.get(agreements.RegisteredAgreementRow, sha256)
            return None if reg is None else reg.agency

    # -- admission -------------------------------------------------------------------------

    def admit(self, sub: Submission, limits: Limits, now: datetime) -> Admission:
        with self.store._tx() as s:
            return admission.admit(s, sub, limits, now)
