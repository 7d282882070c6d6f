"""Requesting agencies' API keys and the tax agency's reviewer accounts (kept apart)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tinmatch.errors import ConfigError, ConflictError, NotFoundError
from tinmatch.ledger.entry import utc
from tinmatch.ops.requesters import require_agency
from tinmatch.ops.rows import clean
from tinmatch.ops.service_models import ApiKeyRow, ReviewerRow
from tinmatch.web.db import Tables
from tinmatch.web.hashing import (
    check_password,
    hash_password,
    key_sha256,
    new_api_key,
    same,
    split_api_key,
)

MIN_PASSWORD_CHARS = 12
LOCK_AFTER = 5
"""Wrong passwords in a row that lock a reviewer account ..."""
LOCK_MINUTES = 15.0
"""... for this long (web logins and the command line alike)."""


@dataclass(frozen=True)
class ApiKey:
    id: int
    prefix: str
    agency: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str


class Accounts(Tables):
    # -- API keys of requesting agencies ---------------------------------------------------

    def create_key(self, agency: str, label: str = "", now: datetime | None = None) -> str:
        """A new key for `agency`; the clear key is returned once and never stored."""
        agency = clean(agency)
        if not agency:
            raise ConfigError("an API key needs the agency's name (--agency)")
        key, prefix = new_api_key()
        with self.tx() as s:
            agency = require_agency(s, agency).name  # a key belongs to a registered agency
            s.add(
                ApiKeyRow(
                    prefix=prefix,
                    key_sha256=key_sha256(key),
                    agency=agency,
                    label=label.strip(),
                    created_at=now or datetime.now(UTC),
                )
            )
        return key

    def verify_key(self, key: str) -> ApiKey | None:
        """The key's record when `key` is a live key, else None."""
        prefix = split_api_key(key)
        if prefix is None:
            return None
        with self.tx() as s:
            row = s.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).one_or_none()
            if row is None or row.revoked_at is not None:
                return None
            if not same(row.key_sha256, key_sha256(key)):
                return None
            return _key(row)

    def revoke_key(self, prefix: str, now: datetime | None = None) -> ApiKey:
        with self.tx() as s:
            row = s.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).one_or_none()
            if row is None:
                raise NotFoundError(f"no API key with prefix {prefix!r} (see `tinmatch keys list`)")
            if row.revoked_at is None:
                row.revoked_at = now or datetime.now(UTC)
            s.flush()
            return _key(row)

    def list_keys(self) -> list[ApiKey]:
        with self.tx() as s:
            return [_key(r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    # -- reviewer accounts -----------------------------------------------------------------

    def add_reviewer(self, name: str, password: str, now: datetime | None = None) -> Reviewer:
        name = clean(name)
        if not name:
            raise ConfigError("a reviewer account needs a name")
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"a reviewer password needs at least {MIN_PASSWORD_CHARS} characters")
        with self.tx() as s:
            if s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first():
                raise ConflictError(f"reviewer {name!r} exists already")
            row = ReviewerRow(
                name=name,
                password_hash=hash_password(password),
                created_at=now or datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            return Reviewer(row.id, row.name)

    def check_reviewer(
        self,
        name: str,
        password: str,
        now: datetime | None = None,
        *,
        lock_after: int = LOCK_AFTER,
        lock_minutes: float = LOCK_MINUTES,
    ) -> Reviewer | None:
        """The reviewer when name and password match a live, unlocked account, else None.

        `lock_after` wrong passwords in a row lock the account for `lock_minutes` (kept in the
        database: every process and the command line see the same count); while locked even
        the right password is refused. A right password resets the count."""
        now = now or datetime.now(UTC)
        with self.tx() as s:
            row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == clean(name))).first()
            stored = row.password_hash if row is not None else None
            found = None if row is None or row.disabled_at else Reviewer(row.id, row.name)
        if stored is None or row is None:
            check_password(password, hash_password("timing-equaliser"))
            return None
        good = check_password(password, stored)
        with self.tx() as s:
            locked = s.scalars(
                select(ReviewerRow).where(ReviewerRow.id == row.id).with_for_update()
            ).one()
            if locked.locked_until is not None and utc(locked.locked_until) > utc(now):
                return None
            if not good:
                locked.failed_logins = (locked.failed_logins or 0) + 1
                if locked.failed_logins >= lock_after:
                    locked.locked_until = now + timedelta(minutes=lock_minutes)
                    locked.failed_logins = 0
                return None
            locked.failed_logins, locked.locked_until = 0, None
        return found

    def reviewer(self, reviewer_id: int) -> Reviewer | None:
        with self.tx() as s:
            row = s.get(ReviewerRow, reviewer_id)
            if row is None or row.disabled_at is not None:
                return None
            return Reviewer(row.id, row.name)


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.prefix, row.agency, row.label, row.created_at, row.revoked_at)
