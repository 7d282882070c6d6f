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
from typer.testing import CliRunner

from tinmatch.cli import app
from tinmatch.engines.export import (
    LINK_KEY_SQL,
    PARTITION_KEYS,
    TABLES,
    default_parts,
    export_master,
    export_meta,
    export_parts,
    parquet_rows,
    part_range,
)
from tinmatch.engines.spark import (
    MAX_CHUNK_ROWS,
    MIN_CHUNK_ROWS,
    ROWS_PER_CORE,
    chunk_rows_for,
    cluster_cores,
    security_conf,
    spark_master_url,
    spark_settings,
)
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
            got = parquet_rows(small_master.export / f"{table}.parquet")
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
    assert first.parts == default_parts(first.rows["link_rows"]) == 8
    again = export_master(small_master.db, out)
    assert again.unchanged and again.rows == first.rows
    # Asking for another number of parts writes it again; asking for the same does nothing.
    three = export_master(small_master.db, out, parts=3)
    assert not three.unchanged and three.parts == export_parts(out) == 3
    assert three.rows == first.rows
    assert len(list((out / "link_rows.parquet").glob("*.parquet"))) == 3
    assert export_master(small_master.db, out, parts=3).unchanged
    assert export_master(small_master.db, out).unchanged  # any number is current
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


class _RecordingBuilder:
    """Stands in for ``SparkSession.builder``: records the settings a session is built with."""

    def __init__(self) -> None:
        self.settings: dict[str, str] = {}

    def master(self, url: str) -> _RecordingBuilder:
        self.settings["master"] = url
        return self

    def appName(self, name: str) -> _RecordingBuilder:  # noqa: N802 - pyspark's name
        return self

    def config(self, key: str, value: str) -> _RecordingBuilder:
        self.settings[key] = value
        return self

    def getOrCreate(self) -> Any:  # noqa: N802 - pyspark's name
        context = type(
            "Context", (), {"setLogLevel": lambda self, level: None,
                            "getCheckpointDir": lambda self: "/nowhere"},
        )()  # fmt: skip
        return type("Session", (), {"sparkContext": context})()


def test_a_callers_settings_cannot_turn_security_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """An insider asks for a session with authentication and encryption off (and a secret of
    their own): the session is still built with all three on and the operator's secret."""
    import pyspark.sql

    from tinmatch.engines.spark import spark_session

    builder = _RecordingBuilder()
    fake = type("SparkSession", (), {"builder": builder})
    monkeypatch.setattr(pyspark.sql, "SparkSession", fake)
    monkeypatch.setenv("TINMATCH_SPARK_SECRET", "the-operators-secret")
    spark_session(
        "spark://head:7077",
        conf={
            "spark.authenticate": "false",
            "spark.network.crypto.enabled": "false",
            "spark.io.encryption.enabled": "false",
            "spark.authenticate.secret": "one-the-insider-knows",
            "spark.executor.memory": "2g",
        },
    )
    settings = builder.settings
    assert settings["master"] == "spark://head:7077"
    assert settings["spark.authenticate"] == "true"
    assert settings["spark.network.crypto.enabled"] == "true"
    assert settings["spark.io.encryption.enabled"] == "true"
    assert settings["spark.authenticate.secret"] == "the-operators-secret"
    assert settings["spark.executor.memory"] == "2g"  # the caller's other settings are kept


