"""Reliability of match probabilities: are candidates at probability p right at a rate >= p?

Uses the private decision log (best candidate's TIN and probability for every valid row, kept in
the operational store) and the truth's ``true_tin``. Rows whose person is not in the master count
as wrong whenever they had a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

BUCKETS = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0000001]


@dataclass
class Bucket:
    low: float
    high: float
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


def reliability(decisions: pd.DataFrame, truth: pd.DataFrame) -> list[Bucket]:
    """decisions: record_id, tin, probability; truth: record_id, true_tin (blank if absent)."""
    merged = decisions.dropna(subset=["probability"]).merge(
        truth[["record_id", "true_tin"]], on="record_id", how="inner"
    )
    merged["right"] = merged["tin"].astype(str) == merged["true_tin"].astype(str)
    out: list[Bucket] = []
    for low, high in zip(BUCKETS[:-1], BUCKETS[1:], strict=True):
        sel = merged[(merged["probability"] >= low) & (merged["probability"] < high)]
        out.append(Bucket(low, min(high, 1.0), len(sel), int(sel["right"].sum())))
    return out


def reliability_lines(buckets: list[Bucket]) -> list[str]:
    lines = ["best candidate's probability   rows   correct   accuracy"]
    for b in buckets:
        acc = "" if b.n == 0 else f"{b.accuracy:.5f}"
        lines.append(f"[{b.low:<8g}, {b.high:<8g})   {b.n:>7,}  {b.correct:>8,}   {acc}")
    return lines
