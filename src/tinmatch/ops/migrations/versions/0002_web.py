"""Web service: API keys, reviewer accounts, API submissions, API call log, reviewer view log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_api_keys_agency", "api_keys", ["agency"])

    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
    )

    op.create_table(
        "web_submissions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("official", sa.String(200), nullable=False),
        sa.Column("attestation", sa.Text(), nullable=False),
        sa.Column("input_name", sa.Text(), nullable=False),
        sa.Column("upload_path", sa.Text(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_web_submissions_agency_created", "web_submissions", ["agency", "created_at"]
    )

    op.create_table(
        "api_call_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("agency", sa.String(200), nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
    )
    op.create_index("ix_api_call_log_at", "api_call_log", ["at"])
    op.create_index("ix_api_call_log_agency", "api_call_log", ["agency"])

    op.create_table(
        "reviewer_view_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=True),
        sa.Column("what", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_reviewer_view_log_at", "reviewer_view_log", ["at"])
    op.create_index("ix_reviewer_view_log_reviewer", "reviewer_view_log", ["reviewer"])
    op.create_index("ix_reviewer_view_log_request_id", "reviewer_view_log", ["request_id"])


def downgrade() -> None:
    for table in ("reviewer_view_log", "api_call_log", "web_submissions", "reviewers", "api_keys"):
        op.drop_table(table)
