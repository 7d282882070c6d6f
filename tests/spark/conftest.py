"""A small synthetic master (2,000 people, 200 request rows), its partitioned Parquet export, one
Spark session.

The master and its export are built once per test session; so is the Spark session (starting a
JVM costs tens of seconds), and only for tests marked ``spark``. Those are skipped when pyspark
or Java is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tinmatch.agreement import Agreement
from tinmatch.engines.export import export_master
from tinmatch.master.database import open_master, read_meta
from tinmatch.master.load import load_master
from tinmatch.pipeline.features import request_features
from tinmatch.pipeline.read import RequestReader
from tinmatch.pipeline.validate import ValidationContext, validate
from tinmatch.synth import generate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PEOPLE = 2_000
REQUESTS = 200
SEED = 11
# The export every Spark test reads: link rows and appearances in 4 key-range parts each.
PARTS = 4


@dataclass(frozen=True)
class SmallMaster:
    db: Path
    export: Path
    data: Path


@pytest.fixture(scope="session")
def small_master(tmp_path_factory: pytest.TempPathFactory) -> SmallMaster:
    root = tmp_path_factory.mktemp("spark_master")
    data = root / "data"
    generate(data, PEOPLE, REQUESTS, seed=SEED, fmt="parquet")
    db = root / "master.duckdb"
    load_master(data / "taxpayers.parquet", data / "returns.parquet", db)
    export = root / "master.parquet"
    export_master(db, export, parts=PARTS)
    return SmallMaster(db, export, data)


@pytest.fixture(scope="session")
def request_rows(small_master: SmallMaster) -> pd.DataFrame:
    """The valid rows of the synthetic request, with qid, as ``process`` prepares them."""
    agreement = Agreement.load()
    con = open_master(small_master.db)
    try:
        meta = read_meta(con, "m")
    finally:
        con.close()
    reader = RequestReader(
        small_master.data / "request.csv",
        required_columns=agreement.request.required_columns,
        chunk_rows=100_000,
        max_cell_chars=agreement.limits.max_cell_chars,
        max_file_bytes=agreement.limits.max_file_bytes,
    )
    ctx = ValidationContext(
        allowed_years=agreement.allowed_years(meta["tax_years"]), today=date(2026, 6, 1)
    )
    valid = pd.concat([validate(chunk, agreement, ctx)[0] for chunk in reader])
    valid = valid.reset_index(drop=True)
    valid["qid"] = "q" + valid["_row"].astype(str)
    return valid


@pytest.fixture(scope="session")
def features(request_rows: pd.DataFrame) -> pd.DataFrame:
    return request_features(request_rows)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    from tinmatch.engines.spark import spark_session

    quick = {
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        # Tiny data: the JVM's warm-up dominates, and the C1 compiler alone warms up faster.
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    session = spark_session("local[2]", quick)
    yield session
    session.stop()
