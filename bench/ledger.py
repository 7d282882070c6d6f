"""What the Merkle log costs: appending a release of N disclosures, and proofs in a big log.

    .venv/bin/python bench/ledger.py --append 1000000 --proofs-in 10000000 --dir /tmp/ledger-bench

1. ``--append N``: one release of N disclosure entries through ``ops.chain.append`` on a fresh
   SQLite store, timed as a whole, then the same N entries timed phase by phase: leaf encoding
   and hashing (the old hash chain paid the same canonical JSON and SHA-256 per entry), the
   entry rows, and what the tree adds (interior hashes, the tree rows, the new root).
2. ``--proofs-in M``: a log of M leaves (synthetic leaf hashes written straight into
   ``ledger_tree`` through the same tile code; no entry rows), then inclusion proofs for random
   leaves and consistency proofs between random sizes, each verified, timed one by one.

Prints one line per figure. Use ``--url`` for PostgreSQL instead of SQLite files.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from tinmatch.ledger import LedgerEntry, leaf_bytes, merkle, tiles
from tinmatch.ops import Store, chain
from tinmatch.ops.models import ChainHeadRow, LedgerNodeRow, LedgerRow

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _entry(i: int) -> LedgerEntry:
    return LedgerEntry(
        seq=0,
        entry_type="disclosure",
        request_id="req-0123456789abcdef",
        agency="U.S. Immigration and Customs Enforcement",
        official="Officer Number One",
        record_id=f"R-{i:08d}",
        tin=f"9{i:08d}",
        fields_released=("street", "line2", "city", "state", "zip", "tax_year"),
        tax_year=2024,
        match_probability=0.997312,
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256="m" * 64,
        statute="8 U.S.C. 1326",
        case_number=f"CASE-{i % 5000:05d}",
        reviewer="Ann Reviewer",
        note="released after review",
        recalls_seq=None,
        created_at=T0,
        released_at=T0,
        values={
            "street": f"{i % 9999} Elm St",
            "line2": None,
            "city": "Springfield",
            "state": "IL",
            "zip": "62701",
            "tax_year": 2024,
        },
    )


def _store(url: str) -> Store:
    return Store.open(url)


class Clock:
    """Wall and CPU time of a phase (the machine may be shared: CPU time is the steadier)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def bench_append(url_for: Callable[[str], str], n: int) -> None:
    drafts = [_entry(i) for i in range(n)]
    with _store(url_for("append-whole")) as store:
        with Clock() as whole, store._tx() as s:
            chain.append(s, drafts)
    print(f"append {n:,} disclosures (chain.append, one transaction, committed): {whole}")

    with _store(url_for("append-phases")) as store:
        sessions = sessionmaker(store.engine)
        with sessions.begin() as s:
            s.get(ChainHeadRow, 1)
            entries = [LedgerEntry(**{**e.__dict__, "seq": i + 1}) for i, e in enumerate(drafts)]
            with Clock() as t_leaf:
                hashes = [merkle.leaf_hash(leaf_bytes(e)) for e in entries]
            with Clock() as t_rows:
                table = cast(Table, LedgerRow.__table__)
                for a in range(0, n, chain.BATCH):
                    batch = entries[a : a + chain.BATCH]
                    s.execute(insert(table), [chain.to_values(e) for e in batch])
            with Clock() as t_nodes:
                db = chain.DbTiles(s)
                rows = tiles.new_nodes(db, 0, hashes)
            with Clock() as t_write:
                db.write(rows)
            with Clock() as t_root:
                tiles.StoredTree(db).root(n)
    print(f"  leaf encoding + leaf hash (the old chain paid the same per entry): {t_leaf}")
    print(f"  entry rows: {t_rows}")
    print(f"  added by the tree: interior hashes {t_nodes}; {len(rows):,} tree rows {t_write}")
    print(f"  the new root from the stored tree: {t_root.wall * 1000:.1f} ms")


