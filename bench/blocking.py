"""Blocking efficiency and blocking recall of the linker's rules on a cached data set.

Usage: .venv/bin/python bench/blocking.py [SIZE ...] [--no-score]

For the valid rows of the request (validated exactly as ``process`` does) this prints, per
blocking rule and in total: candidate pairs (request row x master link row) and candidate
taxpayers per request row, and blocking recall: the share of rows that should be disclosed whose
true TIN is among the blocked candidates. Unless --no-score, it then scores the pairs with the
trained model (``LinkEngine.candidates``) and reports the same after the weight floor.
"""

from __future__ import annotations

import argparse
import time

import duckdb
import pandas as pd
from common import SEED, dataset, master, record, size_arg, truth_tins, valid_rows

from tinmatch.engines.duckdb import LinkEngine
from tinmatch.master.blocking import BLOCKING_RULES, SWAPPED_NAMES_SQL, rule_sql
from tinmatch.master.database import open_master
from tinmatch.pipeline.features import request_features

SWAPPED = ("swapped_names", SWAPPED_NAMES_SQL)


# Candidate replacements to try with --extra (name=col+col+...); substr() keys allowed.
WITHOUT: set[str] = set()
EXTRA: list[tuple[str, str]] = []


def rule_conditions() -> list[tuple[str, str]]:
    rules = [(name, rule_sql(name, cols)) for name, cols in BLOCKING_RULES]
    return [(n, c) for n, c in [*rules, SWAPPED, *EXTRA] if n not in WITHOUT]


def _extra(text: str) -> tuple[str, str]:
    name, _, cols = text.partition("=")
    conds = []
    for col in cols.split("+"):
        if col.startswith("initial:"):
            c = col.removeprefix("initial:")
            conds.append(f"left(r.{c}, 1) = left(l.{c}, 1)")
        else:
            conds.append(f"r.{col} = l.{col}")
    return name, " AND ".join(conds)


def blocked(con: duckdb.DuckDBPyConnection, req: pd.DataFrame, truth: dict[str, str]) -> dict:
    con.register("req_df", req)
    con.execute("CREATE OR REPLACE TEMP TABLE req AS SELECT * FROM req_df")
    con.execute("CREATE OR REPLACE TEMP TABLE truth(qid VARCHAR, tin VARCHAR)")
    qid_truth = [(q, truth[r]) for q, r in zip(req["unique_id"], req["record_id"], strict=True)
                 if r in truth]  # fmt: skip
    con.executemany("INSERT INTO truth VALUES (?, ?)", qid_truth)
    n_rows, n_true = len(req), len(qid_truth)
    figures: dict = {"valid_rows": n_rows, "rows_with_true_tin": n_true, "rules": {}}
    selects = []
    for name, cond in rule_conditions():
        started = time.monotonic()
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE pairs_{name} AS SELECT r.unique_id AS qid, "
            f"l.unique_id AS mid, l.tin FROM req r JOIN m.link_rows l ON {cond}"
        )
        pairs, found = con.execute(
            f"SELECT (SELECT count(*) FROM pairs_{name}), (SELECT count(DISTINCT t.qid) FROM "
            f"truth t JOIN pairs_{name} p ON p.qid = t.qid AND p.tin = t.tin)"
        ).fetchone() or (0, 0)
        figures["rules"][name] = {
            "pairs": pairs, "pairs_per_row": pairs / n_rows, "recall_alone": found / n_true,
            "seconds": round(time.monotonic() - started, 2),
        }  # fmt: skip
        selects.append(f"SELECT qid, mid, tin FROM pairs_{name}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE pairs AS {' UNION '.join(selects)}")
    pairs, tins, found = con.execute(
        "SELECT (SELECT count(*) FROM pairs), (SELECT count(*) FROM (SELECT DISTINCT qid, tin "
        "FROM pairs)), (SELECT count(DISTINCT t.qid) FROM truth t JOIN pairs p "
        "ON p.qid = t.qid AND p.tin = t.tin)"
    ).fetchone() or (0, 0, 0)
    per_row = con.execute(
        "SELECT quantile_cont(n, [0.5, 0.9, 0.99]), max(n) FROM (SELECT r.unique_id, "
        "count(p.qid) AS n FROM req r LEFT JOIN pairs p ON p.qid = r.unique_id GROUP BY 1)"
    ).fetchone()
    only = {}
    for name, _ in rule_conditions():
        others = " UNION ".join(s for s in selects if not s.endswith(f"pairs_{name}"))
        only[name] = con.execute(
            f"SELECT count(DISTINCT t.qid) FROM truth t JOIN pairs_{name} p ON p.qid = t.qid "
            f"AND p.tin = t.tin WHERE NOT EXISTS (SELECT 1 FROM ({others}) o "
            f"WHERE o.qid = t.qid AND o.tin = t.tin)"
        ).fetchone()[0]  # type: ignore[index]
        figures["rules"][name]["only_this_rule_finds"] = only[name]
    figures.update(
        pairs=pairs, pairs_per_row=pairs / n_rows, taxpayers_per_row=tins / n_rows,
        pairs_per_row_p50_p90_p99=per_row[0] if per_row else None,
        pairs_per_row_max=per_row[1] if per_row else None, blocking_recall=found / n_true,
        missed_rows=n_true - found,
    )  # fmt: skip
    return figures


