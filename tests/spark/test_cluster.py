"""A real Spark cluster: a standalone master and two workers, each its own process, on loopback.

`process --engine spark` runs against ``spark://127.0.0.1:PORT`` with authentication and
encryption on (one shared secret for the master, the workers and the application), reading the
partitioned Parquet export, and must write byte-identical files to the DuckDB engine's. The
cluster (:class:`tinmatch.engines.standalone.StandaloneCluster`) is started from the installed
pyspark (``spark-class``), so nothing but Java is needed; it is stopped when the module is done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.engines.standalone import StandaloneCluster
from tinmatch.pipeline.process import process

pytestmark = pytest.mark.spark
RUN_TIMEOUT = 600.0
RESULT_FILES = ("held.csv", "unmatched.csv", "rejected.csv")
TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    root = tmp_path_factory.mktemp("spark_cluster")
    with StandaloneCluster(root, workers=2, cores=1, memory="1g") as running:
        yield running


# Runs in its own process: a Python process holds one SparkContext, and the suite's is local.
_RUN_ON_CLUSTER = """
import json, os, sys
from datetime import date
from pathlib import Path
from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.engines.spark import SparkLinkEngine, spark_session
from tinmatch.pipeline.process import process

data, db, out, url, today = sys.argv[1:6]
spark = spark_session(url, {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": "2",
})
result = process(Path(data) / "request.csv", Path(out), db=Path(db), agreement=Agreement.load(),
                 cover=Cover.load(Path(data) / "cover.toml"), today=date.fromisoformat(today),
                 engine_kind="spark")
held = [[d.record_id, d.tin, sorted(d.fields.items()), d.tax_year, d.match_probability]
        for d in result.disclosures]
executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
engine = SparkLinkEngine.open(os.environ["TINMATCH_SPARK_DATA"], spark)
files = spark.table(f"tinmatch_master_rows_{engine.tag}").inputFiles()
print(json.dumps({"held": held, "executors": executors, "chunk_rows": engine.chunk_rows,
                  "files": files, "conf": dict(spark.sparkContext.getConf().getAll())}))
spark.stop()
"""


def _on_cluster(small_master: Any, cluster: StandaloneCluster, out: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        **cluster.env,
        "TINMATCH_SPARK_DATA": str(small_master.export),
        "TINMATCH_SPARK_PARTITIONS": "2",
        "TINMATCH_SPARK_DRIVER_MEMORY": "1g",
    }
    args = [str(small_master.data), str(small_master.db), str(out), cluster.url, TODAY.isoformat()]
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ON_CLUSTER, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_process_on_a_standalone_cluster_matches_duckdb_byte_for_byte(
    small_master: Any, cluster: StandaloneCluster, tmp_path: Path
) -> None:
    on_cluster = _on_cluster(small_master, cluster, tmp_path / "cluster")
    conf = on_cluster["conf"]
    assert conf["spark.master"] == cluster.url
    assert conf["spark.authenticate"] == "true"
    assert conf["spark.network.crypto.enabled"] == "true"
    assert conf["spark.io.encryption.enabled"] == "true"

    duck = process(
        small_master.data / "request.csv",
        tmp_path / "duckdb",
        db=small_master.db,
        agreement=Agreement.load(),
        cover=Cover.load(small_master.data / "cover.toml"),
        today=TODAY,
    )
    for name in RESULT_FILES:
        assert (tmp_path / "cluster" / name).read_bytes() == (
            tmp_path / "duckdb" / name
        ).read_bytes(), name
    held = {
        d.record_id: [d.tin, [list(kv) for kv in sorted(d.fields.items())], d.tax_year]
        for d in duck.disclosures
    }
    assert len(held) > 50
    theirs = {rid: rest[:-1] for rid, *rest in on_cluster["held"]}
    assert theirs == held
    for rid, *rest in on_cluster["held"]:
        prob = next(d.match_probability for d in duck.disclosures if d.record_id == rid)
        assert rest[-1] == pytest.approx(prob, abs=1e-9), rid
    # The work ran on the workers' executors, not in the driver, reading the partitioned
    # export (4 key-range files of link rows); chunks sized for the cluster's 2 cores.
    assert on_cluster["executors"] == 2
    assert sorted(f.rsplit("/", 1)[1] for f in on_cluster["files"]) == [
        f"part-0000{i}.parquet" for i in range(4)
    ]
    assert on_cluster["chunk_rows"] == 100_000
