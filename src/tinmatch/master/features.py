"""Standardize the master's names and addresses: every distinct value of every input column once.

A standardized name or address is, column by column, a function of one input column, plus a few
cheap combinations (the middle name takes the first name's extra words, the suffix comes from the
suffix column or else the end of a surname or first name; a unit from the street line or else the
second line). So the loader standardizes each distinct *column value* once, in Python, with the
very functions that standardize a request (:func:`~tinmatch.standardize.name_features`,
:func:`~tinmatch.standardize.address_features`), in worker processes when there are many,
and makes the combinations in SQL (:func:`~tinmatch.standardize.name_features_sql`,
:func:`~tinmatch.standardize.address_features_sql`, which sit beside the Python rules) over the
joined per-column tables. ``tests/unit/test_standardize_parity.py`` holds the two paths equal.

Streets are the one column whose distinct values grow with the master (house numbers): a plain
``<digits> <words>`` street is split in SQL into its house number and the words after it, and only
the distinct word sequences (a few hundred thousand at 10M people) are parsed
(:func:`~tinmatch.standardize.plain_street_sql`,
:func:`~tinmatch.standardize.street_rest_columns`); the rest, and the few whose words need the
address tagger, are parsed whole.

Adding a feature that depends on one input column: return it from that column's function in
:mod:`tinmatch.standardize` and list it in the column kind's schema there; it is then a column of
the per-column table, usable by name in :data:`tinmatch.master.params.LINK_COLUMNS`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from tinmatch.settings import LOAD_WORKERS
from tinmatch.standardize import (
    CITY_SCHEMA,
    FIRST_NAME_SCHEMA,
    LAST_NAME_SCHEMA,
    LINE2_SCHEMA,
    MIDDLE_NAME_SCHEMA,
    STATE_SCHEMA,
    STREET_REST_SCHEMA,
    STREET_SCHEMA,
    SUFFIX_SCHEMA,
    ZIP_SCHEMA,
    Row,
    address_features_sql,
    city_columns,
    first_name_columns,
    last_name_columns,
    line2_columns,
    middle_name_columns,
    name_features_sql,
    plain_street_sql,
    state_columns,
    street_columns,
    street_rest_columns,
    suffix_columns,
    zip_columns,
)

NAME_INPUT = ["first_name", "middle_name", "last_name", "suffix"]
ADDRESS_INPUT = ["street", "address_line2", "city", "state", "zip"]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Part:
    """A per-column table: ``v`` (the input value as loaded) and the columns ``func`` returns
    (listed in ``columns``): one column kind of :mod:`tinmatch.standardize`."""

    table: str
    func: Callable[[object], Row]
    columns: pa.Schema


PARTS: dict[str, Part] = {
    "first": Part("std_first", first_name_columns, FIRST_NAME_SCHEMA),
    "last": Part("std_last", last_name_columns, LAST_NAME_SCHEMA),
    "middle": Part("std_middle", middle_name_columns, MIDDLE_NAME_SCHEMA),
    "suffix": Part("std_suffix", suffix_columns, SUFFIX_SCHEMA),
    "street_whole": Part("_street_whole", street_columns, STREET_SCHEMA),
    "street_rest": Part("_street_rest", street_rest_columns, STREET_REST_SCHEMA),
    "line2": Part("std_line2", line2_columns, LINE2_SCHEMA),
    "city": Part("std_city", city_columns, CITY_SCHEMA),
    "state": Part("std_state", state_columns, STATE_SCHEMA),
    "zip": Part("std_zip", zip_columns, ZIP_SCHEMA),
}


def _apply(job: tuple[str, list[str]]) -> list[Row]:
    kind, values = job
    func = PARTS[kind].func
    return [func(v) for v in values]


# --- running them --------------------------------------------------------------------------------

# Below this many values a worker process costs more than it saves.
PARALLEL_MIN = 20_000
CHUNK = 10_000


def default_workers() -> int:
    chosen = LOAD_WORKERS.integer()
    if chosen is not None:
        return max(1, chosen)
    return max(1, min(os.cpu_count() or 1, 8))


def _ready() -> None:
    pass


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[Executor | None]:
    """Worker processes for the Python standardization (None with one worker).

    Forked at once, before the caller opens DuckDB (whose threads a fork must not copy): the
    workers inherit the imported standardization modules and need no ``__main__`` guard.
    """
    n = default_workers() if workers is None else workers
    if n < 2:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork"))
    try:
        pool.submit(_ready).result()  # starts all the workers now
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def map_values(
    pool: Executor | None, kind: str, values: list[str], progress: Progress | None = None
) -> list[Row]:
    if pool is None or len(values) < getattr(pool, "min_values", PARALLEL_MIN):
        rows = _apply((kind, values))
        if progress:
            progress(len(values))
        return rows
    jobs = [(kind, values[i : i + CHUNK]) for i in range(0, len(values), CHUNK)]
    rows = []
    for job, done in zip(jobs, pool.map(_apply, jobs), strict=True):
        rows.extend(done)
        if progress:
            progress(len(job[1]))
    return rows


def standardize_column(
    con: duckdb.DuckDBPyConnection,
    pool: Executor | None,
    kind: str,
    values_sql: str,
    *,
    table: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Create the part's table (``v`` and its columns) from the distinct non-null ``v`` of
    `values_sql` (a query with a column ``v``). Returns the number of values."""
    part = PARTS[kind]
    got = con.sql(f"SELECT DISTINCT v FROM ({values_sql}) WHERE v IS NOT NULL").to_arrow_table()
    values = got.column("v").to_pylist()
    rows = map_values(pool, kind, values, progress)
    columns = {"v": pa.array(values, pa.string()), "id": pa.array(range(len(values)), pa.int32())}
    for i, column in enumerate(part.columns):
        columns[column.name] = pa.array([r[i] for r in rows], column.type)
    arrow = pa.table(columns)
    con.register("_part", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table or part.table} AS SELECT * FROM _part")
    finally:
        con.unregister("_part")
    return len(values)


