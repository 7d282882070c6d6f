"""Helpers for the ledger tests: a log of synthetic entries, and the insider's tools."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from tinmatch.ledger import LedgerEntry
from tinmatch.ops import Store, chain

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
GUARDED = ("ledger_entries", "ledger_tree", "ledger_checkpoints")


def disclosure(i: int, *, tin: str | None = None, request_id: str = "req-1") -> LedgerEntry:
    return LedgerEntry(
        seq=0,
        entry_type="disclosure",
        request_id=request_id,
        agency="Agency A",
        official="Officer One",
        record_id=f"r{i}",
        tin=tin or f"9000000{i:02d}",
        fields_released=("street", "city", "state", "zip", "tax_year"),
        tax_year=2024,
        match_probability=0.9973,
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256="m" * 64,
        statute="8 U.S.C. 1326",
        case_number=f"CASE-{i}",
        reviewer="Ann Reviewer",
        note="",
        recalls_seq=None,
        created_at=T0,
        released_at=T0,
        values={
            "street": f"{i} Elm St",
            "city": "Springfield",
            "state": "IL",
            "zip": "62701",
            "tax_year": 2024,
        },
    )


def append(store: Store, entries: list[LedgerEntry], *, sign: bool = True) -> list[LedgerEntry]:
    """Append as a release does: the entries and a checkpoint, in one transaction."""
    with store._tx() as s:
        written = chain.append(s, entries)
        if sign:
            chain.checkpoint(s, store.signer(), T0)
    return written


def release(store: Store, n: int, start: int = 0, **kw: str) -> list[LedgerEntry]:
    return append(store, [disclosure(i, **kw) for i in range(start, start + n)])


def drop_guards(store: Store) -> None:
    """What an insider with the schema owner's rights does first: drop the triggers."""
    with store.engine.begin() as conn:
        for table in GUARDED:
            if store.engine.dialect.name == "sqlite":
                for action in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def rehash_everything(store: Store) -> None:
    """The thorough insider: recompute every leaf, the stored tree and the head from the
    entries as they now are (and leave the checkpoints alone, or delete them too)."""
    from tinmatch.ledger import leaf_bytes, merkle, tiles
    from tinmatch.ops.models import LedgerRow

    with store._tx() as s:
        entries = list(chain.stream(s))
        s.execute(text("DELETE FROM ledger_tree"))
        hashes = [merkle.leaf_hash(leaf_bytes(e)) for e in entries]
        db = chain.DbTiles(s)
        db.write(tiles.new_nodes(db, 0, hashes))
        root = tiles.StoredTree(db).root(len(hashes)).hex()
        s.execute(
            text("UPDATE ledger_head SET size = :n, root_hash = :r WHERE id = 1"),
            {"n": len(hashes), "r": root},
        )
        assert s.get(LedgerRow, 1) is not None or not entries
