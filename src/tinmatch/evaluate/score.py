"""Precision, recall and wrong-person disclosures of a processed request, against truth.

The truth file has one row per request row: ``record_id``, ``expected_outcome``
(matched | rejected | unmatched), ``expected_reason``, the expected disclosed address
(``expected_street`` ... ``expected_zip``) and ``expected_tax_year``; optionally ``true_tin``
and ``scenario``.

A disclosure is **correct** when its address (compared standardized: street, unit, city, state,
ZIP) and tax year equal the expected ones. It is a
**wrong-person** disclosure when the row should not have been disclosed at all (the person is
not in the master, or the row is indistinguishable) or the address disclosed is not the
expected person's; a **wrong-period** disclosure when the address is the person's but from
another tax year than the most recent in the requested periods.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tinmatch.errors import InputFileError
from tinmatch.report import REASONS_FILE
from tinmatch.standardize.addresses import address_features

ADDRESS = ["street", "address_line2", "city", "state", "zip"]


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError(f"file not found: {path}")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _norm(value: object) -> str:
    text = str(value or "").strip().upper()
    return text[1:] if text.startswith("'") else text  # undo formula neutralization


@dataclass
class Evaluation:
    rows: int
    valid_rows: int
    should_disclose: int
    disclosed: int
    correct: int
    wrong_person: int
    wrong_period: int
    precision: float
    recall: float
    wrong_person_per_10k_valid: float
    rejected_as_expected: int
    rejected_expected: int
    outcome_mismatch_rows: int
    misses_by_reason: dict[str, int] = field(default_factory=dict)
    misses_by_scenario: dict[str, int] = field(default_factory=dict)
    wrong_person_records: list[str] = field(default_factory=list)
    # unmatched rows whose truth names one reason, and those given that reason (read from
    # the reviewers' reasons.csv: the requester's unmatched.csv may say only not_disclosed)
    unmatched_as_expected: int = 0
    unmatched_reason_as_expected: int = 0
    # phenomenon -> [rows that should be disclosed, correctly disclosed]
    by_phenomenon: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"rows {self.rows:,}; valid {self.valid_rows:,}; should disclose "
            f"{self.should_disclose:,}; disclosed {self.disclosed:,}",
            f"precision {self.precision:.4f}  recall {self.recall:.4f}",
            f"wrong-person disclosures {self.wrong_person} "
            f"({self.wrong_person_per_10k_valid:.2f} per 10,000 valid requests); "
            f"wrong-period {self.wrong_period}",
            f"rejections as expected {self.rejected_as_expected:,} of "
            f"{self.rejected_expected:,}",
            f"unmatched reasons as expected {self.unmatched_reason_as_expected:,} of "
            f"{self.unmatched_as_expected:,}",
        ]
        if self.misses_by_reason:
            out.append("misses by reason:")
            out += [f"  {k:<24} {v:>7,}" for k, v in sorted(self.misses_by_reason.items())]
        if self.misses_by_scenario:
            out.append("misses by scenario (top 10):")
            top = sorted(self.misses_by_scenario.items(), key=lambda kv: -kv[1])[:10]
            out += [f"  {k:<60} {v:>6,}" for k, v in top]
        if self.by_phenomenon:
            out.append("recall by phenomenon (rows that should be disclosed):")
            for k, (n, ok) in sorted(self.by_phenomenon.items(), key=lambda kv: -kv[1][0]):
                out.append(f"  {k:<24} {ok:>7,} of {n:>7,}  {ok / n:.4f}")
        if self.wrong_person_records:
            out.append("wrong-person record_ids: " + ", ".join(self.wrong_person_records[:20]))
        return out


def evaluate(
    truth_path: Path, results: Path, decisions: pd.DataFrame | None = None
) -> Evaluation:
    """Score `results` against truth.

    With `decisions` (record_id, outcome, tin from the private decision log) and a truth file
    with ``true_tin``, the person disclosed is compared by TIN: a spouse at the same address is
    then caught as a wrong person even though the address disclosed is the same.
    """
    truth = _read(truth_path).set_index("record_id")
    matched = _read(results / "matched.csv")
    rejected = _read(results / "rejected.csv")
    unmatched = _read(results / "unmatched.csv")
    detailed: dict[str, str] = {}
    if (results / REASONS_FILE).exists():  # the detailed reasons, where the requester's say none
        found = _read(results / REASONS_FILE)
        detailed = {
            _norm(r): str(c) for r, c in zip(found["record_id"], found["reason_code"], strict=True)
        }
    outcome: dict[str, tuple[str, str]] = {}
    for rid in rejected["record_id"]:
        outcome[_norm(rid)] = ("rejected", "")
    for rid, reason in zip(unmatched["record_id"], unmatched["reason_code"], strict=True):
        outcome[_norm(rid)] = ("unmatched", detailed.get(_norm(rid), reason))
    for rid in matched["record_id"]:
        outcome[_norm(rid)] = ("matched", "")
    truth.index = [_norm(i) for i in truth.index]
    truth = truth[~truth.index.duplicated(keep="first")]

    expected = truth["expected_outcome"]
    should = expected == "matched"
    valid = expected != "rejected"
    correct = wrong_person = wrong_period = 0
    wrong_records: list[str] = []
    correct_ids: set[str] = set()
    got_keys = _address_keys(matched[ADDRESS])
    expected_cols = truth[[f"expected_{c}" for c in ADDRESS]].copy()
    expected_cols.columns = ADDRESS
    want_keys = dict(zip(truth.index, _address_keys(expected_cols), strict=True))
    for row, got_key in zip(matched.itertuples(index=False), got_keys, strict=True):
        rid = _norm(row.record_id)
        if rid not in truth.index or truth.at[rid, "expected_outcome"] != "matched":
            wrong_person += 1
            wrong_records.append(rid)
            continue
        t = truth.loc[rid]
        same_address = got_key == want_keys[rid]
        same_year = _norm(row.tax_year) == _norm(t["expected_tax_year"])
        if same_address and same_year:
            correct += 1
            correct_ids.add(rid)
        elif same_address or _same_person_other_year(rid, row, t):
            wrong_period += 1
        else:
            wrong_person += 1
            wrong_records.append(rid)

    if decisions is not None and "true_tin" in truth.columns:
        disclosed_tin = {
            _norm(r): str(t)
            for r, o, t in zip(
                decisions["record_id"], decisions["outcome"], decisions["tin"], strict=True
            )
            if o == "matched"
        }
        for rid, tin in disclosed_tin.items():
            if rid in truth.index and rid not in wrong_records:
                if str(truth.at[rid, "true_tin"]) != tin:
                    wrong_person += 1
                    wrong_records.append(rid)
                    if rid in correct_ids:
                        correct -= 1
                        correct_ids.discard(rid)

    misses_reason: Counter[str] = Counter()
    misses_scenario: Counter[str] = Counter()
    mismatch = 0
    rejected_ok = 0
    unmatched_ok = reason_ok = 0
    for rid, exp in expected.items():
        got, reason = outcome.get(str(rid), ("missing", ""))
        if exp == "rejected" and got == "rejected":
            rejected_ok += 1
        if got != exp:
            mismatch += 1
        want = str(truth.at[rid, "expected_reason"]) if "expected_reason" in truth else ""
        if exp == "unmatched" and got == "unmatched" and want:  # blank: more than one fits
            unmatched_ok += 1
            reason_ok += reason == want
        if exp == "matched" and got != "matched":
            misses_reason[reason or got] += 1
            if "scenario" in truth.columns:
                misses_scenario[str(truth.at[rid, "scenario"])] += 1
    phenomena: dict[str, list[int]] = {}
    if "scenario" in truth.columns:
        for rid, scenario in truth.loc[should, "scenario"].items():
            for tag in phenomena_of(str(scenario)):
                counts = phenomena.setdefault(tag, [0, 0])
                counts[0] += 1
                counts[1] += rid in correct_ids
    disclosed = len(matched)
    n_valid = int(valid.sum())
    n_should = int(should.sum())
    return Evaluation(
        rows=len(truth),
        valid_rows=n_valid,
        should_disclose=n_should,
        disclosed=disclosed,
        correct=correct,
        wrong_person=wrong_person,
        wrong_period=wrong_period,
        precision=correct / disclosed if disclosed else 1.0,
        recall=correct / n_should if n_should else 1.0,
        wrong_person_per_10k_valid=10_000 * wrong_person / n_valid if n_valid else 0.0,
        rejected_as_expected=rejected_ok,
        rejected_expected=int((expected == "rejected").sum()),
        outcome_mismatch_rows=mismatch,
        misses_by_reason=dict(misses_reason),
        misses_by_scenario=dict(misses_scenario),
        wrong_person_records=wrong_records,
        unmatched_as_expected=unmatched_ok,
        unmatched_reason_as_expected=reason_ok,
        by_phenomenon=phenomena,
    )


def phenomena_of(scenario: str) -> list[str]:
    """The phenomena of a truth scenario: ``matched:typo+dob_missing`` -> typo, dob_missing;
    a scenario without tags is its own phenomenon."""
    _, _, tags = scenario.partition(":")
    return [t for t in tags.split("+") if t] if tags else [scenario]


def _address_keys(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Addresses compared as addresses: "5356 Allen Ave." and "5356 ALLEN AVE" are the same."""
    clean = frame.map(lambda v: _norm(v) or None)
    feats = address_features(clean)
    cols = ["street_key", "po_box", "unit", "city_std", "state_std", "zip5"]
    return list(feats[cols].itertuples(index=False, name=None))


def _same_person_other_year(rid: str, row: Any, t: pd.Series) -> bool:
    # Without TINs in the outputs, a different year with a different address cannot be told
    # apart from another person: count it as wrong-person (the conservative reading).
    return False
