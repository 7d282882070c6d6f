"""Release is the only door: what a reviewer sees row by row, approvals, result-file manifest.

- ``pending_disclosures.request_json``: what the requester asked for the row (names, address
  given, removal-order date), shown beside what would leave;
- ``decisions.message`` and ``decisions.fields`` (and ``reason`` as text): every result file is
  rendered from the store;
- ``requests.reviewers_required``: 1, or 2 when the agreement needs two for a request this large;
- ``review_approvals``: one row per approval (reviewer, note, rows withheld with the reason);
- ``result_files``: the manifest of every file tinmatch wrote for a request (purge removes only
  these, and only while their SHA-256 is what tinmatch wrote).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("pending_disclosures") as batch:
        batch.add_column(sa.Column("request_json", sa.Text(), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        # A rejected row's reason codes, `;`-separated, can exceed 64 characters.
        batch.alter_column("reason", type_=sa.Text(), existing_type=sa.String(64))
        batch.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch.add_column(sa.Column("fields", sa.Text(), nullable=True))
    with op.batch_alter_table("requests") as batch:
        batch.add_column(
            sa.Column("reviewers_required", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "review_approvals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("withhold_json", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_review_approvals_request_id", "review_approvals", ["request_id"])
    op.create_table(
        "result_files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("request_id", "path", name="uq_result_file"),
    )
    op.create_index("ix_result_files_request_id", "result_files", ["request_id"])


def downgrade() -> None:
    op.drop_table("result_files")
    op.drop_table("review_approvals")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("reviewers_required")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("fields")
        batch.drop_column("message")
        batch.alter_column("reason", type_=sa.String(64), existing_type=sa.Text())
    with op.batch_alter_table("pending_disclosures") as batch:
        batch.drop_column("request_json")