def standardize_streets(
    con: duckdb.DuckDBPyConnection,
    pool: Executor | None,
    values_sql: str,
    *,
    progress: Progress | None = None,
) -> int:
    """Table ``std_street(v, house_number, street_name, unit, po_box)``: every distinct street.

    Plain lines are split in SQL into house number and the words after it, whose distinct
    sequences are parsed (``street_rest``); the others are parsed whole (``street_whole``)."""
    plain, house, rest = plain_street_sql("v")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _streets AS
        SELECT v,
               CASE WHEN plain THEN {house} END AS house,
               CASE WHEN plain THEN {rest} END AS rest
        FROM (SELECT v, {plain} AS plain
              FROM (SELECT DISTINCT v FROM ({values_sql}) WHERE v IS NOT NULL))
        """
    )
    standardize_column(
        con, pool, "street_rest", "SELECT rest AS v FROM _streets", progress=progress
    )
    standardize_column(
        con,
        pool,
        "street_whole",
        "SELECT s.v FROM _streets s LEFT JOIN _street_rest r ON r.v = s.rest "
        "WHERE s.rest IS NULL OR r.whole",
        progress=progress,
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE std_street AS
        SELECT s.v, CAST(s.rowid AS INTEGER) AS id,
               CASE WHEN w.v IS NULL THEN s.house ELSE w.house_number END AS house_number,
               CASE WHEN w.v IS NULL THEN r.street_name ELSE w.street_name END AS street_name,
               CASE WHEN w.v IS NULL THEN r.unit ELSE w.unit END AS unit,
               CASE WHEN w.v IS NULL THEN NULL ELSE w.po_box END AS po_box
        FROM _streets s
        LEFT JOIN _street_rest r ON r.v = s.rest
        LEFT JOIN _street_whole w ON w.v = s.v
        """
    )
    row = con.execute("SELECT count(*) FROM std_street").fetchall()[0]
    for table in ("_streets", "_street_rest", "_street_whole"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return int(row[0])


# --- combining the per-column tables -------------------------------------------------------------


NAME_TABLES = {"fi": ("std_first", "first_name"), "mi": ("std_middle", "middle_name"),
               "la": ("std_last", "last_name"), "su": ("std_suffix", "suffix")}  # fmt: skip
ADDRESS_TABLES = {"st": ("std_street", "street"), "l2": ("std_line2", "address_line2"),
                  "ci": ("std_city", "city"), "sa": ("std_state", "state"),
                  "zi": ("std_zip", "zip")}  # fmt: skip


def _joins(tables: dict[str, tuple[str, str]], src: str, prefix: str, by_id: bool) -> str:
    """LEFT JOINs of per-column tables onto `src`: on its raw columns (``v``), or, `by_id`, on
    its columns named like the join aliases holding the tables' ``id``s (see :func:`id_sql`)."""
    out = []
    for short, (table, column) in tables.items():
        alias = f"{prefix}_{short}"
        on = f"{alias}.id = {src}.{short}" if by_id else f"{alias}.v = {src}.{column}"
        out.append(f" LEFT JOIN {table} {alias} ON {on}")
    return "".join(out)


def id_sql(tables: dict[str, tuple[str, str]], prefix: str) -> str:
    """SELECT list of the per-column ids after :func:`_joins` by value (``fi``, ``st``, ...)."""
    return ", ".join(f"{prefix}_{short}.id AS {short}" for short in tables)


def name_joins(src: str, prefix: str = "n", *, by_id: bool = False) -> str:
    """LEFT JOINs of the per-column name tables onto `src`'s raw name columns (or their ids)."""
    return _joins(NAME_TABLES, src, prefix, by_id)


def name_feature_sql(prefix: str = "n") -> dict[str, str]:
    """Feature column -> SQL expression over :func:`name_joins` (as ``name_features`` does it)."""
    return name_features_sql(*(f"{prefix}_{short}" for short in NAME_TABLES))


def address_joins(src: str, prefix: str = "a", *, by_id: bool = False) -> str:
    """LEFT JOINs of the per-column address tables onto `src`'s raw columns (or their ids)."""
    return _joins(ADDRESS_TABLES, src, prefix, by_id)


def address_feature_sql(prefix: str = "a") -> dict[str, str]:
    """Feature column -> SQL expression over :func:`address_joins` (as ``address_features``)."""
    return address_features_sql(*(f"{prefix}_{short}" for short in ADDRESS_TABLES))


def standardize_master(
    con: duckdb.DuckDBPyConnection,
    pool: Executor | None,
    names_sql: str,
    addresses_sql: str,
    progress: Progress | None = None,
) -> None:
    """The per-column tables of every name in `names_sql` and address in `addresses_sql`
    (queries with the columns of NAME_INPUT and ADDRESS_INPUT)."""
    for kind, col in (("first", "first_name"), ("middle", "middle_name"),
                      ("last", "last_name"), ("suffix", "suffix")):  # fmt: skip
        standardize_column(
            con, pool, kind, f"SELECT {col} AS v FROM ({names_sql})", progress=progress
        )
    standardize_streets(con, pool, f"SELECT street AS v FROM ({addresses_sql})", progress=progress)
    for kind, col in (("line2", "address_line2"), ("city", "city"), ("state", "state"),
                      ("zip", "zip")):  # fmt: skip
        standardize_column(
            con, pool, kind, f"SELECT {col} AS v FROM ({addresses_sql})", progress=progress
        )
