"""Executor scaling of ``process --engine spark`` on a real standalone cluster on this machine.

Usage:
    nice -n 19 .venv/bin/python bench/spark_cluster.py 100k/10k --prepare    # data, master, export
    .venv/bin/python bench/spark_cluster.py 100k/10k --workers 1,2,4         # the timed runs

For each worker count N it starts a Spark standalone master and N workers (each a separate JVM
from the installed pyspark, ``--cores`` cores and ``--memory`` each, authentication and
encryption on: :class:`tinmatch.engines.standalone.StandaloneCluster`), runs ``tinmatch process
--engine spark`` against ``spark://127.0.0.1:PORT`` on the data set's request, reading the
partitioned Parquet export (``--parts``), and stops the cluster. It prints, per N: wall time,
the CPU seconds of the driver (the ``tinmatch process`` process and its JVM) and of the cluster
(master, workers and the executors they ran), and the load average; it also runs the DuckDB
engine right before each Spark run, as the reference the Spark results must equal byte for byte
(held, unmatched and rejected CSVs).

Each cluster's start, run and stop holds ``/tmp/bench.lock`` (``flock``), so no two timed runs
on this shared machine overlap; the script waits for the lock. The data set, master and export
are cached under ``.bench-cache/`` (``--prepare`` builds them; run that part niced).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from common import CACHE, DataSet, dataset, master, measure, process_command, record, size_arg

from tinmatch.engines.export import export_master
from tinmatch.engines.standalone import StandaloneCluster

LOCK = Path("/tmp/bench.lock")
RESULT_FILES = ("held.csv", "unmatched.csv", "rejected.csv")
DIFFS = CACHE / "spark_cluster_diff"


@contextmanager
def bench_lock() -> Iterator[None]:
    """``flock /tmp/bench.lock`` for the block (exclusive; waits for the holder)."""
    with LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cluster_cpu_s(cluster: StandaloneCluster) -> float:
    """CPU seconds of the cluster's processes and everything they started and reaped
    (an executor's CPU is counted in its worker's children times once it has exited)."""
    total = 0.0
    for pid in cluster.pids:
        try:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return total


def prepare(data: DataSet, parts: int) -> Path:
    db = master(data)
    out = db.with_name(db.name + ".parquet")
    summary = export_master(db, out, parts)
    state = "current" if summary.unchanged else "written"
    print(f"export {out}: {state}, {summary.parts} parts, {summary.rows['link_rows']:,} link rows")
    return out


def run_engine(
    data: DataSet, work: Path, name: str, env: dict[str, str]
) -> tuple[Path, float, float, float, float]:
    """One ``process`` run: (out dir, wall s, driver CPU s, load before, load after)."""
    out, state = work / name, work / f"{name}.sqlite"
    cmd = process_command(data, data.request, out, state)
    if name.startswith("spark"):
        cmd += ["--engine", "spark"]
    m = measure(cmd, env=env)
    return out, m.wall_s, m.cpu_s, m.load_before, m.load_after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="?", default="100k/10k", help="PEOPLE/REQUEST_ROWS")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to run")
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="1g", help="memory per worker (its one executor's)")
    parser.add_argument("--parts", type=int, default=8, help="parts of the Parquet export")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    parser.add_argument("--prepare", action="store_true", help="only build data, master, export")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB reference run")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on `kill` too
    people, requests = size_arg(args.size)
    data = dataset(people, requests)
    export = prepare(data, args.parts)
    if args.prepare:
        return
    counts = [int(n) for n in args.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="tinmatch-spark-bench-"))
    rows: list[tuple[str, float, float, float, float, float, str]] = []
    try:
        reference: Path | None = None
        for n in counts:
            with bench_lock():
                if not args.no_duckdb:
                    # Right before each Spark run: in a tree shared with other work, code that
                    # changed in between must not pass for a difference between the engines.
                    reference, wall, cpu, lb, la = run_engine(data, work, f"duckdb{n}", {})
                    rows.append((f"duckdb (before x{n})", wall, cpu, 0.0, lb, la, "reference"))
                    print(f"duckdb      wall {wall:7.1f} s  cpu {cpu:7.1f} s  "
                          f"load {lb:.1f}->{la:.1f}", flush=True)  # fmt: skip
                cluster = StandaloneCluster(
                    work / f"cluster{n}", workers=n, cores=args.cores, memory=args.memory
                ).start()
                try:
                    env = {
                        **cluster.env,
                        "TINMATCH_SPARK_MASTER": cluster.url,
                        "TINMATCH_SPARK_DATA": str(export),
                        "TINMATCH_SPARK_PARTITIONS": str(args.partitions),
                        "TINMATCH_SPARK_DRIVER_MEMORY": "2g",
                        "PYSPARK_SUBMIT_ARGS": (
                            f"--conf spark.executor.memory={args.memory} "
                            "--conf spark.driver.host=127.0.0.1 "
                            "--conf spark.ui.enabled=false pyspark-shell"
                        ),
                    }
                    before = cluster_cpu_s(cluster)
                    out, wall, cpu, lb, la = run_engine(data, work, f"spark{n}", env)
                    time.sleep(2)  # the workers reap their executors
                    executors = cluster_cpu_s(cluster) - before
                finally:
                    cluster.stop()
            same = "-"
            if reference is not None:
                same = "identical" if all(
                    (out / f).read_bytes() == (reference / f).read_bytes() for f in RESULT_FILES
                ) else "DIFFERENT"  # fmt: skip
                if same == "DIFFERENT":  # kept for a look: .bench-cache/spark_cluster_diff/
                    keep = DIFFS / data.label
                    shutil.rmtree(keep / f"spark{n}", ignore_errors=True)
                    shutil.copytree(out, keep / f"spark{n}")
                    shutil.copytree(reference, keep / "duckdb", dirs_exist_ok=True)
                    print(f"outputs differ: both kept under {keep}", flush=True)
            rows.append((f"spark x{n}", wall, cpu, executors, lb, la, same))
            print(
                f"spark x{n:<3} wall {wall:7.1f} s  cpu driver {cpu:7.1f} s + cluster "
                f"{executors:7.1f} s  load {lb:.1f}->{la:.1f}  outputs {same}",
                flush=True,
            )
            record(
                "spark_cluster", data, None, workers=n, cores_per_worker=args.cores,
                memory=args.memory, parts=args.parts, partitions=args.partitions,
                wall_s=round(wall, 2), driver_cpu_s=round(cpu, 2),
                cluster_cpu_s=round(executors, 2), load_before=round(lb, 2),
                load_after=round(la, 2), outputs=same,
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    python = sys.version.split()[0]
    print(f"\n{data.label}, commit {commit}, python {python}, nproc {os.cpu_count()}")
    print("| run | wall s | driver CPU s | cluster CPU s | load before -> after | outputs |")
    print("|---|---:|---:|---:|---|---|")
    for name, wall, cpu, execs, lb, la, same in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {execs:.1f} | {lb:.1f} -> {la:.1f} | {same} |")


if __name__ == "__main__":
    main()
