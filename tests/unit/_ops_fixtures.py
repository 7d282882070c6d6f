"""Shared helpers for the operational-database tests: one Store per test, on every backend.

SQLite always; PostgreSQL too when TINMATCH_TEST_POSTGRES_URL is set (its tinmatch tables are
dropped before each test, so point it at a throw-away database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reviewers import add_reviewers
from tinmatch.ops import PendingDisclosure, Store
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
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def backend_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    url = resolve_url(os.environ[POSTGRES_ENV])
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in [*reversed(metadata.sorted_tables)]:
            conn.execute(text(f"DROP TABLE IF EXISTS {table.name} CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


def open_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    store = Store.open(backend_url(backend, tmp_path))
    add_reviewers(store)  # only registered reviewers approve or deny
    try:
        yield store
    finally:
        store.close()


def disclosure(record_id: str, tin: str = "123456789", year: int = 2024) -> PendingDisclosure:
    return PendingDisclosure(
        record_id=record_id,
        tin=tin,
        fields={"street": "12 Elm St", "city": "Springfield", "state": "IL", "tax_year": year},
        tax_year=year,
        match_probability=0.9973,
        statute="8 U.S.C. 1326",
        case_number=f"CASE-{record_id}",
    )


def held_request(
    store: Store,
    key: str = "k1",
    *,
    agency: str = "Agency A",
    official: str = "Officer One",
    n: int = 3,
    now: datetime = T0,
    agreement_id: str = "default",
) -> str:
    """A request with `n` pending disclosures, held for review; returns its id."""
    record = store.begin_request(
        request_key=key,
        agency=agency,
        official=official,
        attestation="under active criminal investigation",
        agreement_id=agreement_id,
        agreement_sha256="a" * 64,
        model_sha256="m" * 64,
        input_sha256="i" * 64,
        input_name=f"{key}.xlsx",
        out_dir=f"/nonexistent/{key}",
        n_rows=n + 2,
        now=now,
    )
    store.record_outcome(
        record.id,
        counts={"received": n + 2, "rejected": 1, "matched": n, "ambiguous": 1, "disclosed": n},
        disclosures=[disclosure(f"{key}-r{i}", tin=f"90000000{i}") for i in range(n)],
        decisions=None,
        now=now,
    )
    return record.id
