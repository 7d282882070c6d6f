"""Registries and shared web state: agencies and officials, registered agreements, suspensions
by agency, reviewer lockout, server-side reviewer sessions, rate buckets shared by processes.

An agreement suspended before this migration (by id, in `agreement_events`) stays stopped: its
suspension is carried over as a suspension of every agency (`*`), to be lifted by a person.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "officials",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("agency_id", "name_key", name="uq_official_key"),
    )
    op.create_index("ix_officials_agency_id", "officials", ["agency_id"])
    op.create_table(
        "registered_agreements",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("agreement_id", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("loosens", sa.Text(), nullable=False),
        sa.Column("replaces_sha256", sa.String(64), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False),
        sa.Column("second_by", sa.String(200), nullable=True),
        sa.Column("second_at", sa.DateTime(), nullable=True),
        sa.Column("active_at", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "ix_registered_agreements_agreement_id", "registered_agreements", ["agreement_id"]
    )
    op.create_index("ix_registered_agreements_agency", "registered_agreements", ["agency"])
    suspensions = op.create_table(
        "agency_suspensions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_agency_suspensions_agency", "agency_suspensions", ["agency"])
    _carry_over_suspensions(suspensions)
    with op.batch_alter_table("reviewers") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_web_sessions_reviewer_id", "web_sessions", ["reviewer_id"])
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
    )


def _carry_over_suspensions(suspensions: sa.Table) -> None:
    events = sa.table(
        "agreement_events",
        sa.column("id", sa.Integer()),
        sa.column("agreement_id", sa.String()),
        sa.column("action", sa.String()),
    )
    bind = op.get_bind()
    last: dict[str, str] = {}
    for agreement_id, action in bind.execute(
        sa.select(events.c.agreement_id, events.c.action).order_by(events.c.id)
    ):
        last[agreement_id] = action
    stopped = sorted(a for a, action in last.items() if action == "suspend")
    if stopped:
        now = datetime.now(UTC).replace(tzinfo=None)
        op.bulk_insert(
            suspensions,
            [
                {
                    "agency": "*",
                    "action": "suspend",
                    "why": f"carried over: agreement {', '.join(stopped)} was suspended",
                    "by": "migration 0004",
                    "at": now,
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    op.drop_table("web_sessions")
    with op.batch_alter_table("reviewers") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
    op.drop_table("agency_suspensions")
    op.drop_table("registered_agreements")
    op.drop_table("officials")
    op.drop_table("agencies")
