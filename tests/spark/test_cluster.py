"""A real Spark cluster: a standalone master and two workers, each its own process, on loopback.

`process --engine spark` runs against ``spark://127.0.0.1:PORT`` with authentication and
encryption on (one shared secret for the master, the workers and the application) and must write
byte-identical files to the DuckDB engine's. The cluster is started from the installed pyspark
(``spark-class``), so nothing but Java is needed; it is stopped in a finalizer.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.pipeline.process import process

pytestmark = pytest.mark.spark
START_TIMEOUT = 90.0
RUN_TIMEOUT = 600.0
RESULT_FILES = ("held.csv", "unmatched.csv", "rejected.csv")
TODAY = date(2026, 6, 1)


@dataclass(frozen=True)
class Cluster:
    url: str
    secret: str
    logs: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{log.name}: no {text!r}:\n{log.read_text(errors='replace')[-3000:]}")


def _spark_class() -> Path:
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    try:
        import pyspark
    except ImportError:
        pytest.skip("pyspark is not installed")
    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    spark_class = _spark_class()
    root = tmp_path_factory.mktemp("spark_cluster")
    secret = secrets.token_hex(32)
    props = root / "cluster.conf"  # the secret in a private file, not on a command line
    props.write_text(
        "spark.authenticate true\n"
        f"spark.authenticate.secret {secret}\n"
        "spark.network.crypto.enabled true\n"
        "spark.io.encryption.enabled true\n"
        "spark.master.rest.enabled false\n"  # no fixed port 6066
    )
    props.chmod(0o600)
    (root / "conf").mkdir()
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_CONF_DIR": str(root / "conf"),  # no site spark-defaults.conf
        "SPARK_LOG_DIR": str(root),
        "SPARK_DAEMON_MEMORY": "256m",
        "PYSPARK_PYTHON": sys.executable,
    }
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(spark_class), *args, "--properties-file", str(props)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, stopped as one below
            )
        procs.append(proc)
        return proc, log

    try:
        deadline = time.monotonic() + START_TIMEOUT
        master, log = start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            "0",
        )
        _wait_for(log, "I have been elected leader", master, deadline)
        workers = [
            start(
                f"worker{i}",
                "org.apache.spark.deploy.worker.Worker",
                url,
                "--host",
                "127.0.0.1",
                "--webui-port",
                "0",
                "--cores",
                "1",
                "--memory",
                "1g",
                "--work-dir",
                str(root / f"work{i}"),
            )
            for i in (1, 2)
        ]
        for proc, log in workers:
            _wait_for(log, "Successfully registered with master", proc, deadline)
        yield Cluster(url, secret, root)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


# Runs in its own process: a Python process holds one SparkContext, and the suite's is local.
_RUN_ON_CLUSTER = """
import json, sys
from datetime import date
from pathlib import Path
from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.engines.spark import spark_session
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
print(json.dumps({"held": held, "executors": executors,
                  "conf": dict(spark.sparkContext.getConf().getAll())}))
spark.stop()
"""


def _on_cluster(small_master: Any, cluster: Cluster, out: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "TINMATCH_SPARK_SECRET": cluster.secret,
        "TINMATCH_SPARK_DATA": str(small_master.export),
        "TINMATCH_SPARK_PARTITIONS": "2",
        "TINMATCH_SPARK_DRIVER_MEMORY": "1g",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
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
    small_master: Any, cluster: Cluster, tmp_path: Path
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
    # The work ran on the workers' executors, not in the driver.
    assert on_cluster["executors"] == 2
