"""The ledger becomes a Merkle log (issue 15): leaves, stored tree, signed checkpoints,
append-only enforced by the database.

- ``ledger_entries`` loses ``prev_hash``/``entry_hash`` (the hash chain) and gains
  ``values_json`` (what a disclosure sent out) and ``detail_json`` (kind-specific facts);
  ``entry_type`` widens to 32 characters for new kinds;
- ``ledger_head`` records the log's size and root instead of the chain head;
- ``ledger_tree`` (leaf hashes and every 8th level of interior hashes) and
  ``ledger_checkpoints`` (every signed checkpoint) are new;
- the existing hash chain is verified first (a broken chain is not laundered into a signed log:
  the migration stops, naming the entry) and every entry becomes a leaf in seq order, carrying
  its old ``entry_hash`` in ``detail.legacy_entry_hash``;
- UPDATE and DELETE on ``ledger_entries``, ``ledger_tree`` and ``ledger_checkpoints`` are refused
  by triggers (SQLite and PostgreSQL, also TRUNCATE there); on PostgreSQL the application role
  (``tinmatch_app``, or ``TINMATCH_DB_APP_ROLE``), when it exists, gets SELECT and INSERT only
  on them, and ordinary rights on every other table, now and later.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from tinmatch.settings import DB_APP_ROLE

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

APPEND_ONLY = ("ledger_entries", "ledger_tree", "ledger_checkpoints")
GENESIS_HASH = "0" * 64
APP_ROLE_ENV = DB_APP_ROLE.name
BATCH = 10_000

OLD = sa.table(
    "ledger_entries",
    *(
        sa.column(name, type_)
        for name, type_ in (
            ("seq", sa.Integer()),
            ("entry_type", sa.String()),
            ("request_id", sa.String()),
            ("agency", sa.String()),
            ("official", sa.String()),
            ("record_id", sa.String()),
            ("tin", sa.String()),
            ("fields_released", sa.Text()),
            ("tax_year", sa.Integer()),
            ("match_probability", sa.Float()),
            ("agreement_id", sa.String()),
            ("agreement_sha256", sa.String()),
            ("model_sha256", sa.String()),
            ("statute", sa.Text()),
            ("case_number", sa.Text()),
            ("reviewer", sa.String()),
            ("note", sa.Text()),
            ("recalls_seq", sa.Integer()),
            ("created_at", sa.DateTime()),
            ("released_at", sa.DateTime()),
            ("prev_hash", sa.String()),
            ("entry_hash", sa.String()),
        )
    ),
)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _legacy_hash(row: dict[str, Any]) -> str:
    """The hash chain's entry hash (tinmatch before 0005): sha256 of the canonical JSON of
    every field but entry_hash, timestamps as ISO 8601 with +00:00."""
    data = {k: v for k, v in row.items() if k != "entry_hash"}
    data["fields_released"] = _names(row["fields_released"])
    data["created_at"] = _aware(row["created_at"]).isoformat()
    data["released_at"] = _aware(row["released_at"]).isoformat()
    if row["match_probability"] is not None:
        data["match_probability"] = float(row["match_probability"])
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _names(text: str) -> list[str] | str:
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [text]


def _read_and_verify_chain(bind: sa.Connection) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in bind.execute(sa.select(OLD).order_by(OLD.c.seq))]
    head = bind.execute(sa.text("SELECT seq, entry_hash FROM ledger_head WHERE id = 1")).first()
    prev = GENESIS_HASH
    for expected, row in enumerate(rows, start=1):
        where = f"ledger entry {row['seq']}"
        if row["seq"] != expected:
            raise RuntimeError(f"cannot migrate the ledger: entry {expected} is missing")
        if _legacy_hash(row) != row["entry_hash"]:
            raise RuntimeError(f"cannot migrate the ledger: {where} does not match its hash")
        if row["prev_hash"] != prev:
            raise RuntimeError(f"cannot migrate the ledger: {where} breaks the hash chain")
        prev = row["entry_hash"]
    if head is not None and (head[0], head[1]) != (len(rows), prev):
        raise RuntimeError(
            f"cannot migrate the ledger: the chain head records {head[0]} entries, "
            f"{len(rows)} are present (the tail was cut or entries added outside tinmatch)"
        )
    return rows


def upgrade() -> None:
    bind = op.get_bind()
    legacy = _read_and_verify_chain(bind)

    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("values_json", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("detail_json", sa.Text(), nullable=False, server_default="{}"))
        batch.alter_column("entry_type", type_=sa.String(32), existing_nullable=False)
    for row in legacy:
        bind.execute(
            sa.text("UPDATE ledger_entries SET detail_json = :d WHERE seq = :seq"),
            {"d": json.dumps({"legacy_entry_hash": row["entry_hash"]}), "seq": row["seq"]},
        )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("prev_hash")
        batch.drop_column("entry_hash")

    op.drop_table("ledger_head")
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "ledger_tree",
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ledger_checkpoints_size", "ledger_checkpoints", ["size"])

    size, root = _build_tree(bind, len(legacy))
    op.bulk_insert(head, [{"id": 1, "size": size, "root_hash": root}])
    _append_only(bind)
    _grants(bind)


def _build_tree(bind: sa.Connection, n: int) -> tuple[int, str]:
    """Leaves for the migrated entries, in seq order, through the code new appends use."""
    from tinmatch.ledger import merkle, tiles
    from tinmatch.ledger.entry import leaf_bytes
    from tinmatch.ops.chain import DbTiles, from_row
    from tinmatch.ops.models import LedgerRow

    store = DbTiles(bind)
    done = 0
    while done < n:
        rows = bind.execute(
            sa.select(LedgerRow.__table__)
            .where(LedgerRow.seq > done)
            .order_by(LedgerRow.seq)
            .limit(BATCH)
        ).all()
        hashes = [merkle.leaf_hash(leaf_bytes(from_row(r))) for r in rows]  # type: ignore[arg-type]
        store.write(tiles.new_nodes(store, done, hashes))
        done += len(rows)
    return done, tiles.StoredTree(store).root(done).hex()


def _append_only(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION tinmatch_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$ "
        "LANGUAGE plpgsql"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tinmatch_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tinmatch_append_only()"
        )


def _grants(bind: sa.Connection) -> None:
    if bind.dialect.name != "postgresql":
        return
    role = DB_APP_ROLE.text() or "tinmatch_app"
    exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.first() is None:
        return
    quoted = '"' + role.replace('"', '""') + '"'
    for statement in (
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY)} FROM {quoted}",
    ):
        op.execute(statement)


def downgrade() -> None:
    """For development: the chain columns come back empty (the hash chain is not rebuilt)."""
    bind = op.get_bind()
    for table in APPEND_ONLY:
        if bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.drop_index("ix_ledger_checkpoints_size", "ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_tree")
    op.drop_table("ledger_head")
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("entry_hash", sa.String(64), nullable=False, server_default=""))
        batch.drop_column("values_json")
        batch.drop_column("detail_json")
        batch.alter_column("entry_type", type_=sa.String(16), existing_nullable=False)
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tinmatch_append_only()")
