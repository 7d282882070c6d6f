"""One request through both engines: the same candidates, decisions and disclosed rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from tinmatch.agreement import Agreement
from tinmatch.engines.duckdb import LinkEngine, disclose
from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.comparisons import COMPARISONS, gamma_label
from tinmatch.master.database import open_master
from tinmatch.pipeline.decide import DecisionRule, decide

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from tinmatch.engines.spark import SparkLinkEngine

pytestmark = pytest.mark.spark
TOLERANCE = 1e-9
KEY = ["qid", "tin"]


@pytest.fixture(scope="module")
def duck(small_master: Any) -> Iterator[LinkEngine]:
    con = open_master(small_master.db)
    yield LinkEngine.open(con)
    con.close()


@pytest.fixture(scope="module")
def sparked(small_master: Any, spark: SparkSession) -> Iterator[SparkLinkEngine]:
    from tinmatch.engines.spark import open_spark_engine

    # As `process --engine spark` opens it (the session fixture's Spark is reused).
    engine = open_spark_engine(small_master.db, data=str(small_master.export))
    assert engine.spark is spark
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def both_candidates(
    duck: LinkEngine, sparked: SparkLinkEngine, features: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return duck.candidates(features), sparked.candidates(features)


def _assert_frames_agree(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype("float64"), y.astype("float64")
            assert ((x - y).abs() <= TOLERANCE).where(x.notna() | y.notna(), True).all(), col
            assert (x.isna() == y.isna()).all(), col
        else:
            assert (
                x.astype(object).where(x.notna(), None).tolist()
                == y.astype(object).where(y.notna(), None).tolist()
            ), col


def test_candidates_identical(both_candidates: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    duck_c, spark_c = both_candidates
    assert len(duck_c) > 100  # a real request, not a vacuous comparison
    assert dict(duck_c.dtypes) == dict(spark_c.dtypes)
    _assert_frames_agree(duck_c, spark_c, KEY)


def test_the_best_two_candidates_and_their_number_are_identical(
    duck: LinkEngine, sparked: SparkLinkEngine, features: pd.DataFrame
) -> None:
    """What ``process`` asks for: each row's best two taxpayers and how many it had."""
    duck_c, spark_c = duck.candidates(features, top=2), sparked.candidates(features, top=2)
    assert list(duck_c.columns)[-1] == "n_candidates"
    assert (duck_c["n_candidates"] > 2).any()  # some rows really lose candidates
    assert dict(duck_c.dtypes) == dict(spark_c.dtypes)
    _assert_frames_agree(duck_c, spark_c, KEY)


