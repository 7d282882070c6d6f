"""The operational databases a test may run on: SQLite always, PostgreSQL when
TINMATCH_TEST_POSTGRES_URL names a throw-away database (its tinmatch tables are dropped first).

One place for the CLI, unit and web tests (`from backends import BACKENDS, backend_url`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tinmatch.ops.engine import resolve_url
from tinmatch.ops.schema import metadata

POSTGRES_ENV = "TINMATCH_TEST_POSTGRES_URL"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} unset"),
        ],
    ),
]


def fresh_postgres_url() -> str:
    """The test PostgreSQL database with every tinmatch table (and alembic's) dropped."""
    url = resolve_url(os.environ[POSTGRES_ENV])
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE IF EXISTS {table.name} CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


def backend_url(backend: str, tmp_path: Path, name: str = "ops.sqlite") -> str:
    """A fresh operational database: a new SQLite file `name` in `tmp_path`, or PostgreSQL."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name}"
    return fresh_postgres_url()
