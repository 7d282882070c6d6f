"""Tampering with the ledger directly in the database is caught by verify, naming the seq."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, T0, held_request, open_store
from sqlalchemy import text

from tinmatch.ops import Store
from tinmatch.ops.models import LedgerRow

COLUMNS = [c.name for c in LedgerRow.__table__.columns if c.name != "seq"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    for s in open_store(request.param, tmp_path):
        s.release(held_request(s, n=5), reviewer="R", note="", now=T0)
        assert s.verify_ledger() == []
        yield s


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_edited_field(store: Store) -> None:
    _sql(store, "UPDATE ledger_entries SET agency = 'Someone Else' WHERE seq = 3")
    assert store.verify_ledger() == ["seq 3: edited: its contents do not match its hash"]


def test_edited_probability(store: Store) -> None:
    _sql(store, "UPDATE ledger_entries SET match_probability = 0.5 WHERE seq = 2")
    assert [(p.seq, p.kind) for p in store.verify_problems()] == [(2, "edited")]


def test_deleted_row(store: Store) -> None:
    _sql(store, "DELETE FROM ledger_entries WHERE seq = 2")
    problems = store.verify_ledger()
    assert problems[0].startswith("seq 2: deleted")


def test_deleted_last_row(store: Store) -> None:
    _sql(store, "DELETE FROM ledger_entries WHERE seq = 5")
    assert store.verify_ledger()[0].startswith("seq 5: deleted")


def test_swapped_contents(store: Store) -> None:
    with store.engine.begin() as conn:
        rows = {
            r.seq: r._mapping
            for r in conn.execute(text("SELECT * FROM ledger_entries WHERE seq IN (2, 4)"))
        }
        assignments = ", ".join(f"{c} = :{c}" for c in COLUMNS)
        for seq, other in ((2, 4), (4, 2)):
            values = {c: rows[other][c] for c in COLUMNS}
            conn.execute(
                text(f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq"),
                {**values, "seq": seq, "entry_hash": f"tmp{seq}"},
            )
        for seq, other in ((2, 4), (4, 2)):
            conn.execute(
                text("UPDATE ledger_entries SET entry_hash = :h WHERE seq = :seq"),
                {"h": rows[other]["entry_hash"], "seq": seq},
            )
    problems = [(p.seq, p.kind) for p in store.verify_problems()]
    assert problems[:2] == [(2, "reordered"), (4, "reordered")]
    assert "written as seq 4" in store.verify_ledger()[0]


def test_swapped_data_but_not_hashes(store: Store) -> None:
    data = [c for c in COLUMNS if c not in ("prev_hash", "entry_hash")]
    with store.engine.begin() as conn:
        rows = {
            r.seq: r._mapping
            for r in conn.execute(text("SELECT * FROM ledger_entries WHERE seq IN (1, 3)"))
        }
        assignments = ", ".join(f"{c} = :{c}" for c in data)
        for seq, other in ((1, 3), (3, 1)):
            conn.execute(
                text(f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq"),
                {**{c: rows[other][c] for c in data}, "seq": seq},
            )
    assert [(p.seq, p.kind) for p in store.verify_problems()] == [
        (1, "reordered"),
        (3, "reordered"),
    ]


def test_swapped_seq_numbers(store: Store) -> None:
    _sql(store, "UPDATE ledger_entries SET seq = 100 WHERE seq = 3")
    _sql(store, "UPDATE ledger_entries SET seq = 3 WHERE seq = 4")
    _sql(store, "UPDATE ledger_entries SET seq = 4 WHERE seq = 100")
    assert [(p.seq, p.kind) for p in store.verify_problems()] == [
        (3, "reordered"),
        (4, "reordered"),
    ]


def test_rehashed_edit_is_still_caught(store: Store) -> None:
    from dataclasses import replace

    entry = store.ledger_entries()[1]
    forged = replace(entry, tin="111111111").with_hash()
    _sql(
        store,
        "UPDATE ledger_entries SET tin = :tin, entry_hash = :h WHERE seq = 2",
        tin=forged.tin,
        h=forged.entry_hash,
    )
    assert [(p.seq, p.kind) for p in store.verify_problems()] == [(3, "chain_broken")]
