"""On PostgreSQL the application's role (tinmatch_app, created by .ci/postgres.sh) may append
to the ledger and read it, and nothing else: UPDATE, DELETE and TRUNCATE are refused by its
grants, and it cannot drop the triggers that refuse them to the owner too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _ledger_fixtures import release
from _ops_fixtures import POSTGRES_ENV, backend_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from tinmatch.ops import Store
from tinmatch.ops.engine import make_engine

APP_ENV = "TINMATCH_TEST_POSTGRES_APP_URL"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} unset"),
]


def _app_url(owner_url: str) -> str:
    if os.environ.get(APP_ENV):
        return os.environ[APP_ENV]
    url = make_url(owner_url).set(username="tinmatch_app", password="tinmatch_app")
    return url.render_as_string(hide_password=False)


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[Store]:
    owner_url = backend_url("postgres", tmp_path)
    owner = create_engine(owner_url)
    with owner.connect() as conn:
        if (
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'tinmatch_app'")).first()
            is None
        ):
            pytest.skip("no tinmatch_app role: run .ci/postgres.sh")
    owner.dispose()
    Store.open(owner_url).close()  # the owner migrates (and grants)
    store = Store(make_engine(_app_url(owner_url)))
    try:
        yield store
    finally:
        store.close()


def test_the_app_role_appends_and_reads(app_store: Store) -> None:
    release(app_store, 3)
    assert app_store.verify_ledger() == []
    assert app_store.inclusion_proof(2)["tree_size"] == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET agency = 'x'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
        "UPDATE ledger_tree SET hash = hash",
        "DELETE FROM ledger_checkpoints",
        "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
    ],
)
def test_the_app_role_cannot_change_the_ledger(app_store: Store, statement: str) -> None:
    release(app_store, 2)
    with pytest.raises(DatabaseError, match="permission denied|must be owner"):
        with app_store.engine.begin() as conn:
            conn.execute(text(statement))
    assert app_store.verify_ledger() == []
