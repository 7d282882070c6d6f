"""Minimum disclosure about the undisclosed: the requester learns only `not_disclosed`, unless
the agreement says otherwise; the detailed reasons stay with the reviewers and `evaluate`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tinmatch.agreement import Agreement
from tinmatch.evaluate import evaluate
from tinmatch.loosening import loosenings
from tinmatch.report import (
    NOT_DISCLOSED,
    REASONS_FILE,
    REASONS_SHOWN_KEY,
    for_requester,
    requester_counts,
)

DEFAULT_TOML = (
    Path(__file__).resolve().parents[2] / "src" / "tinmatch" / "data" / "default_agreement.toml"
)


def agreement_with_reasons(tmp_path: Path) -> Agreement:
    text = DEFAULT_TOML.read_text(encoding="utf-8")
    assert "[disclosure]\n" in text
    text = text.replace("[disclosure]\n", "[disclosure]\nunmatched_reasons = true\n")
    path = tmp_path / "reasons.toml"
    path.write_text(text, encoding="utf-8")
    return Agreement.load(path)


def test_the_default_keeps_the_reasons_and_an_agreement_may_show_them(tmp_path: Path) -> None:
    default = Agreement.load()
    assert default.disclosure.unmatched_reasons is False
    showing = agreement_with_reasons(tmp_path)
    assert showing.disclosure.unmatched_reasons is True
    assert any("unmatched_reasons" in line for line in loosenings(showing, default))
    assert not any("unmatched_reasons" in line for line in loosenings(default, showing))


def test_for_requester() -> None:
    why = "the person was identified but appears on no return for 2021"
    assert for_requester("no_return_in_period", why, reasons_shown=False) == (
        NOT_DISCLOSED, "nothing is disclosed for this row",
    )
    assert for_requester("no_return_in_period", why, reasons_shown=True) == (
        "no_return_in_period", why,
    )


def test_requester_counts_fold_every_unmatched_reason() -> None:
    counts = {
        "received": 10, "rejected": 2, "matched": 3, "unmatched": 5,
        "reason.invalid_value": 2, "reason.ambiguous": 1, "reason.no_return_in_period": 2,
        "reason.withheld_by_reviewer": 1, "reason.previously_recalled": 1,
        REASONS_SHOWN_KEY: 0,
    }
    seen = requester_counts(counts)
    assert seen == {
        "received": 10, "rejected": 2, "matched": 3, "unmatched": 5,
        "reason.invalid_value": 2, "reason.not_disclosed": 5,
    }
    shown = requester_counts({**counts, REASONS_SHOWN_KEY: 1})
    assert REASONS_SHOWN_KEY not in shown and shown["reason.ambiguous"] == 1
    assert "reason.not_disclosed" not in shown
    # a record from before the key existed: the reasons are kept from the requester
    assert requester_counts({"reason.ambiguous": 1}) == {"reason.not_disclosed": 1}


def _results(tmp_path: Path) -> Path:
    out = tmp_path / "result"
    out.mkdir()
    pd.DataFrame(columns=["record_id", "street", "address_line2", "city", "state", "zip",
                          "tax_year", "match_probability"]).to_csv(out / "matched.csv",
                                                                   index=False)
    pd.DataFrame(
        {"record_id": ["R4"], "reason_codes": ["invalid_value"], "fields": ["street"],
         "message": ["street 'NA' is not an address."]}
    ).to_csv(out / "rejected.csv", index=False)
    pd.DataFrame(
        {"record_id": ["R1", "R2", "R3"], "reason_code": [NOT_DISCLOSED] * 3,
         "message": ["nothing is disclosed for this row"] * 3}
    ).to_csv(out / "unmatched.csv", index=False)
    return out


def _truth(tmp_path: Path) -> Path:
    path = tmp_path / "truth.csv"
    columns = ["street", "address_line2", "city", "state", "zip", "tax_year"]
    frame = pd.DataFrame({
        "record_id": ["R1", "R2", "R3", "R4"],
        "expected_outcome": ["unmatched", "unmatched", "matched", "rejected"],
        "expected_reason": ["ambiguous", "no_candidate", "", "invalid_value"],
        **{f"expected_{c}": [""] * 4 for c in columns},
    })
    frame.to_csv(path, index=False)
    return path


def test_evaluate_reads_the_detailed_reasons_from_the_reviewers_file(tmp_path: Path) -> None:
    out = _results(tmp_path)
    truth = _truth(tmp_path)
    without = evaluate(truth, out)  # only the requester's copy: nothing to compare reasons with
    assert without.misses_by_reason == {NOT_DISCLOSED: 1}
    assert (without.unmatched_as_expected, without.unmatched_reason_as_expected) == (2, 0)

    pd.DataFrame(
        {"record_id": ["R1", "R2", "R3"],
         "reason_code": ["ambiguous", "low_confidence", "low_confidence"],
         "message": ["two fit", "below", "below"]}
    ).to_csv(out / REASONS_FILE, index=False)
    found = evaluate(truth, out)
    assert found.misses_by_reason == {"low_confidence": 1}
    assert (found.unmatched_as_expected, found.unmatched_reason_as_expected) == (2, 1)
    assert "unmatched reasons as expected 1 of 2" in found.lines()
