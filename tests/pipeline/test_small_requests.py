"""A small request fetches its candidate rows by blocking key: same candidates as a full join."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pytest

from tinmatch.engines import duckdb as link


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
