"""Benchmark ``tinmatch process`` end to end: throughput, peak memory and answer quality.

Usage: .venv/bin/python bench/process.py [SIZE ...] [--profile] [--xlsx] [--db MASTER]

SIZE is small (100k people / 10k request rows), medium (1M / 100k), large (10M / 1M) or
PEOPLE/REQUESTS; default: small medium. The master is loaded once per data set (cached). Each run
writes to a fresh output folder and a fresh operational store, then scores the result against
truth.csv with ``tinmatch evaluate``. --xlsx processes request.xlsx instead of request.csv.
--profile samples the run with py-spy and prints where the wall-clock time goes. --db processes
against another master file of the same data (a loader change, side by side).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from common import (
    dataset,
    master,
    measure,
    print_hot_spots,
    process_command,
    profiled,
    record,
    release,
    size_arg,
)

from tinmatch.evaluate.score import evaluate

TARGET_1M_S = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["small", "medium"])
    parser.add_argument("--profile", action="store_true", help="sample with py-spy")
    parser.add_argument("--xlsx", action="store_true", help="read request.xlsx")
    parser.add_argument("--db", type=Path, help="another master file of the same data")
    args = parser.parse_args()
    for size in args.sizes:
        people, requests = size_arg(size)
        data = dataset(people, requests)
        if args.db is None:
            master(data)
        out = data.dir / "out"
        state = data.dir / "state.sqlite"
        shutil.rmtree(out, ignore_errors=True)
        state.unlink(missing_ok=True)
        request = data.dir / "request.xlsx" if args.xlsx else data.request
        cmd = process_command(data, request, out, state, args.db)
        raw = data.dir / "process_profile.txt"
        m = measure(profiled(cmd, raw) if args.profile else cmd)
        rate = requests / m.wall_s
        print(f"process {data.label} ({request.name}): {m.line()}")
        print(f"  {rate:,.0f} request rows/s wall ({requests / m.cpu_s:,.0f} per CPU-second); "
              f"1M rows extrapolated {1_000_000 / rate:.0f}s (target <= {TARGET_1M_S:.0f}s)")
        quality = evaluate(data.truth, out, release(out, state)).as_dict()
        print(f"  precision {quality['precision']:.4f}  recall {quality['recall']:.4f}  "
              f"wrong-person {quality['wrong_person']}")
        record("process", data, m, input=request.name, rows_per_s=round(rate),
               precision=quality["precision"], recall=quality["recall"],
               wrong_person=quality["wrong_person"], profiled=args.profile)  # fmt: skip
        if args.profile:
            print_hot_spots(raw)


if __name__ == "__main__":
    main()
