"""Side by side: tinmatch, a plain tutorial-style Splink 5 model and the recordlinkage toolkit.

Usage: .venv/bin/python bench/compare.py [SIZE] [--engines tinmatch,splink,recordlinkage]
       [--repeat N]

SIZE as in the other scripts (default small: 100k people / 10k request rows). All three engines
get the same request, the same master files and tinmatch's own validation (so the same rows are
looked up), and disclose by the same rule: the address of the matched person's most recent
return in the requested tax periods. Each engine runs as its own subprocess (wall, CPU, peak
memory measured the same way) and writes matched/rejected/unmatched CSVs that are scored with
``tinmatch.evaluate`` against truth.csv: precision, recall and wrong-person disclosures.

- tinmatch: ``tinmatch process`` on the loaded master (loading is a one-off and not counted).
- splink (plain): link_only between the request and the master's (person, return) records,
  lightly cleaned (lower case, trimmed, ZIP5); NameComparison on first name and surname,
  DateOfBirthComparison, exact city (term frequencies) and ZIP; prior from deterministic rules,
  u by random sampling, m by EM blocked on first name + surname then on DOB (the Splink
  tutorial's training rules; EM blocked on surname alone spilled 23 GB at 1M people); best
  match with probability >= 0.9 is the answer. Training is part of every run, as the tutorials
  do it.
- recordlinkage: Index blocking on surname + state, Compare (Jaro-Winkler >= 0.85 on first
  name and surname, exact DOB, ZIP and city), ECMClassifier; best pair with probability >= 0.9.

Needs ``pip install recordlinkage`` (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from common import (
    DataSet,
    dataset,
    master,
    measure,
    process_command,
    record,
    release,
    size_arg,
    valid_rows,
)

from tinmatch.evaluate.score import evaluate

ENGINES = ("tinmatch", "splink", "recordlinkage")
THRESHOLD = 0.9
COLUMNS = ["first_name", "surname", "dob", "city", "state", "zip"]


# -- the plain baselines' inputs --------------------------------------------------------------


def master_records(con: duckdb.DuckDBPyConnection, data: DataSet) -> pd.DataFrame:
    """Every (person, return) appearance: name as on the return (spouses: identity record)."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE appearances AS
        WITH t AS (SELECT * FROM read_parquet('{data.taxpayers}')),
             r AS (SELECT * FROM read_parquet('{data.returns}'))
        SELECT r.tin, CAST(r.tax_year AS INTEGER) AS tax_year,
               coalesce(r.first_name, t.first_name) AS first_name,
               coalesce(r.last_name, t.last_name) AS last_name, t.date_of_birth,
               r.street, r.address_line2, r.city, r.state, r.zip
        FROM r LEFT JOIN t ON t.tin = r.tin
        UNION ALL
        SELECT r.spouse_tin, CAST(r.tax_year AS INTEGER), t.first_name, t.last_name,
               t.date_of_birth, r.street, r.address_line2, r.city, r.state, r.zip
        FROM r JOIN t ON t.tin = r.spouse_tin
        WHERE r.spouse_tin IS NOT NULL AND r.spouse_tin <> ''
        """
    )
    return con.execute(
        """
        SELECT 'm' || CAST(row_number() OVER () AS VARCHAR) AS unique_id, * FROM (
            SELECT DISTINCT tin, lower(trim(first_name)) AS first_name,
                   lower(trim(last_name)) AS surname,
                   strftime(try_cast(date_of_birth AS DATE), '%Y-%m-%d') AS dob,
                   lower(trim(city)) AS city, upper(trim(state)) AS state,
                   left(trim(zip), 5) AS zip
            FROM appearances)
        """
    ).df()


def request_records(valid: pd.DataFrame) -> pd.DataFrame:
    def clean(col: str) -> pd.Series:
        return valid[col].astype("string").str.strip().str.lower()

    out = pd.DataFrame({
        "unique_id": "q" + valid["_row"].astype(str),
        "tin": None,
        "first_name": clean("first_name"),
        "surname": clean("last_name"),
        "dob": valid["dob"].astype("string"),
        "city": clean("city"),
        "state": valid["state"].astype("string").str.strip().str.upper(),
        "zip": valid["zip"].astype("string").str.strip().str[:5],
    })  # fmt: skip
    return out.astype(object).where(out.notna(), None)


def best_answers(pairs: pd.DataFrame) -> pd.DataFrame:
    """pairs(qid, tin, p): the best pair per request row, kept when p >= THRESHOLD."""
    pairs = pairs.sort_values(["qid", "p"], ascending=[True, False])
    best = pairs.drop_duplicates("qid")
    return best[best["p"] >= THRESHOLD]


# -- engines ----------------------------------------------------------------------------------


def splink_answers(con: duckdb.DuckDBPyConnection, req: pd.DataFrame, mst: pd.DataFrame,
                   phases: dict[str, float]) -> pd.DataFrame:  # fmt: skip
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    db_api = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("zip"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("zip", "surname"),
        ],
        additional_columns_to_retain=["tin"],
    )
    linker = Linker(
        [db_api.register(req, table_name="req"), db_api.register(mst, table_name="mst")],
        settings,
        log_level="ERROR",
    )
    started = time.monotonic()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    phases["train_s"] = time.monotonic() - started  # what tinmatch does once, at load-master
    started = time.monotonic()
    preds = linker.inference.predict(threshold_match_probability=0.5)
    pairs = con.execute(
        f"""
        SELECT CASE WHEN unique_id_l LIKE 'q%' THEN unique_id_l ELSE unique_id_r END AS qid,
               CASE WHEN unique_id_l LIKE 'q%' THEN tin_r ELSE tin_l END AS tin,
               match_probability AS p
        FROM {preds.physical_name}
        """
    ).df()
    phases["predict_s"] = time.monotonic() - started
    return best_answers(pairs)


def recordlinkage_answers(req: pd.DataFrame, mst: pd.DataFrame) -> pd.DataFrame:
    import recordlinkage as rl

    left = req.set_index("unique_id")
    right = mst.set_index("unique_id")
    indexer = rl.Index()
    indexer.block(left_on=["surname", "state"], right_on=["surname", "state"])
    links = indexer.index(left, right)
    comp = rl.Compare()
    comp.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first")
    comp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    comp.exact("dob", "dob", label="dob")
    comp.exact("zip", "zip", label="zip")
    comp.exact("city", "city", label="city")
    features = comp.compute(links, left, right)
    ecm = rl.ECMClassifier(binarize=None)
    ecm.fit(features)
    prob = ecm.prob(features)
    pairs = pd.DataFrame({
        "qid": features.index.get_level_values(0),
        "tin": right.loc[features.index.get_level_values(1), "tin"].to_numpy(),
        "p": prob.to_numpy(),
    })  # fmt: skip
    return best_answers(pairs)


def disclose_and_write(con: duckdb.DuckDBPyConnection, data: DataSet, valid: pd.DataFrame,
                       answers: pd.DataFrame, out: Path) -> None:  # fmt: skip
    """The same disclosure rule as tinmatch; matched/rejected/unmatched CSVs as the contract."""
    valid = valid.assign(qid="q" + valid["_row"].astype(str))
    rows = valid.merge(answers, on="qid", how="left")
    wanted = rows.dropna(subset=["tin"])[["qid", "tin", "tax_years"]].explode("tax_years")
    wanted["tax_years"] = wanted["tax_years"].astype(int)
    con.register("wanted", wanted)
    found = con.execute(
        """
        SELECT w.qid, a.street, a.address_line2, a.city, a.state, a.zip, a.tax_year
        FROM wanted w JOIN appearances a ON a.tin = w.tin AND a.tax_year = w.tax_years
        QUALIFY row_number() OVER (PARTITION BY w.qid ORDER BY a.tax_year DESC) = 1
        """
    ).df().set_index("qid")
    out.mkdir(parents=True, exist_ok=True)
    matched, unmatched = [], []
    for row in rows.itertuples(index=False):
        if isinstance(row.tin, str) and row.qid in found.index:
            ret = found.loc[row.qid]
            matched.append({"record_id": row.record_id, **{
                c: ("" if pd.isna(ret[c]) else ret[c])
                for c in ("street", "address_line2", "city", "state", "zip", "tax_year")},
                "match_probability": round(float(row.p), 6)})  # fmt: skip
        else:
            reason = "no_return_in_period" if isinstance(row.tin, str) else "no_candidate"
            unmatched.append({"record_id": row.record_id, "reason_code": reason, "message": ""})
    pd.DataFrame(matched, columns=["record_id", "street", "address_line2", "city", "state", "zip",
                                   "tax_year", "match_probability"]).to_csv(
        out / "matched.csv", index=False)  # fmt: skip
    pd.DataFrame(unmatched, columns=["record_id", "reason_code", "message"]).to_csv(
        out / "unmatched.csv", index=False
    )
    valid_ids = set(valid["record_id"].astype(str))
    with data.request.open(encoding="utf-8-sig", newline="") as fh:
        ids = [r["record_id"] for r in csv.DictReader(fh)]
    rejected = [i for i in ids if i not in valid_ids]
    pd.DataFrame({"record_id": rejected, "reason_codes": "", "fields": "", "message": ""}).to_csv(
        out / "rejected.csv", index=False
    )


def run_baseline(engine: str, data: DataSet, out: Path) -> None:
    """Child process: one baseline end to end (read, validate, link, disclose, write)."""
    phases: dict[str, float] = {}
    started = time.monotonic()
    con = duckdb.connect(":memory:")
    con.execute("SET memory_limit = '8GB'")
    valid = valid_rows(data)
    req = request_records(valid)
    t = time.monotonic()
    mst = master_records(con, data)
    phases["master_records_s"] = time.monotonic() - t
    phases["read_and_validate_s"] = time.monotonic() - started
    t = time.monotonic()
    if engine == "splink":
        answers = splink_answers(con, req, mst, phases)
    else:
        answers = recordlinkage_answers(req, mst)
    phases["link_s"] = time.monotonic() - t
    t = time.monotonic()
    disclose_and_write(con, data, valid, answers, out)
    phases["disclose_and_write_s"] = time.monotonic() - t
    (out / "phases.json").write_text(json.dumps({**phases, "master_records": len(mst)}))


# -- parent -----------------------------------------------------------------------------------


def run_engine(engine: str, data: DataSet, size: str, requests: int, round_: int
               ) -> dict[str, Any]:  # fmt: skip
    out = data.dir / f"compare_{engine}"
    shutil.rmtree(out, ignore_errors=True)
    state = data.dir / "compare_state.sqlite"
    if engine == "tinmatch":
        state.unlink(missing_ok=True)
        cmd = process_command(data, data.request, out, state)
    else:
        cmd = [sys.executable, __file__, size, "--child", engine, "--out", str(out)]
    print(f"running {engine} on {data.label} (round {round_ + 1}) ...", flush=True)
    m = measure(cmd)
    # tinmatch holds its answer for review: released (untimed) before it is scored, by TIN too.
    decisions = release(out, state) if engine == "tinmatch" else None
    q = evaluate(data.truth, out, decisions)
    phases = {}
    if (out / "phases.json").exists():
        phases = json.loads((out / "phases.json").read_text())
    print(f"  {m.line()}\n  precision {q.precision:.4f} recall {q.recall:.4f} "
          f"wrong-person {q.wrong_person}", flush=True)  # fmt: skip
    if "train_s" in phases:  # what tinmatch's load-master does once, this baseline every run
        load_s = phases["master_records_s"] + phases["train_s"]
        print(f"  of which master records {phases['master_records_s']:.1f} s + training "
              f"{phases['train_s']:.1f} s (the baseline's load); without them, its process "
              f"{m.wall_s - load_s:.1f} s (prediction {phases.get('predict_s', 0):.1f} s)",
              flush=True)  # fmt: skip
    return {
        "wall_s": round(m.wall_s, 1), "cpu_s": round(m.cpu_s, 1),
        "max_rss_mib": round(m.max_rss_mib), "rows_per_s": round(requests / m.wall_s),
        "precision": round(q.precision, 4), "recall": round(q.recall, 4),
        "wrong_person": q.wrong_person, "disclosed": q.disclosed,
        "load": [round(m.load_before, 1), round(m.load_after, 1)], **phases,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="?", default="small")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="rounds over the engines (interleaved, so each meets the same machine load); "
        "each engine's fastest round is reported",
    )  # fmt: skip
    parser.add_argument("--child", choices=ENGINES[1:], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    people, requests = size_arg(args.size)
    data = dataset(people, requests)
    if args.child:
        run_baseline(args.child, data, args.out)
        return
    master(data)
    results: dict[str, dict[str, Any]] = {}
    walls: dict[str, list[float]] = {}
    for round_ in range(max(1, args.repeat)):
        for engine in args.engines.split(","):
            r = run_engine(engine, data, args.size, requests, round_)
            walls.setdefault(engine, []).append(r["wall_s"])
            if engine not in results or r["wall_s"] < results[engine]["wall_s"]:
                results[engine] = r
    if args.repeat > 1:
        print("\nwall s per round: " + "; ".join(
            f"{e} {', '.join(f'{w:.1f}' for w in ws)}" for e, ws in walls.items()))
    base = results.get("tinmatch")
    print(f"\n{'engine':<15}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}{'rows/s':>9}"
          f"{'speed vs tm':>12}{'precision':>11}{'recall':>9}{'wrong-person':>14}")
    for engine, r in results.items():
        ratio = f"{base['wall_s'] / r['wall_s']:.2f}x" if base else "-"
        print(f"{engine:<15}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}{r['max_rss_mib']:>10,}"
              f"{r['rows_per_s']:>9,}{ratio:>12}{r['precision']:>11.4f}{r['recall']:>9.4f}"
              f"{r['wrong_person']:>14,}")
    record("compare", data, engines=results, repeat=args.repeat, walls=walls)


if __name__ == "__main__":
    main()
