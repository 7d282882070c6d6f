"""A Spark standalone cluster on this machine: a master and N workers, each its own JVM.

Started from the installed pyspark (``spark-class ...deploy.master.Master`` / ``...Worker``), on
loopback only, with authentication, RPC encryption and encrypted shuffle/spill on and one random
shared secret in a private (0600) properties file. It is what ``tests/spark/test_cluster.py``
runs a request on and what ``bench/spark_cluster.py`` measures executor scaling with; an
operator can use it to try ``process --engine spark`` against ``spark://`` before a real
cluster. Each process gets its own process group, so :meth:`StandaloneCluster.stop` ends the
JVMs and their executors (and nothing else).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tinmatch.errors import EngineError
from tinmatch.settings import child_environment

START_TIMEOUT = 90.0


def spark_class() -> Path:
    """The installed pyspark's ``bin/spark-class`` (pyspark and Java are needed)."""
    if shutil.which("java") is None:
        raise EngineError("a Spark cluster needs a Java runtime (java is not on PATH)")
    try:
        import pyspark
    except ImportError as exc:
        raise EngineError(f"a Spark cluster needs pyspark (pip install pyspark): {exc}") from None
    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StandaloneCluster:
    """A standalone master and `workers` workers of `cores` cores and `memory` each, under `root`
    (logs ``master.log``, ``workerN.log``; work directories ``workN/``)."""

    root: Path
    workers: int = 2
    cores: int = 1
    memory: str = "1g"
    daemon_memory: str = "256m"
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        """The master's and the workers' process ids (each leads its process group)."""
        return [proc.pid for proc in self._procs]

    @property
    def env(self) -> dict[str, str]:
        """What the application's environment needs to join: the secret, loopback, our Python."""
        return {
            "TINMATCH_SPARK_SECRET": self.secret,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
        }

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; return once every worker has registered."""
        launcher = spark_class()
        self.root.mkdir(parents=True, exist_ok=True)
        props = self.root / "cluster.conf"  # the secret in a private file, not a command line
        props.touch(mode=0o600)
        props.chmod(0o600)
        props.write_text(
            "spark.authenticate true\n"
            f"spark.authenticate.secret {self.secret}\n"
            "spark.network.crypto.enabled true\n"
            "spark.io.encryption.enabled true\n"
            "spark.master.rest.enabled false\n"  # no fixed port 6066
        )
        (self.root / "conf").mkdir(exist_ok=True)
        env = child_environment(
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_CONF_DIR=str(self.root / "conf"),  # no site spark-defaults.conf
            SPARK_LOG_DIR=str(self.root),
            SPARK_DAEMON_MEMORY=self.daemon_memory,
            PYSPARK_PYTHON=sys.executable,
        )
        self.port = self.port or free_port()
        deadline = time.monotonic() + START_TIMEOUT
        try:
            master, log = self._launch(
                launcher, props, env, "master", "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", str(self.port), "--webui-port", "0",
            )  # fmt: skip
            _wait_for(log, "I have been elected leader", master, deadline)
            worker = [
                *("org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1"),
                *("--webui-port", "0", "--cores", str(self.cores), "--memory", self.memory),
            ]
            started = []
            for i in range(1, self.workers + 1):
                work = ("--work-dir", str(self.root / f"work{i}"))
                started.append(self._launch(launcher, props, env, f"worker{i}", *worker, *work))
            for proc, log in started:
                _wait_for(log, "Successfully registered with master", proc, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every process this cluster started (its process groups), politely, then not."""
        for proc in self._procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        self._procs.clear()

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(
        self, launcher: Path, props: Path, env: dict[str, str], name: str, *args: str
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(launcher), *args, "--properties-file", str(props)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, stopped as one
            )
        self._procs.append(proc)
        return proc, log


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    raise EngineError(f"{log.name}: no {text!r} (the Spark process did not start):\n{tail}")
