"""Export a loaded DuckDB master to a directory of Parquet files, for the Spark engine.

The export holds exactly what ``process`` reads, one Parquet file per table:

- ``link_rows.parquet``: what linkage scores against;
- ``appearances.parquet``: what disclosure reads;
- ``tf_first_name_std.parquet``, ``tf_last_name_std.parquet``: term-frequency lookups;
- ``model.parquet`` (``params_json``): the trained parameters, never Splink SQL;
- ``meta.parquet`` (``key``, ``value`` as JSON): the master's meta, as in the DuckDB file.

Everything is Parquet so a cluster reads it from any Hadoop filesystem (HDFS, S3, ABFS) with
nothing but Spark. The directory is written beside the target and renamed into place, so a
reader never sees half an export; exporting a master that is already exported does nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.database import open_master, read_meta

TABLES = ("link_rows", "appearances", "tf_first_name_std", "tf_last_name_std", "model", "meta")
# Meta keys that identify one load of the master: an export matching them is current.
IDENTITY_KEYS = ("loaded_at", "model_sha256", "taxpayers_sha256", "returns_sha256")


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    unchanged: bool
    rows: dict[str, int]
    model_sha256: str


def default_export_dir(db: Path) -> Path:
    """Where ``process --engine spark`` looks for the export of `db` by default."""
    return db.with_name(db.name + ".parquet")


def export_meta(out_dir: Path) -> dict[str, Any]:
    """The master meta recorded in an export (empty when there is no readable export)."""
    path = out_dir / "meta.parquet"
    if not path.exists():
        return {}
    try:
        table = pq.read_table(path)
    except OSError:
        return {}
    return {k: json.loads(v) for k, v in zip(*table.to_pydict().values(), strict=True)}


def export_master(db: Path, out_dir: Path) -> ExportSummary:
    """Write the master in `db` to `out_dir` as Parquet (replacing an older export)."""
    con = open_master(db)
    try:
        meta = read_meta(con, "m")
        if "model_sha256" not in meta:
            raise MasterNotLoadedError(f"{db}: the master has no trained model")
        current = export_meta(out_dir)
        if current and all(current.get(k) == meta.get(k) for k in IDENTITY_KEYS):
            rows = {t: _parquet_rows(out_dir / f"{t}.parquet") for t in TABLES}
            return ExportSummary(out_dir, True, rows, str(meta["model_sha256"]))
        tmp = out_dir.with_name(out_dir.name + ".exporting")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        rows = {table: _copy(con, table, tmp / f"{table}.parquet") for table in TABLES}
    finally:
        con.close()
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return ExportSummary(out_dir, False, rows, str(meta["model_sha256"]))


def ensure_export(db: Path, out_dir: Path | None = None) -> Path:
    """The export directory of `db`, written or refreshed first when missing or stale."""
    target = out_dir or default_export_dir(db)
    export_master(db, target)
    return target


def _copy(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> int:
    quoted = str(path).replace("'", "''")
    con.execute(
        f"COPY (SELECT * FROM m.{table}) TO '{quoted}' "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"
    )
    return _parquet_rows(path)


def _parquet_rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows) if path.exists() else 0
