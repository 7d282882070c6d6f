"""What a requester's data does to the m probabilities, beyond what the master shows.

The model's m probabilities are estimated by EM on the master itself: the same taxpayer on
returns of different years (names as written on each return, every address filed). That captures
how one person's records vary inside the agency, but not how a field agent's spreadsheet differs
from them: nicknames, transposed day and month, a middle name used as first name, an old address.

So each comparison's m distribution is mixed with a stated prior of requester error::

    m_final(level) = (1 - epsilon) * m_em(level) + epsilon * share(level)

where ``epsilon`` is the share of request rows we expect to be wrong on that field and ``share``
says how those errors spread across levels. The figures are assumptions, written here once,
documented in docs/matching.md, and part of the model hash. They also keep every m above zero, so
no single disagreement can make a weight infinite.
"""

from __future__ import annotations

from tinmatch.master.params import LevelParams, ModelParams

REQUEST_NOISE: dict[str, tuple[float, dict[str, float]]] = {
    "first_name": (
        0.30,
        {
            "exact": 0.0,
            "nickname": 0.22,
            "jaro_winkler_0.92": 0.13,
            "one_edit": 0.10,
            "phonetic": 0.05,
            "middle_as_first": 0.22,
            "middle_as_first_typo": 0.03,
            "swapped_with_surname": 0.15,
            "nickname_typo": 0.04,
            "two_edits": 0.04,
            "else": 0.02,
        },
    ),
    "last_name": (
        0.15,
        {
            "exact": 0.0,
            "swapped_with_first": 0.10,
            "jaro_winkler_0.92": 0.20,
            "one_edit": 0.10,
            "compound_part": 0.25,
            "phonetic": 0.10,
            "swapped_fuzzy": 0.05,
            "else": 0.20,
        },
    ),
    "middle_name": (0.05, {"exact": 0.2, "similar": 0.1, "initial": 0.5, "else": 0.2}),
    "suffix": (0.02, {"exact": 0.5, "else": 0.5}),
    "date_of_birth": (
        0.08,
        {
            "exact": 0.0,
            "day_month_transposed": 0.30,
            "year_month": 0.25,
            "year": 0.25,
            "else": 0.20,
        },
    ),
    # The address m is the stated profile alone (epsilon 1): the model compares the request's
    # address with EVERY address of the candidate's history and keeps the best level, while the
    # person-year pairs of training compare one year's address with another's. Those pairs show
    # how often people move (a third of pairs agree only on city), not how often a requester's
    # address is absent from the person's whole filing history, which is the m that matters.
    "address": (
        1.0,
        {
            "street_and_unit": 0.70,
            "street_other_unit": 0.08,
            "house_number_and_zip": 0.04,
            "zip": 0.05,
            "city_and_state": 0.06,
            "state": 0.04,
            "else": 0.03,
        },
    ),
}

# Used where the data never showed a level (a small master, a field always blank): rough
# figures for a US population, chosen to under- rather than over-state agreement's weight.
DEFAULT_U: dict[str, dict[str, float]] = {
    "first_name": {"exact": 0.01, "nickname": 0.005, "jaro_winkler_0.92": 0.003, "one_edit": 0.002,
                   "phonetic": 0.005, "middle_as_first": 0.002, "middle_as_first_typo": 0.001,
                   "swapped_with_surname": 0.0005,
                   "nickname_typo": 0.001, "two_edits": 0.002, "else": 0.97},
    "last_name": {"exact": 0.005, "swapped_with_first": 0.0005, "jaro_winkler_0.92": 0.002,
                  "one_edit": 0.001,
                  "compound_part": 0.002, "phonetic": 0.003, "swapped_fuzzy": 0.001, "else": 0.98},
    "middle_name": {"exact": 0.02, "similar": 0.002, "initial": 0.05, "overlap": 0.01,
                    "else": 0.6},
    "suffix": {"exact": 0.003, "else": 0.003},
    "date_of_birth": {"exact": 5e-5, "day_month_transposed": 2e-5, "year_month": 1e-3,
                      "year": 0.013, "else": 0.98},
    "address": {"street_and_unit": 1e-5, "street_other_unit": 1e-5, "house_number_and_zip": 5e-5,
                "zip": 1e-3, "city_and_state": 5e-3, "state": 0.05, "else": 0.94},
}  # fmt: skip
DEFAULT_M: dict[str, dict[str, float]] = {
    "middle_name": {"exact": 0.6, "similar": 0.02, "initial": 0.35, "overlap": 0.01, "else": 0.02},
    "suffix": {"exact": 0.97, "else": 0.03},
}
# How one person's own records agree with each other inside the agency, before any requester
# error: used as a Dirichlet prior on the m that within-TIN pairs measure, with the weight of
# MASTER_PRIOR_PAIRS pairs. A master where most people filed several years holds a million such
# pairs and the prior vanishes; a master of people who filed once (a new agency, a one-year
# extract, FEBRL4) holds none, and m is then this prior plus the requester-error prior alone.
# Without it such a master had no m at all for "exact": the floor 1e-6, i.e. exact surname
# agreement weighed -13.9 bits. The shares are a person's identity record against their own
# return: nearly always the same name and date of birth.
MASTER_M_PRIOR: dict[str, dict[str, float]] = {
    "first_name": {"exact": 0.95, "nickname": 0.02, "jaro_winkler_0.92": 0.005, "one_edit": 0.005,
                   "phonetic": 0.002, "middle_as_first": 0.01, "middle_as_first_typo": 0.001,
                   "swapped_with_surname": 0.001, "nickname_typo": 0.001, "two_edits": 0.002,
                   "else": 0.003},
    "last_name": {"exact": 0.92, "swapped_with_first": 0.001, "jaro_winkler_0.92": 0.01,
                  "one_edit": 0.01, "compound_part": 0.03, "phonetic": 0.005,
                  "swapped_fuzzy": 0.001, "else": 0.023},
    "middle_name": DEFAULT_M["middle_name"],
    "suffix": DEFAULT_M["suffix"],
    "date_of_birth": {"exact": 0.98, "day_month_transposed": 0.005, "year_month": 0.005,
                      "year": 0.005, "else": 0.005},
    "address": {"street_and_unit": 0.70, "street_other_unit": 0.08, "house_number_and_zip": 0.04,
                "zip": 0.05, "city_and_state": 0.06, "state": 0.04, "else": 0.03},
}  # fmt: skip
MASTER_PRIOR_PAIRS = 2_000


