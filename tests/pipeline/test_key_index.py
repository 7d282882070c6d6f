"""Small requests' blocking keys looked up in the master's block keys mapped into memory
(``engines.key_index``): the same candidate rows as DuckDB's lookup, and the arrays of another
master, or arrays edited after they were built, are refused."""

from __future__ import annotations

import importlib
import json
import shutil
import stat
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tinmatch.engines import key_index
from tinmatch.engines.duckdb import key_sql
from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.database import open_master

link = importlib.import_module("tinmatch.engines.duckdb")


def _block_key_count(db: Path) -> int:
    con = open_master(db)
    try:
        found = con.execute("SELECT count(*) FROM m.block_keys").fetchall()
    finally:
        con.close()
    return int(found[0][0])


def _sample(con: duckdb.DuckDBPyConnection, n: int, seed: int) -> pd.DataFrame:
    """Request rows made of master link rows: every rule has keys to look up."""
    frame = con.execute(
        f"SELECT * FROM m.link_rows USING SAMPLE {n} ROWS (reservoir, {seed})"
    ).df()
    return frame.assign(unique_id=[f"q{i}" for i in range(len(frame))])


def test_the_arrays_find_the_rows_duckdb_finds(master_db: Path, tmp_path: Path) -> None:
    path = key_index.build(master_db, tmp_path / "serving")
    assert stat.S_IMODE((tmp_path / "serving").stat().st_mode) == 0o700
    for name in (key_index.KEYS, key_index.ROWIDS, key_index.META):
        assert stat.S_IMODE((path / name).stat().st_mode) == 0o600
    assert key_index.build(master_db, tmp_path / "serving") == path  # built once
    index = key_index.KeyIndex.open(path, master_db, _block_key_count(master_db))
    con = open_master(master_db)
    try:
        con.register("_rq", _sample(con, 40, 3))
        keys = [r[0] for r in con.execute(f"SELECT DISTINCT k FROM ({key_sql('_rq', 'request')})")
                .fetchall()]  # fmt: skip
        expected = sorted(
            r[0]
            for r in con.execute(
                "SELECT DISTINCT link_rowid FROM m.block_keys WHERE k IN "
                f"({', '.join(f'{int(k)}::UBIGINT' for k in keys)})"
            ).fetchall()
        )
    finally:
        con.close()
    assert len(keys) > 200 and len(expected) > 40
    assert index.rowids_of(keys) == expected
    assert index.rowids_of([]) == []
    missing = (int(index.keys[-1]) + 1) % 2**64
    assert index.rowids_of([missing]) == []


def test_candidates_through_the_arrays_are_duckdbs(master_db: Path, tmp_path: Path) -> None:
    path = key_index.build(master_db, tmp_path / "serving")
    engine = link.LinkEngine.open(open_master(master_db))
    try:
        batches = [_sample(engine.con, 12, seed) for seed in (5, 6, 7)]
        before = [engine.candidates(b, top=2) for b in batches]
        engine.use_key_index(path, master_db)
        assert engine.key_index is not None
        after = [engine.candidates(b, top=2) for b in batches]
    finally:
        engine.close()
    for old, new in zip(before, after, strict=True):
        assert len(old) > 0
        order = ["qid", "tin"]
        pd.testing.assert_frame_equal(
            new.sort_values(order).reset_index(drop=True),
            old.sort_values(order).reset_index(drop=True),
        )


def test_arrays_of_another_master_are_refused(master_db: Path, tmp_path: Path) -> None:
    path = key_index.build(master_db, tmp_path / "serving")
    other = tmp_path / "other.duckdb"
    shutil.copy(master_db, other)  # same rows, another file: another identity
    rows = _block_key_count(master_db)
    with pytest.raises(MasterNotLoadedError, match="not built from"):
        key_index.KeyIndex.open(path, other, rows)
    with pytest.raises(MasterNotLoadedError, match="not built from"):
        key_index.KeyIndex.open(path, master_db, rows + 1)  # the master has other keys
    engine = link.LinkEngine.open(open_master(other))
    try:
        with pytest.raises(MasterNotLoadedError):
            engine.use_key_index(path, other)
        assert engine.key_index is None
    finally:
        engine.close()
    # new arrays for the other master replace the first one's
    again = key_index.build(other, tmp_path / "serving")
    assert again != path and again.exists() and not path.exists()


