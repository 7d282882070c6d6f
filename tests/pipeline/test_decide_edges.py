"""decide() at the edges of each rule: exact thresholds, ties, what a decision row carries.

Each test here was written for a mutant of ``pipeline/decide.py`` that the branch tests of
``test_decide.py`` let survive (issue 17, docs/testing.md): a ``<`` turned ``<=``, a tie broken
the other way, a message or a runner-up's probability dropped from the row.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from test_decide import RULE, _unrelated, cand, one

from tinmatch.pipeline import decide as decide_module
from tinmatch.pipeline.decide import (
    DECISION_COLUMNS,
    DecisionRule,
    decide,
    name_and_dob_probability,
)
from tinmatch.reasons import NO_CANDIDATE


def _p(row: dict[str, Any], probability: float) -> dict[str, Any]:
    """The row with its probability set exactly (a weight would only come near it)."""
    row["match_probability"] = probability
    return row


def _weights(row: dict[str, Any], **weights: float) -> dict[str, Any]:
    for comp, w in weights.items():
        row[f"mw_{comp}"] = w
    return row


def test_no_candidate_says_why() -> None:
    none_at_all = decide(["q1"], pd.DataFrame([cand("q2", "111111111", 30)]), RULE).iloc[0]
    below_floor = one([cand("q1", "111111111", -8)])
    for row in (none_at_all, below_floor):
        assert row["reason_code"] == "no_candidate"
        assert row["message"] == NO_CANDIDATE.message() != ""


def test_a_candidate_exactly_at_the_floor_is_a_candidate() -> None:
    out = one([_p(cand("q1", "111111111", -6.6), 0.01)])
    assert out["reason_code"] == "low_confidence"
    assert out["tin"] == "111111111"


def test_equal_weights_rank_by_tin_and_are_ambiguous() -> None:
    """A tie is broken the same way on every engine: the lower TIN first."""
    out = one([cand("q1", "222222222", 25), cand("q1", "111111111", 25)])
    assert (out["tin"], out["runner_up_tin"]) == ("111111111", "222222222")
    assert out["reason_code"] == "ambiguous"


def test_the_runner_up_is_reported_with_its_probability() -> None:
    out = one([cand("q1", "111111111", 30), cand("q1", "222222222", 1)])
    assert out["outcome"] == "identified"
    assert out["runner_up_probability"] == pytest.approx(2 / 3)
    assert out["runner_up_weight"] == pytest.approx(1)


def test_a_runner_up_exactly_plausible_makes_it_ambiguous() -> None:
    """Best below the threshold (p 0.97), runner-up at exactly PLAUSIBLE (p 0.5), 5 bits apart."""
    out = one([cand("q1", "111111111", 5), cand("q1", "222222222", 0)])
    assert out["runner_up_probability"] == 0.5
    assert out["reason_code"] == "ambiguous"


def test_a_best_exactly_at_the_threshold_is_checked_for_ambiguity() -> None:
    """p = 0.99 exactly reaches the agreement's threshold: an implausible runner-up within the
    margin then makes it ambiguous."""
    best = _p(cand("q1", "111111111", 6.63), 0.99)
    out = one([best, cand("q1", "222222222", -3)])
    assert out["reason_code"] == "ambiguous"


def test_no_rows_give_the_decision_columns() -> None:
    out = decide([], pd.DataFrame(columns=list(cand("q", "t", 0))), RULE)
    assert list(out.columns) == DECISION_COLUMNS and out.empty


def test_name_and_dob_probability_is_a_probability_however_large_the_weight() -> None:
    assert name_and_dob_probability(61.5) == 1.0
    assert name_and_dob_probability(5000.0) == 1.0  # no overflow
    assert name_and_dob_probability(1.0) == pytest.approx(0.5)


# --- the twins rule: the lead must be on fields both records hold --------------------------


def _twins(shared_gap: float) -> list[dict[str, Any]]:
    """Best and runner-up 20 bits apart overall; the runner-up's names fit better (12 > 10 bits);
    on the fields both hold (names, address) the best leads by `shared_gap`; the rest of its lead
    is a DOB the runner-up's record lacks."""
    best = _weights(
        cand("q1", "111111111", 30, date_of_birth="exact"),
        first_name=5.0, last_name=5.0, date_of_birth=10.0, address=2.0 + shared_gap,
    )  # fmt: skip
    second = _weights(
        cand("q1", "222222222", 10, date_of_birth="null"),
        first_name=6.0, last_name=6.0, address=0.0,
    )  # fmt: skip
    return [best, second]


