"""A small request fetches its candidate rows by blocking key: same candidates as a full join."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pytest

from tinmatch.engines import duckdb as link
from tinmatch.master import load
from tinmatch.pipeline.features import request_features


def _master_rows(con: duckdb.DuckDBPyConnection, n: int) -> list[dict[str, object]]:
    """Request rows made from master link rows, some altered so that only one rule holds."""
    frame = con.execute(
        "SELECT t.first_name, t.middle_name, t.last_name, t.suffix, t.dob, "
        "a.street, a.address_line2, a.city, a.state, a.zip "
        "FROM m.taxpayers t JOIN m.appearances a USING (tin) "
        f"USING SAMPLE {n} ROWS (reservoir, 7)"
    ).df()
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for i, row in enumerate(rows):
        if i % 4 == 1:  # swapped names, no DOB
            row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
            row["dob"] = None
        elif i % 4 == 2:  # typo in the surname, address only
            row["last_name"] = (row["last_name"] or "x") + "q"
        elif i % 4 == 3:  # another state: names and DOB only
            row["state"], row["street"], row["zip"] = "AK", None, None
    return rows


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["qid", "tin", "match_weight"]
    return frame.sort_values(cols).reset_index(drop=True)[cols]


def test_key_lookup_finds_the_same_candidates_as_the_full_join(
    master_con: duckdb.DuckDBPyConnection,
    engine: Any,
    score: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = _master_rows(master_con, 120)
    assert engine._has_block_keys()  # the lookup path is the one taken below
    small = score(rows)
    monkeypatch.setattr(link, "SMALL_REQUEST_ROWS", 0)  # force the full join
    full = score(rows)
    assert len(small) > 100
    pd.testing.assert_frame_equal(_sorted(small), _sorted(full), check_exact=False, rtol=1e-9)


def _features(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Standardized request rows, qid ``q1``.. (as ``process`` hands them to an engine)."""
    frame = pd.DataFrame(rows).astype(object)
    frame = frame.where(frame.notna(), None)
    frame["_row"] = range(1, len(rows) + 1)
    return request_features(frame)


def _every_column(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["qid", "tin"]).reset_index(drop=True)


def test_compiled_small_path_gives_every_column_of_the_chunk_path(
    master_con: duckdb.DuckDBPyConnection,
    engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The small path runs SQL compiled once per engine; each request after the first reuses
    it. Every column deciding and explaining read (levels, weights per comparison, the rule
    that found the pair, how many candidates a row had) is the chunk path's, request after
    request, with and without `top`."""
    rows = _master_rows(master_con, 90)
    batches = [rows[:12], rows[12:24], rows[24:90]]
    for top in (2, None):
        for batch in batches:
            features = _features(batch)
            small = engine.candidates(features, top)
            with monkeypatch.context() as patched:
                patched.setattr(link, "SMALL_REQUEST_ROWS", 0)  # force the chunk path
                chunk = engine.candidates(features, top)
            assert len(small) > 0
            assert list(small.columns) == list(chunk.columns)
            pd.testing.assert_frame_equal(
                _every_column(small), _every_column(chunk), check_exact=False, rtol=1e-9
            )
    assert len(engine._small) == 2  # compiled once per `top`, reused for every batch
    tables = {r[0] for r in master_con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not {t for t in tables if t.startswith(link.SMALL)}  # nothing of a request is kept


def test_link_rows_are_stored_in_surname_order(master_con: duckdb.DuckDBPyConnection) -> None:
    """The load stores ``link_rows`` sorted by surname, first name, state and unique_id (the
    ids ``block_keys`` holds are row ids of that order), so one name's rows are neighbours: a
    small request fetching its candidates decodes a few vectors, not one per candidate."""
    out_of_order, total = master_con.execute(
        f"SELECT count(*) FILTER (WHERE prev > cur), count(*) FROM ("
        f"SELECT lag(cur) OVER (ORDER BY rowid) AS prev, cur FROM ("
        f"SELECT rowid, [{load.LINK_ROWS_ORDER}] AS cur FROM m.link_rows))"
    ).fetchone() or (None, None)
    assert total and total > 100
    assert out_of_order == 0
    # The rows of one surname and first name are one run of row ids.
    runs = master_con.execute(
        "SELECT max(rowid) - min(rowid) + 1 = count(*) FROM m.link_rows "
        "GROUP BY last_name_std, first_name_std"
    ).fetchall()
    assert runs and all(contiguous for (contiguous,) in runs)
