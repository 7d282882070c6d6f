"""Initial schema: requests, pending disclosures, decisions, ledger and its chain head,
agreement suspensions, purge log.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_key", sa.String(200), nullable=False, unique=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("official", sa.String(200), nullable=False),
        sa.Column("attestation", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.String(200), nullable=False),
        sa.Column("agreement_sha256", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("input_name", sa.Text(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("outcome_at", sa.DateTime(), nullable=True),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_requests_agreement_id", "requests", ["agreement_id"])
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_index("ix_requests_agency_created", "requests", ["agency", "created_at"])
    op.create_index(
        "ix_requests_official_created", "requests", ["agency", "official", "created_at"]
    )

    op.create_table(
        "pending_disclosures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("tin", sa.String(16), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("tax_year", sa.Integer(), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("statute", sa.Text(), nullable=False),
        sa.Column("case_number", sa.Text(), nullable=False),
        sa.UniqueConstraint("request_id", "record_id", name="uq_pending_record"),
    )
    op.create_index("ix_pending_disclosures_request_id", "pending_disclosures", ["request_id"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("tin", sa.String(16), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
    )
    op.create_index("ix_decisions_request_id", "decisions", ["request_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("entry_type", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("official", sa.String(200), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("tin", sa.String(16), nullable=False),
        sa.Column("fields_released", sa.Text(), nullable=False),
        sa.Column("tax_year", sa.Integer(), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("agreement_id", sa.String(200), nullable=False),
        sa.Column("agreement_sha256", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("statute", sa.Text(), nullable=False),
        sa.Column("case_number", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recalls_seq", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_ledger_entries_request_id", "ledger_entries", ["request_id"])
    op.create_index("ix_ledger_entries_tin", "ledger_entries", ["tin"])
    op.create_index("ix_ledger_entries_created_at", "ledger_entries", ["created_at"])

    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": GENESIS_HASH}])

    op.create_table(
        "agreement_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agreement_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_agreement_events_agreement_id", "agreement_events", ["agreement_id"])

    op.create_table(
        "purge_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("files_removed", sa.Integer(), nullable=False),
        sa.Column("bytes_removed", sa.BigInteger(), nullable=False),
        sa.Column("older_than", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_purge_log_request_id", "purge_log", ["request_id"])


def downgrade() -> None:
    for table in (
        "purge_log",
        "agreement_events",
        "ledger_head",
        "ledger_entries",
        "decisions",
        "pending_disclosures",
        "requests",
    ):
        op.drop_table(table)
