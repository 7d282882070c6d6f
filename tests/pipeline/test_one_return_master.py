"""A master where everyone filed once (a one-year extract, FEBRL4): load-master must still train a
model whose agreement is evidence for a match. Before issue 16 it had no m for the exact levels
(no pairs of one person to count) and exact surname agreement weighed -13.9 bits."""

from __future__ import annotations

import math

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tinmatch.master.database import open_master, read_params
from tinmatch.master.load import load_master
from tinmatch.master.params import ModelParams
from tinmatch.synth import generate


@pytest.fixture(scope="module")
def params(tmp_path_factory: pytest.TempPathFactory) -> ModelParams:
    out = tmp_path_factory.mktemp("once")
    generate(out, 1500, 20, seed=3, fmt="parquet")
    returns = pq.read_table(out / "returns.parquet")
    latest = returns.filter(pc.equal(returns["tax_year"], pc.max(returns["tax_year"])))
    pq.write_table(latest, out / "once.parquet")
    db = out / "m.duckdb"
    load_master(out / "taxpayers.parquet", out / "once.parquet", db)
    con = open_master(db)
    try:
        return read_params(con)
    finally:
        con.close()


def _bits(params: ModelParams, comp: str, label: str) -> float:
    p = params.levels[comp][label]
    assert p.m is not None and p.u is not None
    return math.log2(p.m / p.u)


def test_agreement_is_evidence_for_a_match(params: ModelParams) -> None:
    assert params.meta["master_m_prior"]["within_person_pairs"] == 0
    assert _bits(params, "last_name", "exact") > 5
    assert _bits(params, "first_name", "exact") > 4
    assert _bits(params, "date_of_birth", "exact") > 10
    for comp in ("first_name", "last_name", "date_of_birth"):
        assert _bits(params, comp, "else") < 0
