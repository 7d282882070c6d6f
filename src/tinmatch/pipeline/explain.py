"""Explain: why each row was decided as it was, field by field (a waterfall in table form).

For every valid row with a candidate, the best and the runner-up candidate each get a line: the
prior, then each comparison's level and match weight (bits; term-frequency adjustments included),
summing to the candidate's match weight. ``explain.csv`` is written beside the results (staged
and published atomically with them, every cell neutralized) for the reviewing agency. It names
no taxpayer (candidates are ranks, never TINs) and holds no taxpayer field: only which level of
agreement each comparison reached.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from tinmatch.master.comparisons import COMPARISONS, gamma_label, level_labels

FILENAME = "explain.csv"
COLUMNS = [
    "record_id",
    "outcome",
    "reason_code",
    "rank",
    "match_probability",
    "match_weight",
    "prior_weight",
    *[f"{name}_{part}" for name in COMPARISONS for part in ("level", "weight")],
]


def prior_weight(probability_two_random_records_match: float) -> float:
    p = probability_two_random_records_match
    return math.log2(p / (1 - p))


def explain_rows(
    rows: pd.DataFrame, candidates: pd.DataFrame, prior: float, max_rank: int = 2
) -> list[dict[str, Any]]:
    """Lines for `rows` (qid, record_id, label, reason) from their ranked candidates."""
    if candidates.empty or rows.empty:
        return []
    ranked = candidates.sort_values(["qid", "match_weight", "tin"], ascending=[True, False, True])
    ranked = ranked.assign(rank=ranked.groupby("qid", sort=False).cumcount() + 1)
    ranked = ranked[ranked["rank"] <= max_rank]
    merged = rows.merge(ranked, on="qid", how="inner").sort_values(["_order", "rank"])
    out = pd.DataFrame(
        {
            "record_id": merged["record_id"].astype(str),
            "outcome": merged["label"],
            "reason_code": merged["reason"].fillna(""),
            "rank": merged["rank"].astype(int),
            "match_probability": merged["match_probability"].astype(float).round(8),
            "match_weight": merged["match_weight"].astype(float).round(3),
            "prior_weight": round(prior, 3),
        }
    )
    for name in COMPARISONS:
        labels = {g: gamma_label(name, g) for g in range(-1, len(level_labels(name)) - 1)}
        out[f"{name}_level"] = merged[f"gamma_{name}"].astype(int).map(labels)
        out[f"{name}_weight"] = merged[f"mw_{name}"].astype(float).round(3)
    return list(out[COLUMNS].to_dict("records"))


def read_explain(out_dir: Path) -> pd.DataFrame:
    path = out_dir / FILENAME
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_csv(path, dtype={"record_id": str}, keep_default_na=False)