def test_twins_rule_at_the_margin() -> None:
    assert one(_twins(9.5))["reason_code"] == "ambiguous"
    assert one(_twins(10.0))["outcome"] == "identified"  # exactly the margin: not within it


def test_twins_rule_leaves_out_a_field_the_best_lacks() -> None:
    """The runner-up's DOB agrees but the best's record has none: only the fields both hold are
    compared, and there the best leads by 16 bits (its address)."""
    best = _weights(
        cand("q1", "111111111", 30, date_of_birth="null"),
        first_name=5.0, last_name=5.0, address=18.0,
    )  # fmt: skip
    second = _weights(
        cand("q1", "222222222", 19, date_of_birth="exact", address="city_and_state"),
        first_name=6.0, last_name=6.0, date_of_birth=14.0, address=2.0,
    )  # fmt: skip
    assert one([best, second])["outcome"] == "identified"


# --- the household rule: apart only by how our records write the two ----------------------


def _household(total_gap: float, **second_levels: str) -> list[dict[str, Any]]:
    """Two at the request's street; the best's surname 4.25 bits ahead on its form."""
    best = _weights(cand("q1", "111111111", 40, last_name="exact"), last_name=9.0)
    levels = {"last_name": "compound_part", **second_levels}
    second = _weights(cand("q1", "222222222", 40 - total_gap, **levels), last_name=4.75)
    return [best, second]


def test_household_apart_by_more_than_the_surname_form_is_identified() -> None:
    assert one(_household(12.0))["reason_code"] == "ambiguous"  # 7.75 bits beyond the form
    assert one(_household(16.0))["outcome"] == "identified"  # 11.75 bits beyond it
    assert one(_household(14.25))["outcome"] == "identified"  # exactly the margin beyond it


def test_household_another_surname_is_not_a_form_of_it() -> None:
    """A runner-up whose surname disagrees is apart by a name, not by how it is written."""
    assert one(_household(12.0, last_name="else"))["outcome"] == "identified"


def test_margin_from_the_rule_not_the_default() -> None:
    rows = _household(12.0)
    assert one(rows, DecisionRule(0.99, margin_bits=7.0))["outcome"] == "identified"


# --- the margin itself ---------------------------------------------------------------------


def test_exactly_the_margin_apart_is_not_ambiguous() -> None:
    """1,024 times likelier is enough: the runner-up must be *within* the margin to block."""
    assert one([cand("q1", "111111111", 30), cand("q1", "222222222", 20)])["outcome"] == (
        "identified"
    )
    assert one([cand("q1", "111111111", 30), cand("q1", "222222222", 20.5)])["reason_code"] == (
        "ambiguous"
    )


def test_the_ambiguous_message_says_how_much_likelier_and_what_is_needed() -> None:
    equal = one([cand("q1", "111111111", 20), cand("q1", "222222222", 19.5)])
    assert equal["message"] == (
        "two taxpayers fit this row about equally well (the agreement needs 1,024 times); "
        "nothing is disclosed"
    )
    twice = one([cand("q1", "111111111", 20), cand("q1", "222222222", 19)])  # exactly 1 bit
    assert twice["message"] == (
        "the best candidate is only 2 times likelier than the next (the agreement needs 1,024 "
        "times); nothing is disclosed"
    )
    wider = one([cand("q1", "111111111", 20), cand("q1", "222222222", 18.5)],
                DecisionRule(0.99, margin_bits=12))  # fmt: skip
    assert "only 3 times likelier" in str(wider["message"])
    assert "needs 4,096 times" in str(wider["message"])


def test_a_best_exactly_at_the_threshold_is_disclosed() -> None:
    out = one([_p(cand("q1", "111111111", 6.63), 0.99)])
    assert (out["outcome"], out["reason_code"]) == ("identified", None)


# --- name and date of birth without a street of the candidate's ------------------------------


@pytest.mark.parametrize(
    ("address", "where"),
    [
        ("state", "nowhere the best candidate ever filed from"),
        ("else", "nowhere the best candidate ever filed from"),
        ("city_and_state", "not a street the best candidate filed from"),
        ("zip", "not a street the best candidate filed from"),
    ],
)
def test_the_address_message_says_where_the_request_points(address: str, where: str) -> None:
    out = one([cand("q1", "111111111", 9.7, address=address, date_of_birth="exact")])
    assert out["message"] == (
        f"the request's address is {where}, and name and date of birth alone are not rare "
        f"enough: {name_and_dob_probability(9.7):.4f} once the person may not be in the master "
        "at all (needs 0.998)"
    )