def test_edited_arrays_are_refused(master_db: Path, tmp_path: Path) -> None:
    """An insider who rewrites the arrays (to point a name's key at another person's rows, or
    to hide rows) must keep their length, sortedness and meta; a shorter array, one of
    another type or a meta naming another count is refused when the service opens it."""
    rows = _block_key_count(master_db)
    path = key_index.build(master_db, tmp_path / "serving")
    keys = np.load(path / key_index.KEYS)
    np.save(path / key_index.KEYS, keys[:-1])
    with pytest.raises(MasterNotLoadedError):
        key_index.KeyIndex.open(path, master_db, rows)
    np.save(path / key_index.KEYS, keys.astype(np.int64))
    with pytest.raises(MasterNotLoadedError):
        key_index.KeyIndex.open(path, master_db, rows)
    np.save(path / key_index.KEYS, keys)
    meta = json.loads((path / key_index.META).read_text(encoding="utf-8"))
    (path / key_index.META).write_text(json.dumps({**meta, "rows": rows - 1}), encoding="utf-8")
    with pytest.raises(MasterNotLoadedError):
        key_index.KeyIndex.open(path, master_db, rows)
    (path / key_index.META).unlink()
    with pytest.raises(MasterNotLoadedError, match="not a block-key index"):
        key_index.KeyIndex.open(path, master_db, rows)
    assert key_index.build(master_db, tmp_path / "serving") == path  # rebuilt: no meta
    assert len(key_index.KeyIndex.open(path, master_db, rows).keys) == rows


def test_a_master_without_block_keys_has_no_arrays(master_db: Path, tmp_path: Path) -> None:
    """A master loaded before block keys existed still serves (by Splink's blocking joins):
    no arrays are written for it, and its engine looks nothing up in any."""
    old = tmp_path / "old.duckdb"
    shutil.copy(master_db, old)
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE block_keys")
    con.close()
    assert key_index.build(old, tmp_path / "serving") is None
    assert not list((tmp_path / "serving").iterdir())
    engine = link.LinkEngine.open(open_master(old))
    try:
        engine.use_key_index(tmp_path / "serving" / "absent", old)
        assert engine.key_index is None
    finally:
        engine.close()


@pytest.mark.parametrize("batch_rows", [2048, key_index.BATCH_ROWS])
def test_block_keys_out_of_key_order_are_refused(
    master_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    """Binary search is only right on keys in order: a master whose ``block_keys`` was
    rewritten out of order gets no arrays, and nothing half written stays in the folder. The
    keys go down once, after the first 2,048: between two batches read, or inside one."""
    edited = tmp_path / "edited.duckdb"
    shutil.copy(master_db, edited)
    con = duckdb.connect(str(edited))
    con.execute("SET preserve_insertion_order = true")
    con.execute(
        "CREATE TABLE swapped AS SELECT k, link_rowid FROM ("
        "SELECT *, row_number() OVER (ORDER BY k DESC) <= 2048 AS top FROM block_keys) "
        "ORDER BY top DESC, k"
    )
    con.execute("DROP TABLE block_keys")
    con.execute("ALTER TABLE swapped RENAME TO block_keys")
    con.close()
    monkeypatch.setattr(key_index, "BATCH_ROWS", batch_rows)
    with pytest.raises(MasterNotLoadedError, match="not sorted"):
        key_index.build(edited, tmp_path / "serving")
    assert not list((tmp_path / "serving").iterdir())
