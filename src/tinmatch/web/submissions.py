"""Requests received over the API: queued, running, processed (outcome in the Store), refused
or failed. The id is the Store's request id, so the same file from the same agency is one
request however often it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tinmatch.errors import ConflictError
from tinmatch.ops.service_models import SubmissionRow
from tinmatch.web.db import Tables

STATES = ("queued", "running", "processed", "refused", "failed")
RETRYABLE = ("refused", "failed")


@dataclass(frozen=True)
class Submission:
    id: str
    agency: str
    api_key_id: int
    official: str
    attestation: str
    input_name: str
    upload_path: str
    out_dir: str
    n_rows: int
    state: str
    error: str | None
    created_at: datetime
    updated_at: datetime


class Submissions(Tables):
    def claim(self, sub: Submission) -> tuple[Submission, bool]:
        """Record `sub` as queued; returns (the stored submission, whether to run it).

        An earlier submission with the same id is run again only if it was refused or failed.
        """
        try:
            with self.tx() as s:
                row = s.get(SubmissionRow, sub.id, with_for_update=True)
                if row is None:
                    row = SubmissionRow(**{**sub.__dict__, "state": "queued", "error": None})
                    s.add(row)
                    s.flush()
                    return _sub(row), True
                if row.state not in RETRYABLE:
                    return _sub(row), False
                row.official, row.attestation = sub.official, sub.attestation
                row.upload_path, row.out_dir, row.input_name = (
                    sub.upload_path, sub.out_dir, sub.input_name,
                )  # fmt: skip
                row.n_rows, row.api_key_id = sub.n_rows, sub.api_key_id
                row.state, row.error, row.updated_at = "queued", None, sub.updated_at
                s.flush()
                return _sub(row), True
        except ConflictError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # the same file sent twice at once
                found = self.get(sub.id)
                if found is not None:
                    return found, False
            raise

    def set_state(self, sub_id: str, state: str, error: str | None = None) -> None:
        if state not in STATES:
            raise ValueError(f"unknown submission state {state!r}")
        with self.tx() as s:
            row = s.get(SubmissionRow, sub_id)
            if row is not None:
                row.state, row.error, row.updated_at = state, error, datetime.now(UTC)

    def get(self, sub_id: str) -> Submission | None:
        with self.tx() as s:
            row = s.get(SubmissionRow, sub_id)
            return None if row is None else _sub(row)

    def for_agency(self, agency: str, limit: int = 100) -> list[Submission]:
        with self.tx() as s:
            rows = s.scalars(
                select(SubmissionRow)
                .where(SubmissionRow.agency == agency)
                .order_by(SubmissionRow.created_at.desc(), SubmissionRow.id)
                .limit(limit)
            )
            return [_sub(r) for r in rows]

    def fail_interrupted(self) -> int:
        """Mark queued or running submissions failed (after a restart nothing runs them)."""
        with self.tx() as s:
            done = s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.state.in_(("queued", "running")))
                .values(
                    state="failed",
                    error="interrupted by a restart of the service; send the file again",
                    updated_at=datetime.now(UTC),
                )
            )
            return int(getattr(done, "rowcount", 0) or 0)


def _sub(row: SubmissionRow) -> Submission:
    return Submission(
        row.id, row.agency, row.api_key_id, row.official, row.attestation, row.input_name,
        row.upload_path, row.out_dir, row.n_rows, row.state, row.error, row.created_at,
        row.updated_at,
    )  # fmt: skip
