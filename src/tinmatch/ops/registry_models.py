"""Tables of the registries (migration 0004): requesting agencies and their officials,
registered agreements, and suspensions by agency.

They share the operational database's metadata (gathered by :mod:`tinmatch.ops.schema`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tinmatch.ops.models import Base, UTCDateTime


class AgencyRow(Base):
    """A registered requesting agency. Its row is locked while a request of it is admitted, so
    that the caps of one agency are checked and recorded one request at a time."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialRow(Base):
    """A registered requesting official of one agency; `name_key` identifies the person
    however the name is punctuated or ordered ("J. Doe", "J Doe", "Doe, J.")."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("agency_id", "name_key", name="uq_official_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RegisteredAgreementRow(Base):
    """An agreement file registered by its SHA-256: its bytes, who approved it and when.

    `status` is `pending` while a second approval is missing (the agreement loosens something)
    and `active` once it may run. `agency` is the agreement's requesting agency (`*`: any)."""

    __tablename__ = "registered_agreements"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(200), index=True)
    agency: Mapped[str] = mapped_column(String(200), index=True)
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    loosens: Mapped[str] = mapped_column(Text)
    """JSON list of what it loosens relative to the agreement it replaces or the default."""
    replaces_sha256: Mapped[str | None] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str] = mapped_column(String(200))
    second_by: Mapped[str | None] = mapped_column(String(200))
    second_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SuspensionRow(Base):
    """A suspension or resumption of every agreement of an agency (`*`: of every agency)."""

    __tablename__ = "agency_suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(16))
    why: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
