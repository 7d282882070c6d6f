"""Alembic environment: runs on the connection tinmatch hands over, or on `-x url=...`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from tinmatch.ops.engine import make_engine, resolve_url
from tinmatch.ops.schema import metadata

config = context.config
target_metadata = metadata
_MIGRATION_LOCK = 7_420_131  # pg_advisory_xact_lock key: one migrator at a time on PostgreSQL


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url")
    return resolve_url(given or config.get_main_option("sqlalchemy.url"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
