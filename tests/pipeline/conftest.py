"""A tiny master, built once per session, and helpers to score hand-built request rows.

The master holds ~300 seeded synthetic people (so the model has something to train on and
"smith" is a common surname) plus the hand-written people of ``data/taxpayers.csv`` and
``data/returns.csv`` that the tests aim their request rows at (TINs 900000001..900000015).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from tinmatch.engines.duckdb import LinkEngine
from tinmatch.master.database import open_master
from tinmatch.master.load import load_master
from tinmatch.pipeline.features import request_features

DATA = Path(__file__).parent / "data"
SYNTHETIC_PEOPLE = 300
SEED = 4242

TAXPAYER_FIELDS = ["tin", "first_name", "middle_name", "last_name", "suffix", "date_of_birth"]
RETURN_FIELDS = [
    "tin", "spouse_tin", "tax_year", "first_name", "middle_name", "last_name", "suffix",
    "street", "address_line2", "city", "state", "zip", "filing_status",
]  # fmt: skip

_FIRST = [
    "James", "Mary", "John", "Patricia", "Michael", "Jennifer", "David", "Linda", "Richard",
    "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
    "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Helen", "Steven", "Sandra", "Paul", "Donna",
    "Andrew", "Carol", "Luis", "Ana", "Carlos", "Rosa", "Miguel", "Lucia",
]  # fmt: skip
# "smith" is deliberately common: term-frequency tests compare it with a one-off surname.
_LAST = ["Smith"] * 12 + [
    "Johnson", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
]  # fmt: skip
_STREETS = ["Main St", "Park Ave", "Lake Dr", "Maple Ave", "2nd St", "Washington Blvd",
            "Sunset Rd", "Highland Ave", "Church St", "Mill Rd"]  # fmt: skip
_PLACES = [
    ("Denver", "CO", "80203"), ("Tulsa", "OK", "74103"), ("Fresno", "CA", "93721"),
    ("Albany", "NY", "12207"), ("Reno", "NV", "89501"), ("Tampa", "FL", "33602"),
    ("Omaha", "NE", "68102"), ("Salem", "OR", "97301"), ("Joliet", "IL", "60432"),
    ("Akron", "OH", "44308"),
]  # fmt: skip
YEARS = [2020, 2021, 2022, 2023]


def _synthetic(seed: int, n: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Seeded people: 1-2 addresses over four years, the odd typo or nickname on a return."""
    rng = random.Random(seed)
    people: list[dict[str, str]] = []
    returns: list[dict[str, str]] = []
    for i in range(n):
        tin = f"{100000000 + i * 7919:09d}"
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        middle = rng.choice(_FIRST) if rng.random() < 0.6 else ""
        dob = f"{rng.randint(1940, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        people.append(dict(zip(TAXPAYER_FIELDS, [tin, first, middle, last, "", dob], strict=True)))
        addresses = []
        for _ in range(rng.choice([1, 1, 2])):
            city, state, zip5 = rng.choice(_PLACES)
            street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}"
            unit = f"Apt {rng.randint(1, 30)}" if rng.random() < 0.2 else ""
            addresses.append([street, unit, city, state, zip5])
        for k, year in enumerate(YEARS[rng.randint(0, 2) :]):
            written = first
            if rng.random() < 0.1:  # a typo on one return
                written = first[:-1] + first[-1] * 2
            address = addresses[min(k * len(addresses) // 4, len(addresses) - 1)]
            row = [tin, "", str(year), written, middle, last, "", *address, "single"]
            returns.append(dict(zip(RETURN_FIELDS, row, strict=True)))
    return people, returns


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the session's master are marked `master` (mutation runs leave them out: each
    mutant would build and train it again)."""
    for item in items:
        if "master_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.master)


@pytest.fixture(scope="session")
def master_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the session's master database (built once)."""
    tmp = tmp_path_factory.mktemp("master")
    people, returns = _synthetic(SEED, SYNTHETIC_PEOPLE)
    people += _read(DATA / "taxpayers.csv")
    returns += _read(DATA / "returns.csv")
    _write(tmp / "taxpayers.csv", TAXPAYER_FIELDS, people)
    _write(tmp / "returns.csv", RETURN_FIELDS, returns)
    db = tmp / "master.duckdb"
    load_master(tmp / "taxpayers.csv", tmp / "returns.csv", db)
    return db


@pytest.fixture(scope="session")
def master_con(master_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_master(master_db)
    yield con
    con.close()


@pytest.fixture(scope="session")
def engine(master_con: duckdb.DuckDBPyConnection) -> LinkEngine:
    return LinkEngine.open(master_con)


REQUEST_COLUMNS = [
    "first_name", "middle_name", "last_name", "suffix",
    "street", "address_line2", "city", "state", "zip", "dob",
]  # fmt: skip

Score = Callable[[list[dict[str, Any]]], pd.DataFrame]


def request_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Request rows (missing columns are None), numbered 1.. in `_row`; qid is ``q<_row>``."""
    frame = pd.DataFrame(
        [{c: row.get(c) for c in REQUEST_COLUMNS} for row in rows], columns=REQUEST_COLUMNS
    ).astype(object)
    frame = frame.where(frame.notna(), None)
    frame["_row"] = range(1, len(rows) + 1)
    return frame


@pytest.fixture(scope="session")
def make_request() -> Callable[[list[dict[str, Any]]], pd.DataFrame]:
    """:func:`request_frame`, for tests that register request rows themselves."""
    return request_frame


@pytest.fixture(scope="session")
def score(engine: LinkEngine) -> Score:
    """Score request rows (dicts) against the master: the engine's candidate frame."""

    def run(rows: list[dict[str, Any]]) -> pd.DataFrame:
        return engine.candidates(request_features(request_frame(rows)))

    return run
