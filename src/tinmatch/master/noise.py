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
        0.15,
        {
            "exact": 0.0,
            "nickname": 0.35,
            "jaro_winkler_0.92": 0.20,
            "one_edit": 0.10,
            "phonetic": 0.10,
            "middle_as_first": 0.10,
            "swapped_with_surname": 0.10,
            "else": 0.05,
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
            "else": 0.25,
        },
    ),
    "middle_name": (0.05, {"exact": 0.2, "initial": 0.6, "else": 0.2}),
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
    "address": (
        0.30,
        {
            "street_and_unit": 0.40,
            "street_other_unit": 0.20,
            "house_number_and_zip": 0.10,
            "zip": 0.10,
            "city_and_state": 0.10,
            "state": 0.05,
            "else": 0.05,
        },
    ),
}

# Used where the data never showed a level (a small master, a field always blank): rough
# figures for a US population, chosen to under- rather than over-state agreement's weight.
DEFAULT_U: dict[str, dict[str, float]] = {
    "first_name": {"exact": 0.01, "nickname": 0.005, "jaro_winkler_0.92": 0.003, "one_edit": 0.002,
                   "phonetic": 0.005,
                   "middle_as_first": 0.002, "swapped_with_surname": 0.0005, "else": 0.97},
    "last_name": {"exact": 0.005, "swapped_with_first": 0.0005, "jaro_winkler_0.92": 0.002,
                  "one_edit": 0.001,
                  "compound_part": 0.002, "phonetic": 0.003, "else": 0.98},
    "middle_name": {"exact": 0.02, "initial": 0.05, "else": 0.6},
    "suffix": {"exact": 0.003, "else": 0.003},
    "date_of_birth": {"exact": 5e-5, "day_month_transposed": 2e-5, "year_month": 1e-3,
                      "year": 0.013, "else": 0.98},
    "address": {"street_and_unit": 1e-5, "street_other_unit": 1e-5, "house_number_and_zip": 5e-5,
                "zip": 1e-3, "city_and_state": 5e-3, "state": 0.05, "else": 0.94},
}  # fmt: skip
DEFAULT_M: dict[str, dict[str, float]] = {
    "middle_name": {"exact": 0.6, "initial": 0.37, "else": 0.03},
    "suffix": {"exact": 0.97, "else": 0.03},
}
# Levels whose weight may never be positive: disagreement is never evidence for a match.
NEVER_POSITIVE = {(comp, "else") for comp in REQUEST_NOISE}
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
        p = levels[label]
        assert p.m is not None and p.u is not None
        ratio = p.m / p.u
        if ratio > ceiling:
            levels[label] = LevelParams(ceiling * p.u, p.u)
            ratio = ceiling
        ceiling = ratio
    return levels
