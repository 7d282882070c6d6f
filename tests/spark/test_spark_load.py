"""``load-master --engine spark``: names and addresses standardized on Spark give the very master
(features, link rows, term frequencies) and the very model (same hash) the DuckDB load gives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from tinmatch.master.load import load_master
from tinmatch.master.params import LINK_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
# Every column kind standardized: first, middle, last, suffix, street (words after the house
# number, then whole lines), line 2, city, state, ZIP.
KINDS = 10


def test_standardizing_on_spark_gives_the_same_features_and_model_hash(
    small_master: Any, spark: SparkSession, tmp_path: Path
) -> None:
    from tinmatch.engines.spark_load import SparkExecutor

    executor = SparkExecutor(spark)
    db = tmp_path / "sparked.duckdb"
    data = small_master.data
    summary = load_master(data / "taxpayers.parquet", data / "returns.parquet", db,
                          standardizer=executor)  # fmt: skip
    # The values went to Spark: one job per column kind, a task per batch of values.
    assert executor.jobs == KINDS
    assert executor.tasks >= KINDS

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{small_master.db}' AS duck (READ_ONLY)")
        con.execute(f"ATTACH '{db}' AS sparked (READ_ONLY)")
        ((duck_model,),) = con.execute("SELECT params_json FROM duck.model").fetchall()
        ((spark_model,),) = con.execute("SELECT params_json FROM sparked.model").fetchall()
        assert spark_model == duck_model
        ((duck_hash,),) = con.execute(
            "SELECT value FROM duck.meta WHERE key = 'model_sha256'"
        ).fetchall()
        assert f'"{summary.model_sha256}"' == duck_hash
        # Row ids are numbered in whatever order DuckDB's threads produced them (as in any two
        # loads): compare every feature of every link row, as a multiset.
        features = ", ".join(c for c in LINK_COLUMNS if c != "unique_id")
        tables = {
            "link_rows": features,
            "appearances": "*",
            "tf_first_name_std": "*",
            "tf_last_name_std": "*",
        }
        for table, cols in tables.items():
            (rows,) = con.execute(f"SELECT count(*) FROM duck.{table}").fetchone() or (0,)
            assert rows > 500, table
            for a, b in (("duck", "sparked"), ("sparked", "duck")):
                (extra,) = con.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {a}.{table} "
                    f"EXCEPT ALL SELECT {cols} FROM {b}.{table})"
                ).fetchone() or (None,)
                assert extra == 0, (table, a)
        (keys_duck,) = con.execute("SELECT count(*) FROM duck.block_keys").fetchone() or (0,)
        (keys_spark,) = con.execute("SELECT count(*) FROM sparked.block_keys").fetchone() or (0,)
        assert keys_duck == keys_spark > 0
    finally:
        con.close()
