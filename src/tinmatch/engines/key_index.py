"""The master's block keys as two flat arrays on disk, for looking up a small request's keys
by binary search.

A small request's candidates are found by its rows' blocking keys in the master's
``block_keys`` (sorted by key). In DuckDB each key is a query of its own: the zone maps of every
row group are checked, then the vectors of the key's row group scanned; ~0.8 ms a key, so ~0.09 s
of CPU for a dozen rows' ~110 keys at 10M people (``docs/benchmarks.md``). Here the same keys
and link-row ids are two ``.npy`` arrays mapped into memory: a key is a binary search of a few
dozen pages that the operating system keeps cached (a few microseconds).

It is built once per master by the service (``tinmatch serve``) into its work folder, named by
the master's identity like ``by_tin``'s copy, and checked when it is opened: it must say which
master it was built from, hold as many keys as its ``block_keys``, and be sorted. Keys are
hashes of names, dates of birth and addresses: like the master, the files are readable by their
owner only, in a folder of the owner's only.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tinmatch.engines.by_tin import clear_serving_folder, master_identity
from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.database import open_master

PREFIX = "block-keys-"
KEYS, ROWIDS, META = "k.npy", "link_rowid.npy", "meta.json"
#: Rows copied per batch while building (16 bytes each).
BATCH_ROWS = 4_000_000


def index_path(folder: Path, db: Path) -> Path:
    return folder / f"{PREFIX}{master_identity(db)}"


def build(db: Path, folder: Path) -> Path | None:
    """The arrays of `db`'s block keys in `folder` (built now unless they are there); those of
    a master since replaced are removed. None for a master loaded before it had block keys
    (its small requests are linked by Splink's blocking joins)."""
    path = index_path(folder, db)
    clear_serving_folder(folder, f"{PREFIX}*", path)
    if (path / META).exists():
        return path
    temp = path.with_name(path.name + ".building")
    shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(path, ignore_errors=True)
    temp.mkdir(mode=0o700)
    try:
        rows = _write_arrays(db, temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)  # no half-written arrays left behind
        raise
    if rows is None:
        shutil.rmtree(temp)
        return None
    meta = {"master": master_identity(db), "rows": rows}
    (temp / META).write_text(json.dumps(meta), encoding="utf-8")
    for name in (KEYS, ROWIDS, META):
        os.chmod(temp / name, 0o600)
    os.replace(temp, path)
    return path


def _write_arrays(db: Path, folder: Path) -> int | None:
    """Copy `db`'s block keys into the arrays in `folder`; how many, or None when the master
    has no ``block_keys``. Refused unless they come in key order."""
    con = open_master(db)
    try:
        if not con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = 'm' AND table_name = 'block_keys'"
        ).fetchall():
            return None
        found = con.execute("SELECT count(*), max(link_rowid) FROM m.block_keys").fetchall()
        rows, top = int(found[0][0]), int(found[0][1] or 0)
        rowid_type = np.uint32 if top < 2**32 else np.int64
        keys = np.lib.format.open_memmap(folder / KEYS, "w+", np.uint64, (rows,))
        rowids = np.lib.format.open_memmap(folder / ROWIDS, "w+", rowid_type, (rows,))
        # In storage order, which is key order (the load appends each rule's keys sorted, and
        # a key's top bits are its rule's number); checked batch by batch, not assumed (one
        # comparison of the whole arrays would hold a flag per key in memory).
        con.execute("SET preserve_insertion_order = true")
        reader = con.sql("SELECT k, link_rowid FROM m.block_keys").to_arrow_reader(
            BATCH_ROWS
        )
        at = 0
        for batch in reader:
            n = batch.num_rows
            batch_keys = _column(batch, 0).astype(np.uint64)
            if n and (
                (at and batch_keys[0] < keys[at - 1])
                or bool(np.any(batch_keys[1:] < batch_keys[:-1]))
            ):
                raise MasterNotLoadedError(f"{db}: block_keys is not sorted by key")
            keys[at : at + n] = batch_keys
            rowids[at : at + n] = _column(batch, 1).astype(rowid_type)
            at += n
        if at != rows:
            raise MasterNotLoadedError(f"{db}: block_keys changed while it was copied")
        keys.flush()
        rowids.flush()
        return rows
    finally:
        con.close()


@dataclass(frozen=True)
class KeyIndex:
    """The block keys (sorted) and the link-row id of each, mapped read-only from disk."""

    keys: np.ndarray
    rowids: np.ndarray

    @classmethod
    def open(cls, path: Path, db: Path, rows: int) -> KeyIndex:
        """The index at `path`, refused unless it was built from `db` and holds its `rows`
        block keys."""
        try:
            meta = json.loads((path / META).read_text(encoding="utf-8"))
            keys = np.load(path / KEYS, mmap_mode="r")
            rowids = np.load(path / ROWIDS, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise MasterNotLoadedError(f"{path}: not a block-key index ({err})") from err
        if (
            meta.get("master") != master_identity(db)
            or meta.get("rows") != rows
            or len(keys) != rows
            or len(rowids) != rows
            or keys.dtype != np.uint64
            or rowids.dtype.kind not in "ui"
        ):
            raise MasterNotLoadedError(f"{path} was not built from {db}")
        return cls(keys, rowids)

    def rowids_of(self, keys: Iterable[int]) -> list[int]:
        """The sorted, distinct link-row ids of every row with one of `keys`."""
        wanted = np.array(sorted({int(k) for k in keys}), dtype=np.uint64)
        if not len(wanted):
            return []
        starts = np.searchsorted(self.keys, wanted, side="left")
        ends = np.searchsorted(self.keys, wanted, side="right")
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        parts = [self.rowids[a:b] for a, b in spans if b > a]
        if not parts:
            return []
        found: list[int] = np.unique(np.concatenate(parts)).astype(np.int64).tolist()
        return found


def _column(batch: pa.RecordBatch, index: int) -> np.ndarray:
    column = batch.column(index)
    if column.null_count:
        raise MasterNotLoadedError("block_keys holds an empty key or row id")
    return column.to_numpy(zero_copy_only=False)
