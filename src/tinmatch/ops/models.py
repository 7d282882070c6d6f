"""SQLAlchemy 2 tables of the operational database (portable: SQLite and PostgreSQL).

Timestamps are stored as UTC without zone and come back as aware UTC datetimes;
JSON is stored as TEXT. The schema is created by the Alembic migrations, never by create_all.
The web service's tables (``service_models``) and the registries' (``registry_models``) share
``Base``; :mod:`tinmatch.ops.schema` gathers every table, for the migrations and schema checks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime, stored as a naive UTC timestamp on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class RequestRow(Base):
    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_agency_created", "agency", "created_at"),
        Index("ix_requests_official_created", "agency", "official", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    agency: Mapped[str] = mapped_column(String(200))
    official: Mapped[str] = mapped_column(String(200))
    attestation: Mapped[str] = mapped_column(Text)
    agreement_id: Mapped[str] = mapped_column(String(200), index=True)
    agreement_sha256: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(Text)
    out_dir: Mapped[str] = mapped_column(Text)
    n_rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    counts_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    review_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewers_required: Mapped[int] = mapped_column(Integer, server_default="1", default=1)


class PendingRow(Base):
    __tablename__ = "pending_disclosures"
    __table_args__ = (UniqueConstraint("request_id", "record_id", name="uq_pending_record"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(200))
    tin: Mapped[str] = mapped_column(String(16))
    fields_json: Mapped[str] = mapped_column(Text)
    tax_year: Mapped[int | None] = mapped_column(Integer)
    match_probability: Mapped[float | None] = mapped_column(Float)
    statute: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str] = mapped_column(Text)
    request_json: Mapped[str | None] = mapped_column(Text)
    """What was asked for the row (names, address given, removal-order date), for the reviewer."""


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    tin: Mapped[str | None] = mapped_column(String(16))
    probability: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str | None] = mapped_column(Text)


class ReviewApprovalRow(Base):
    """One reviewer's approval of a held request (two when the agreement needs two)."""

    __tablename__ = "review_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    withhold_json: Mapped[str] = mapped_column(Text)
    """{record_id: reason} of the rows this reviewer withheld."""
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResultFileRow(Base):
    """The manifest: one file tinmatch wrote for a request, as it wrote it."""

    __tablename__ = "result_files"
    __table_args__ = (UniqueConstraint("request_id", "path", name="uq_result_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerRow(Base):
    """One leaf of the Merkle log. Append-only: the database refuses UPDATE and DELETE
    (SQLite triggers; on PostgreSQL also the application role's grants), migration 0005."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_type: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(40), index=True)
    agency: Mapped[str] = mapped_column(String(200))
    official: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(200))
    tin: Mapped[str] = mapped_column(String(16), index=True)
    fields_released: Mapped[str] = mapped_column(Text)
    tax_year: Mapped[int | None] = mapped_column(Integer)
    match_probability: Mapped[float | None] = mapped_column(Float)
    agreement_id: Mapped[str] = mapped_column(String(200))
    agreement_sha256: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    statute: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    recalls_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
    values_json: Mapped[str] = mapped_column(Text)
    detail_json: Mapped[str] = mapped_column(Text)


class ChainHeadRow(Base):
    """One row (id 1): the log's size and root; locked and updated with every append."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))


class LedgerNodeRow(Base):
    """Stored tree hashes (``tinmatch.ledger.tiles``): the complete subtree of leaves
    [index * 2^level, (index + 1) * 2^level), for level 0, 8, 16, ... Append-only."""

    __tablename__ = "ledger_tree"
    __table_args__ = {"sqlite_with_rowid": False}

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class CheckpointRow(Base):
    """Every checkpoint the log signed (C2SP signed note). Append-only."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreementEventRow(Base):
    __tablename__ = "agreement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agreement_id: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(16))
    why: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PurgeRow(Base):
    __tablename__ = "purge_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(40), index=True)
    path: Mapped[str] = mapped_column(Text)
    files_removed: Mapped[int] = mapped_column(Integer)
    bytes_removed: Mapped[int] = mapped_column(BigInteger)
    older_than: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

