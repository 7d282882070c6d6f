"""Spanish (and other) hypocorisms the `nicknames` package lacks (data/std_diminutives.csv)."""

from __future__ import annotations

import csv
from importlib import resources

import pandas as pd
import pytest

from tinmatch.standardize.names import name_features

ISSUE_16 = [
    ("Pepe", "José"), ("Paco", "Francisco"), ("Chuy", "Jesús"), ("Lupe", "Guadalupe"),
    ("Nacho", "Ignacio"), ("Memo", "Guillermo"), ("Toño", "Antonio"), ("Beto", "Alberto"),
    ("Beto", "Roberto"), ("Chela", "Graciela"), ("Lalo", "Eduardo"), ("Chente", "Vicente"),
    ("Lucho", "Luis"), ("Pili", "Pilar"),
]  # fmt: skip


def _variants(first: str) -> list[str]:
    frame = pd.DataFrame({"first_name": [first], "last_name": ["Garcia"]})
    return list(name_features(frame)["first_name_variants"].iloc[0])


@pytest.mark.parametrize(("short", "full"), ISSUE_16)
def test_related_both_ways(short: str, full: str) -> None:
    """The nickname level asks whether one side's name is among the other's variants: both
    directions must hold, accents or not."""
    std_short = name_features(pd.DataFrame({"first_name": [short]}))["first_name_std"].iloc[0]
    std_full = name_features(pd.DataFrame({"first_name": [full]}))["first_name_std"].iloc[0]
    assert std_full in _variants(short)
    assert std_short in _variants(full)


def test_unrelated_names_stay_apart() -> None:
    assert "roberto" not in _variants("Pepe")
    assert "jose" not in _variants("Paco")
    # one hop only: Beto relates Alberto and Roberto to Beto, not to each other
    assert "roberto" not in _variants("Alberto")


def test_table_rows_are_clean_and_sourced() -> None:
    source = resources.files("tinmatch.data").joinpath("std_diminutives.csv")
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 80
    pairs = [(r["diminutive"], r["canonical"]) for r in rows]
    assert len(pairs) == len(set(pairs))
    for r in rows:
        assert r["source"], r
        for name in (r["diminutive"], r["canonical"]):
            assert name.isascii() and name.isalpha() and name == name.lower(), r
