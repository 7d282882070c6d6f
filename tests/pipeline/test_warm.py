"""Warming a worker (``pipeline.warm``): the engine left open with its SQL compiled, its DuckDB
on the threads asked for, the sorted returns attached; nothing kept on disk."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import pytest

from tinmatch.agreement import Agreement
from tinmatch.engines import by_tin
from tinmatch.pipeline.warm import warm_up

link = importlib.import_module("tinmatch.engines.duckdb")
DEFAULT_AGREEMENT = Path(__file__).parents[2] / "src/tinmatch/data/default_agreement.toml"


def test_warm_up_leaves_this_threads_engine_ready(
    master_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    returns = by_tin.build(master_db, tmp_path / "serving")
    seconds = warm_up(
        master_db, Agreement.load(DEFAULT_AGREEMENT), returns_by_tin=returns, threads=1
    )
    assert seconds > 0
    engine = link.warm_engine(master_db)  # this thread's, kept open
    try:
        assert engine.by_tin
        assert len(engine._small) == 1  # the small-request SQL, compiled
        found = engine.con.execute("SELECT current_setting('threads')").fetchone()
        assert found is not None and int(found[0]) == 1
        assert list(scratch.iterdir()) == []  # the warm-up's request and results are gone
    finally:
        # the next test on this thread opens its own (threads and copy as by default)
        for key in [k for k in link._warm.engines if k[0] == str(master_db.resolve())]:
            link._warm.engines.pop(key).close()
