"""Decide: one taxpayer, certainly and uniquely, or nothing.

For each valid request row, its candidates (taxpayers with a scored pair) are ranked by match
weight. The rule, in order (see docs/matching.md for the reasoning):

1. ``no_candidate`` when no taxpayer reaches a probability of ``CANDIDATE_FLOOR``;
2. ``ambiguous`` when the runner-up is within ``margin_bits`` of the best (the best is then less
   than 2^margin times likelier: both plausibly fit), and either the best reaches the agreement's
   threshold or the runner-up on its own reaches ``PLAUSIBLE``. Pairwise probabilities are not
   exclusive (a spouse at the same address can score 0.9 on its own while the right person is
   2^17 times likelier), so it is the *relative* odds that decide ambiguity. Also ``ambiguous``
   when the runner-up's names fit better and the best leads by the margin only thanks to a field
   the runner-up's record lacks (a twin whose DOB the master does not hold); and when the
   runner-up lives at the request's address, fits the request, and the best leads only through
   how our records write the two (surname form, a DOB one record lacks). A runner-up the
   request rules out (a generational suffix conflicting where the best's agrees;
   a first name agreeing in no form where the best's does, within the margin only on a field the
   best's record lacks) is passed over for the runner-up after it;
3. ``low_confidence`` when the best is below the agreement's minimum match probability, or its
   middle name, generational suffix or date of birth (another year) conflicts with the request,
   or its first name does not agree in any recognised form (``FIRST_NAME_AGREES``: exact,
   nickname, typo, one or two edits, a nickname with a typo, the middle name used as first --
   exactly, not with a typo -- or swapped with the surname: a spouse sharing surname and
   address is not the person sought) -- unless surname (in either name column), exact DOB and a
   street of its own agree and nobody else at that street could be meant
   (``_unrelated_first_name_disclosable``) --,
   or only its name agrees (neither an address of its return history nor the date of birth
   corroborates it), or no street of its history agrees and name and DOB are not rare enough
   once the person may not be in the master at all (``name_and_dob_probability``), or its first
   name agrees only through a typo and no address corroborates it;
4. otherwise the best candidate is *identified*.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tinmatch.master.comparisons import (
    ADDRESS_ELSEWHERE,
    COMPARISONS,
    CONFLICT_LEVELS,
    CORROBORATING_LEVELS,
    FIRST_NAME_AGREES,
    WEAK_FIRST_NAME,
    gamma_label,
    level_labels,
)
from tinmatch.reasons import AMBIGUOUS, LOW_CONFIDENCE, NO_CANDIDATE

CANDIDATE_FLOOR = 0.01
# Name and date of birth without an address of the person's (docs/matching.md, section 5): the
# pairwise probability assumes the person sought is one of the master's N people (prior 1 / N,
# with term frequencies for the names). A request whose address is not one the candidate filed
# from is as often for someone who never filed at all: the stated prior that such a person is
# not in the master is NOT_IN_MASTER_PRIOR, and what remains must reach
# NAME_DOB_MIN_PROBABILITY (or the agreement's threshold, if higher).
NOT_IN_MASTER_PRIOR = 0.5
NAME_DOB_MIN_PROBABILITY = 0.998
# Name + DOB without a street needs the first name weighed by its frequency: a nickname level is
# weighed flat (a not-in-master Lisa McDonald matched an Alicia McDonald born the same day in her
# city at 10M people). False only to measure its cost.
NAME_DOB_NO_NICKNAME = True
# The household rule of issue 16 (docs/matching.md, section 5); False only to measure its cost.
HOUSEHOLD_RULE = True
# A first name agreeing in no recognised form (FEBRL4's unrelated given names, hypocorisms no table
# knows) is disclosable only when surname, exact DOB and a street of the person's agree, nobody
# else at that street could be meant, and the odds after the not-in-master prior reach
# UNRELATED_FIRST_MIN_PROBABILITY (docs/matching.md, section 5). False only to measure its effect.
UNRELATED_FIRST_RULE = True
UNRELATED_FIRST_MIN_PROBABILITY = 0.998
UNRELATED_FIRST_SURNAMES: frozenset[str] = frozenset({"exact", "jaro_winkler_0.92", "one_edit"})
# A runner-up the request itself rules out is passed over for the margin: its generational suffix
# conflicts with the request's while the best's agrees (Jr against Sr); or the request's first
# name agrees with the best's and in no form with its own, and it comes within the margin only
# on a field the best's record lacks. False only to measure their effect.
SUFFIX_RULES_OUT = True
FIRST_NAME_RULES_OUT = True
# A request whose first and last names are one name is not identified by it
# (``_one_name_counted_twice``). False only to measure its cost.
ONE_NAME_TWICE = True
#: A first-name lead that is only a typo (two edits, or a nickname with a typo: *Mamie* as a typo
#: of *Jamie* put James Benson ahead of his housemate Mariah at 10M people) does not count against
#: a housemate (the request's address is both candidates'): ``_leads_by_a_typo_over_a_housemate``.
TYPO_LEAD_RULE = True
TYPO_LEAD_LEVELS: frozenset[str] = frozenset({"two_edits", "nickname_typo"})
PLAUSIBLE = 0.5
DEFAULT_MARGIN_BITS = 10.0  # the best must be at least 1,024 times likelier than the runner-up


@dataclass(frozen=True)
class DecisionRule:
    min_probability: float
    margin_bits: float = DEFAULT_MARGIN_BITS
    plausible: float = PLAUSIBLE
    candidate_floor: float = CANDIDATE_FLOOR


DECISION_COLUMNS = [
    "qid",
    "outcome",
    "reason_code",
    "message",
    "tin",
    "match_probability",
    "match_weight",
    "runner_up_tin",
    "runner_up_probability",
    "runner_up_weight",
    "n_candidates",
]


@functools.lru_cache(maxsize=None)
def _label(name: str, gamma: int) -> str:
    """gamma_label, remembered: decide reads a few levels of every row's best candidates."""
    return gamma_label(name, gamma)


