"""Blocking rules: which (request row, master row) pairs are scored at all.

Recall must survive one wrong field, so each rule keys on a different pair of fields. A person
is missed only when every rule fails: a wrong surname *and* a wrong first name *and* no DOB *and*
no current-or-historical address in common.

Surname + state alone made 95% of all pairs at a million people (a Garcia in California meets
every Garcia in California) and found no row the other rules missed; keyed with the first
initial as well it still made 45% of the pairs at 1M and most of them at 10M (an M. Garcia in
California meets every Maria, Miguel and Manuel). The name rules are now surname + first name +
state, and surname + first initial + *city* or *ZIP*. A row is disclosed only when an address of
the person's (street rules) or the date of birth (DOB rules) corroborates it, and those rules find
such a row whatever its first name; the name rules are there to find the *competitors* the
ambiguity margin needs: household members share the address, and a namesake whose first name
the request has misspelt or shortened lives, when it matters, in the same city or ZIP (a namesake
across the state with only the surname and an initial in common is 15 bits behind a filed
address). At 1M people this finds every runner-up the state-wide rule found within the margin.

Two rules were cut down for 10M people, where they made most of the pairs (189 per request row,
~6 CPU-us each to block and score): first name + ZIP also needs the surname's first letter (77
-> 6 pairs per row: every Maria in a ZIP), and swapped names need the same state, or no state on
one side (39 -> 3: every "James Thomas" of the country met every "Thomas James"; a runner-up
with no address at all must still be found, because the decision rule treats a runner-up that
lacks the field the best candidate leads on as unsettled). At 1M people, on two data sets, no
row changed from not disclosed to disclosed or back, and none changed its disclosed TIN: only
rows that were not disclosed anyway lost hopeless candidates. Phonetic names stay state-wide (a
city-wide version lost runners-up within the margin: a sound-alike namesake with the same middle
name elsewhere in the state, which turned an `ambiguous` row into a disclosure on each set) but
pair only surnames spelt differently (`RULE_FILTERS`): 56 -> 15 pairs per row, same decisions.
All rules: 189 -> 67 distinct pairs per request row at 10M people (bench/blocking.py).
"""

from __future__ import annotations

from splink import block_on
from splink.blocking_rule_library import CustomRule

from tinmatch.master.splink_adapter import BlockingRuleCreator

BLOCKING_RULES: list[tuple[str, list[str]]] = [
    ("surname_first_name_state", ["last_name_std", "first_name_std", "state_std"]),
    (
        "surname_initial_city",
        ["last_name_std", "substr(first_name_std, 1, 1)", "city_std", "state_std"],
    ),
    ("surname_initial_zip", ["last_name_std", "substr(first_name_std, 1, 1)", "zip5"]),
    ("first_name_zip", ["first_name_std", "zip5", "substr(last_name_std, 1, 1)"]),
    ("dob_first_name", ["dob", "first_name_std"]),
    ("dob_surname", ["dob", "last_name_std"]),
    ("dob_zip", ["dob", "zip5"]),
    ("phonetic_names_state", ["first_name_mp", "last_name_mp", "state_std"]),
    ("street_zip", ["street_key", "zip5"]),
    ("street_city_state", ["street_key", "city_std", "state_std"]),
]


# Pairs a rule must not make although their keys agree. Phonetic names: only surnames spelt
# differently (a surname spelt alike is the surname rules' business; state-wide it made a third of
# all pairs at 10M people: every Garcia whose first name sounds like Maria's).
RULE_FILTERS: dict[str, str] = {"phonetic_names_state": "l.last_name_std <> r.last_name_std"}


# First and last name written in each other's place, in the same state or with no state on one
# side. Like every rule here it reads the same with l and r exchanged.
SWAPPED_NAMES_SQL = (
    "l.first_name_std = r.last_name_std AND l.last_name_std = r.first_name_std "
    "AND (l.state_std = r.state_std OR l.state_std IS NULL OR r.state_std IS NULL)"
)


def blocking_rules() -> list[BlockingRuleCreator]:
    rules: list[BlockingRuleCreator] = [
        CustomRule(rule_sql(name, cols)) if name in RULE_FILTERS else block_on(*cols)
        for name, cols in BLOCKING_RULES
    ]
    rules.append(CustomRule(SWAPPED_NAMES_SQL))
    return rules


def rule_sql(name: str, cols: list[str]) -> str:
    """The condition of rule `name` on its columns `cols` (l: one side, r: the other)."""
    equal = " AND ".join(f"{side_sql(c, 'l')} = {side_sql(c, 'r')}" for c in cols)
    return f"{equal} AND {RULE_FILTERS[name]}" if name in RULE_FILTERS else equal


def side_sql(col: str, side: str) -> str:
    """A rule column of one side: ``zip5`` -> ``l.zip5``, ``substr(x, 1, 1)`` -> ``substr(l.x,
    1, 1)``."""
    if "(" not in col:
        return f"{side}.{col}"
    head, _, rest = col.partition("(")
    return f"{head}({side}.{rest}"


# The swapped rule as key tuples: (request side, master side).
SWAPPED_KEYS = (["first_name_std", "last_name_std"], ["last_name_std", "first_name_std"])


# A key is the rule's number in its top bits and 60 bits of the hash of the rule's values, so the
# keys of one rule are one contiguous range: the loader sorts each rule's keys on their own and
# appends them in rule order, and the table is sorted all the same.
RULE_SHIFT = 60


def key_exprs(side: str) -> list[tuple[str, str]]:
    """Per blocking rule (and the swapped-names rule last): (condition that the row has all of
    the rule's values, its 64-bit key). `side` is "request" or "master" (they differ only for
    the swapped-names rule)."""
    rules = [(cols, cols) for _, cols in BLOCKING_RULES] + [SWAPPED_KEYS]
    assert len(rules) <= 1 << (64 - RULE_SHIFT)
    out = []
    for number, (request_cols, master_cols) in enumerate(rules):
        cols = request_cols if side == "request" else master_cols
        not_null = " AND ".join(f"({c}) IS NOT NULL" for c in cols)
        key = f"(({number})::UBIGINT << {RULE_SHIFT}) | (hash({number}, {', '.join(cols)}) >> 4)"
        out.append((not_null, key))
    return out


def key_sql(table: str, side: str) -> str:
    """SELECT of (k, unique_id): one 64-bit key per blocking rule a row can meet.

    Two rows can be paired by a rule only if their keys for it are equal, so looking keys up in
    the master's sorted ``block_keys`` table finds a superset of the rows Splink's blocking would
    pair with a small request (a hash collision only adds a row that Splink then does not pair).
    """
    return "\nUNION ALL\n".join(
        f"SELECT {key} AS k, unique_id FROM {table} WHERE {not_null}"
        for not_null, key in key_exprs(side)
    )


# A master link row's ``unique_id`` is "m" and a number.
def unique_id_sql(number_sql: str) -> str:
    """The link row ``unique_id`` of the number `number_sql`."""
    return f"'m' || CAST({number_sql} AS VARCHAR)"