def scored(engine: LinkEngine, req: pd.DataFrame, truth: dict[str, str]) -> dict:
    started = time.monotonic()
    parts = []
    for start in range(0, len(req), 50_000):
        chunk = req.iloc[start : start + 50_000]
        parts.append(engine.candidates(chunk.drop(columns=["record_id"])))
    cand = pd.concat(parts, ignore_index=True)
    qid_rid = dict(zip(req["unique_id"], req["record_id"], strict=True))
    hit = {q for q, t in zip(cand["qid"], cand["tin"], strict=True)
           if truth.get(qid_rid[q]) == t}  # fmt: skip
    n_true = sum(1 for r in req["record_id"] if r in truth)
    return {
        "scored_seconds": round(time.monotonic() - started, 1),
        "kept_candidates_per_row": len(cand) / len(req),
        "recall_after_weight_floor": len(hit) / n_true,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["small"])
    parser.add_argument("--no-score", action="store_true")
    parser.add_argument("--rows", type=int, default=0, help="only the first N valid rows")
    parser.add_argument("--seed", type=int, default=SEED, help="data set seed")
    parser.add_argument("--without", default="", help="rules to leave out, comma-separated")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="extra rule NAME=col+col (initial:col for a first letter)",
    )
    args = parser.parse_args()
    WITHOUT.update(r for r in args.without.split(",") if r)
    EXTRA.extend(_extra(e) for e in args.extra)
    for size in args.sizes:
        people, requests = size_arg(size)
        data = dataset(people, requests, args.seed)
        valid = valid_rows(data)
        if args.rows:
            valid = valid.head(args.rows)
        req = request_features(valid)
        req["record_id"] = valid["record_id"].astype(str).to_numpy()
        truth = truth_tins(data)
        con = open_master(master(data))
        try:
            figures = blocked(con, req, truth)
            if not args.no_score:
                figures.update(scored(LinkEngine.open(con), req, truth))
        finally:
            con.close()
        print(
            f"blocking {data.label}: {figures['valid_rows']:,} valid rows, "
            f"{figures['rows_with_true_tin']:,} with a true TIN to find"
        )
        print(f"  {'rule':<22}{'pairs':>12}{'per row':>10}{'recall alone':>14}{'only it':>9}")
        for name, f in figures["rules"].items():
            print(
                f"  {name:<22}{f['pairs']:>12,}{f['pairs_per_row']:>10.1f}"
                f"{f['recall_alone']:>14.4f}{f['only_this_rule_finds']:>9,}"
            )
        print(
            f"  all rules: {figures['pairs']:,} distinct pairs, {figures['pairs_per_row']:.1f} "
            f"per row (p50/p90/p99 {figures['pairs_per_row_p50_p90_p99']}, max "
            f"{figures['pairs_per_row_max']}), {figures['taxpayers_per_row']:.1f} taxpayers "
            f"per row; blocking recall {figures['blocking_recall']:.4f} "
            f"({figures['missed_rows']} missed)"
        )
        if "recall_after_weight_floor" in figures:
            print(
                f"  after scoring (weight >= -20): {figures['kept_candidates_per_row']:.2f} "
                f"candidate taxpayers per row, recall {figures['recall_after_weight_floor']:.4f}"
                f" ({figures['scored_seconds']}s)"
            )
        record("blocking", data, without=sorted(WITHOUT), extra=EXTRA, **figures)


if __name__ == "__main__":
    main()
