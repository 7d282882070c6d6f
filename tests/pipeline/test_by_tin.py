"""Disclosing to small requests from the master's returns sorted by TIN (``engines.by_tin``):
the same rows as from the master's own table, and a copy of another master is refused."""

from __future__ import annotations

import importlib
import shutil
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tinmatch.engines import by_tin
from tinmatch.errors import MasterNotLoadedError
from tinmatch.master.database import open_master

link = importlib.import_module("tinmatch.engines.duckdb")
FIELDS = ("street", "address_line2", "city", "state", "zip")


def _identified(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Primary filers and spouses, several years, and a TIN with no return in its years."""
    tins = [
        r[0] for r in con.execute(
            "SELECT DISTINCT tin FROM m.appearances ORDER BY hash(tin) LIMIT 40"
        ).fetchall()
    ] + [
        r[0] for r in con.execute(
            "SELECT DISTINCT tin FROM m.appearances WHERE role <> 'primary' ORDER BY tin LIMIT 10"
        ).fetchall()
    ]  # fmt: skip
    years = [[2019, 2020, 2021, 2022, 2023, 2024, 2025], [2024], [2021, 2022], [1990]]
    return pd.DataFrame(
        {
            "qid": [f"q{i}" for i in range(len(tins))],
            "tin": tins,
            "tax_years": [years[i % len(years)] for i in range(len(tins))],
        }
    )


def test_sorted_copy_discloses_the_same_rows(master_db: Path, tmp_path: Path) -> None:
    path = by_tin.build(master_db, tmp_path / "serving")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "serving").stat().st_mode) == 0o700
    assert by_tin.build(master_db, tmp_path / "serving") == path  # built once
    engine = link.LinkEngine.open(open_master(master_db))
    try:
        identified = _identified(engine.con)
        from_master = engine.disclose(identified, FIELDS)
        engine.use_returns_by_tin(path, master_db)
        from_copy = engine.disclose(identified, FIELDS)
    finally:
        engine.close()
    assert len(from_master) > 20 and len(from_master) < len(identified)  # some have none
    order = ["qid"]
    pd.testing.assert_frame_equal(
        from_copy.sort_values(order).reset_index(drop=True),
        from_master.sort_values(order).reset_index(drop=True),
    )


def test_a_copy_of_another_master_is_refused(master_db: Path, tmp_path: Path) -> None:
    path = by_tin.build(master_db, tmp_path / "serving")
    other = tmp_path / "other.duckdb"
    shutil.copy(master_db, other)  # same rows, another file: another identity
    con = open_master(other)
    try:
        with pytest.raises(MasterNotLoadedError, match="not built from"):
            by_tin.attach(con, path, other)
        assert "by_tin" not in {
            r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
    finally:
        con.close()
    # a new copy for the other master replaces the first one's
    again = by_tin.build(other, tmp_path / "serving")
    assert again != path and again.exists() and not path.exists()


def test_a_small_request_can_follow_the_attach_at_once(master_db: Path, tmp_path: Path) -> None:
    """Attaching leaves no result half read on the engine's connection: the next small
    request registers its rows there straight away."""
    path = by_tin.build(master_db, tmp_path / "serving")
    engine = link.LinkEngine.open(open_master(master_db))
    try:
        features = engine.con.execute(
            "SELECT * FROM m.link_rows USING SAMPLE 12 ROWS (reservoir, 7)"
        ).df()
        features = features.assign(unique_id=[f"q{i}" for i in range(len(features))])
        before = engine.candidates(features, top=1)  # the engine already warm
        engine.use_returns_by_tin(path, master_db)
        found = engine.candidates(features, top=1)
    finally:
        engine.close()
    assert set(found["qid"]) == set(features["unique_id"]) == set(before["qid"])
