"""Plain values passed to and returned by the Store (no SQLAlchemy objects leave it).

The values the pipeline hands over (``Decision``, ``PendingDisclosure``) are core types of
:mod:`tinmatch.records`, imported here so that ``tinmatch.ops`` offers them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from tinmatch.records import Decision as Decision
from tinmatch.records import PendingDisclosure as PendingDisclosure

REQUEST_STATUSES = ("received", "held", "released", "denied")
"""received: begun, no outcome yet; held: awaiting review; released / denied: decided."""


@dataclass(frozen=True)
class Limits:
    """The agreement's volume and pacing limits; None means the agreement leaves it unset."""

    max_rows_per_request: int | None = None
    max_rows_per_agency_per_period: int | None = None
    period_days: int | None = None
    max_rows_per_official_per_period: int | None = None
    min_interval_seconds: int | None = None

    @classmethod
    def from_object(cls, limits: object) -> Limits:
        """Copy the five limits from any object with these attribute names (e.g. the
        agreement's `[limits]` section); missing attributes are unset."""
        return cls(**{f.name: getattr(limits, f.name, None) for f in fields(cls)})


@dataclass(frozen=True)
class Quota:
    """What validation may still accept: rows beyond these get `volume_cap_exceeded`."""

    remaining_rows_for_agency_in_period: int | None
    max_rows_per_request: int | None


@dataclass(frozen=True)
class Approval:
    """One reviewer's approval of a held request."""

    reviewer: str
    note: str
    withheld: dict[str, str]
    """record_id -> the reviewer's reason for withholding it."""
    at: datetime


@dataclass(frozen=True)
class ReviewOutcome:
    """What an approval did: released the request, or recorded the first of two approvals."""

    request_id: str
    status: str
    approvals: int
    required: int
    disclosed: int = 0
    withheld: int = 0


@dataclass(frozen=True)
class DeliveredRow:
    """A released row as the requester receives it (never a recalled one)."""

    record_id: str
    fields: dict[str, str | int | None]
    tax_year: int | None
    match_probability: float | None


@dataclass(frozen=True)
class Recall:
    record_id: str
    recalled_at: datetime
    why: str


@dataclass(frozen=True)
class Delivery:
    """Everything the result files of a decided request are rendered from."""

    record: RequestRecord
    matched: list[DeliveredRow]
    decisions: list[Decision]
    recalls: list[Recall]


@dataclass(frozen=True)
class ResultFile:
    """A file tinmatch wrote for a request, as it wrote it (the purge manifest)."""

    path: str
    sha256: str
    bytes: int
    written_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    """One request as the operational database knows it."""

    id: str
    request_key: str
    agency: str
    official: str
    attestation: str
    agreement_id: str
    agreement_sha256: str
    model_sha256: str | None
    input_sha256: str
    input_name: str
    out_dir: str
    n_rows: int
    status: str
    counts: dict[str, int]
    created_at: datetime
    updated_at: datetime
    outcome_at: datetime | None = None
    reviewer: str | None = None
    review_note: str | None = None
    decided_at: datetime | None = None
    purged_at: datetime | None = None
    n_pending: int = 0
    n_disclosed: int = 0
    recalled_record_ids: tuple[str, ...] = field(default_factory=tuple)
    reviewers_required: int = 1
    approvals: tuple[Approval, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AgreementEvent:
    """A suspension or resumption of an agreement."""

    agreement_id: str
    action: str  # suspend | resume
    why: str
    at: datetime


@dataclass(frozen=True)
class PurgeRecord:
    """The log line of one purge of a request's result files."""

    request_id: str
    path: str
    files_removed: int
    bytes_removed: int
    older_than: str
    at: datetime
