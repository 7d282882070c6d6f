"""Rate limits kept in the operational database: one token bucket per key (API key, client
address), shared by every `serve` process on the same database.

Each take locks the bucket's row (SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on
SQLite), so concurrent calls from several processes draw from one bucket."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from tinmatch.ops.service_models import RateBucketRow
from tinmatch.web.db import Tables


class RateLimiter(Tables):
    """A token bucket per key: `per_minute` calls a minute, bursts up to `per_minute`."""

    def __init__(self, engine: Engine, per_minute: int, scope: str = "") -> None:
        super().__init__(engine)
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.scope = scope

    def take(self, who: str, now: float | None = None) -> float:
        """0 when the call may go ahead, else the seconds to wait."""
        now = time.time() if now is None else now
        key = f"{self.scope}{who}"[:200]
        for _attempt in range(3):
            try:
                return self._take(key, now)
            except IntegrityError:  # two processes created the same bucket at once: retry
                continue
        return self._take(key, now)

    def _take(self, key: str, now: float) -> float:
        with self._sessions.begin() as s:
            row = s.scalars(
                select(RateBucketRow).where(RateBucketRow.key == key).with_for_update()
            ).one_or_none()
            if row is None:
                s.add(RateBucketRow(key=key, tokens=self.capacity - 1, updated=now))
                s.flush()
                return 0.0
            elapsed = max(0.0, now - row.updated)
            tokens = min(self.capacity, row.tokens + elapsed * self.rate)
            row.updated = max(row.updated, now)
            if tokens >= 1:
                row.tokens = tokens - 1
                return 0.0
            row.tokens = tokens
            return (1 - tokens) / self.rate
