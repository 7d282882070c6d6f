"""Where the operational database is, and an engine that serializes writers on SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from tinmatch.errors import ConfigError, ConflictError, TinmatchError, UnavailableError
from tinmatch.settings import DATABASE_URL

ENV_VAR = DATABASE_URL.name
DEFAULT_URL = str(DATABASE_URL.default)


def resolve_url(url: str | None = None) -> str:
    """The database URL: `url`, else $TINMATCH_DATABASE_URL, else `sqlite:///tinmatch.sqlite`.

    A bare path is taken as a SQLite file; `postgresql://` uses the psycopg (3) driver.
    """
    chosen = url or DATABASE_URL.text() or DEFAULT_URL
    if "://" not in chosen:
        chosen = f"sqlite:///{chosen}"
    for plain in ("postgresql://", "postgres://"):
        if chosen.startswith(plain):
            chosen = "postgresql+psycopg://" + chosen[len(plain) :]
    return chosen


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def database_error(exc: SQLAlchemyError) -> TinmatchError:
    """What a failed call on the operational database means, as the error to raise from it.

    A violated unique key or constraint is a conflict (two writers of the same row at once; the
    caller may look for the winner's row). Anything else -- refused connection, a lost or locked
    database, a missing table -- means the database cannot do its job now: unavailable, never
    "not found" and never "not processed".
    """
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, IntegrityError):
        return ConflictError(f"operational database conflict: {first}")
    return UnavailableError(f"operational database unavailable: {first}")


def make_engine(url: str) -> Engine:
    """An engine for `url` (already resolved).

    On SQLite every transaction starts with BEGIN IMMEDIATE, so two processes appending to the
    ledger are serialized; foreign keys are enforced and a busy database is waited for (30 s).
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if database in ("", ":memory:"):
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"]["check_same_thread"] = False
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