def levels_of(row: pd.Series | dict[str, Any]) -> dict[str, str]:
    return {name: _label(name, int(row[f"gamma_{name}"])) for name in COMPARISONS}


def _corroborated(levels: dict[str, str]) -> bool:
    return any(levels[comp] in ok for comp, ok in CORROBORATING_LEVELS.items())


def _address_corroborates(levels: dict[str, str]) -> bool:
    return levels["address"] in CORROBORATING_LEVELS["address"]


def _leads_only_where_runner_up_is_unknown(
    best: dict[str, Any], second: dict[str, Any], margin_bits: float
) -> bool:
    """The runner-up's names fit the request better, and on the fields both records have, the best
    is not ahead by the margin: its lead comes from a field the runner-up's record lacks.

    Twins Teresa Andrea and Andrea Herrera at one address, the master without Andrea's DOB: a
    request for "Herrra, Andrea" with the twins' DOB names Andrea (given name in the surname
    column) but scores Teresa higher (her middle name, plus a DOB that could not be checked
    against Andrea's record).
    """
    names = ("first_name", "last_name", "middle_name")
    if sum(float(second[f"mw_{n}"]) for n in names) <= sum(float(best[f"mw_{n}"]) for n in names):
        return False
    gap = 0.0
    for comp in COMPARISONS:
        if int(best[f"gamma_{comp}"]) != -1 and int(second[f"gamma_{comp}"]) != -1:
            gap += float(best[f"mw_{comp}"]) - float(second[f"mw_{comp}"])
    return gap < margin_bits


def name_and_dob_probability(match_weight: float) -> float:
    """The candidate's probability once the person sought may not be in the master at all:
    odds 2^weight times (1 - NOT_IN_MASTER_PRIOR)."""
    log_odds = match_weight + math.log2(1 - NOT_IN_MASTER_PRIOR)
    if log_odds > 60:
        return 1.0
    odds = 2.0**log_odds
    return odds / (1 + odds)


# Surname levels that are one surname written another way (compound or single, a typo, a
# particle): between two members of one household they say how our records spell each of them,
# not which of them the request means.
SURNAME_FORMS: frozenset[str] = frozenset(
    {"exact", "jaro_winkler_0.92", "one_edit", "compound_part", "phonetic"}
)


