"""Benchmark ``tinmatch load-master``: wall time, CPU time and peak memory at each size.

Usage: .venv/bin/python bench/load.py [SIZE ...] [--profile]

SIZE is small (100k people), medium (1M), large (10M) or PEOPLE/REQUESTS such as 3m/10k;
default: small medium. Data is generated once into .bench-cache/. Each run loads into a fresh
database file, which then replaces the data set's cached master used by the other scripts.
--profile samples the run with py-spy and prints where the wall-clock time goes.
"""

from __future__ import annotations

import argparse
import os

from common import dataset, load_command, measure, print_hot_spots, profiled, record, size_arg

TARGET_10M_S = 300.0


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
        cmd = load_command(data, db)
        raw = data.dir / "load_profile.txt"
        m = measure(profiled(cmd, raw) if args.profile else cmd)
        per_m = m.wall_s / (people / 1_000_000)
        print(f"load-master {data.label}: {m.line()}")
        print(f"  {per_m:.1f}s per million people; 10M extrapolated {10 * per_m:.0f}s "
              f"(target <= {TARGET_10M_S:.0f}s)")
        print("  " + m.stdout_tail.strip().splitlines()[-1] if m.stdout_tail.strip() else "")
        record("load", data, m, profiled=args.profile, seconds_per_million=round(per_m, 1))
        if args.profile:
            print_hot_spots(raw)
        # The fresh load was made by the code under test: it becomes the data set's master.
        os.replace(db, data.db)


if __name__ == "__main__":
    main()
