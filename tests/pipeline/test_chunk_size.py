"""The DuckDB engine's chunk size follows the master's size (``engines.duckdb.chunk_rows_for``)."""

from __future__ import annotations

import pytest

from tinmatch.engines.duckdb import CHUNK_ROWS, MIN_CHUNK_ROWS, chunk_rows_for


@pytest.mark.parametrize(
    ("link_rows", "expected"),
    [
        (0, MIN_CHUNK_ROWS),  # a master without the figure: small chunks
        (3_918_452, MIN_CHUNK_ROWS),  # 1M people: a 100k-row request in four chunks
        (8_000_000, 50_000),
        (39_000_000, CHUNK_ROWS),  # 10M people: as large as a chunk gets
        (10**10, CHUNK_ROWS),
    ],
)
def test_a_larger_master_gets_larger_chunks_within_bounds(link_rows: int, expected: int) -> None:
    assert chunk_rows_for(link_rows) == expected