def test_export_splits_rows_into_disjoint_block_key_ranges(small_master: Any) -> None:
    """Each part file holds exactly the rows whose key lies in its range, sorted by key; every
    master row is in one part, and all the rows of one surname (or TIN) are in the same part."""
    manifest = pq.read_table(small_master.export / "parts.parquet").to_pylist()
    con = duckdb.connect(str(small_master.db), read_only=True)
    try:
        for table, key in PARTITION_KEYS.items():
            parts = [p for p in manifest if p["table"] == table]
            assert [p["part"] for p in parts] == list(range(4))  # 2,000 people fill 4 ranges
            assert {p["parts"] for p in parts} == {4}
            for p in parts:
                path = small_master.export / p["file"]
                lo, hi = part_range(p["part"], 4)
                assert (int(p["key_lo"]), int(p["key_hi"])) == (lo, hi)
                keys = [int(k) for (k,) in con.execute(
                    f"SELECT {key} FROM read_parquet('{path}')").fetchall()]  # fmt: skip
                assert len(keys) == p["rows"] > 0
                assert lo <= min(keys) and max(keys) <= hi, (table, p["part"])
                assert keys == sorted(keys), "rows sorted by key within a part"
            ranges = [part_range(i, 4) for i in range(4)]
            assert ranges[0][0] == 0 and ranges[-1][1] == 2**64 - 1
            assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
            files = f"read_parquet('{small_master.export}/{table}.parquet/*.parquet')"
            # The parts together are the master's table, row for row.
            # (con is the master itself: attaching its file a second time can wait forever on
            # the instance another test's engine still holds open in this process.)
            for a, b in ((table, files), (files, table)):
                (extra,) = con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})"
                ).fetchone() or (None,)
                assert extra == 0, (table, a)
        (split,) = con.execute(
            "SELECT count(*) FROM (SELECT last_name_std FROM read_parquet("
            f"'{small_master.export}/link_rows.parquet/*.parquet', filename=true) "
            "GROUP BY last_name_std HAVING count(DISTINCT filename) > 1)"
        ).fetchone() or (None,)
        assert split == 0, "a surname's rows in two parts"
    finally:
        con.close()
    assert LINK_KEY_SQL == "hash(last_name_std)"


def test_load_master_writes_the_partitioned_export_when_asked(
    small_master: Any, tmp_path: Path
) -> None:
    out = tmp_path / "for-the-cluster"
    args = [
        "load-master", "--taxpayers", str(small_master.data / "taxpayers.parquet"),
        "--returns", str(small_master.data / "returns.parquet"), "--db", str(small_master.db),
        "--quiet", "--export", str(out), "--parts", "2",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Parquet export for Spark: {out} (2 parts)" in result.output
    assert export_parts(out) == 2
    assert sorted(p.name for p in (out / "link_rows.parquet").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert export_meta(out)["model_sha256"] == export_meta(small_master.export)["model_sha256"]
    refused = CliRunner().invoke(app, [*args[:-2], "--parts", "0"])
    assert refused.exit_code != 0


def test_cluster_cores_from_the_session_conf() -> None:
    assert cluster_cores({"spark.master": "local[2]"}, 2) == 2
    assert cluster_cores({"spark.master": "local[16,3]"}, 2) == 16
    assert cluster_cores({"spark.master": "local"}, 2) == 1
    standalone = {"spark.master": "spark://head:7077", "spark.cores.max": "48"}
    assert cluster_cores(standalone, 2) == 48  # not the executors registered so far
    yarn = {"spark.master": "yarn", "spark.executor.instances": "50", "spark.executor.cores": "5"}
    assert cluster_cores(yarn, 2) == 250
    assert cluster_cores({"spark.master": "k8s://x", "spark.executor.instances": "3"}, 2) == 3
    assert cluster_cores({"spark.master": "spark://head:7077"}, 12) == 12  # what registered


def test_chunk_size_grows_with_the_clusters_cores_within_bounds() -> None:
    """ROWS_PER_CORE rows per executor core, at least MIN_CHUNK_ROWS, at most MAX_CHUNK_ROWS."""
    assert ROWS_PER_CORE == 50_000
    assert chunk_rows_for(1) == chunk_rows_for(2) == MIN_CHUNK_ROWS == 100_000
    assert chunk_rows_for(4) == 200_000
    assert chunk_rows_for(16) == 800_000
    assert chunk_rows_for(40) == chunk_rows_for(800) == MAX_CHUNK_ROWS == 2_000_000
    sizes = [chunk_rows_for(c) for c in range(1, 100)]
    assert sizes == sorted(sizes)
