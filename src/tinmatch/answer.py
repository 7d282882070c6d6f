"""Answer one request under the agreement: refuse it whole, or process it and record the outcome.

This is the workflow around the pipeline (``tinmatch.pipeline.process``):

1. the agreement must be in force and not suspended, and a cover letter must name the agency,
   the official and the attestation (when the agreement requires one);
2. the operational store checks pacing and caseload caps (refusing the request whole) and says
   how many rows the agency may still have looked up in the rolling period;
3. the pipeline runs; rows beyond the caps are rejected ``volume_cap_exceeded``;
4. the outcome is recorded: counts, the private decision log, and the pending disclosures, which
   are *held* for review unless the agreement lets a request this small be released at once.

Only a release writes the ledger. Processing the same file again finds the same request and
never writes a second set of disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.digest import file_sha256
from tinmatch.errors import RefusedError
from tinmatch.ops.records import Limits, RequestRecord
from tinmatch.ops.store import Store
from tinmatch.pipeline.process import ProcessResult, process, request_key
from tinmatch.pipeline.read import RequestReader
from tinmatch.progress import Reporter


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
    if agreement.agreement.requesting_agency not in ("*", cover.agency):
        raise RefusedError(
            f"agreement {agreement.id} is with {agreement.agreement.requesting_agency!r}, "
            f"not {cover.agency!r}"
        )
    if not agreement.in_force(now.date()):
        raise RefusedError(
            f"agreement {agreement.id} is not in force on {now.date().isoformat()} "
            f"(effective {agreement.agreement.effective}, expires "
            f"{agreement.agreement.expires}); nothing is processed"
        )
    reader = RequestReader(
        request,
        required_columns=agreement.request.required_columns,
        max_cell_chars=agreement.limits.max_cell_chars,
        max_file_bytes=agreement.limits.max_file_bytes,
    )
    record_ids = reader.record_ids()
    n_rows = len(record_ids)
    input_sha = file_sha256(request)
    key = request_key(input_sha, cover, agreement)
    limits = limits_of(agreement)
    quota = store.check_submission(
        agency=cover.agency,
        official=cover.official,
        n_rows=n_rows,
        now=now,
        agreement_id=agreement.id,
        limits=limits,
        request_key=key,
    )
    remaining = quota.remaining_rows_for_agency_in_period
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

    record = register(n_rows)
    if record.status in ("released", "denied"):
        raise RefusedError(
            f"this request was already {record.status} as {record.id}; it is not processed "
            "again (nothing new is disclosed)"
        )
    auto = (not agreement.review.required) or n_rows <= agreement.review.auto_release_max_rows
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
            review_status="released" if auto else "held",
            request_id=record.id,
            engine_kind=engine_kind,
            record_ids=record_ids,
            input_sha256=input_sha,
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
    }
    record = store.record_outcome(
        record.id,
        counts=counts,
        disclosures=result.disclosures,
        decisions=result.decisions,
        auto_release=auto,
        now=now,
    )
    result.disclosures.close()  # recorded: the spooled copies go
    result.decisions.close()
    return Answer(record, result)
