"""How ``tinmatch process`` cost grows with request size against one master.

Usage: .venv/bin/python bench/scaling_curve.py [MASTER_SIZE] [--rows 1000,10000,30000,100000]

MASTER_SIZE as in the other scripts (default medium: 1M people, up to 100k request rows). The
request of that data set is cut to its first N rows for each N (written once into the cache), each
cut is processed with a fresh output folder and operational store, and the script fits
wall = fixed + N / rate by least squares: the fixed cost (start-up, model, writing) and the
marginal throughput. Linear growth shows as small residuals and a flat rows-per-second column.
"""

from __future__ import annotations

import argparse
import shutil

from common import dataset, master, measure, process_command, record, size_arg


def cut(src_lines: list[str], rows: int, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(src_lines[: rows + 1])


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares wall = a + b * rows; returns (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="?", default="medium")
    parser.add_argument("--rows", default="1000,10000,30000,100000")
    args = parser.parse_args()
    people, requests = size_arg(args.size)
    data = dataset(people, requests)
    master(data)
    lines = data.request.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    points: list[tuple[int, float]] = []
    print(f"{'rows':>9}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}{'rows/s':>9}{'load':>11}")
    for rows in sorted(int(r) for r in args.rows.split(",")):
        rows = min(rows, len(lines) - 1)
        request = data.dir / f"request_first_{rows}.csv"
        if not request.exists():
            cut(lines, rows, str(request))
        out = data.dir / f"curve_out_{rows}"
        state = data.dir / f"curve_state_{rows}.sqlite"
        shutil.rmtree(out, ignore_errors=True)
        state.unlink(missing_ok=True)
        m = measure(process_command(data, request, out, state))
        points.append((rows, m.wall_s))
        print(f"{rows:>9,}{m.wall_s:>9.1f}{m.cpu_s:>9.1f}{m.max_rss_mib:>10,.0f}"
              f"{rows / m.wall_s:>9,.0f}{m.load_before:>6.1f}->{m.load_after:.1f}", flush=True)
        record("curve", data, m, rows=rows, rows_per_s=round(rows / m.wall_s))
        shutil.rmtree(out, ignore_errors=True)
    if len(points) >= 2:
        a, b = fit(points)
        print(f"fit: wall = {a:.1f}s + rows / {1 / b:,.0f} per s" if b > 0 else f"fit: {a}, {b}")
        for x, y in points:
            print(f"  {x:>9,} rows: measured {y:7.1f}s, fitted {a + b * x:7.1f}s")
        record("curve_fit", data, fixed_s=round(a, 1), marginal_rows_per_s=round(1 / b) if b
               else None, points=points)  # fmt: skip


if __name__ == "__main__":
    main()
