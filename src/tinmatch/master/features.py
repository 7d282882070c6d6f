"""Standardize the master's names and addresses: every distinct value of every input column once.

A standardized name or address is, column by column, a function of one input column, plus a few
cheap combinations (the middle name takes the first name's extra words, the suffix comes from the
suffix column or else the end of a surname or first name; a unit from the street line or else the
second line). So the loader standardizes each distinct *column value* once, in Python, with the
very functions that standardize a request (:func:`~tinmatch.standardize.name_features`,
:func:`~tinmatch.standardize.address_features`), in worker processes when there are many,
and makes the combinations in SQL (:func:`name_feature_sql`, :func:`address_feature_sql`) over
the joined per-column tables. ``tests/unit/test_master_features.py`` holds the two paths equal.

Streets are the one column whose distinct values grow with the master (house numbers): a plain
``<digits> <words>`` street is split in SQL into its house number and the words after it, and only
the distinct word sequences (a few hundred thousand at 10M people) are parsed
(:func:`~tinmatch.standardize.streets.street_body`); the rest, and the few whose words
need the address tagger, are parsed whole.

Adding a feature that depends on one input column: return it from that column's function below
and list it in the column's ``Part``; it is then a column of the per-column table, usable by name
in :data:`tinmatch.master.params.LINK_COLUMNS`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from tinmatch.settings import LOAD_WORKERS
from tinmatch.standardize.addresses import _city, _line2, _state, _street, _zip5
from tinmatch.standardize.names import (
    _NO_CODES,
    _first_name_codes,
    _first_parts,
    _last_parts,
    _suffix_value,
    clean_name,
)
from tinmatch.standardize.streets import street_body

NAME_INPUT = ["first_name", "middle_name", "last_name", "suffix"]
ADDRESS_INPUT = ["street", "address_line2", "city", "state", "zip"]

Progress = Callable[[int], None]
Row = tuple[Any, ...]

_STR = pa.string()
_LIST = pa.list_(pa.string())


# --- one input value -> its columns (run in Python, in worker processes when many) -------------


def _first(value: object) -> Row:
    token, extra, suffix = _first_parts(value)
    codes = _NO_CODES if token is None else _first_name_codes(token)
    return (token, " ".join(extra) or None, suffix, *codes)


def _last(value: object) -> Row:
    std, tokens, suffix, metaphone, nysiis = _last_parts(value)
    return (std, tokens, suffix, metaphone or None, nysiis or None)


def _middle(value: object) -> Row:
    return (clean_name(value),)


def _suffix(value: object) -> Row:
    return (_suffix_value(value),)


def _street_whole(value: object) -> Row:
    return tuple(_street(value))


def _street_rest(value: object) -> Row:
    """The words after a plain house number: (street name, unit, needs the whole line)."""
    body = street_body(tuple(str(value).split()))
    return (None, None, True) if body is None else (body[0], body[1], False)


def _second_line(value: object) -> Row:
    parts = _line2(value)
    return (parts.unit, parts.po_box)


@dataclass(frozen=True)
class Part:
    """A per-column table: ``v`` (the input value as loaded) and the columns ``func`` returns."""

    table: str
    func: Callable[[object], Row]
    columns: tuple[tuple[str, pa.DataType], ...]


PARTS: dict[str, Part] = {
    "first": Part(
        "std_first",
        _first,
        (("first_name_std", _STR), ("first_extra", _STR), ("first_suffix", _STR),
         ("first_name_variants", _LIST), ("first_name_mp", _STR), ("first_name_nysiis", _STR)),
    ),
    "last": Part(
        "std_last",
        _last,
        (("last_name_std", _STR), ("last_name_tokens", _LIST), ("last_suffix", _STR),
         ("last_name_mp", _STR), ("last_name_nysiis", _STR)),
    ),
    "middle": Part("std_middle", _middle, (("middle_clean", _STR),)),
    "suffix": Part("std_suffix", _suffix, (("suffix_word", _STR),)),
    "street_whole": Part(
        "_street_whole",
        _street_whole,
        (("house_number", _STR), ("street_name", _STR), ("unit", _STR), ("po_box", _STR)),
    ),
    "street_rest": Part(
        "_street_rest",
        _street_rest,
        (("street_name", _STR), ("unit", _STR), ("whole", pa.bool_())),
    ),
    "line2": Part("std_line2", _second_line, (("line2_unit", _STR), ("line2_po_box", _STR))),
    "city": Part("std_city", lambda v: (_city(v),), (("city_std", _STR),)),
    "state": Part("std_state", lambda v: (_state(v),), (("state_std", _STR),)),
    "zip": Part("std_zip", lambda v: (_zip5(v),), (("zip5", _STR),)),
}  # fmt: skip


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
    if pool is None or len(values) < PARALLEL_MIN:
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
    columns = {"v": pa.array(values, _STR), "id": pa.array(range(len(values)), pa.int32())}
    for i, (name, kind_type) in enumerate(part.columns):
        columns[name] = pa.array([r[i] for r in rows], kind_type)
    arrow = pa.table(columns)
    con.register("_part", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table or part.table} AS SELECT * FROM _part")
    finally:
        con.unregister("_part")
    return len(values)


# A plain street line: a house number of digits, then words of letters, digits and periods (at
# least one letter). For these the tokenizer of streets.py gives exactly the lower-cased words
# with the periods removed, the first word is the house number and none is a PO box, so the line
# parses as (house number, street_body(the other words)).
_PLAIN_STREET = "[0-9]+ +[A-Za-z0-9. ]*[A-Za-z][A-Za-z0-9. ]*"


def standardize_streets(
    con: duckdb.DuckDBPyConnection,
    pool: Executor | None,
    values_sql: str,
    *,
    progress: Progress | None = None,
) -> int:
    """Table ``std_street(v, house_number, street_name, unit, po_box)``: every distinct street."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _streets AS
        SELECT v,
               CASE WHEN plain THEN ltrim(regexp_extract(v, '^[0-9]+'), '0') END AS house,
               CASE WHEN plain THEN trim(regexp_replace(
                   regexp_replace(lower(replace(v, '.', '')), '^[0-9]+ +', ''), ' +', ' ', 'g'))
               END AS rest
        FROM (SELECT v, regexp_full_match(v, '{_PLAIN_STREET}') AS plain
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
               CASE WHEN w.v IS NULL THEN (CASE WHEN s.house = '' THEN '0' ELSE s.house END)
                    ELSE w.house_number END AS house_number,
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


def _truthy(expr: str) -> str:
    return f"coalesce({expr}, '') <> ''"


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
    f, m, la, s = (f"{prefix}_{x}" for x in ("fi", "mi", "la", "su"))
    middle = (
        f"CASE WHEN {_truthy(f + '.first_extra')} THEN "
        f"CASE WHEN {_truthy(m + '.middle_clean')} THEN {f}.first_extra || ' ' || {m}.middle_clean"
        f" ELSE {f}.first_extra END ELSE {m}.middle_clean END"
    )
    suffix = (
        f"CASE WHEN {_truthy(s + '.suffix_word')} THEN {s}.suffix_word"
        f" WHEN {_truthy(la + '.last_suffix')} THEN {la}.last_suffix"
        f" ELSE {f}.first_suffix END"
    )
    return {
        "first_name_std": f"{f}.first_name_std",
        "middle_name_std": middle,
        "middle_initial": f"CASE WHEN {_truthy(middle)} THEN left({middle}, 1) END",
        "last_name_std": f"{la}.last_name_std",
        "last_name_tokens": f"{la}.last_name_tokens",
        "suffix_std": suffix,
        "first_name_variants": f"{f}.first_name_variants",
        "first_name_mp": f"{f}.first_name_mp",
        "last_name_mp": f"{la}.last_name_mp",
        "first_name_nysiis": f"{f}.first_name_nysiis",
        "last_name_nysiis": f"{la}.last_name_nysiis",
    }


def address_joins(src: str, prefix: str = "a", *, by_id: bool = False) -> str:
    """LEFT JOINs of the per-column address tables onto `src`'s raw columns (or their ids)."""
    return _joins(ADDRESS_TABLES, src, prefix, by_id)


def address_feature_sql(prefix: str = "a") -> dict[str, str]:
    """Feature column -> SQL expression over :func:`address_joins` (as ``address_features``)."""
    s, li = f"{prefix}_st", f"{prefix}_l2"
    return {
        "house_number": f"{s}.house_number",
        "street_name": f"{s}.street_name",
        "street_key": (
            f"CASE WHEN {_truthy(s + '.house_number')} AND {_truthy(s + '.street_name')} "
            f"THEN {s}.house_number || ' ' || {s}.street_name END"
        ),
        "unit": f"CASE WHEN {_truthy(s + '.unit')} THEN {s}.unit ELSE {li}.line2_unit END",
        "po_box": f"CASE WHEN {_truthy(s + '.po_box')} THEN {s}.po_box ELSE {li}.line2_po_box END",
        "city_std": f"{prefix}_ci.city_std",
        "state_std": f"{prefix}_sa.state_std",
        "zip5": f"{prefix}_zi.zip5",
    }


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