def blend_master_prior(params: ModelParams, within_person_pairs: int) -> ModelParams:
    """m of each comparison = (pairs * measured + MASTER_PRIOR_PAIRS * prior) / (pairs + prior
    pairs), with the measured m normalised over its levels; measured m is ignored when there
    were no pairs of one person to measure it on (Splink then leaves its own starting values)."""
    weight = within_person_pairs / (within_person_pairs + MASTER_PRIOR_PAIRS)
    levels: dict[str, dict[str, LevelParams]] = {}
    for comp, by_label in params.levels.items():
        prior = MASTER_M_PRIOR.get(comp)
        if prior is None:
            levels[comp] = dict(by_label)
            continue
        measured = {k: p.m for k, p in by_label.items() if p.m is not None}
        total = sum(measured.values()) if weight > 0 else 0.0
        prior_total = sum(prior.get(k, 0.0) for k in by_label)
        out: dict[str, LevelParams] = {}
        for label, p in by_label.items():
            m_prior = prior.get(label, 0.0) / prior_total if prior_total else 0.0
            if total > 0:
                m = weight * (measured.get(label, 0.0) / total) + (1 - weight) * m_prior
            else:
                m = m_prior
            out[label] = LevelParams(m, p.u)
        levels[comp] = out
    meta = dict(params.meta)
    meta["master_m_prior"] = {
        "within_person_pairs": within_person_pairs,
        "prior_pairs": MASTER_PRIOR_PAIRS,
        "measured_weight": round(weight, 6),
    }
    return ModelParams(params.probability_two_random_records_match, levels, meta)


# Levels whose weight may never be positive: disagreement is never evidence for a match.
NEVER_POSITIVE = {(comp, "else") for comp in REQUEST_NOISE}
# Levels that are neither agreement nor disagreement: their weight is set to zero (m = u).
NEUTRAL = {("middle_name", "overlap")}
# Conflicts (a different middle name, Jr against Sr) weigh at least this many bits against.
CONFLICTS = {("middle_name", "else"), ("suffix", "else")}
CONFLICT_BITS = 6.0
M_FLOOR = 1e-6
# Comparisons whose levels nest (each level's condition implies the one below): only there is a
# lower level's weight capped by the one above. Name levels are alternatives, not a ladder.
NESTED = {"address", "date_of_birth", "middle_name"}


def apply_request_noise(params: ModelParams) -> ModelParams:
    """Return new parameters: gaps filled from defaults, requester-error prior mixed into m."""
    levels: dict[str, dict[str, LevelParams]] = {}
    for comp, by_label in params.levels.items():
        epsilon, share = REQUEST_NOISE.get(comp, (0.0, {}))
        observed_m = {k: p.m for k, p in by_label.items() if p.m is not None}
        if len(observed_m) < 2 and comp in DEFAULT_M:
            observed_m = dict(DEFAULT_M[comp])
        total_m = sum(observed_m.values())
        out: dict[str, LevelParams] = {}
        for label, p in by_label.items():
            m_em = observed_m.get(label, 0.0) / total_m if total_m else 0.0
            m = max((1 - epsilon) * m_em + epsilon * share.get(label, 0.0), M_FLOOR)
            u = p.u if p.u is not None else DEFAULT_U.get(comp, {}).get(label, 0.5)
            if (comp, label) in NEVER_POSITIVE and m > u:
                m = u
            if (comp, label) in NEUTRAL:
                m = u
            if (comp, label) in CONFLICTS:
                m = min(m, u * 2**-CONFLICT_BITS)
            out[label] = LevelParams(m, u)
        levels[comp] = _monotone(comp, out) if comp in NESTED else out
    meta = dict(params.meta)
    meta["request_noise"] = {k: {"epsilon": e, "share": s} for k, (e, s) in REQUEST_NOISE.items()}
    return ModelParams(params.probability_two_random_records_match, levels, meta)


def _monotone(comp: str, levels: dict[str, LevelParams]) -> dict[str, LevelParams]:
    """Cap each level's weight at the weight of the level above it.

    Levels are ordered from most to least specific agreement; a sparse level (say, same house
    number and ZIP) must never outweigh a stricter one just because chance agreement on it was
    rarely seen in the sample.
    """
    from tinmatch.master.comparisons import level_labels

    ceiling = float("inf")
    for label in level_labels(comp)[1:]:
        if (comp, label) in NEUTRAL:  # weight 0 whatever the levels around it weigh
            continue
        p = levels[label]
        assert p.m is not None and p.u is not None
        ratio = p.m / p.u
        if ratio > ceiling:
            levels[label] = LevelParams(ceiling * p.u, p.u)
            ratio = ceiling
        ceiling = ratio
    return levels
