"""Answer one request under the agreement: refuse it whole, or process it and record the outcome.

This is the workflow around the pipeline (``tinmatch.pipeline.process``):

1. the agreement must be registered, in force and not suspended, and a cover letter must name
   a registered agency, a registered official of it and the attestation;
2. in one transaction, serialized per agency, the operational store checks pacing and caseload
   caps (refusing the request whole), records the request and reserves the rows the agency may
   still have looked up in the rolling period (``ops.admission``);
3. the pipeline runs; rows beyond the caps are rejected ``volume_cap_exceeded``;
4. the outcome is recorded: counts, the private decision log, and the pending disclosures, which
   are *held* until one registered reviewer (two, for a request the agreement deems large)
   approves them. No agreement releases anything without review.

The request's folder gets no address before release (``tinmatch.delivery``): it must be new,
empty, or this request's own. Only a release writes the ledger. Processing the same file again
finds the same request and never writes a second set of disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.delivery import HELD_FILES, claim_folder, note_written, write_status
from tinmatch.digest import file_sha256
from tinmatch.errors import RefusedError
from tinmatch.ops.admission import Submission
from tinmatch.ops.records import Limits, RequestRecord
from tinmatch.ops.registry import Registry
from tinmatch.ops.requesters import name_key
from tinmatch.ops.store import Store, request_id_for
from tinmatch.pipeline.process import ProcessResult, process, request_key, request_reader
from tinmatch.progress import Reporter
from tinmatch.report import REASONS_SHOWN_KEY


@dataclass
class Answer:
    record: RequestRecord
    result: ProcessResult

    @property
    def status(self) -> str:
        return self.record.status


def limits_of(agreement: Agreement) -> Limits:
    lim = agreement.limits
    return Limits(
        max_rows_per_request=lim.max_rows_per_request,
        max_rows_per_agency_per_period=lim.max_rows_per_agency_per_period,
        period_days=lim.period_days,
        max_rows_per_official_per_period=lim.max_rows_per_official_per_period,
        min_interval_seconds=lim.min_interval_seconds,
    )


def answer_request(
    request: Path,
    out_dir: Path,
    *,
    db: Path,
    agreement: Agreement,
    cover: Cover | None,
    store: Store,
    reporter: Reporter | None = None,
    now: datetime | None = None,
    engine_kind: str = "duckdb",
    split_full_name: bool = False,
) -> Answer:
    now = now or datetime.now(UTC)
    out_dir = out_dir.resolve()  # purge and recall must find it from any working directory
    if cover is None:
        if agreement.request.cover_required:
            raise RefusedError(
                "the agreement requires a cover letter naming the agency, the official and "
                "the attestation; the request is refused whole"
            )
        cover = Cover("(no cover)", "(no cover)", "(no cover)")
    registry = Registry(store)
    registration = registry.require_registered(agreement, now)  # ConfigError: not registered
    if not agreement.in_force(now.date()):
        raise RefusedError(
            f"agreement {agreement.id} is not in force on {now.date().isoformat()} "
            f"(effective {agreement.agreement.effective}, expires "
            f"{agreement.agreement.expires}); nothing is processed"
        )
    # One read of the file: the chunks counted here are the ones processed below.
    reader = request_reader(request, agreement, split_full_name=split_full_name)
    record_ids = reader.record_ids(keep=True)
    try:
        n_rows = len(record_ids)
        # Only a registered official of a registered agency may ask (refused whole otherwise);
        # caps and intervals count under the registered names, however the cover spells them.
        agency, official = registry.resolve(cover.agency, cover.official)
        cover = Cover(agency, official, cover.attestation)  # counted under the registered names
        if registration.agency not in ("*", agency) and name_key(registration.agency) != name_key(
            agency
        ):
            raise RefusedError(
                f"agreement {agreement.id} is with {registration.agency!r}, not {agency!r}"
            )
        input_sha = file_sha256(request)
        key = request_key(input_sha, cover, agreement)
        limits = limits_of(agreement)
        claim_folder(out_dir, request_id_for(key))  # before anything counts or is written
        admitted = registry.admit(
            Submission(
                request_id=request_id_for(key),
                request_key=key,
                agency=agency,
                official=official,
                attestation=cover.attestation,
                agreement_id=agreement.id,
                agreement_scope=registration.agency,
                agreement_sha256=agreement.sha256,
                input_sha256=input_sha,
                input_name=request.name,
                out_dir=str(out_dir),
                n_rows=n_rows,
            ),
            limits,
            now,
        )
        remaining = admitted.quota.remaining_rows_for_agency_in_period
        def register(rows: int, model_sha256: str | None = None) -> RequestRecord:
            """Record the request (idempotent by key); `rows` is what counts against the caps."""
            return store.begin_request(
                request_key=key,
                agency=cover.agency,
                official=cover.official,
                attestation=cover.attestation,
                agreement_id=agreement.id,
                agreement_sha256=agreement.sha256,
                model_sha256=model_sha256,
                input_sha256=input_sha,
                input_name=request.name,
                out_dir=str(out_dir),
                n_rows=rows,
                now=now,
            )

        record = admitted.record
        if record.status in ("released", "denied"):
            raise RefusedError(
                f"this request was already {record.status} as {record.id}; it is not processed "
                "again (nothing new is disclosed)"
            )
        write_status(out_dir, record)  # first: an interrupted run's folder is known as this one's
        note_written(store, record.id, [out_dir / "status.json"])
        try:
            result = process(
                request,
                out_dir,
                db=db,
                agreement=agreement,
                cover=cover,
                reporter=reporter,
                today=now.date(),
                remaining_quota=remaining,
                review_status="held",
                request_id=record.id,
                engine_kind=engine_kind,
                record_ids=record_ids,
                reader=reader,
                input_sha256=input_sha,
                recalled_tins=frozenset(store.recalled_tins(cover.agency)),
                split_full_name=split_full_name,
            )
        except BaseException:
            # The run failed before an outcome was recorded: give its rows back to the caps.
            register(0)
            raise
        looked_up = result.rows - result.counts.get("rejected", 0)
        register(looked_up, result.model_sha256)
        counts = {
            "received": result.rows,
            "rejected": result.counts.get("rejected", 0),
            "matched": result.counts.get("matched", 0),
            "unmatched": result.counts.get("unmatched", 0),
            **{f"reason.{k}": v for k, v in result.reasons.items()},
            # whether the requester may see the reasons above (they see not_disclosed otherwise)
            REASONS_SHOWN_KEY: int(agreement.disclosure.unmatched_reasons),
        }
        record = store.record_outcome(
            record.id,
            counts=counts,
            disclosures=result.disclosures,
            decisions=result.decisions,
            now=now,
            reviewers_required=agreement.review.reviewers_for(result.counts.get("matched", 0)),
        )
        result.disclosures.close()  # recorded: the spooled copies go
        result.decisions.close()
        write_status(out_dir, record)
        note_written(store, record.id, [out_dir / name for name in HELD_FILES])
        return Answer(record, result)
    finally:
        reader.close()  # the kept chunks go, whatever happened
