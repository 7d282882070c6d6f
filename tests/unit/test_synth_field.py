"""The second request noise model (`tinmatch synth --noise-model field`): what each phenomenon
does to a row, checked against the master the row was built from."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinmatch.errors import ConfigError
from tinmatch.standardize.names import clean_name
from tinmatch.synth import generate
from tinmatch.synth.fieldnoise import HYPOCORISMS, PHENOMENA, other_compound_form, slip

PEOPLE, REQUESTS, SEED = 6000, 1500, 5


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("field")
    generate(path, PEOPLE, REQUESTS, seed=SEED, fmt="parquet", noise_model="field")
    return path


@pytest.fixture(scope="module")
def rows(out: Path) -> pd.DataFrame:
    """Matched request rows with their truth and the true person's identity record."""
    request = pd.read_csv(out / "request.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    taxpayers = pd.read_parquet(out / "taxpayers.parquet")
    both = request.merge(truth, on="record_id").drop_duplicates("record_id")
    both = both[both["scenario"].str.startswith("matched:")]
    return both.merge(taxpayers, left_on="true_tin", right_on="tin", suffixes=("", "_master"))


def _with(rows: pd.DataFrame, tag: str) -> pd.DataFrame:
    return rows[rows["scenario"].str.split(r"[:+]").map(lambda t: tag in t)]


def test_every_phenomenon_is_present_and_recorded(rows: pd.DataFrame) -> None:
    tags = Counter(t for s in rows["scenario"] for t in s.split(":", 1)[1].split("+"))
    for phenomenon in PHENOMENA:
        assert tags[phenomenon] > 0, phenomenon
    assert tags["spouse_only"] > 0 and tags["itin"] > 0


def test_new_address_rows_have_exact_name_and_dob(out: Path, rows: pd.DataFrame) -> None:
    returns = pd.read_parquet(out / "returns.parquet")
    new = _with(rows, "new_address")
    assert len(new) > 10
    for r in new.itertuples():
        assert clean_name(r.first_name) == clean_name(r.first_name_master)
        assert clean_name(r.last_name) == clean_name(r.last_name_master)
        assert r.date_of_birth != ""
        filed = returns[(returns["tin"] == r.true_tin) | (returns["spouse_tin"] == r.true_tin)]
        streets = {clean_name(s) for s in filed["street"]}
        assert clean_name(r.street) not in streets


def test_hypocorism_rows_use_the_table(rows: pd.DataFrame) -> None:
    hyp = _with(rows, "hypocorism")
    assert len(hyp) > 5
    for r in hyp.itertuples():
        forms = {clean_name(f) for f in HYPOCORISMS[r.first_name_master.upper()]}
        assert clean_name(r.first_name) in forms


def test_the_same_seed_gives_the_same_request(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, PEOPLE, REQUESTS, seed=SEED, fmt="parquet", noise_model="field")
    assert (tmp_path / "request.csv").read_bytes() == (out / "request.csv").read_bytes()


def test_the_standard_model_is_untouched_and_unknown_models_refused(tmp_path: Path) -> None:
    generate(tmp_path / "s", 400, 40, seed=1, fmt="parquet")
    truth = pd.read_csv(tmp_path / "s" / "truth.csv", dtype=str)
    assert not truth["scenario"].str.contains("new_address|hypocorism").any()
    with pytest.raises(ConfigError, match="noise-model"):
        generate(tmp_path / "x", 400, 40, noise_model="nope")


class _Target:
    def __init__(self, last: str, last1: str, last2: str | None) -> None:
        self.last, self.last1, self.last2 = last, last1, last2


@pytest.mark.parametrize(
    ("last", "last1", "last2", "allowed"),
    [
        ("GARCIA LOPEZ", "GARCIA", "LOPEZ",
         {"GARCIA", "LOPEZ", "LOPEZ GARCIA", "GARCIA Y LOPEZ", "GARCIA-LOPEZ"}),
        ("GARCIA-LOPEZ", "GARCIA", "LOPEZ",
         {"GARCIA", "LOPEZ", "LOPEZ GARCIA", "GARCIA Y LOPEZ", "GARCIA LOPEZ"}),
        ("DE LA CRUZ", "DE LA CRUZ", None, {"CRUZ", "DELACRUZ"}),
        ("SMITH", "SMITH", None, {None}),
    ],
)  # fmt: skip
def test_compound_surname_forms(last: str, last1: str, last2: str | None,
                                allowed: set[str | None]) -> None:
    rng = np.random.default_rng(0)
    target = _Target(last, last1, last2)
    seen = {other_compound_form(target, rng) for _ in range(60)}  # type: ignore[arg-type]
    assert seen <= allowed
    assert len(seen) >= min(2, len(allowed))


def test_slips_keep_the_name_recognisable() -> None:
    rng = np.random.default_rng(1)
    for name in ("HERNANDEZ", "GUILLERMO", "VALENZUELA", "JOSE"):
        for _ in range(30):
            got = slip(name, rng)
            assert got != name or len(name) < 3
            assert abs(len(got) - len(name)) <= 1
