"""Export a loaded DuckDB master to a directory of Parquet files, for the Spark engine.

The export holds exactly what ``process`` reads:

- ``link_rows.parquet/``: what linkage scores against, **partitioned by block key range**: part
  ``i`` of ``n`` holds the link rows whose surname key (:data:`LINK_KEY_SQL`, the 64-bit hash of
  ``last_name_std``, which six of the ten blocking rules key on) lies in the i-th of n equal
  ranges of the 64-bit key space. Every row of one surname is in one part;
- ``appearances.parquet/``: what disclosure reads, partitioned the same way by the TIN's key
  (disclosure joins on the TIN);
- ``tf_first_name_std.parquet``, ``tf_last_name_std.parquet``: term-frequency lookups (small,
  one file each);
- ``model.parquet`` (``params_json``): the trained parameters, never Splink SQL;
- ``meta.parquet`` (``key``, ``value`` as JSON): the master's meta, as in the DuckDB file;
- ``parts.parquet`` (``table``, ``part``, ``parts``, ``key_lo``, ``key_hi``, ``rows``, ``file``):
  which key range each part file holds.

A partitioned table is a directory of ``part-NNNNN.parquet`` files, which Spark reads as one
table, one task (or more) per file, so the executors of a cluster read it in parallel and no
file grows with the master (at 200M people one file would hold ~780M rows). Everything is
Parquet, so a cluster reads it from any Hadoop filesystem (HDFS, S3, ABFS) with nothing but
Spark. The directory is written beside the target and renamed into place, so a reader never
sees half an export; exporting a master that is already exported (with the same number of
parts, when one is asked for) does nothing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tinmatch.errors import ConfigError, MasterNotLoadedError
from tinmatch.master.database import open_master, read_meta

TABLES = ("link_rows", "appearances", "tf_first_name_std", "tf_last_name_std", "model", "meta")
# Meta keys that identify one load of the master: an export matching them is current.
IDENTITY_KEYS = ("loaded_at", "model_sha256", "taxpayers_sha256", "returns_sha256")
# The partitioned tables and the 64-bit key (UBIGINT) whose range places a row in its part.
LINK_KEY_SQL = "hash(last_name_std)"
PARTITION_KEYS = {"link_rows": LINK_KEY_SQL, "appearances": "hash(tin)"}
# Default number of parts: one per this many link rows (a part of ~40-80 MB of Parquet), and
# at least MIN_PARTS so that even a small master is read by several executors at once.
ROWS_PER_PART = 1_000_000
MIN_PARTS = 8
MAX_PARTS = 10_000
MANIFEST = "parts"


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    unchanged: bool
    rows: dict[str, int]
    model_sha256: str
    parts: int


def default_export_dir(db: Path) -> Path:
    """Where ``process --engine spark`` looks for the export of `db` by default."""
    return db.with_name(db.name + ".parquet")


def default_parts(link_rows: int) -> int:
    """The number of parts for a master of `link_rows`: one per :data:`ROWS_PER_PART`, at
    least :data:`MIN_PARTS`."""
    return min(MAX_PARTS, max(MIN_PARTS, math.ceil(link_rows / ROWS_PER_PART)))


def part_sql(key_sql: str, parts: int) -> str:
    """The part (0 .. parts-1) of a row whose 64-bit key is `key_sql`: equal key ranges.

    ``(key >> 32) * parts >> 32`` is ``floor(key * parts / 2^64)`` to within the low 32 bits,
    monotone in the key, so part i holds one contiguous range of keys (see :func:`part_range`).
    """
    return f"CAST(((({key_sql}) >> 32) * {parts}) >> 32 AS INTEGER)"


def part_range(part: int, parts: int) -> tuple[int, int]:
    """The keys of `part` of `parts`: ``key_lo <= key <= key_hi`` (what :func:`part_sql` gives)."""
    lo = -((-part << 32) // parts) << 32  # smallest high half h with h * parts >> 32 == part
    hi = (-((-(part + 1) << 32) // parts) << 32) - 1
    return lo, min(hi, (1 << 64) - 1)


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


def export_parts(out_dir: Path) -> int:
    """How many parts the partitioned tables of the export at `out_dir` have (0: none)."""
    path = out_dir / f"{MANIFEST}.parquet"
    if not path.exists():
        return 0
    try:
        values = pq.read_table(path, columns=["parts"]).column(0).to_pylist()
    except (OSError, pa.ArrowInvalid):
        return 0
    return int(values[0]) if values else 0


def export_master(db: Path, out_dir: Path, parts: int | None = None) -> ExportSummary:
    """Write the master in `db` to `out_dir` as Parquet (replacing an older export).

    `parts`: how many key ranges the link rows and appearances are split into (default
    :func:`default_parts` of the master's link rows).
    """
    if parts is not None and not 1 <= parts <= MAX_PARTS:
        raise ConfigError(f"the number of parts must be 1 to {MAX_PARTS}, not {parts}")
    con = open_master(db)
    try:
        meta = read_meta(con, "m")
        if "model_sha256" not in meta:
            raise MasterNotLoadedError(f"{db}: the master has no trained model")
        current = export_meta(out_dir)
        have = export_parts(out_dir)
        if (
            current
            and have
            and all(current.get(k) == meta.get(k) for k in IDENTITY_KEYS)
            and parts in (None, have)
        ):
            counts = {t: parquet_rows(out_dir / f"{t}.parquet") for t in TABLES}
            return ExportSummary(out_dir, True, counts, str(meta["model_sha256"]), have)
        n = parts or default_parts(int(meta.get("link_rows") or 0))
        tmp = out_dir.with_name(out_dir.name + ".exporting")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        rows: dict[str, int] = {}
        manifest: list[dict[str, Any]] = []
        for table in TABLES:
            path = tmp / f"{table}.parquet"
            if table in PARTITION_KEYS:
                written = _copy_parts(con, table, PARTITION_KEYS[table], n, path)
                manifest.extend(written)
                rows[table] = sum(p["rows"] for p in written)
            else:
                rows[table] = _copy(con, table, path)
        pq.write_table(pa.Table.from_pylist(manifest, schema=_MANIFEST_SCHEMA),
                       tmp / f"{MANIFEST}.parquet")  # fmt: skip
    finally:
        con.close()
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return ExportSummary(out_dir, False, rows, str(meta["model_sha256"]), n)


def ensure_export(db: Path, out_dir: Path | None = None) -> Path:
    """The export directory of `db`, written or refreshed first when missing or stale."""
    target = out_dir or default_export_dir(db)
    export_master(db, target)
    return target


def parquet_rows(path: Path) -> int:
    """Rows in a Parquet file, or in every ``.parquet`` file of a partitioned table's directory."""
    if path.is_dir():
        return sum(parquet_rows(p) for p in sorted(path.glob("*.parquet")))
    return int(pq.ParquetFile(path).metadata.num_rows) if path.exists() else 0


_MANIFEST_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("part", pa.int32()),
        ("parts", pa.int32()),
        ("key_lo", pa.decimal128(20, 0)),
        ("key_hi", pa.decimal128(20, 0)),
        ("rows", pa.int64()),
        ("file", pa.string()),
    ]
)
_COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _copy(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> int:
    con.execute(f"COPY (SELECT * FROM m.{table}) TO {_quoted(path)} ({_COPY_OPTIONS})")
    return parquet_rows(path)


def _copy_parts(
    con: duckdb.DuckDBPyConnection, table: str, key_sql: str, parts: int, out: Path
) -> list[dict[str, Any]]:
    """`table` as the directory `out` of one file per non-empty key range, rows sorted by key
    within it. One pass over the table (DuckDB's partitioned write), then each part's file is
    moved from DuckDB's ``_part=i/`` directory to ``part-0000i.parquet``."""
    staging = out.with_name(out.name + ".staging")
    columns = [str(r[0]) for r in con.execute(f"DESCRIBE m.{table}").fetchall()]
    select = ", ".join(f'"{c}"' for c in columns)
    con.execute(
        f"COPY (SELECT {select}, {part_sql(key_sql, parts)} AS _part FROM m.{table} "
        f"ORDER BY {key_sql}) TO {_quoted(staging)} "
        f"({_COPY_OPTIONS}, PARTITION_BY (_part), OVERWRITE_OR_IGNORE)"
    )
    out.mkdir()
    written = []
    for folder in sorted(staging.iterdir()):
        part = int(folder.name.split("=", 1)[1])
        files = sorted(folder.glob("*.parquet"))
        for i, src in enumerate(files):
            name = f"part-{part:05d}.parquet" if len(files) == 1 else f"part-{part:05d}-{i}.parquet"
            os.replace(src, out / name)
            lo, hi = part_range(part, parts)
            written.append(
                {"table": table, "part": part, "parts": parts, "key_lo": lo, "key_hi": hi,
                 "rows": parquet_rows(out / name), "file": f"{out.name}/{name}"}
            )  # fmt: skip
    shutil.rmtree(staging)
    return written
