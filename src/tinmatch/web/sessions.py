"""Reviewer sessions kept in the operational database: the cookie carries a random token, the
table its SHA-256, the reviewer and the expiry. Logging out revokes the row, so the cookie stops
working at once, on every `serve` process sharing the database."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from tinmatch.ledger.entry import utc
from tinmatch.ops.service_models import WebSessionRow
from tinmatch.web.db import Tables


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions(Tables):
    def create(self, reviewer_id: int, hours: float, now: datetime | None = None) -> str:
        """A new session's token (returned once; only its hash is stored)."""
        now = utc(now or datetime.now(UTC))
        token = secrets.token_urlsafe(32)
        with self.tx() as s:
            s.add(
                WebSessionRow(
                    token_sha256=_digest(token), reviewer_id=reviewer_id, created_at=now,
                    expires_at=now + timedelta(hours=hours), revoked_at=None,
                )
            )  # fmt: skip
        return token

    def reviewer_id(self, token: str, now: datetime | None = None) -> int | None:
        """The reviewer of a live session (not expired, not revoked), else None."""
        if not token or len(token) > 200:
            return None
        now = utc(now or datetime.now(UTC))
        with self.tx() as s:
            row = s.get(WebSessionRow, _digest(token))
            if row is None or row.revoked_at is not None or utc(row.expires_at) <= now:
                return None
            return row.reviewer_id

    def revoke(self, token: str, now: datetime | None = None) -> bool:
        """End a session; True when a live one was ended."""
        now = utc(now or datetime.now(UTC))
        with self.tx() as s:
            done = s.execute(
                update(WebSessionRow)
                .where(
                    WebSessionRow.token_sha256 == _digest(token),
                    WebSessionRow.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            return bool(getattr(done, "rowcount", 0))

    def revoke_all(self, reviewer_id: int, now: datetime | None = None) -> None:
        """End every session of a reviewer (an account disabled or its password changed)."""
        now = utc(now or datetime.now(UTC))
        with self.tx() as s:
            for row in s.scalars(
                select(WebSessionRow).where(
                    WebSessionRow.reviewer_id == reviewer_id, WebSessionRow.revoked_at.is_(None)
                )
            ):
                row.revoked_at = now
