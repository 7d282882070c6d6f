"""The operational database: requests, their review, suspensions, and the ledger.

Every method runs in its own transaction. Nothing here updates or deletes a ledger entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, TextIO, cast

from sqlalchemy import ColumnElement, Engine, Table, delete, func, insert, select, true
from sqlalchemy.engine import make_url
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
from tinmatch.ops import chain, logkey, quota, reporting, review, suspensions
from tinmatch.ops import rows as db
from tinmatch.ops.engine import database_error, display_url, make_engine, resolve_url
from tinmatch.ops.migrate import current_revision, upgrade
from tinmatch.ops.models import (
    AgreementEventRow,
    Base,
    DecisionRow,
    LedgerRow,
    PendingRow,
    PurgeRow,
    RequestRow,
    ResultFileRow,
    ReviewApprovalRow,
)
from tinmatch.ops.records import (
    AgreementEvent,
    Decision,
    Delivery,
    Limits,
    PendingDisclosure,
    PurgeRecord,
    Quota,
    RequestRecord,
    ResultFile,
    ReviewOutcome,
)
from tinmatch.spool import batched

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
    def open(cls, url: str | None = None, *, create: bool = True) -> Store:
        """Connect to `url` (default: $TINMATCH_DATABASE_URL or sqlite:///tinmatch.sqlite)
        and migrate it to the newest schema.

        With `create=False` the database must exist already (a SQLite file, or a PostgreSQL
        schema tinmatch migrated): commands that only read or decide never create an empty one
        where the real one was expected. A new SQLite file is created readable by its owner
        only (0600): it holds pending addresses and TINs.
        """
        resolved = resolve_url(url)
        sqlite_file = _sqlite_file(resolved)
        if sqlite_file is not None and not os.path.exists(sqlite_file):
            if not create:
                raise NotFoundError(
                    f"no operational database at {sqlite_file} (nothing was created; give "
                    "--state-db or TINMATCH_DATABASE_URL for the existing one)"
                )
            os.makedirs(os.path.dirname(sqlite_file) or ".", exist_ok=True)
            os.close(os.open(sqlite_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        engine = make_engine(resolved)
        if sqlite_file is None and not create:
            try:
                migrated = current_revision(engine)
            except (SQLAlchemyError, OSError) as exc:
                engine.dispose()
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise UnavailableError(
                    f"cannot open the operational database {display_url(resolved)}: {reason}"
                ) from exc
            if migrated is None:
                engine.dispose()
                raise NotFoundError(
                    f"{display_url(resolved)} holds no tinmatch operational database "
                    "(nothing was created)"
                )
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
        """Refuse the request whole, or say how many rows validation may still accept (what
        counts and what the caps allow: ``ops.quota``; this method is the transaction).

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
            used = quota.usage(
                s,
                agency=func.lower(RequestRow.agency) == agency.lower(),
                official=func.lower(RequestRow.official) == official.lower(),
                others=others,
                limits=limits,
                now=now,
            )
            verdict = quota.judge(
                limits, used, agency=agency, official=official, n_rows=n_rows, now=now
            )
        return verdict.quota

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
        now: datetime,
        reviewers_required: int = 1,
    ) -> RequestRecord:
        """Store the batch figures, the pending disclosures and the decision log; hold it.

        Replaces any earlier outcome of the same request while it is undecided (and any
        approval given to that earlier outcome); `decisions=None` clears the decision log.
        Nothing is ever released here: only reviewers release (`approve`). A request already
        released or denied is left as it is and returned unchanged: re-processing never
        discloses twice.
        """
        if reviewers_required < 1:
            raise InvalidInputError("a request needs at least one reviewer")
        now = utc(now)
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            if row.status in ("released", "denied"):
                return db.record(s, row)
            s.execute(delete(PendingRow).where(PendingRow.request_id == request_id))
            s.execute(delete(DecisionRow).where(DecisionRow.request_id == request_id))
            s.execute(delete(ReviewApprovalRow).where(ReviewApprovalRow.request_id == request_id))
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
            row.reviewers_required = reviewers_required
            s.flush()
            return db.record(s, row)

    # -- review ----------------------------------------------------------------------------

    def approve(
        self,
        request_id: str,
        *,
        reviewer: str,
        note: str,
        now: datetime,
        withhold: Mapping[str, str] | None = None,
    ) -> ReviewOutcome:
        """Record a registered reviewer's approval; release when enough reviewers approved.

        The caller has authenticated `reviewer`; here the account must exist, must not be the
        request's official, and must not have approved this request already. `withhold` maps
        record ids of pending rows to the reviewer's reason: those rows are not disclosed (a
        `withheld` ledger entry each; `withheld_by_reviewer` in unmatched.csv). When the
        request needs two reviewers, the first approval is recorded and the request stays
        held. At release: one chained ledger entry per pending row, in one transaction. A
        request is released once: releasing it again, or a denied one, writes nothing.
        """
        now = utc(now)
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            db.require_undecided(row, "released")
            if row.status != "held":
                raise ConflictError(
                    f"request {row.id} has no recorded outcome yet: nothing to release"
                )
            name = review.require_reviewer(s, reviewer, row)
            why = suspensions.for_request(s, row.agency, row.agreement_sha256) or (
                db.active_suspension(s, row.agreement_id)  # a suspension recorded before 0004
            )
            if why is not None:
                raise RefusedError(
                    f"agreement {row.agreement_id!r} is suspended ({why}): request {row.id} "
                    "cannot be released"
                )
            earlier = s.scalars(
                select(ReviewApprovalRow)
                .where(ReviewApprovalRow.request_id == row.id)
                .order_by(ReviewApprovalRow.id)
            ).all()
            if any(a.reviewer.casefold() == name.casefold() for a in earlier):
                raise RefusedError(
                    f"{name!r} already approved request {row.id}: it needs a second, "
                    "different reviewer; nothing decided"
                )
            withheld = review.check_withheld(s, row.id, withhold or {})
            s.add(
                ReviewApprovalRow(
                    request_id=row.id,
                    reviewer=name,
                    note=note.strip(),
                    withhold_json=json.dumps(withheld),
                    at=now,
                )
            )
            approvals = len(earlier) + 1
            required = int(row.reviewers_required or 1)
            if approvals < required:
                row.updated_at = now
                return ReviewOutcome(row.id, "held", approvals, required)
            every: dict[str, tuple[str, str]] = {}
            for who, reasons in [
                *((a.reviewer, json.loads(a.withhold_json or "{}")) for a in earlier),
                (name, withheld),
            ]:
                for record_id, reason in reasons.items():
                    every.setdefault(record_id, (who, reason))
            reviewers = " & ".join([*(a.reviewer for a in earlier), name])
            notes = " | ".join(n for n in [*(a.note for a in earlier), note.strip()] if n)
            disclosed = self._release(s, row, every, reviewers, notes, now)
            return ReviewOutcome(row.id, "released", approvals, required, disclosed, len(every))

    def _release(
        self,
        s: Session,
        row: RequestRow,
        withheld: Mapping[str, tuple[str, str]],
        reviewer: str,
        note: str,
        now: datetime,
    ) -> int:
        pending = s.scalars(
            select(PendingRow).where(PendingRow.request_id == row.id).order_by(PendingRow.id)
        ).all()
        drafts = [
            LedgerEntry(
                seq=0,
                entry_type="withheld" if p.record_id in withheld else "disclosure",
                request_id=row.id,
                agency=row.agency,
                official=row.official,
                record_id=p.record_id,
                tin=p.tin,
                fields_released=(
                    () if p.record_id in withheld else tuple(json.loads(p.fields_json))
                ),
                tax_year=p.tax_year,
                match_probability=p.match_probability,
                agreement_id=row.agreement_id,
                agreement_sha256=row.agreement_sha256,
                model_sha256=row.model_sha256,
                statute=p.statute,
                case_number=p.case_number,
                reviewer=withheld[p.record_id][0] if p.record_id in withheld else reviewer,
                note=withheld[p.record_id][1] if p.record_id in withheld else note,
                recalls_seq=None,
                created_at=now,
                released_at=now,
                values={} if p.record_id in withheld else json.loads(p.fields_json),
            )
            for p in pending
        ]
        chain.append(s, drafts)
        chain.checkpoint(s, self.signer(), now)
        review.mark_withheld(s, row.id, withheld)
        row.status, row.reviewer, row.review_note = "released", reviewer, note
        row.decided_at = row.updated_at = now
        return sum(1 for p in pending if p.record_id not in withheld)

    def deny(self, request_id: str, *, reviewer: str, note: str, now: datetime) -> None:
        """Deny a request: nothing is disclosed, its pending disclosures are discarded and
        every row that would have been disclosed ends `withheld_by_reviewer`.

        One registered reviewer (not the request's official) suffices to deny."""
        now = utc(now)
        with self._tx() as s:
            row = db.lock_request(s, request_id)
            db.require_undecided(row, "denied")
            name = review.require_reviewer(s, reviewer, row)
            held = s.scalars(
                select(PendingRow.record_id).where(PendingRow.request_id == request_id)
            ).all()
            review.mark_withheld(s, request_id, held)
            row.status, row.reviewer, row.review_note = "denied", name, note
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
            return [db.pending(r) for r in rows]

    def repeats(
        self, request_id: str, now: datetime, days: int = review.REPEAT_DAYS
    ) -> dict[str, list[tuple[str, datetime]]]:
        """Pending rows whose taxpayer was disclosed to the same agency in the last `days`
        days: record_id -> [(request id, released at), ...]."""
        with self._tx() as s:
            return review.repeats(s, db.find_request(s, request_id), now, days)

    def recalled_tins(self, agency: str) -> set[str]:
        """Taxpayers once recalled from `agency`: never disclosed to it again."""
        with self._tx() as s:
            return review.recalled_tins(s, agency)

    def delivery(self, request_id: str) -> Delivery:
        """What the result files of a released or denied request say now."""
        with self._tx() as s:
            return review.delivery(s, db.find_request(s, request_id))

    # -- the manifest of files written --------------------------------------------------------

    def record_files(self, request_id: str, files: Iterable[ResultFile]) -> None:
        """Note files tinmatch wrote for a request (a path written again is updated)."""
        with self._tx() as s:
            db.find_request(s, request_id)
            for f in files:
                row = s.scalars(
                    select(ResultFileRow).where(
                        ResultFileRow.request_id == request_id, ResultFileRow.path == f.path
                    )
                ).one_or_none()
                if row is None:
                    row = ResultFileRow(request_id=request_id, path=f.path)
                    s.add(row)
                row.sha256, row.bytes, row.written_at = f.sha256, f.bytes, utc(f.written_at)

    def result_files(self, request_id: str) -> list[ResultFile]:
        """The manifest: every file tinmatch wrote for the request and still knows of."""
        with self._tx() as s:
            rows = s.scalars(
                select(ResultFileRow)
                .where(ResultFileRow.request_id == request_id)
                .order_by(ResultFileRow.id)
            ).all()
            return [ResultFile(r.path, r.sha256, r.bytes, utc(r.written_at)) for r in rows]

    def forget_files(self, request_id: str, paths: Iterable[str]) -> None:
        """Drop the manifest entries of files that were removed."""
        gone = list(paths)
        with self._tx() as s:
            for start in range(0, len(gone), 500):
                s.execute(
                    delete(ResultFileRow).where(
                        ResultFileRow.request_id == request_id,
                        ResultFileRow.path.in_(gone[start : start + 500]),
                    )
                )

    def database_files(self) -> list[str]:
        """The SQLite file of this store and its journals (empty on PostgreSQL)."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return []
        base = os.path.realpath(os.path.expanduser(str(url.database)))
        return [base, base + "-journal", base + "-wal", base + "-shm"]

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
        self, request_id: str, record_id: str, why: str, now: datetime, *, by: str
    ) -> LedgerEntry:
        """Recall a released disclosure found wrong: a chained ledger entry of its own.

        From then on the row is in no matched.csv tinmatch renders, and its taxpayer is not
        disclosed to that agency again (`previously_recalled`)."""
        if not why.strip():
            raise InvalidInputError("say why the disclosure is recalled (--why)")
        if not db.clean(by or ""):
            raise InvalidInputError("say who recalls the disclosure (--by)")
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
            written = chain.append(s, [_recall_draft(original, why, by, now)])
            chain.checkpoint(s, self.signer(), now)
            return written[0]

    def recall_tin(self, tin: str, why: str, now: datetime, *, by: str) -> list[LedgerEntry]:
        """Recall every disclosure of one taxpayer not yet recalled, in one transaction."""
        if not why.strip():
            raise InvalidInputError("say why the disclosures are recalled (--why)")
        if not db.clean(by or ""):
            raise InvalidInputError("say who recalls the disclosures (--by)")
        now = utc(now)
        with self._tx() as s:
            done = set(
                s.scalars(select(LedgerRow.recalls_seq).where(LedgerRow.entry_type == "recall"))
            )
            originals = [
                o
                for o in s.scalars(
                    select(LedgerRow)
                    .where(LedgerRow.entry_type == "disclosure", LedgerRow.tin == tin.strip())
                    .order_by(LedgerRow.seq)
                )
                if o.seq not in done
            ]
            if not originals:
                raise NotFoundError(f"no disclosure of TIN {tin.strip()} left to recall")
            for request_id in sorted({o.request_id for o in originals}):
                db.lock_request(s, request_id)
            written = chain.append(s, [_recall_draft(o, why, by, now) for o in originals])
            chain.checkpoint(s, self.signer(), now)
            return written

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


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return os.path.expanduser(str(parsed.database))


def _recall_draft(original: LedgerRow, why: str, by: str, now: datetime) -> LedgerEntry:
    return replace(
        chain.from_row(original),
        entry_type="recall",
        reviewer=db.clean(by),
        note=why.strip(),
        recalls_seq=original.seq,
        created_at=now,
        values={},
    )


def _table(model: type[Base]) -> Table:
    """A model's Core table: inserting into it skips the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)
