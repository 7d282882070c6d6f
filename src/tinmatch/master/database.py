"""The master database file: a DuckDB file holding the standardized master and its model.

Tables (all built by ``load-master``; never written by ``process``):

- ``meta(key, value)``: load time, source hashes, counts, tax years, model hash.
- ``taxpayers``: identity records (tin, names, date_of_birth), as given.
- ``appearances``: one row per (person, return): the person as ``tin`` or as ``spouse_tin``, the
  tax year and the return's address as written. Disclosure reads only this table.
- ``link_rows``: what linkage scores against: one row per distinct (taxpayer, name as written,
  address filed), with standardized features (see :data:`tinmatch.master.params.LINK_COLUMNS`),
  stored by surname, first name and state (:data:`tinmatch.master.load.LINK_ROWS_ORDER`), so the
  rows one name can be paired with are neighbours.
- ``block_keys(k, link_rowid)``: each link row's blocking keys (the rule's number in the top bits),
  sorted by key, with the link row's ``rowid`` in ``link_rows`` (small requests).
- ``tf_first_name_std``, ``tf_last_name_std``: term frequencies over identity records (one
  per person).
- ``model(params_json)``: the trained parameters.

The master keeps only what matching and disclosure need: employer names and every other
return field are never loaded, so no option can ever disclose them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.params import ModelParams
from tinmatch.settings import DUCKDB_MEMORY, MASTER_DB, SPILL_DIR

DEFAULT_DB = str(MASTER_DB.default)
SCHEMA_VERSION = "6"  # 6: the dob_zip blocking rule (block key numbers moved)


def default_db_path() -> Path:
    return Path(MASTER_DB.text() or DEFAULT_DB)


def configure(con: duckdb.DuckDBPyConnection, *, memory_limit: str | None = None) -> None:
    """Bound DuckDB's memory and give it somewhere to spill."""
    limit = memory_limit or DUCKDB_MEMORY.text()
    con.execute(f"SET memory_limit = '{limit}'")
    spill = SPILL_DIR.text()
    if spill:
        con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = false")


def open_master(db: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the master attached read-only as schema ``m``."""
    if not db.exists():
        raise MasterNotLoadedError(
            f"no master loaded: {db} does not exist (run `tinmatch load-master` first)"
        )
    con = duckdb.connect(":memory:")
    configure(con)
    try:
        con.execute(f"ATTACH '{_sql_path(db)}' AS m (READ_ONLY)")
    except duckdb.Error as exc:
        raise MasterNotLoadedError(f"cannot open master database {db}: {exc}") from None
    meta = read_meta(con, "m")
    found = meta.get("schema_version")
    if found != SCHEMA_VERSION:
        con.close()
        if found is None:
            raise MasterNotLoadedError(
                f"{db} is not a tinmatch master (no meta table with a schema_version); this "
                f"tinmatch needs master schema {SCHEMA_VERSION}: load one with "
                "`tinmatch load-master`"
            )
        raise MasterNotLoadedError(
            f"{db} has master schema {found}; this tinmatch needs schema {SCHEMA_VERSION}: "
            "run `tinmatch load-master` again with the same files"
        )
    return con


def read_meta(con: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, Any]:
    try:
        rows = con.execute(f"SELECT key, value FROM {schema}.meta").fetchall()
    except duckdb.Error:
        return {}
    return {k: json.loads(v) for k, v in rows}


def write_meta(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, json.dumps(value)])


def read_params(con: duckdb.DuckDBPyConnection, schema: str = "m") -> ModelParams:
    rows = con.execute(f"SELECT params_json FROM {schema}.model").fetchall()
    row = rows[0] if rows else None
    if row is None:
        raise MasterNotLoadedError("the master has no trained model: run `tinmatch load-master`")
    try:
        params = ModelParams.from_json(row[0])
        params.check_complete()
    except (ValueError, KeyError) as exc:
        raise MasterNotLoadedError(
            f"the master's model does not fit this version of tinmatch ({exc}); "
            "run `tinmatch load-master` again"
        ) from None
    return params


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def master_tax_years(db: Path) -> list[int] | None:
    """The tax years of the master at ``db``, or None when there is no readable master of this
    schema (``tinmatch check`` works without one)."""
    if not db.exists():
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    try:
        meta = read_meta(con)
    finally:
        con.close()
    if meta.get("schema_version") != SCHEMA_VERSION:
        return None
    return [int(y) for y in meta.get("tax_years", [])] or None
