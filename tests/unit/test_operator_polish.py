"""Operator polish: plain progress lines off a terminal, no leftovers from a failed load, and an
old-schema error that names the schema found and the one needed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from tinmatch.errors import InputFileError, MasterNotLoadedError
from tinmatch.master import database
from tinmatch.master.load import load_master
from tinmatch.progress import PlainReporter, RichReporter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_start_every_interval_and_end() -> None:
    out, clock = io.StringIO(), Clock()
    reporter = PlainReporter(out, every=30, clock=clock)
    with reporter.task("matching request rows", 1000) as advance:
        for _ in range(10):
            clock.now += 10
            advance(100)
    lines = out.getvalue().splitlines()
    assert lines == [
        "tinmatch: matching request rows: started (1,000)",
        "tinmatch: matching request rows: 300 of 1,000 (30%), 30 s",
        "tinmatch: matching request rows: 600 of 1,000 (60%), 60 s",
        "tinmatch: matching request rows: 900 of 1,000 (90%), 90 s",
        "tinmatch: matching request rows: done (1,000), 100.0 s",
    ]


def test_no_bars_in_a_log_file() -> None:
    """stderr redirected to a file: plain lines, no cursor movement or colour codes."""
    log = io.StringIO()
    reporter = RichReporter(Console(file=log, force_terminal=False))
    with reporter.task("standardizing values", None) as advance:
        advance(5)
    reporter.note("a note")
    text = log.getvalue()
    assert "\x1b" not in text and "\r" not in text
    assert text.splitlines()[0] == "tinmatch: standardizing values: started"
    assert "tinmatch: a note" in text.splitlines()


def test_bars_on_a_terminal() -> None:
    screen = io.StringIO()
    reporter = RichReporter(Console(file=screen, force_terminal=True, width=100))
    assert reporter.plain is None
    with reporter.task("reading master files", 2) as advance:
        advance(2)
    assert "reading master files" in screen.getvalue() and "2/2" in screen.getvalue()


def test_a_failed_load_leaves_no_building_file_and_keeps_the_old_master(tmp_path: Path) -> None:
    taxpayers = tmp_path / "taxpayers.csv"
    returns = tmp_path / "returns.csv"
    taxpayers.write_text("tin,first_name,last_name\n12,Ann,Lee\nabc,Bo,Ng\n", encoding="utf-8")
    returns.write_text(
        "tin,tax_year,street,city,state\n12,2024,1 Elm St,Boston,MA\n", encoding="utf-8"
    )
    db = tmp_path / "master.duckdb"
    db.write_bytes(b"the old master")  # stands for a master already in place
    with pytest.raises(InputFileError, match="no taxpayer with a valid 9-digit TIN"):
        load_master(taxpayers, returns, db)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "master.duckdb", "returns.csv", "taxpayers.csv",
    ]
    assert db.read_bytes() == b"the old master"


def test_a_building_file_left_by_a_killed_load_is_removed(tmp_path: Path) -> None:
    taxpayers = tmp_path / "taxpayers.csv"
    taxpayers.write_text("tin,first_name,last_name\n", encoding="utf-8")
    returns = tmp_path / "returns.csv"
    returns.write_text("tin,tax_year,street,city,state\n", encoding="utf-8")
    db = tmp_path / "m.duckdb"
    (tmp_path / "m.duckdb.building").write_bytes(b"half")
    (tmp_path / "m.duckdb.building.wal").write_bytes(b"half")
    with pytest.raises(InputFileError):
        load_master(taxpayers, returns, db)
    assert not list(tmp_path.glob("*.building*"))


def _master_with_schema(path: Path, version: str | None) -> Path:
    con = duckdb.connect(str(path))
    if version is not None:
        database.write_meta(con, {"schema_version": version})
    else:
        con.execute("CREATE TABLE something(x INTEGER)")
    con.close()
    return path


def test_old_schema_error_names_the_schema_found_and_needed(tmp_path: Path) -> None:
    old = _master_with_schema(tmp_path / "old.duckdb", "4")
    with pytest.raises(MasterNotLoadedError) as caught:
        database.open_master(old)
    message = str(caught.value)
    assert f"has master schema 4; this tinmatch needs schema {database.SCHEMA_VERSION}" in message
    assert "tinmatch load-master" in message

    other = _master_with_schema(tmp_path / "other.duckdb", None)
    with pytest.raises(MasterNotLoadedError, match="not a tinmatch master"):
        database.open_master(other)


def test_master_tax_years_only_from_a_current_master(tmp_path: Path) -> None:
    assert database.master_tax_years(tmp_path / "none.duckdb") is None
    assert database.master_tax_years(_master_with_schema(tmp_path / "o.duckdb", "4")) is None
    path = tmp_path / "m.duckdb"
    con = duckdb.connect(str(path))
    database.write_meta(
        con, {"schema_version": database.SCHEMA_VERSION, "tax_years": [2023, 2024]}
    )
    con.close()
    assert database.master_tax_years(path) == [2023, 2024]
    assert json.dumps(database.master_tax_years(path)) == "[2023, 2024]"
