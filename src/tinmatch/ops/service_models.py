"""Tables of the web service (accounts, submissions, audit logs, sessions, rate buckets), kept
in the operational database and sharing its metadata (migration 0002 and later).

API keys and reviewer passwords are stored hashed only; the two audit logs are append-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tinmatch.ops.models import Base, UTCDateTime


class ApiKeyRow(Base):
    """A requesting agency's API key: the public prefix finds it, the SHA-256 proves it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(200), index=True)
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewerRow(Base):
    """A reviewer account of the tax agency (separate from requester keys)."""

    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    """Wrong passwords in a row (reset by a good one); at the threshold the account locks."""
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubmissionRow(Base):
    """A request received over the API, from upload to outcome (or refusal)."""

    __tablename__ = "web_submissions"
    __table_args__ = (Index("ix_web_submissions_agency_created", "agency", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[int] = mapped_column(Integer)
    official: Mapped[str] = mapped_column(String(200))
    attestation: Mapped[str] = mapped_column(Text)
    input_name: Mapped[str] = mapped_column(Text)
    upload_path: Mapped[str] = mapped_column(Text)
    out_dir: Mapped[str] = mapped_column(Text)
    n_rows: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiCallRow(Base):
    """One line per API call: who (key), what (method, path), the answer and how long."""

    __tablename__ = "api_call_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    agency: Mapped[str | None] = mapped_column(String(200), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(40))
    duration_ms: Mapped[float] = mapped_column(Float)
    client: Mapped[str | None] = mapped_column(String(64))


class ReviewerViewRow(Base):
    """What a reviewer was shown of taxpayers: one line per page and per candidate shown."""

    __tablename__ = "reviewer_view_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reviewer: Mapped[str] = mapped_column(String(200), index=True)
    request_id: Mapped[str] = mapped_column(String(40), index=True)
    record_id: Mapped[str | None] = mapped_column(String(200))
    what: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class WebSessionRow(Base):
    """A reviewer's login: the cookie holds a random token, the table its SHA-256. Logging out
    revokes the row, so a copied cookie stops working on every `serve` process at once."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateBucketRow(Base):
    """A token bucket (API calls per key, login attempts per client), kept in the database so
    that every `serve` process on one database draws from the same bucket."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)
    """Seconds since the epoch of the last take."""
