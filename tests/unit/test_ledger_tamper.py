"""The insider at the database: the triggers refuse; past them, `verify` names what changed,
and a checkpoint held elsewhere catches even a log rewritten and re-hashed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _ledger_fixtures import T0, drop_guards, rehash_everything, release, sql
from _ops_fixtures import BACKENDS, open_store
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tinmatch.ledger import Anchor
from tinmatch.ledger.checkpoint import open_checkpoint
from tinmatch.ops import Store
from tinmatch.ops.models import LedgerRow

COLUMNS = [c.name for c in LedgerRow.__table__.columns if c.name != "seq"]


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    monkeypatch.setenv("TINMATCH_LEDGER_KEY", str(tmp_path / "ledger.key"))
    for s in open_store(request.param, tmp_path):
        release(s, 5)
        assert s.verify_ledger() == []
        yield s


def _kinds(store: Store, anchors: list[Anchor] | None = None) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in store.verify_problems(anchors or [])]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET agency = 'Someone Else' WHERE seq = 3",
        "DELETE FROM ledger_entries WHERE seq = 5",
        "UPDATE ledger_tree SET hash = hash WHERE level = 0",
        "DELETE FROM ledger_tree",
        "UPDATE ledger_checkpoints SET note = ''",
        "DELETE FROM ledger_checkpoints",
    ],
)
def test_the_database_refuses_update_and_delete(store: Store, statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"):
        sql(store, statement)
    assert store.verify_ledger() == []


def test_emptying_the_table_at_once_is_refused(store: Store) -> None:
    """PostgreSQL's TRUNCATE fires no row trigger, so it has its own; SQLite's form of it, a
    DELETE without WHERE (its truncate optimisation), must meet the row trigger too."""
    statement = (
        "TRUNCATE ledger_entries CASCADE"
        if store.engine.dialect.name == "postgresql"
        else "DELETE FROM ledger_entries"
    )
    with pytest.raises(DatabaseError, match="append-only"):
        sql(store, statement)


def test_edited_field(store: Store) -> None:
    drop_guards(store)
    sql(store, "UPDATE ledger_entries SET agency = 'Someone Else' WHERE seq = 3")
    assert store.verify_ledger() == ["seq 3: edited: its contents do not match its stored leaf"]


def test_edited_disclosed_value(store: Store) -> None:
    drop_guards(store)
    sql(store, """UPDATE ledger_entries SET values_json = '{"street": "9 Oak"}' WHERE seq = 2""")
    assert _kinds(store) == [(2, "edited")]


def test_deleted_row(store: Store) -> None:
    drop_guards(store)
    sql(store, "DELETE FROM ledger_entries WHERE seq = 2")
    assert store.verify_ledger()[0].startswith("seq 2: deleted: entry 2 missing")


def test_tail_cut_with_its_leaves_and_head(store: Store) -> None:
    drop_guards(store)
    sql(store, "DELETE FROM ledger_entries WHERE seq >= 4")
    sql(store, "DELETE FROM ledger_tree WHERE level = 0 AND idx >= 3")
    sql(store, "UPDATE ledger_head SET size = 3")
    problems = store.verify_ledger()
    assert problems == [
        "seq 4: truncated: the log holds 3 entries but had reached 5 "
        "(entries 4..5 were cut off the tail)"
    ]


def test_swapped_seq_numbers_are_reordered(store: Store) -> None:
    drop_guards(store)
    sql(store, "UPDATE ledger_entries SET seq = 100 WHERE seq = 3")
    sql(store, "UPDATE ledger_entries SET seq = 3 WHERE seq = 4")
    sql(store, "UPDATE ledger_entries SET seq = 4 WHERE seq = 100")
    assert _kinds(store) == [(3, "reordered"), (4, "reordered")]
    assert "written as seq 4" in store.verify_ledger()[0]


def test_swapped_contents_are_reordered(store: Store) -> None:
    drop_guards(store)
    with store.engine.begin() as conn:
        rows = {
            r.seq: r._mapping
            for r in conn.execute(text("SELECT * FROM ledger_entries WHERE seq IN (2, 4)"))
        }
        assignments = ", ".join(f"{c} = :{c}" for c in COLUMNS)
        for seq, other in ((2, 4), (4, 2)):
            conn.execute(
                text(f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq"),
                {**{c: rows[other][c] for c in COLUMNS}, "seq": seq},
            )
    assert _kinds(store) == [(2, "reordered"), (4, "reordered")]


def test_rewritten_and_rehashed_is_caught_by_the_stored_checkpoints(store: Store) -> None:
    drop_guards(store)
    sql(store, "UPDATE ledger_entries SET tin = '111111111', reviewer = 'auto' WHERE seq = 2")
    rehash_everything(store)
    assert _kinds(store) == [(5, "rewritten")]
    assert "not an append-only extension" in store.verify_ledger()[0]


def test_a_taxpayer_erased_and_everything_rehashed_is_caught_by_a_held_checkpoint(
    store: Store,
) -> None:
    held = open_checkpoint(store.checkpoint(T0), store.verifier_key()).checkpoint
    drop_guards(store)
    sql(store, "DELETE FROM ledger_entries WHERE tin = '900000003'")  # seq 4
    sql(store, "UPDATE ledger_entries SET seq = seq - 1 WHERE seq > 4")
    sql(store, "DELETE FROM ledger_checkpoints")
    rehash_everything(store)
    assert store.disclosures_for_tin("900000003") == []
    # Nothing left in the database can tell: that is what checkpoints held elsewhere are for.
    assert _kinds(store) == []
    assert _kinds(store, [Anchor(held.size, held.root, "the held checkpoint")]) == [
        (5, "truncated")
    ]
    release(store, 1, start=7)  # the insider pads the log back to its old size
    assert _kinds(store, [Anchor(held.size, held.root, "the held checkpoint")]) == [
        (5, "rewritten")
    ]


def test_a_forged_checkpoint_row_is_named(store: Store) -> None:
    drop_guards(store)
    sql(store, "UPDATE ledger_checkpoints SET note = replace(note, '\n5\n', '\n4\n')")
    assert ("forged_checkpoint") in {k for _, k in _kinds(store)}