def bench_proofs(url: str, m: int, samples: int) -> None:
    with _store(url) as store:
        sessions = sessionmaker(store.engine)
        with Session(store.engine) as s:
            present = s.scalar(
                select(func.count()).select_from(LedgerNodeRow).where(LedgerNodeRow.level == 0)
            )
        if present == m:
            print(f"reusing the {m:,}-leaf tree in {url}")
        else:
            _build(sessions, m)
        rng = random.Random(15)
        inc: list[float] = []
        cons: list[float] = []
        inc_cpu: list[float] = []
        cons_cpu: list[float] = []
        with Session(store.engine) as s:
            root = chain.tree(s).root(m)
            for _ in range(samples):
                index = rng.randrange(m)
                t, c = time.perf_counter(), time.process_time()
                source = chain.prefetched(s, merkle.inclusion_path, index, m)
                path = merkle.inclusion_path(source, index, m)
                inc.append(time.perf_counter() - t)
                inc_cpu.append(time.process_time() - c)
                leaf = merkle.leaf_hash(index.to_bytes(8, "big"))
                assert merkle.verify_inclusion(index, m, leaf, path, root)
            for _ in range(samples):
                first = rng.randrange(1, m)
                t, c = time.perf_counter(), time.process_time()
                source = chain.prefetched(s, merkle.consistency_path, first, m)
                path = merkle.consistency_path(source, first, m)
                old = chain.tree(s).root(first)
                cons.append(time.perf_counter() - t)
                cons_cpu.append(time.process_time() - c)
                assert merkle.verify_consistency(first, m, old, root, path)
    for name, times, cpu in (
        ("inclusion proof", inc, inc_cpu),
        ("consistency proof + old root", cons, cons_cpu),
    ):
        ms = sorted(x * 1000 for x in times)
        print(
            f"{name} in a {m:,}-leaf log, {samples} random: median {statistics.median(ms):.2f} ms, "
            f"p95 {ms[int(0.95 * len(ms)) - 1]:.2f} ms, max {ms[-1]:.2f} ms wall; "
            f"median {statistics.median(cpu) * 1000:.2f} ms CPU"
        )


def _build(sessions: sessionmaker[Session], m: int) -> None:
    """M synthetic leaf hashes and their interior hashes, through the append's tile code."""
    with Clock() as build:
        done = 0
        while done < m:
            k = min(1_000_000, m - done)
            hashes = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(done, done + k)]
            with sessions.begin() as s:
                db = chain.DbTiles(s)
                db.write(tiles.new_nodes(db, done, hashes))
            done += k
    print(f"built a {m:,}-leaf tree (synthetic leaves, tree rows only): {build}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--append", type=int, default=1_000_000)
    ap.add_argument("--proofs-in", type=int, default=10_000_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/tinmatch-ledger-bench"))
    ap.add_argument("--keep", action="store_true", help="reuse the proofs tree if it has M leaves")
    ap.add_argument("--url", help="a PostgreSQL URL (its tables are dropped!) instead of SQLite")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    def url_for(name: str, keep: bool = False) -> str:
        if args.url and keep:
            return str(args.url)
        if args.url:
            from sqlalchemy import create_engine, text

            from tinmatch.ops.models import Base

            engine = create_engine(args.url)
            with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(text(f"DROP TABLE IF EXISTS {table.name} CASCADE"))
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            engine.dispose()
            return str(args.url)
        path = args.dir / f"{name}.sqlite"
        if not keep:
            path.unlink(missing_ok=True)
        return f"sqlite:///{path}"

    import os

    os.environ.setdefault("TINMATCH_LEDGER_KEY", str(args.dir / "bench.ledger-key"))
    if args.append:
        bench_append(url_for, args.append)
    if args.proofs_in:
        bench_proofs(url_for("proofs", keep=args.keep), args.proofs_in, args.samples)


if __name__ == "__main__":
    main()