def _apart_only_by_representation(
    best: dict[str, Any], second: dict[str, Any], margin_bits: float
) -> bool:
    """The runner-up lives at the request's address too, fits the request (first name agrees, no
    conflicting DOB, suffix or middle name), and the best leads by the margin only through how
    our records write the two: the surname's form (compound against single, a particle, a typo)
    or a date of birth one of the records lacks.

    Father and son at one address, no suffix and no DOB in the request: the father's identity
    record had "Fernandez Lopez", the son's "Fernandez"; a request for "Fernandez" put the son
    ahead by the surname's term frequency alone. Twins, one without a DOB on record: the other
    led by the DOB the request shares with both.
    """
    lb, ls = levels_of(best), levels_of(second)
    if not _both_at_the_street(lb, ls):
        return False
    if _conflicts(ls) or not _first_name_agrees(ls):
        return False
    representation = []
    if lb["last_name"] in SURNAME_FORMS and ls["last_name"] in SURNAME_FORMS:
        representation.append("last_name")
    if -1 in (int(best["gamma_date_of_birth"]), int(second["gamma_date_of_birth"])):
        representation.append("date_of_birth")
    return _gap_without(best, second, representation) < margin_bits


def _both_at_the_street(lb: dict[str, str], ls: dict[str, str]) -> bool:
    """Both candidates' address levels say they filed from the request's street."""
    street = CORROBORATING_LEVELS["address"]
    return lb["address"] in street and ls["address"] in street


def _gap_without(best: dict[str, Any], second: dict[str, Any], comparisons: list[str]) -> float:
    """The best's lead in bits, leaving out what `comparisons` contribute to it."""
    gap = float(best["match_weight"]) - float(second["match_weight"])
    for comp in comparisons:
        gap -= float(best[f"mw_{comp}"]) - float(second[f"mw_{comp}"])
    return gap


def _leads_by_a_typo_over_a_housemate(
    best: dict[str, Any], second: dict[str, Any], margin_bits: float
) -> bool:
    """Both live at the request's address, the best's first name agrees only two edits away,
    and without the first name the best would not lead by the margin.

    Two typos in a first name are weak evidence against a housemate: *Ya-Ting Chao Tsai*, sought
    as *Chso Tsai* (her middle name as first, mistyped, no DOB), was disclosed as her husband
    *Chia-Hao Tsai*, whose *Chia* is two edits from *Chso*, by 10.1 bits.
    """
    lb, ls = levels_of(best), levels_of(second)
    if not _both_at_the_street(lb, ls) or lb["first_name"] not in TYPO_LEAD_LEVELS:
        return False
    return _gap_without(best, second, ["first_name"]) < margin_bits


def _one_name_counted_twice(levels: dict[str, str]) -> bool:
    """The request's first and last names are one name, agreeing with one of the candidate's
    names twice: as first name and again as the swapped surname. "James James" scored James
    Thompson's first name exact and his surname "swapped" (a not-in-master namesake disclosed at
    10M people); "Sosa Sosa" gives no given name at all. The candidate's other name was never
    checked."""
    return (levels["first_name"] == "exact" and levels["last_name"] == "swapped_with_first") or (
        levels["first_name"] == "swapped_with_surname" and levels["last_name"] == "exact"
    )


def _first_name_agrees(levels: dict[str, str]) -> bool:
    return any(levels[comp] in ok for comp, ok in FIRST_NAME_AGREES.items())


def _conflicts(levels: dict[str, str]) -> list[str]:
    return [comp for comp, bad in CONFLICT_LEVELS.items() if levels[comp] in bad]


def decide(qids: list[str], candidates: pd.DataFrame, rule: DecisionRule) -> pd.DataFrame:
    """One decision row per qid (in the order given)."""
    ranked = candidates.sort_values(["qid", "match_weight", "tin"], ascending=[True, False, True])
    top: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {
        k: int(v) for k, v in ranked["qid"].value_counts(sort=False).items()
    }
    # Only the best three of each row are read: no dict for every other candidate.
    first_three = ranked.groupby("qid", sort=False).cumcount().to_numpy() < 3
    for cand in ranked[first_three].to_dict("records"):
        top.setdefault(cand["qid"], []).append(cand)
    at_street = _could_be_meant_at_street(ranked)
    rows = [
        _decide_one(qid, top.get(qid, []), counts.get(qid, 0), rule, at_street.get(qid, 0))
        for qid in qids
    ]
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def _gammas(name: str, labels: frozenset[str]) -> list[int]:
    """The comparison vector values of the named levels."""
    return [g for g in range(-1, len(level_labels(name)) - 1) if gamma_label(name, g) in labels]


