"""``link_rows`` is stored so that one name's rows are neighbours (a small request fetches its
candidates from a few vectors), whether it is sorted at once or in parts by surname hash."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tinmatch.master import load
from tinmatch.master.database import open_master
from tinmatch.synth import generate

PER_SORT = 1_000  # link rows per sorted part in the second load (~6,000 rows: several parts)


def _load(out: Path, name: str) -> duckdb.DuckDBPyConnection:
    db = out / f"{name}.duckdb"
    load.load_master(out / "taxpayers.parquet", out / "returns.parquet", db)
    return open_master(db)


@pytest.fixture(scope="module")
def masters(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("order")
    generate(out, 1500, 20, seed=5, fmt="parquet")
    whole = _load(out, "whole")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(load, "LINK_ROWS_PER_SORT", PER_SORT)
        parts = _load(out, "parts")
    return whole, parts


def _rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT rowid AS r, * FROM m.link_rows ORDER BY rowid").df()


def _runs(frame: pd.DataFrame, columns: list[str]) -> int:
    """How many runs of equal `columns` the rows make, in stored order."""
    keys = frame[columns].astype(str).agg("|".join, axis=1)
    return int((keys != keys.shift()).sum())


def test_sorted_at_once(masters: tuple[duckdb.DuckDBPyConnection, ...]) -> None:
    rows = _rows(masters[0])
    order = [c.strip() for c in load.LINK_ROWS_ORDER.split(",")]
    assert len(rows) > 3_000
    expected = rows.sort_values(order, na_position="last", kind="stable")
    assert rows["r"].tolist() == expected["r"].tolist()


def test_in_parts_every_surname_is_one_sorted_run(
    masters: tuple[duckdb.DuckDBPyConnection, ...],
) -> None:
    whole, parts = (_rows(con) for con in masters)
    assert len(parts) > 3 * PER_SORT  # written in several parts
    # The same rows, in another order (unique ids number a load's rows: not compared).
    content = [c for c in whole.columns if c not in ("r", "unique_id")]
    same = [
        f[content].astype(str).sort_values(content).reset_index(drop=True)
        for f in (whole, parts)
    ]
    pd.testing.assert_frame_equal(*same)
    assert parts["last_name_std"].tolist() != whole["last_name_std"].tolist()
    surnames = parts["last_name_std"].nunique(dropna=False)
    assert _runs(parts, ["last_name_std"]) == surnames
    names = len(parts.drop_duplicates(["last_name_std", "first_name_std"]))
    assert _runs(parts, ["last_name_std", "first_name_std"]) == names
    # Within a surname, the order of a whole sort.
    order = [c.strip() for c in load.LINK_ROWS_ORDER.split(",")][1:]
    for _, run in parts.groupby("last_name_std", sort=False, dropna=False):
        assert run["r"].tolist() == run.sort_values(order, kind="stable")["r"].tolist()


def test_the_model_does_not_depend_on_the_order(
    masters: tuple[duckdb.DuckDBPyConnection, ...],
) -> None:
    hashes = [con.execute("SELECT value FROM m.meta WHERE key = 'model_sha256'").fetchall()
              for con in masters]  # fmt: skip
    assert hashes[0] and hashes[0] == hashes[1]
