"""Standardize the master's distinct names and addresses once, in batches, into DuckDB tables.

Names and addresses repeat heavily (the same address on every return of a non-mover, the same
"maria garcia" thousands of times), so each distinct value is standardized once, with the very
same functions that standardize a request.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from tinmatch.pipeline.standardize.addresses import ADDRESS_SCHEMA, address_features
from tinmatch.pipeline.standardize.names import NAME_SCHEMA, name_features

NAME_INPUT = ["first_name", "middle_name", "last_name", "suffix"]
ADDRESS_INPUT = ["street", "address_line2", "city", "state", "zip"]

NAME_FEATURES = [
    "first_name_std",
    "middle_name_std",
    "middle_initial",
    "last_name_std",
    "last_name_tokens",
    "suffix_std",
    "first_name_variants",
    "first_name_mp",
    "last_name_mp",
]
ADDRESS_FEATURES = [
    "house_number",
    "street_name",
    "street_key",
    "unit",
    "po_box",
    "city_std",
    "state_std",
    "zip5",
]

Progress = Callable[[int], None]


def key_sql(columns: list[str], alias: str = "") -> str:
    """A join key over nullable text columns (NULL and '' are the same: blanks are NULL here)."""
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce({prefix}{c}, '')" for c in columns)
    return f"md5(concat_ws('\x1f', {parts}))"


def _standardize_distinct(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    inputs: list[str],
    features: list[str],
    func: Callable[[pd.DataFrame], pd.DataFrame],
    feature_schema: pa.Schema,
    out_table: str,
    batch_rows: int,
    progress: Progress | None,
) -> int:
    con.execute(
        f"CREATE OR REPLACE TABLE _distinct AS "
        f"SELECT DISTINCT {', '.join(inputs)} FROM ({source_sql})"
    )
    row = con.execute("SELECT count(*) FROM _distinct").fetchall()[0]
    total = int(row[0]) if row else 0
    # A second cursor streams the distinct values while the first one writes the results.
    cursor = con.cursor()
    reader = cursor.sql(
        f"SELECT {key_sql(inputs)} AS k, {', '.join(inputs)} FROM _distinct"
    ).to_arrow_reader(batch_rows)
    # An explicit schema: a batch whose column is all blank must still be typed.
    schema = pa.schema([pa.field("k", pa.string()), *(feature_schema.field(c) for c in features)])
    created = False
    for batch in reader:
        df = batch.to_pandas()
        feats = func(df[inputs])
        out = pd.concat([df[["k"]], feats[features]], axis=1)
        table = pa.Table.from_pandas(out, schema=schema, preserve_index=False)
        con.register("_batch", table)
        if not created:
            con.execute(f"CREATE OR REPLACE TABLE {out_table} AS SELECT * FROM _batch")
            created = True
        else:
            con.execute(f"INSERT INTO {out_table} SELECT * FROM _batch")
        con.unregister("_batch")
        if progress:
            progress(len(df))
    if not created:
        empty = func(pd.DataFrame({c: pd.Series([], dtype=object) for c in inputs}))
        out = pd.concat([pd.DataFrame({"k": pd.Series([], dtype=object)}), empty[features]], axis=1)
        con.register("_batch", pa.Table.from_pandas(out, schema=schema, preserve_index=False))
        con.execute(f"CREATE OR REPLACE TABLE {out_table} AS SELECT * FROM _batch")
        con.unregister("_batch")
    cursor.close()
    con.execute("DROP TABLE IF EXISTS _distinct")
    return total


def count_distinct(con: duckdb.DuckDBPyConnection, source_sql: str, inputs: list[str]) -> int:
    row = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(inputs)} FROM ({source_sql}))"
    ).fetchall()[0]
    return int(row[0]) if row else 0


def standardize_names(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    out_table: str,
    *,
    batch_rows: int = 200_000,
    progress: Progress | None = None,
) -> int:
    return _standardize_distinct(
        con,
        source_sql,
        NAME_INPUT,
        NAME_FEATURES,
        name_features,
        NAME_SCHEMA,
        out_table,
        batch_rows,
        progress,
    )


def standardize_addresses(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    out_table: str,
    *,
    batch_rows: int = 200_000,
    progress: Progress | None = None,
) -> int:
    return _standardize_distinct(
        con,
        source_sql,
        ADDRESS_INPUT,
        ADDRESS_FEATURES,
        address_features,
        ADDRESS_SCHEMA,
        out_table,
        batch_rows,
        progress,
    )