def _could_be_meant_at_street(ranked: pd.DataFrame) -> dict[str, int]:
    """Per row: candidates at a street of the request whose date of birth does not conflict
    with the request's (a household member the row could mean)."""
    street = ranked["gamma_address"].isin(_gammas("address", CORROBORATING_LEVELS["address"]))
    no_conflict = ~ranked["gamma_date_of_birth"].isin(
        _gammas("date_of_birth", CONFLICT_LEVELS["date_of_birth"])
    )
    flagged = ranked.loc[street & no_conflict, "qid"]
    return {str(k): int(v) for k, v in flagged.value_counts(sort=False).items()}


def _unrelated_first_name_disclosable(
    best: dict[str, Any], levels: dict[str, str], at_street: int
) -> bool:
    """A first name agreeing in no recognised form, yet the rest names the person: the surname
    agrees (in its column, or written in the first-name column: FEBRL4's swapped and corrupted
    names), the date of birth is exact, a street of the person's agrees, nobody else at that
    street could be meant, and the odds hold once the person may not be in the master."""
    surname_agrees = levels["last_name"] in UNRELATED_FIRST_SURNAMES
    if not (surname_agrees or levels["first_name"] == "swapped_with_surname"):
        return False
    if levels["date_of_birth"] != "exact" or not _address_corroborates(levels):
        return False
    if at_street > 1:
        return False
    p = name_and_dob_probability(float(best["match_weight"]))
    return p >= UNRELATED_FIRST_MIN_PROBABILITY


def _suffix_rules_out(best: dict[str, Any], other: dict[str, Any]) -> bool:
    """The request's generational suffix agrees exactly with the best's and conflicts with the
    other's (Jr against Sr): the other is not the person the row names."""
    return (
        SUFFIX_RULES_OUT
        and _label("suffix", int(best["gamma_suffix"])) == "exact"
        and _label("suffix", int(other["gamma_suffix"])) in CONFLICT_LEVELS["suffix"]
    )


def _first_name_rules_out(best: dict[str, Any], other: dict[str, Any], margin_bits: float) -> bool:
    """The request's first name agrees with the best's (not only through a typo) and in no
    recognised form with the other's, and on the fields both records hold the best leads by the
    margin: the other's lead comes only from a field the best's record lacks (its DOB)."""
    if not FIRST_NAME_RULES_OUT or _label("first_name", int(other["gamma_first_name"])) in (
        FIRST_NAME_AGREES["first_name"]
    ):
        return False
    lb, lo = levels_of(best), levels_of(other)
    if not _first_name_agrees(lb) or lb["first_name"] in WEAK_FIRST_NAME:
        return False
    if _first_name_agrees(lo):
        return False
    gap = 0.0
    for comp in COMPARISONS:
        if int(best[f"gamma_{comp}"]) != -1 and int(other[f"gamma_{comp}"]) != -1:
            gap += float(best[f"mw_{comp}"]) - float(other[f"mw_{comp}"])
    return gap >= margin_bits


def _ruled_out(best: dict[str, Any], other: dict[str, Any], margin_bits: float) -> bool:
    return _suffix_rules_out(best, other) or _first_name_rules_out(best, other, margin_bits)


def _runner_up(
    best: dict[str, Any], rest: list[dict[str, Any]], margin_bits: float
) -> dict[str, Any] | None:
    """The next candidate the row could mean: one ruled out by its suffix or first name is
    passed over (once)."""
    if not rest:
        return None
    if _ruled_out(best, rest[0], margin_bits):
        return rest[1] if len(rest) > 1 else None
    return rest[0]


