"""The two audit logs of the web service: every API call, and what reviewers were shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from tinmatch.ops.service_models import ApiCallRow, ReviewerViewRow
from tinmatch.web.db import Tables


@dataclass(frozen=True)
class ApiCall:
    at: datetime
    api_key_id: int | None
    agency: str | None
    method: str
    path: str
    status: int
    request_id: str | None
    duration_ms: float


@dataclass(frozen=True)
class View:
    at: datetime
    reviewer: str
    request_id: str
    record_id: str | None
    what: str
    detail: str


class Audit(Tables):
    def log_call(
        self,
        *,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        api_key_id: int | None = None,
        agency: str | None = None,
        request_id: str | None = None,
        client: str | None = None,
    ) -> None:
        with self.tx() as s:
            s.add(
                ApiCallRow(
                    at=datetime.now(UTC),
                    api_key_id=api_key_id,
                    agency=agency,
                    method=method[:8],
                    path=path[:2000],
                    status=status,
                    request_id=request_id,
                    duration_ms=round(duration_ms, 3),
                    client=(client or "")[:64] or None,
                )
            )

    def log_views(
        self, reviewer: str, request_id: str, shown: list[tuple[str | None, str, str]]
    ) -> None:
        """Record one line per (record_id, what, detail) the reviewer was shown."""
        now = datetime.now(UTC)
        with self.tx() as s:
            s.add_all(
                ReviewerViewRow(
                    at=now,
                    reviewer=reviewer,
                    request_id=request_id,
                    record_id=record_id,
                    what=what,
                    detail=detail,
                )
                for record_id, what, detail in shown
            )

    def calls(self, agency: str | None = None) -> list[ApiCall]:
        with self.tx() as s:
            query = select(ApiCallRow).order_by(ApiCallRow.id)
            if agency is not None:
                query = query.where(ApiCallRow.agency == agency)
            return [
                ApiCall(
                    r.at,
                    r.api_key_id,
                    r.agency,
                    r.method,
                    r.path,
                    r.status,
                    r.request_id,
                    r.duration_ms,
                )  # fmt: skip
                for r in s.scalars(query)
            ]

    def views(self, request_id: str | None = None) -> list[View]:
        with self.tx() as s:
            query = select(ReviewerViewRow).order_by(ReviewerViewRow.id)
            if request_id is not None:
                query = query.where(ReviewerViewRow.request_id == request_id)
            return [
                View(r.at, r.reviewer, r.request_id, r.record_id, r.what, r.detail)
                for r in s.scalars(query)
            ]
