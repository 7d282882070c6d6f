"""The operational database: requests, their review, suspensions, and the ledger.

Every method runs in its own transaction. Nothing here updates or deletes a ledger entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, TextIO, cast

from sqlalchemy import ColumnElement, Engine, Table, delete, func, insert, select, true
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tinmatch.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
    TinmatchError,
    UnavailableError,
)
from tinmatch.ledger import LedgerEntry, Problem, write_csv, write_jsonl
from tinmatch.ledger.entry import utc
from tinmatch.ledger.note import ED25519, NoteError, Signer, VerifierKey
from tinmatch.ledger.verify import Anchor
from tinmatch.ops import chain, logkey, reporting
from tinmatch.ops import rows as db
from tinmatch.ops.engine import database_error, display_url, make_engine, resolve_url
from tinmatch.ops.migrate import upgrade
from tinmatch.ops.models import (
    AgreementEventRow,
    Base,
    DecisionRow,
    LedgerRow,
    PendingRow,
    PurgeRow,
    RequestRow,
)
from tinmatch.ops.records import (
    AgreementEvent,
    Decision,
    Limits,
    PendingDisclosure,
    PurgeRecord,
    Quota,
    RequestRecord,
)
from tinmatch.spool import batched

DEFAULT_PERIOD_DAYS = 30

# Rows per INSERT when recording an outcome (the items may come from a spool).
INSERT_BATCH = 10_000


def request_id_for(request_key: str) -> str:
    """The request id derived from its key: the same file from the same agency, the same id."""
    return "req-" + hashlib.sha256(request_key.encode("utf-8")).hexdigest()[:16]


class Store:
    """Typed access to the operational database (SQLite file or PostgreSQL)."""

    def __init__(
        self, engine: Engine, *, signer: Signer | None = None, key_path: Path | None = None
    ) -> None:
        """`signer` signs the ledger's checkpoints (an HSM or KMS adapter); by default the
        key file `key_path` (or the one `ops.logkey` names), created 0600 on first use."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._signer = signer
        self._key_path = key_path

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Connect to `url` (default: $TINMATCH_DATABASE_URL or sqlite:///tinmatch.sqlite)
        and migrate it to the newest schema."""
        resolved = resolve_url(url)
        engine = make_engine(resolved)
        try:
            upgrade(engine)
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UnavailableError(
                f"cannot open the operational database {display_url(resolved)}: {reason}"
            ) from exc
        return cls(engine, key_path=logkey.key_path(resolved))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except TinmatchError:
            raise
        except SQLAlchemyError as exc:
            raise database_error(exc) from exc

    # -- submission ------------------------------------------------------------------------

    def check_submission(
        self,
        *,
        agency: str,
        official: str,
        n_rows: int,
        now: datetime,
        agreement_id: str,
        limits: Limits,
        request_key: str | None = None,
    ) -> Quota:
        """Refuse the request whole, or say how many rows validation may still accept.

        Raises RefusedError when the agreement is suspended, when this agency's last request is
        more recent than `min_interval_seconds`, or when the official's rows in the rolling
        period plus `n_rows` exceed `max_rows_per_official_per_period`. Denied requests do not
        count. Pass `request_key` when re-processing: the request itself is then not counted.
        """
        now = utc(now)
        agency, official = db.clean(agency), db.clean(official)
        with self._tx() as s:
            why = db.active_suspension(s, agreement_id)
            if why is not None:
                raise RefusedError(f"agreement {agreement_id!r} is suspended: {why}")
            others: ColumnElement[bool] = (
                RequestRow.request_key != request_key if request_key else true()
            )
            same_agency = func.lower(RequestRow.agency) == agency.lower()
            if limits.min_interval_seconds:
                last = s.scalar(select(func.max(RequestRow.created_at)).where(same_agency, others))
                if last is not None:
                    last = utc(last)
                    next_ok = last + timedelta(seconds=limits.min_interval_seconds)
                    if now < next_ok:
                        raise RefusedError(
                            f"agency {agency!r} sent a request at {last:%Y-%m-%d %H:%M:%S} UTC; "
                            f"the agreement requires {limits.min_interval_seconds} s between "
                            f"requests (next allowed at {next_ok:%Y-%m-%d %H:%M:%S} UTC)"
                        )
            days = limits.period_days or DEFAULT_PERIOD_DAYS
            in_period = (
                same_agency,
                others,
                RequestRow.status != "denied",
                RequestRow.created_at > now - timedelta(days=days),
            )
            cap = limits.max_rows_per_official_per_period
            if cap is not None:
                used = s.scalar(
                    select(func.coalesce(func.sum(RequestRow.n_rows), 0)).where(
                        *in_period, func.lower(RequestRow.official) == official.lower()
                    )
                )
                if int(used or 0) + n_rows > cap:
                    raise RefusedError(
                        f"official {official!r} of {agency!r} already has {used} rows in the "
                        f"last {days} days; {n_rows} more would exceed the agreement's cap of "
                        f"{cap} rows per official (request refused whole)"
                    )
            remaining: int | None = None
            agency_cap = limits.max_rows_per_agency_per_period
            if agency_cap is not None:
                used_agency = s.scalar(
                    select(func.coalesce(func.sum(RequestRow.n_rows), 0)).where(*in_period)
                )
                remaining = max(0, agency_cap - int(used_agency or 0))
        return Quota(remaining, limits.max_rows_per_request)

    def begin_request(
        self,
        *,
        request_key: str,
        agency: str,
        official: str,
        attestation: str,
        agreement_id: str,
        agreement_sha256: str,
        model_sha256: str | None,
        input_sha256: str,
        input_name: str,
        out_dir: str,
        n_rows: int,
        now: datetime,
    ) -> RequestRecord:
        """Record a request (status `received`), or return the one with the same key.

        `n_rows` is what counts against the volume caps (the rows looked up). Re-processing an
        undecided request updates its output folder, hashes and row count.
        """
        now = utc(now)
        rid = request_id_for(request_key)
        try:
            with self._tx() as s:
                row = s.scalars(
                    select(RequestRow)
                    .where(RequestRow.request_key == request_key)
                    .with_for_update()
                ).one_or_none()
                if row is None:
                    row = RequestRow(
                        id=rid,
                        request_key=request_key,
                        agency=db.clean(agency),
                        official=db.clean(official),
                        attestation=attestation,
                        agreement_id=agreement_id,
                        agreement_sha256=agreement_sha256,
                        model_sha256=model_sha256,
                        input_sha256=input_sha256,
                        input_name=input_name,
                        out_dir=out_dir,
                        n_rows=n_rows,
                        status="received",
                        counts_json="{}",
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(row)
                elif row.status in ("received", "held"):
                    row.out_dir, row.n_rows, row.updated_at = out_dir, n_rows, now
                    row.agreement_sha256, row.model_sha256 = agreement_sha256, model_sha256
                s.flush()
                return db.record(s, row)
        except ConflictError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a concurrent begin with the same key
                return self.get_request(rid)
            raise

    def record_outcome(
        self,
        request_id: str,
        *,
        counts: Mapping[str, int],
        disclosures: Iterable[PendingDisclosure],
        decisions: Iterable[Decision] | None,
        auto_release: bool,
        now: datetime,
    ) -> RequestRecord:
        """Store the batch figures, the pending disclosures and the decision log; hold it.

        Replaces any earlier outcome of the same request while it is undecided; `decisions=None`
        clears the decision log. With `auto_release` the request is released in the same
        transaction (reviewer `auto`). A request already released or denied is left as it is
        and returned unchanged: re-processing never discloses twice.
        """
        now = utc(now)
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            if row.status in ("released", "denied"):
                return db.record(s, row)
            s.execute(delete(PendingRow).where(PendingRow.request_id == request_id))
            s.execute(delete(DecisionRow).where(DecisionRow.request_id == request_id))
            # Core bulk inserts in batches: a million-row request must not build a million ORM
            # objects, nor a million parameter dicts at once (the items may come from a spool).
            seen: set[str] = set()
            for batch in batched(disclosures, INSERT_BATCH):
                for d in batch:
                    if d.record_id in seen:
                        raise InvalidInputError(
                            f"request {request_id}: a record_id appears twice among disclosures"
                        )
                    seen.add(d.record_id)
                s.execute(
                    insert(_table(PendingRow)), [db.pending_values(request_id, d) for d in batch]
                )
            for decided in batched(decisions or (), INSERT_BATCH):
                s.execute(
                    insert(_table(DecisionRow)),
                    [db.decision_values(request_id, d) for d in decided],
                )
            row.counts_json = json.dumps({k: int(v) for k, v in counts.items()})
            row.status, row.outcome_at, row.updated_at = "held", now, now
            s.flush()
            if auto_release:
                self._release(
                    s,
                    row,
                    reviewer="auto",
                    note="released automatically under the agreement",
                    now=now,
                )
            return db.record(s, row)

    # -- review ----------------------------------------------------------------------------

    def release(self, request_id: str, *, reviewer: str, note: str, now: datetime) -> int:
        """Release a held request: one chained ledger entry per pending disclosure.

        Returns the number of entries written. A request is released once: releasing it again,
        or releasing a denied request, raises ConflictError and writes nothing.
        """
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            return self._release(s, row, reviewer=reviewer, note=note, now=utc(now))

    def _release(
        self, s: Session, row: RequestRow, *, reviewer: str, note: str, now: datetime
    ) -> int:
        reviewer = db.clean(reviewer)
        if not reviewer:
            raise InvalidInputError("a release needs the reviewer's name")
        db.require_undecided(row, "released")
        if row.status != "held":
            raise ConflictError(f"request {row.id} has no recorded outcome yet: nothing to release")
        why = db.active_suspension(s, row.agreement_id)
        if why is not None:
            raise RefusedError(
                f"agreement {row.agreement_id!r} is suspended ({why}): request {row.id} "
                "cannot be released"
            )
        pending = s.scalars(
            select(PendingRow).where(PendingRow.request_id == row.id).order_by(PendingRow.id)
        ).all()
        drafts = [
            LedgerEntry(
                seq=0,
                entry_type="disclosure",
                request_id=row.id,
                agency=row.agency,
                official=row.official,
                record_id=p.record_id,
                tin=p.tin,
                fields_released=tuple(json.loads(p.fields_json)),
                tax_year=p.tax_year,
                match_probability=p.match_probability,
                agreement_id=row.agreement_id,
                agreement_sha256=row.agreement_sha256,
                model_sha256=row.model_sha256,
                statute=p.statute,
                case_number=p.case_number,
                reviewer=reviewer,
                note=note,
                recalls_seq=None,
                created_at=now,
                released_at=now,
                values=json.loads(p.fields_json),
            )
            for p in pending
        ]
        written = chain.append(s, drafts)
        chain.checkpoint(s, self.signer(), now)
        row.status, row.reviewer, row.review_note = "released", reviewer, note
        row.decided_at = row.updated_at = now
        return len(written)

    def deny(self, request_id: str, *, reviewer: str, note: str, now: datetime) -> None:
        """Deny a request: nothing is disclosed, its pending disclosures are discarded."""
        now = utc(now)
        reviewer = db.clean(reviewer)
        if not reviewer:
            raise InvalidInputError("a denial needs the reviewer's name")
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            db.require_undecided(row, "denied")
            s.execute(delete(PendingRow).where(PendingRow.request_id == request_id))
            row.status, row.reviewer, row.review_note = "denied", reviewer, note
            row.decided_at = row.updated_at = now

    def list_requests(self, status: str | None = None) -> list[RequestRecord]:
        """Requests, newest first, optionally only those with `status`."""
        with self._tx() as s:
            query = select(RequestRow).order_by(RequestRow.created_at.desc(), RequestRow.id)
            if status:
                query = query.where(RequestRow.status == status)
            rows = s.scalars(query).all()
            return [db.record(s, r) for r in rows]

    def get_request(self, request_id: str) -> RequestRecord:
        with self._tx() as s:
            return db.record(s, db.find_request(s, request_id))

    def decisions(self, request_id: str) -> list[Decision]:
        """The private per-row decision log of a request, in the order recorded."""
        with self._tx() as s:
            db.find_request(s, request_id)
            rows = s.scalars(
                select(DecisionRow)
                .where(DecisionRow.request_id == request_id)
                .order_by(DecisionRow.id)
            ).all()
            return [Decision(r.record_id, r.outcome, r.reason, r.tin, r.probability) for r in rows]

    def pending(self, request_id: str) -> list[PendingDisclosure]:
        """The disclosures a release of this request would record (empty once purged/denied)."""
        with self._tx() as s:
            db.find_request(s, request_id)
            rows = s.scalars(
                select(PendingRow)
                .where(PendingRow.request_id == request_id)
                .order_by(PendingRow.id)
            ).all()
            return [
                PendingDisclosure(
                    r.record_id,
                    r.tin,
                    json.loads(r.fields_json),
                    r.tax_year,
                    r.match_probability,
                    r.statute,
                    r.case_number,
                )
                for r in rows
            ]

    # -- agreements --------------------------------------------------------------------------

    def suspend(self, agreement_id: str, why: str, now: datetime) -> None:
        """Suspend an agreement: new requests are refused and nothing under it is released."""
        if not why.strip():
            raise InvalidInputError("say why the agreement is suspended (--why)")
        with self._tx() as s:
            current = db.active_suspension(s, agreement_id)
            if current is not None:
                raise ConflictError(f"agreement {agreement_id!r} is already suspended: {current}")
            s.add(
                AgreementEventRow(
                    agreement_id=agreement_id, action="suspend", why=why.strip(), at=utc(now)
                )
            )

    def resume(self, agreement_id: str, now: datetime, why: str = "") -> None:
        """Lift the suspension of an agreement."""
        with self._tx() as s:
            if db.active_suspension(s, agreement_id) is None:
                raise ConflictError(f"agreement {agreement_id!r} is not suspended")
            s.add(
                AgreementEventRow(
                    agreement_id=agreement_id, action="resume", why=why.strip(), at=utc(now)
                )
            )

    def suspension(self, agreement_id: str) -> str | None:
        """Why the agreement is suspended, or None when it is not."""
        with self._tx() as s:
            return db.active_suspension(s, agreement_id)

    def agreement_events(self, agreement_id: str | None = None) -> list[AgreementEvent]:
        """Suspensions and resumptions, oldest first."""
        with self._tx() as s:
            query = select(AgreementEventRow).order_by(AgreementEventRow.id)
            if agreement_id is not None:
                query = query.where(AgreementEventRow.agreement_id == agreement_id)
            return [
                AgreementEvent(r.agreement_id, r.action, r.why, utc(r.at)) for r in s.scalars(query)
            ]

    # -- ledger ------------------------------------------------------------------------------

    def recall(
        self, request_id: str, record_id: str, why: str, now: datetime, *, by: str | None = None
    ) -> LedgerEntry:
        """Recall a released disclosure found wrong: a chained ledger entry of its own."""
        if not why.strip():
            raise InvalidInputError("say why the disclosure is recalled (--why)")
        now = utc(now)
        with self._tx() as s:
            db.lock_request(s, request_id)
            original = s.scalars(
                select(LedgerRow).where(
                    LedgerRow.request_id == request_id,
                    LedgerRow.record_id == record_id,
                    LedgerRow.entry_type == "disclosure",
                )
            ).first()
            if original is None:
                raise NotFoundError(
                    f"request {request_id} disclosed nothing for record {record_id!r}: "
                    "nothing to recall"
                )
            earlier = s.scalar(
                select(LedgerRow.seq).where(
                    LedgerRow.entry_type == "recall", LedgerRow.recalls_seq == original.seq
                )
            )
            if earlier is not None:
                raise ConflictError(
                    f"record {record_id!r} of request {request_id} was already recalled "
                    f"(seq {earlier})"
                )
            draft = replace(
                chain.from_row(original),
                entry_type="recall",
                reviewer=db.clean(by or ""),
                note=why.strip(),
                recalls_seq=original.seq,
                created_at=now,
                values={},
            )
            written = chain.append(s, [draft])
            chain.checkpoint(s, self.signer(), now)
            return written[0]

    def signer(self) -> Signer:
        """What signs the ledger's checkpoints (the key file is created on first use)."""
        if self._signer is None:
            path = self._key_path or logkey.key_path(str(self.engine.url))
            try:
                self._signer = logkey.file_signer(path)
            except (NoteError, OSError) as exc:
                raise UnavailableError(f"the ledger's signing key: {exc}") from exc
        return self._signer

    def verifier_key(self) -> VerifierKey:
        """The log's public key, as a signed-note verifier key."""
        signer = self.signer()
        return VerifierKey(signer.name, ED25519, signer.public_key)

    def checkpoint(self, now: datetime, *, max_age: timedelta | None = None) -> str:
        """The log's signed checkpoint (C2SP tlog-checkpoint): a new one is signed and stored
        unless the newest has the current size and is younger than `max_age`."""
        with self._tx() as s:
            return chain.checkpoint(s, self.signer(), utc(now), max_age=max_age)

    def checkpoint_if_due(self, now: datetime) -> str:
        """At least one checkpoint a day: sign one when the newest is older, or stale."""
        return self.checkpoint(now, max_age=chain.CHECKPOINT_MAX_AGE)

    def record_checkpoint(self, note: str, now: datetime) -> None:
        """Keep a copy of one of the log's checkpoints signed elsewhere (witnesses' cosigned
        copy); refused unless the log signed it and it matches the log at that size."""
        key = self.verifier_key()
        with self._tx() as s:
            chain.record_note(s, key, note, utc(now))

    def latest_checkpoint(self) -> str | None:
        """The newest stored checkpoint note (with any witness cosignatures), or None."""
        with self._tx() as s:
            row = chain.latest_checkpoint(s)
            return None if row is None else row.note

    def inclusion_proof(self, seq: int, size: int | None = None) -> dict[str, Any]:
        """Entry `seq` in the tree of `size` leaves (default: the whole log), RFC 9162."""
        with self._tx() as s:
            return chain.inclusion(s, seq, size)

    def consistency_proof(self, first: int, second: int) -> dict[str, Any]:
        with self._tx() as s:
            return chain.consistency(s, first, second)

    def verify_problems(self, anchors: Sequence[Anchor] = ()) -> list[Problem]:
        """Where the stored log departs from its leaves, its size, its signed checkpoints and
        `anchors` (checkpoints held elsewhere), in seq order (empty when intact)."""
        key = self.verifier_key()
        with self._tx() as s:
            return chain.audit(s, key, anchors).problems

    def ledger_head(self) -> tuple[int, str]:
        """The log's size and root hash (hex), as the head row records them."""
        with self._tx() as s:
            size, root = chain.head(s)
            return size, root.hex()

    def verify_ledger(self) -> list[str]:
        """Problems found, one sentence each starting `seq N: edited|deleted|reordered|...`."""
        return [str(p) for p in self.verify_problems()]

    def ledger_entries(self, request_id: str | None = None) -> list[LedgerEntry]:
        with self._tx() as s:
            query = select(LedgerRow)
            if request_id is not None:
                query = query.where(LedgerRow.request_id == request_id)
            return list(chain.stream(s, query))

    def disclosures_for_tin(self, tin: str) -> list[LedgerEntry]:
        """Every disclosure (and recall) about this taxpayer: who received what, when, why."""
        with self._tx() as s:
            return list(chain.stream(s, select(LedgerRow).where(LedgerRow.tin == tin.strip())))

    def export_ledger(self, out: TextIO) -> int:
        """Write the whole ledger as CSV to `out`; return the number of entries."""
        with self._tx() as s:
            return write_csv(chain.stream(s), out)

    def export_leaves(self, out: BinaryIO) -> int:
        """Write every leaf, one per line (JSON Lines), for an outside verifier."""
        with self._tx() as s:
            return write_jsonl(chain.stream(s), out)

    # -- accounting and retention -----------------------------------------------------------

    def period_report(self, period: str) -> list[dict[str, object]]:
        """Per-agency figures for `2026-Q3`, `2026-09` or `2026` (see `ops.reporting`)."""
        with self._tx() as s:
            return reporting.period_report(s, period)

    def purgeable(self, older_than: timedelta, now: datetime) -> list[RequestRecord]:
        """Released or denied requests decided before `now - older_than`, not yet purged."""
        cutoff = utc(now) - older_than
        with self._tx() as s:
            rows = s.scalars(
                select(RequestRow)
                .where(
                    RequestRow.status.in_(("released", "denied")),
                    RequestRow.decided_at < cutoff,
                    RequestRow.purged_at.is_(None),
                )
                .order_by(RequestRow.decided_at)
            ).all()
            return [db.record(s, r) for r in rows]

    def log_purge(
        self,
        request_id: str,
        *,
        path: str,
        files_removed: int,
        bytes_removed: int,
        older_than: str,
        now: datetime,
    ) -> None:
        """Log that a request's result files were deleted; its pending values go too.

        The ledger is untouched.
        """
        now = utc(now)
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            s.add(
                PurgeRow(
                    request_id=request_id,
                    path=path,
                    files_removed=files_removed,
                    bytes_removed=bytes_removed,
                    older_than=older_than,
                    at=now,
                )
            )
            s.execute(delete(PendingRow).where(PendingRow.request_id == request_id))
            row.purged_at = row.updated_at = now

    def purge_log(self) -> list[PurgeRecord]:
        with self._tx() as s:
            rows = s.scalars(select(PurgeRow).order_by(PurgeRow.id)).all()
            return [
                PurgeRecord(
                    r.request_id, r.path, r.files_removed, r.bytes_removed, r.older_than, utc(r.at)
                )
                for r in rows
            ]


def _table(model: type[Base]) -> Table:
    """A model's Core table: inserting into it skips the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)
