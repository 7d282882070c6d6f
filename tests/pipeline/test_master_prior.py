"""m when the master cannot measure it: people who each filed once (a one-year extract, FEBRL4).

Before this prior, such a master left the exact levels without any m (Splink had no pairs of one
person to count), the floor 1e-6 was used and exact surname agreement weighed -13.9 bits."""

from __future__ import annotations

import math

import duckdb
import pytest

from tinmatch.master.comparisons import COMPARISONS, level_labels
from tinmatch.master.noise import (
    MASTER_M_PRIOR,
    MASTER_PRIOR_PAIRS,
    apply_request_noise,
    blend_master_prior,
)
from tinmatch.master.params import LevelParams, ModelParams
from tinmatch.master.train import pairs_within_people


def _params(m: float | None) -> ModelParams:
    """Every level with the same (unusable) m, u as a random-sampling estimate would give."""
    levels = {
        comp: {label: LevelParams(m, 0.5 if label == "else" else 1e-3) for label in labels[1:]}
        for comp in COMPARISONS
        for labels in [level_labels(comp)]
    }
    return ModelParams(1e-4, levels, {})


def _bits(p: LevelParams) -> float:
    assert p.m is not None and p.u is not None
    return math.log2(p.m / p.u)


def test_no_pairs_of_one_person_means_the_prior_alone() -> None:
    # Splink's untrained starting values must not leak into m when nothing was measured.
    blended = apply_request_noise(blend_master_prior(_params(0.9), 0))
    for comp in ("first_name", "last_name", "date_of_birth"):
        exact = blended.levels[comp]["exact"]
        assert _bits(exact) > 5, comp  # agreement is evidence FOR the person
        assert _bits(blended.levels[comp]["else"]) < 0, comp
    assert blended.meta["master_m_prior"]["measured_weight"] == 0


def test_many_pairs_leave_the_measured_m_nearly_alone() -> None:
    measured = _params(None)
    for label, p in measured.levels["last_name"].items():
        measured.levels["last_name"][label] = LevelParams(0.5 if label == "exact" else 0.05, p.u)
    pairs = 1_000 * MASTER_PRIOR_PAIRS
    blended = blend_master_prior(measured, pairs).levels["last_name"]
    total = 0.5 + 0.05 * (len(blended) - 1)
    want = 0.5 / total
    assert blended["exact"].m == pytest.approx(want, rel=0.01)
    assert blended["exact"].m != pytest.approx(MASTER_M_PRIOR["last_name"]["exact"], rel=0.01)


def test_equal_weight_at_the_prior_pairs() -> None:
    measured = _params(None)
    for label, p in measured.levels["date_of_birth"].items():
        measured.levels["date_of_birth"][label] = LevelParams(1.0 if label == "else" else 0, p.u)
    blended = blend_master_prior(measured, MASTER_PRIOR_PAIRS).levels["date_of_birth"]
    assert blended["exact"].m == pytest.approx(MASTER_M_PRIOR["date_of_birth"]["exact"] / 2)


def test_pairs_within_people_counts_same_tin_pairs() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE train_rows (tin VARCHAR)")
    con.executemany("INSERT INTO train_rows VALUES (?)", [("a",)] * 3 + [("b",)] + [("c",)] * 2)
    assert pairs_within_people(con) == 3 + 0 + 1
    con.execute("DELETE FROM train_rows WHERE tin <> 'b'")
    assert pairs_within_people(con) == 0