def _decide_one(
    qid: str,
    top: list[dict[str, Any]],
    n_candidates: int,
    rule: DecisionRule,
    at_street: int = 0,
) -> dict[str, object]:
    out: dict[str, object] = {c: None for c in DECISION_COLUMNS}
    out["qid"] = qid
    out["n_candidates"] = n_candidates

    def unmatched(reason: str, message: str) -> dict[str, object]:
        out.update(outcome="unmatched", reason_code=reason, message=message)
        return out

    if not top:
        return unmatched(NO_CANDIDATE.code, NO_CANDIDATE.message())
    if len(top) > 1 and _first_name_rules_out(top[1], top[0], rule.margin_bits):
        # The best scores higher only on a field the next one's record lacks, and the request's
        # first name names the next one: decide on the next one.
        top = [top[1], top[0], *top[2:]]
    best = top[0]
    p_best = float(best["match_probability"])
    if p_best < rule.candidate_floor:
        return unmatched(NO_CANDIDATE.code, NO_CANDIDATE.message())
    out.update(tin=best["tin"], match_probability=p_best, match_weight=float(best["match_weight"]))
    second = _runner_up(best, top[1:], rule.margin_bits)
    # Reported: the runner-up the margin is measured against, else the one passed over.
    shown = second if second is not None else (top[1] if len(top) > 1 else None)
    if shown is not None:
        out.update(
            runner_up_tin=shown["tin"],
            runner_up_probability=float(shown["match_probability"]),
            runner_up_weight=float(shown["match_weight"]),
        )
    p_second = 0.0 if second is None else float(second["match_probability"])
    runner_up_plausible = p_second >= rule.plausible
    if second is not None and (runner_up_plausible or p_best >= rule.min_probability):
        gap = float(best["match_weight"]) - float(second["match_weight"])
        if gap < rule.margin_bits:
            needed = 2**rule.margin_bits
            if gap < 1:
                return unmatched(AMBIGUOUS.code, AMBIGUOUS.message("equally", needed=needed))
            return unmatched(
                AMBIGUOUS.code, AMBIGUOUS.message("likelier", times=2**gap, needed=needed)
            )
        if _leads_only_where_runner_up_is_unknown(best, second, rule.margin_bits):
            return unmatched(AMBIGUOUS.code, AMBIGUOUS.message("runner_up_names"))
        if HOUSEHOLD_RULE and _apart_only_by_representation(best, second, rule.margin_bits):
            return unmatched(AMBIGUOUS.code, AMBIGUOUS.message("household"))
        if TYPO_LEAD_RULE and _leads_by_a_typo_over_a_housemate(best, second, rule.margin_bits):
            return unmatched(AMBIGUOUS.code, AMBIGUOUS.message("first_name_typo"))
    if p_best < rule.min_probability:
        return unmatched(
            LOW_CONFIDENCE.code,
            LOW_CONFIDENCE.message(
                "below_minimum", probability=p_best, minimum=rule.min_probability
            ),
        )
    levels = levels_of(best)
    if ONE_NAME_TWICE and _one_name_counted_twice(levels):
        return unmatched(LOW_CONFIDENCE.code, LOW_CONFIDENCE.message("one_name"))
    conflicts = _conflicts(levels)
    if conflicts:
        what = " and ".join(c.replace("_", " ") for c in conflicts)
        return unmatched(LOW_CONFIDENCE.code, LOW_CONFIDENCE.message("conflict", what=what))
    if not _first_name_agrees(levels) and not (
        UNRELATED_FIRST_RULE and _unrelated_first_name_disclosable(best, levels, at_street)
    ):
        return unmatched(LOW_CONFIDENCE.code, LOW_CONFIDENCE.message("first_name"))
    if not _corroborated(levels):
        return unmatched(LOW_CONFIDENCE.code, LOW_CONFIDENCE.message("name_only"))
    if not _address_corroborates(levels):
        p_named = name_and_dob_probability(float(best["match_weight"]))
        # One part of a compound surname is weighed flat, not by how common the part is (a
        # shared "Rodriguez" of "Gaitan Rodriguez" counted as much as a rare part): on the 1M
        # tuning set, a not-in-master Maria Gaitan Rodriguez matched a Maria Rodriguez born the
        # same day in her city this way. Name + DOB alone needs the surname weighed by frequency.
        compound_only = levels["last_name"] == "compound_part"
        nickname_only = NAME_DOB_NO_NICKNAME and levels["first_name"] == "nickname"
        needed = max(rule.min_probability, NAME_DOB_MIN_PROBABILITY)
        if compound_only or nickname_only or p_named < needed:
            where = (
                "nowhere the best candidate ever filed from"
                if levels["address"] in ADDRESS_ELSEWHERE
                else "not a street the best candidate filed from"
            )
            if compound_only:
                where += (
                    ", the surname agrees only as one part of a compound one (whose frequency "
                    "is not weighed)"
                )
            if nickname_only:
                where += (
                    ", the first name agrees only as a nickname (whose frequency is not weighed)"
                )
            return unmatched(
                LOW_CONFIDENCE.code,
                LOW_CONFIDENCE.message(
                    "address",
                    where=where,
                    probability=p_named,
                    needed=needed,
                ),
            )
    if levels["first_name"] in WEAK_FIRST_NAME and not _address_corroborates(levels):
        return unmatched(LOW_CONFIDENCE.code, LOW_CONFIDENCE.message("typo"))
    out.update(outcome="identified", reason_code=None, message="identified")
    return out
