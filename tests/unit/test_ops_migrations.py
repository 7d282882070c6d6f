"""Migrations run from an empty database and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, backend_url
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tinmatch.errors import UnavailableError
from tinmatch.ops import Store
from tinmatch.ops.engine import make_engine, resolve_url
from tinmatch.ops.migrate import current_revision, downgrade, upgrade
from tinmatch.ops.schema import metadata

TABLES = {
    "requests",
    "pending_disclosures",
    "decisions",
    "ledger_entries",
    "ledger_head",
    "agreement_events",
    "purge_log",
    "agencies",
    "officials",
    "registered_agreements",
    "agency_suspensions",
    "web_sessions",
    "rate_buckets",
    "alembic_version",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_from_empty_match_the_models(backend: str, tmp_path: Path) -> None:
    engine = make_engine(backend_url(backend, tmp_path))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == "0005"
        assert TABLES <= set(inspect(engine).get_table_names())
        upgrade(engine)  # a second run is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_store_open_creates_the_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TINMATCH_DATABASE_URL", raising=False)
    with Store.open() as store:
        assert store.verify_ledger() == []
    assert (tmp_path / "tinmatch.sqlite").is_file()


def test_resolve_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINMATCH_DATABASE_URL", "postgresql://u:p@h/db")
    assert resolve_url() == "postgresql+psycopg://u:p@h/db"
    assert resolve_url("state/ops.sqlite") == "sqlite:///state/ops.sqlite"
    monkeypatch.delenv("TINMATCH_DATABASE_URL")
    assert resolve_url() == "sqlite:///tinmatch.sqlite"


def test_unreachable_database_is_one_line_error() -> None:
    with pytest.raises(UnavailableError, match=r"cannot open .*\*\*\*"):
        Store.open("postgresql://user:secret@127.0.0.1:1/none?connect_timeout=2")
