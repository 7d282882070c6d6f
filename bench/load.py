"""Benchmark ``tinmatch load-master``: wall time, CPU time and peak memory at each size.

Usage: .venv/bin/python bench/load.py [SIZE ...] [--profile]

SIZE is small (100k people), medium (1M), large (10M) or PEOPLE/REQUESTS such as 3m/10k;
default: small medium. Data is generated once into .bench-cache/. Each run loads into a fresh
database file, which then replaces the data set's cached master used by the other scripts.
--profile samples the run with py-spy and prints where the wall-clock time goes.
Each step's wall and CPU seconds (the loader logs them) are printed after the totals; CPU is that
of the main process (DuckDB's threads included), the standardization workers' CPU is in the total.
"""

from __future__ import annotations

import argparse
import os
import sys

from common import dataset, load_command, measure, print_hot_spots, profiled, record, size_arg

TARGET_10M_S = 300.0
# The CLI with the loader's step timings logged (``tinmatch.master.load`` logs at INFO).
LOGGED_CLI = (
    "import logging, os, sys; "
    "logging.basicConfig(level=logging.WARNING, format='  step %(message)s', "
    "filename=os.environ['BENCH_STEP_LOG'], filemode='w'); "
    "logging.getLogger('tinmatch.master.load').setLevel(logging.INFO); "
    "from tinmatch.cli import main; sys.argv[0] = 'tinmatch'; main()"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["small", "medium"])
    parser.add_argument("--profile", action="store_true", help="sample with py-spy")
    args = parser.parse_args()
    for size in args.sizes:
        people, requests = size_arg(size)
        data = dataset(people, requests)
        db = data.dir / "load_bench.duckdb"
        db.unlink(missing_ok=True)
        cmd = [sys.executable, "-c", LOGGED_CLI, *load_command(data, db)[1:]]
        raw = data.dir / "load_profile.txt"
        steps = data.dir / "load_steps.log"
        env = {"BENCH_STEP_LOG": str(steps)}
        m = measure(profiled(cmd, raw) if args.profile else cmd, env=env)
        per_m = m.wall_s / (people / 1_000_000)
        print(f"load-master {data.label}: {m.line()}")
        print(
            f"  {per_m:.1f}s per million people; 10M extrapolated {10 * per_m:.0f}s "
            f"(target <= {TARGET_10M_S:.0f}s)"
        )
        print(steps.read_text(encoding="utf-8").rstrip())
        lines = m.stdout_tail.strip().splitlines()
        print("  " + lines[-1] if lines else "")
        record("load", data, m, profiled=args.profile, seconds_per_million=round(per_m, 1))
        if args.profile:
            print_hot_spots(raw)
        # The fresh load was made by the code under test: it becomes the data set's master.
        os.replace(db, data.db)


if __name__ == "__main__":
    main()
