"""Time the linker on one chunk: ``LinkEngine.candidates`` for the first N valid request rows.

Usage: .venv/bin/python bench/link_chunk.py SIZE [--seed S] [--rows 10,20000,100000] [--join]

Only the linking step (blocking, scoring, best row per taxpayer, best two per row), in this
process, on an already loaded master: the figure that the chunk size multiplies. With a tiny N
(10 rows) and --join (no block-key lookup: requests up to 2,000 rows otherwise fetch their
candidate rows by key) it is the fixed cost of a chunk (what every chunk pays); the slope
between two sizes is the cost per row. Prints wall and CPU seconds (this process and DuckDB's
threads), candidates returned and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time

from common import SEED, dataset, master, record, size_arg, valid_rows

from tinmatch.engines import duckdb as link
from tinmatch.engines.duckdb import LinkEngine
from tinmatch.master.database import open_master
from tinmatch.pipeline.features import request_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rows", default="10,20000,100000")
    parser.add_argument("--join", action="store_true", help="block by join at any size")
    args = parser.parse_args()
    if args.join:
        link.SMALL_REQUEST_ROWS = 0
    data = dataset(*size_arg(args.size), args.seed)
    valid = valid_rows(data)
    features = request_features(valid)
    engine = LinkEngine.open(open_master(master(data)))
    try:
        for n in (int(x) for x in args.rows.split(",")):
            chunk = features.head(n)
            wall, cpu = time.monotonic(), time.process_time()
            out = engine.candidates(chunk, top=2)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            print(f"link {data.label}: {len(chunk):>7,} rows  wall {wall:7.1f} s  cpu {cpu:7.1f} s"
                  f"  candidates {len(out):,}  peak RSS {peak:.2f} GiB", flush=True)  # fmt: skip
            record("link_chunk", data, rows=len(chunk), wall_s=wall, cpu_s=cpu, peak_gib=peak)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
