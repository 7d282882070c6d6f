"""Shared helpers for the operational-database tests: one Store per test, on every backend.

SQLite always; PostgreSQL too when TINMATCH_TEST_POSTGRES_URL is set (its tinmatch tables are
dropped before each test, so point it at a throw-away database).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from backends import BACKENDS, POSTGRES_ENV, backend_url
from reviewers import add_reviewers
from tinmatch.ops import PendingDisclosure, Store

# BACKENDS and backend_url live in tests/backends.py (shared with the CLI and web tests).
__all__ = [
    "BACKENDS", "POSTGRES_ENV", "T0", "backend_url", "disclosure", "held_request", "open_store",
]  # fmt: skip

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


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
