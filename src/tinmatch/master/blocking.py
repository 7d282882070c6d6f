"""Blocking rules: which (request row, master row) pairs are scored at all.

Recall must survive one wrong field, so each rule keys on a different pair of fields. A person
is missed only when every rule fails: a wrong surname *and* a wrong first name *and* no DOB *and*
no current-or-historical address in common.

Surname + state alone made 95% of all pairs at a million people (a Garcia in California meets
every Garcia in California) and found no row the other rules missed; keyed with the first
initial as well it makes 7 times fewer pairs (bench/blocking.py, docs/benchmarks.md).
"""

from __future__ import annotations

from splink import block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

BLOCKING_RULES: list[tuple[str, list[str]]] = [
    ("surname_initial_state", ["last_name_std", "substr(first_name_std, 1, 1)", "state_std"]),
    ("first_name_zip", ["first_name_std", "zip5"]),
    ("dob_first_name", ["dob", "first_name_std"]),
    ("dob_surname", ["dob", "last_name_std"]),
    ("phonetic_names_state", ["first_name_mp", "last_name_mp", "state_std"]),
    ("street_zip", ["street_key", "zip5"]),
    ("street_city_state", ["street_key", "city_std", "state_std"]),
]


def blocking_rules() -> list[BlockingRuleCreator]:
    rules: list[BlockingRuleCreator] = [block_on(*cols) for _, cols in BLOCKING_RULES]
    # First and last name written in each other's place.
    rules.append(_swapped_names_rule())
    return rules


def _swapped_names_rule() -> BlockingRuleCreator:
    from splink.internals.blocking_rule_library import CustomRule

    return CustomRule(
        "l.first_name_std = r.last_name_std AND l.last_name_std = r.first_name_std",
    )
