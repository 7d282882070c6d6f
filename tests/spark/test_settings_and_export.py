"""Spark settings carry no DuckDB SQL; the Parquet export is complete, idempotent and current.

No Spark needed here: these run with the ordinary suite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlglot

from tinmatch.engines.export import TABLES, export_master, export_meta
from tinmatch.engines.spark import security_conf, spark_master_url, spark_settings
from tinmatch.errors import ConfigError, MasterNotLoadedError
from tinmatch.master.comparisons import COMPARISONS, level_labels
from tinmatch.master.params import LevelParams, ModelParams, render_settings

DOUBLE_QUOTED = re.compile(r'"[A-Za-z_][A-Za-z0-9_]*"')


def _params() -> ModelParams:
    levels = {
        comp: {
            label: LevelParams(0.9 / (i + 1), 0.01 * (i + 1))
            for i, label in enumerate(level_labels(comp)[1:])
        }
        for comp in COMPARISONS
    }
    return ModelParams(1e-4, levels, {})


def test_spark_settings_have_only_spark_identifiers() -> None:
    rendered = spark_settings(_params())
    conditions = [
        level["sql_condition"]
        for comp in rendered["comparisons"]
        for level in comp["comparison_levels"]
    ]
    assert len(conditions) == sum(len(level_labels(c)) for c in COMPARISONS)
    for sql in conditions:
        # In Spark SQL "x" is a string literal: such a level would silently never fire.
        assert not DOUBLE_QUOTED.search(sql), sql
        if sql != "ELSE":
            sqlglot.parse_one(sql, read="spark")
    phonetic = rendered["comparisons"][0]["comparison_levels"][
        level_labels("first_name").index("phonetic")
    ]
    assert phonetic["sql_condition"] == "`first_name_mp_l` = `first_name_mp_r`"


def test_spark_settings_keep_the_trained_numbers() -> None:
    params = _params()
    duck, spark = render_settings(params, "duckdb"), spark_settings(params)
    for d_comp, s_comp in zip(duck["comparisons"], spark["comparisons"], strict=True):
        for d, s in zip(d_comp["comparison_levels"], s_comp["comparison_levels"], strict=True):
            assert (d.get("m_probability"), d.get("u_probability")) == (
                s.get("m_probability"),
                s.get("u_probability"),
            )
            assert d.get("tf_adjustment_column") == s.get("tf_adjustment_column")


def test_master_url_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINMATCH_SPARK_MASTER", raising=False)
    assert spark_master_url() == "local[2]"
    monkeypatch.setenv("TINMATCH_SPARK_MASTER", "spark://head:7077")
    assert spark_master_url() == "spark://head:7077"
    assert spark_master_url("local[4]") == "local[4]"


def test_importing_the_engine_does_not_import_pyspark() -> None:
    code = (
        "import sys, tinmatch, tinmatch.engines.spark, tinmatch.engines.export; "
        "sys.exit(1 if 'pyspark' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_export_holds_every_table_with_the_masters_rows(small_master: Any) -> None:
    con = duckdb.connect(str(small_master.db), read_only=True)
    try:
        for table in TABLES:
            (expected,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (None,)
            got = pq.ParquetFile(small_master.export / f"{table}.parquet").metadata.num_rows
            assert got == expected, table
        (params_json,) = con.execute("SELECT params_json FROM model").fetchone() or (None,)
    finally:
        con.close()
    exported = pq.read_table(small_master.export / "model.parquet").column(0).to_pylist()
    assert exported == [params_json]
    assert json.loads(params_json)["levels"]  # parameters, not Splink SQL
    meta = export_meta(small_master.export)
    assert meta["people"] == 2_000
    assert meta["model_sha256"] == ModelParams.from_json(params_json).sha256


def test_export_twice_does_nothing_and_a_changed_master_replaces_it(
    small_master: Any, tmp_path: Path
) -> None:
    out = tmp_path / "exp"
    first = export_master(small_master.db, out)
    assert not first.unchanged and first.rows["link_rows"] > 2_000
    again = export_master(small_master.db, out)
    assert again.unchanged and again.rows == first.rows
    # A master loaded again (new load time) makes the export stale: it is rewritten whole.
    db = tmp_path / "copy.duckdb"
    db.write_bytes(small_master.db.read_bytes())
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '\"2001-01-01T00:00:00+00:00\"' WHERE key = 'loaded_at'")
    con.close()
    redone = export_master(db, out)
    assert not redone.unchanged
    assert export_meta(out)["loaded_at"] == "2001-01-01T00:00:00+00:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.duckdb", "exp"]


def test_export_without_a_master_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MasterNotLoadedError, match="does not exist"):
        export_master(tmp_path / "none.duckdb", tmp_path / "out")


def test_open_engine_duckdb_scores_and_discloses(small_master: Any) -> None:
    from tinmatch.engines import open_engine
    from tinmatch.master.database import open_master

    con = open_master(small_master.db)
    try:
        engine = open_engine("duckdb", small_master.db, con)
        assert engine.model_sha256 == export_meta(small_master.export)["model_sha256"]
        nobody = pd.DataFrame({"qid": [], "tin": [], "tax_years": []})
        assert list(engine.disclose(nobody, ("street", "tax_year")).columns) == [
            "qid",
            "tin",
            "street",
            "tax_year",
        ]
        sql = "SELECT tin, max(tax_year) FROM m.appearances GROUP BY tin ORDER BY tin LIMIT 1"
        ((tin, year),) = con.execute(sql).fetchall()
        one = pd.DataFrame({"qid": ["q1"], "tin": [tin], "tax_years": [[year]]})
        found = engine.disclose(one, ("city", "tax_year"))
        assert found["tax_year"].tolist() == [year]
        with pytest.raises(ConfigError, match="unknown engine 'hadoop'"):
            open_engine("hadoop", small_master.db, con)
    finally:
        con.close()


def test_security_is_on_with_a_fresh_secret_per_local_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TINMATCH_SPARK_SECRET", raising=False)
    first, second = security_conf("local[2]"), security_conf("local[2]")
    for conf in (first, second):
        assert conf["spark.authenticate"] == "true"
        assert conf["spark.network.crypto.enabled"] == "true"
        assert conf["spark.io.encryption.enabled"] == "true"
    assert len(first["spark.authenticate.secret"]) == 64
    assert first["spark.authenticate.secret"] != second["spark.authenticate.secret"]
    # A cluster's secret cannot be invented here: it must be the one the cluster shares.
    assert "spark.authenticate.secret" not in security_conf("spark://head:7077")
    assert "spark.authenticate.secret" not in security_conf("yarn")


def test_the_shared_secret_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINMATCH_SPARK_SECRET", "s3cr3t-shared-by-the-cluster")
    for master in ("local[2]", "spark://head:7077"):
        assert security_conf(master)["spark.authenticate.secret"] == "s3cr3t-shared-by-the-cluster"
