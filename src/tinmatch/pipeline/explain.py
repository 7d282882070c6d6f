"""Explain: why each row was decided as it was, field by field (a waterfall in table form).

For every valid row with a candidate, the best and the runner-up candidate each get a line: the
prior, then each comparison's level and match weight (bits; term-frequency adjustments included),
summing to the candidate's match weight. ``explain.csv`` is written beside the results (staged
and published atomically with them, every cell neutralized) for the reviewing agency. It names
no taxpayer (candidates are ranks, never TINs) and holds no taxpayer field: only which level of
agreement each comparison reached.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

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


def explain_frame(
    rows: pd.DataFrame, candidates: pd.DataFrame, prior: float, max_rank: int = 2
) -> pd.DataFrame:
    """Lines (``COLUMNS``) for `rows` (qid, record_id, label, reason) from their candidates."""
    if candidates.empty or rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
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
    return out[COLUMNS].reset_index(drop=True)


@dataclass
class Candidate:
    rank: int
    probability: float | None
    weight: float | None
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    """comparison -> (level, weight in bits)"""


def read_candidates(out_dir: Path, record_ids: set[str]) -> dict[str, list[Candidate]]:
    """Candidates (rank order) of the given rows; empty when the file is absent."""
    path = out_dir / FILENAME
    found: dict[str, list[Candidate]] = {}
    if not path.is_file() or not record_ids:
        return found
    with path.open(encoding="utf-8", newline="") as fh:
        for line in csv.DictReader(fh):
            rid = line.get("record_id", "")
            if rid not in record_ids:
                continue
            names = [k[: -len("_level")] for k in line if k.endswith("_level")]
            found.setdefault(rid, []).append(
                Candidate(
                    rank=_int(line.get("rank")) or 0,
                    probability=_float(line.get("match_probability")),
                    weight=_float(line.get("match_weight")),
                    fields={
                        n: (line.get(f"{n}_level", ""), line.get(f"{n}_weight", "")) for n in names
                    },
                )
            )
    for cands in found.values():
        cands.sort(key=lambda c: c.rank)
    return found


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return None if value is None else int(value)