def test_levels_written_in_duckdb_sql_fire_under_spark(
    both_candidates: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Custom levels (written with DuckDB's double quotes) really fire on Spark.

    Spark reads "x" as a string literal, so a level rendered naively would never fire there and
    every pair would fall through to a lower level.
    """
    _, spark_c = both_candidates
    fired = {
        (comp, gamma_label(comp, int(g)))
        for comp in COMPARISONS
        for g in spark_c[f"gamma_{comp}"].unique()
    }
    for level in [
        ("address", "street_and_unit"),
        ("date_of_birth", "exact"),
        ("date_of_birth", "null"),
        ("first_name", "exact"),
        ("first_name", "nickname"),
        ("last_name", "exact"),
        ("middle_name", "null"),
        # cross-column and fuzzy levels: similarity functions named per backend, a lambda
        ("first_name", "nickname_typo"),
        ("first_name", "swapped_with_surname"),
        ("first_name", "middle_as_first"),
        ("last_name", "swapped_fuzzy"),
        ("middle_name", "similar"),
        ("middle_name", "overlap"),
    ]:
        assert level in fired, level


def test_decisions_and_disclosures_identical(
    duck: LinkEngine,
    sparked: SparkLinkEngine,
    both_candidates: tuple[pd.DataFrame, pd.DataFrame],
    request_rows: pd.DataFrame,
) -> None:
    agreement = Agreement.load()
    rule = DecisionRule(min_probability=agreement.matching.min_match_probability)
    qids = request_rows["qid"].tolist()
    duck_d, spark_d = (decide(qids, c, rule) for c in both_candidates)
    _assert_frames_agree(duck_d, spark_d, ["qid"])
    assert (duck_d["outcome"] == "identified").sum() > 50
    assert set(duck_d["reason_code"].dropna()) >= {"low_confidence"}

    rows = request_rows.merge(duck_d, on="qid", how="left", validate="one_to_one")
    identified = rows[rows["outcome"] == "identified"][["qid", "tin", "tax_years"]]
    fields = agreement.disclosed_fields
    duck_f = disclose(duck.con, identified, fields)
    spark_f = sparked.disclose(identified, fields)
    assert len(duck_f) > 50
    assert list(spark_f.columns) == ["qid", "tin", *fields]
    _assert_frames_agree(duck_f, spark_f, ["qid"])


def test_empty_inputs_give_empty_frames_with_the_same_columns(
    duck: LinkEngine, sparked: SparkLinkEngine, features: pd.DataFrame
) -> None:
    empty = features.iloc[0:0]
    assert list(sparked.candidates(empty).columns) == list(duck.candidates(empty).columns)
    nobody = pd.DataFrame({"qid": [], "tin": [], "tax_years": []})
    fields = ("street", "city", "state", "zip", "tax_year")
    assert list(sparked.disclose(nobody, fields).columns) == list(
        disclose(duck.con, nobody, fields).columns
    )


def test_disclose_refuses_fields_outside_the_return(sparked: SparkLinkEngine) -> None:
    nobody = pd.DataFrame({"qid": [], "tin": [], "tax_years": []})
    with pytest.raises(ValueError, match="employer_name"):
        sparked.disclose(nobody, ("street", "employer_name"))


def test_model_hash_is_the_masters(duck: LinkEngine, sparked: SparkLinkEngine) -> None:
    assert sparked.model_sha256 == duck.model_sha256
    assert sparked.meta["model_sha256"] == duck.model_sha256


def test_open_without_an_export_is_a_one_line_error(spark: SparkSession, tmp_path: object) -> None:
    from tinmatch.engines.spark import SparkLinkEngine

    with pytest.raises(MasterNotLoadedError, match="no exported master"):
        SparkLinkEngine.open(f"{tmp_path}/nothing-here", spark)


def test_a_stale_export_is_refused(small_master: Any, spark: SparkSession, tmp_path: Any) -> None:
    """Scoring with another load's model would record the wrong model hash: refuse it."""
    import duckdb

    from tinmatch.engines.spark import open_spark_engine

    db = tmp_path / "reloaded.duckdb"
    db.write_bytes(small_master.db.read_bytes())
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '\"2001-01-01T00:00:00+00:00\"' WHERE key = 'loaded_at'")
    con.close()
    with pytest.raises(MasterNotLoadedError, match="loaded_at differ"):
        open_spark_engine(db, data=str(small_master.export))


def test_process_writes_the_same_results_under_both_engines(
    small_master: Any, spark: SparkSession, tmp_path: Any
) -> None:
    """The whole pipeline on each engine: identical CSVs and identical held disclosures."""
    from datetime import date

    from tinmatch.cover import Cover
    from tinmatch.pipeline.process import process

    outputs = {}
    held = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / engine
        result = process(
            small_master.data / "request.csv",
            out,
            db=small_master.db,
            agreement=Agreement.load(),
            cover=Cover.load(small_master.data / "cover.toml"),
            today=date(2026, 6, 1),
            engine_kind=engine,
        )
        outputs[engine] = {
            name: pd.read_csv(out / name, dtype=str, keep_default_na=False)
            for name in ("held.csv", "unmatched.csv", "rejected.csv")
        }
        # What a release would disclose: the values, the return's year, the probability.
        held[engine] = {
            d.record_id: (d.tin, sorted(d.fields.items()), d.tax_year, d.match_probability)
            for d in result.disclosures
        }
    assert len(outputs["duckdb"]["held.csv"]) > 50
    assert set(held["duckdb"]) == set(outputs["duckdb"]["held.csv"]["record_id"])
    assert set(held["duckdb"]) == set(held["spark"])
    for rid, (*values, p) in held["duckdb"].items():
        *other, q = held["spark"][rid]
        assert values == other, rid
        assert p == pytest.approx(q, abs=TOLERANCE), rid
    for name, frame in outputs["duckdb"].items():
        other = outputs["spark"][name].sort_values("record_id").reset_index(drop=True)
        frame = frame.sort_values("record_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, other, check_exact=True, obj=name)


def test_the_session_authenticates_and_encrypts(spark: SparkSession) -> None:
    """RPC authentication, RPC encryption and encrypted shuffle/spill files are on."""
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.authenticate") == "true"
    assert conf.get("spark.network.crypto.enabled") == "true"
    assert conf.get("spark.io.encryption.enabled") == "true"
    assert len(conf.get("spark.authenticate.secret") or "") >= 32


def test_the_engine_reads_the_partitioned_export_and_sizes_chunks_by_cores(
    small_master: Any, sparked: SparkLinkEngine
) -> None:
    """The master rows Spark scores against are the export's 4 part files, read as one table;
    on local[2] the chunk is the smallest (2 cores x 50,000 rows < 100,000)."""
    files = sparked.spark.table(f"tinmatch_master_rows_{sparked.tag}").inputFiles()
    names = sorted(f.rsplit("/", 1)[1] for f in files)
    assert names == [f"part-0000{i}.parquet" for i in range(4)]
    assert all("link_rows.parquet/" in f for f in files)
    assert sparked.chunk_rows == 100_000