def test_the_compound_surname_message_adds_why() -> None:
    levels = {"address": "zip", "date_of_birth": "exact", "last_name": "compound_part"}
    out = one([cand("q1", "111111111", 30, **levels)], DecisionRule(0.999))
    assert out["message"] == (
        "the request's address is not a street the best candidate filed from, the surname agrees "
        "only as one part of a compound one (whose frequency is not weighed), and name and date "
        "of birth alone are not rare enough: 1.0000 once the person may not be in the master at "
        "all (needs 0.999)"
    )


def test_the_nickname_message_adds_why_after_where_the_request_points() -> None:
    """A first name agreeing only as a nickname, no street: the official reads where the
    request's address points and then why name and DOB cannot decide (nickname and compound
    surname both said when both hold)."""
    levels = {"address": "state", "date_of_birth": "exact", "first_name": "nickname"}
    out = one([cand("q1", "111111111", 30, **levels)])
    assert out["message"] == (
        "the request's address is nowhere the best candidate ever filed from, the first name "
        "agrees only as a nickname (whose frequency is not weighed), and name and date of birth "
        "alone are not rare enough: 1.0000 once the person may not be in the master at all "
        "(needs 0.998)"
    )
    both = one([cand("q1", "111111111", 30, **levels, last_name="compound_part")])
    assert str(both["message"]).startswith(
        "the request's address is nowhere the best candidate ever filed from, the surname agrees "
        "only as one part of a compound one (whose frequency is not weighed), the first name "
        "agrees only as a nickname (whose frequency is not weighed), and name"
    )


def test_name_and_dob_exactly_rare_enough_is_identified() -> None:
    """The agreement's threshold set to exactly the candidate's name-and-DOB probability."""
    rule = DecisionRule(min_probability=name_and_dob_probability(12.0))
    out = one([cand("q1", "111111111", 12.0, address="zip", date_of_birth="exact")], rule)
    assert (out["outcome"], out["reason_code"]) == ("identified", None)


# --- the first-name rule: a runner-up passed over only on the fields both records hold --------


def _tracy_and_twin(shared: float, **twin_levels: str) -> list[dict[str, Any]]:
    """Tracy (no DOB on record) and her twin (DOB agrees) 1.7 bits apart overall; the twin's first
    name agrees in no form, and on the fields both hold Tracy leads by `shared` bits (first name;
    surname and address weigh the same for both)."""
    tracy = _weights(
        cand("q1", "111111111", 28.8), first_name=shared - 7.0, last_name=10.0, address=3.0
    )
    twin = _weights(
        cand("q1", "222222222", 27.1, first_name="else", date_of_birth="exact", **twin_levels),
        first_name=-7.0, last_name=10.0, date_of_birth=13.9,
        address=0.0 if "address" in twin_levels else 3.0,
    )  # fmt: skip
    return [tracy, twin]


def test_the_first_name_rule_at_the_margin() -> None:
    assert one(_tracy_and_twin(10.0))["outcome"] == "identified"  # exactly the margin
    assert one(_tracy_and_twin(9.5))["reason_code"] == "ambiguous"


def test_the_first_name_rule_leaves_out_a_field_the_runner_up_lacks() -> None:
    """Tracy's address agrees (3 bits) and the twin's record has none: that is no lead on a field
    both hold, so 9.5 bits stay within the margin."""
    assert one(_tracy_and_twin(9.5, address="null"))["reason_code"] == "ambiguous"


def test_a_runner_up_whose_names_are_swapped_is_not_passed_over() -> None:
    """The twin's record has the request's first name as its surname: that agrees (a swap), so
    the twin may be meant, however far Tracy leads on the first name."""
    assert one(_tracy_and_twin(15.6, last_name="swapped_with_first"))["reason_code"] == "ambiguous"


def test_an_unrelated_first_name_exactly_at_its_floor_is_identified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decide_module, "UNRELATED_FIRST_MIN_PROBABILITY",
                        name_and_dob_probability(12.0))  # fmt: skip
    assert one([_unrelated(weight=12.0)])["outcome"] == "identified"
    assert one([_unrelated(weight=11.9)])["outcome"] == "unmatched"
