"""`tinmatch.evaluate` on a result folder with planted errors: a wrong person, a spouse at the
same address (caught only by TIN), a right address from the wrong year, a miss, and an
unmatched reason that disagrees with the truth. The quality floors of the end-to-end test rest
on these figures being counted right."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from tinmatch.evaluate import evaluate

ELM = ("12 Elm St", "", "Springfield", "IL", "62701")
OAK = ("9 Oak Ave", "Apt 2", "Reno", "NV", "89501")

TRUTH = [
    # record_id, expected_outcome, expected_reason, address, year, true_tin
    ("r1", "matched", "", ELM, "2024", "111111111"),  # correct
    ("r2", "matched", "", ELM, "2024", "222222222"),  # disclosed OAK: wrong person
    ("r3", "matched", "", ELM, "2024", "333333333"),  # spouse: same address, another TIN
    ("r4", "matched", "", ELM, "2024", "444444444"),  # same address, 2023: wrong period
    ("r5", "unmatched", "ambiguous", None, "", ""),  # unmatched ambiguous: as expected
    ("r6", "unmatched", "low_confidence", None, "", ""),  # given ambiguous: disagrees
    ("r7", "matched", "", OAK, "2024", "777777777"),  # missed (low_confidence)
    ("r8", "rejected", "", None, "", ""),
    ("r9", "unmatched", "no_candidate", None, "", ""),  # not in master, disclosed anyway
]
MATCHED = [("r1", ELM, "2024"), ("r2", OAK, "2024"), ("r3", ELM, "2024"), ("r4", ELM, "2023"),
           ("r9", ELM, "2024")]  # fmt: skip
DECISIONS = pd.DataFrame(
    [("r1", "matched", "111111111"), ("r2", "matched", "999999999"),
     ("r3", "matched", "333333334"), ("r4", "matched", "444444444"),
     ("r9", "matched", "555555555"), ("r5", "unmatched", None)],
    columns=["record_id", "outcome", "tin"],
)  # fmt: skip
ADDRESS = ["street", "address_line2", "city", "state", "zip"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, Path]:
    truth = tmp_path / "truth.csv"
    _write(
        truth,
        ["record_id", "expected_outcome", "expected_reason", *(f"expected_{c}" for c in ADDRESS),
         "expected_tax_year", "true_tin"],
        [[rid, out, why, *(addr or ("",) * 5), year, tin]
         for rid, out, why, addr, year, tin in TRUTH],
    )  # fmt: skip
    result = tmp_path / "result"
    result.mkdir()
    _write(result / "matched.csv", ["record_id", *ADDRESS, "tax_year", "match_probability"],
           [[rid, *addr, year, "0.999"] for rid, addr, year in MATCHED])  # fmt: skip
    _write(result / "rejected.csv", ["record_id", "reason_codes", "fields", "message"],
           [["r8", "invalid_value", "zip", "bad zip"]])  # fmt: skip
    _write(result / "unmatched.csv", ["record_id", "reason_code", "message"],
           [["r5", "ambiguous", "two fit"], ["r6", "ambiguous", "two fit"],
            ["r7", "low_confidence", "too weak"]])  # fmt: skip
    return truth, result


def test_planted_wrong_person_spouse_and_wrong_year(folder: tuple[Path, Path]) -> None:
    truth, result = folder
    got = evaluate(truth, result, DECISIONS)
    assert (got.rows, got.valid_rows, got.should_disclose, got.disclosed) == (9, 8, 5, 5)
    assert got.correct == 1  # r1 only: the spouse r3 is not counted correct (ids upper-cased)
    assert got.wrong_person == 3 and sorted(got.wrong_person_records) == ["R2", "R3", "R9"]
    assert got.wrong_period == 1  # r4
    assert got.precision == pytest.approx(1 / 5) and got.recall == pytest.approx(1 / 5)
    assert got.wrong_person_per_10k_valid == pytest.approx(10_000 * 3 / 8)
    assert got.misses_by_reason == {"low_confidence": 1}  # r7
    assert (got.rejected_as_expected, got.rejected_expected) == (1, 1)
    assert (got.unmatched_as_expected, got.unmatched_reason_as_expected) == (2, 1)  # r6 differs
    assert got.outcome_mismatch_rows == 2  # r7 unmatched, r9 matched


def test_without_tins_the_spouse_passes_for_the_right_person(folder: tuple[Path, Path]) -> None:
    truth, result = folder
    got = evaluate(truth, result)
    assert got.correct == 2 and sorted(got.wrong_person_records) == ["R2", "R9"]
    assert got.wrong_period == 1


def test_reasons_file_overrides_the_requesters_not_disclosed(folder: tuple[Path, Path]) -> None:
    truth, result = folder
    _write(result / "unmatched.csv", ["record_id", "reason_code", "message"],
           [[r, "not_disclosed", "-"] for r in ("r5", "r6", "r7")])  # fmt: skip
    from tinmatch.report import REASONS_FILE

    _write(result / REASONS_FILE, ["record_id", "reason_code", "message"],
           [["r5", "ambiguous", ""], ["r6", "ambiguous", ""], ["r7", "low_confidence", ""]])
    got = evaluate(truth, result, DECISIONS)
    assert (got.unmatched_as_expected, got.unmatched_reason_as_expected) == (2, 1)
    assert got.misses_by_reason == {"low_confidence": 1}
