"""Through the command line, a hostile file is one line on stderr and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinmatch.cli import app
from tinmatch.errors import InputFileError

from .helpers import csv_text, good_row

COVER = 'agency = "Test Agency"\nofficial = "A. Official"\nattestation = "Active investigation."\n'


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("junk.csv", bytes(range(256)) * 16, "binary data"),
        ("latin1.csv", csv_text([good_row(first_name="José")]).encode("latin-1"), "not UTF-8"),
        ("fake.xlsx", b"record_id\nr1\n", "not a zip archive"),
        ("header.csv", csv_text([]).encode(), "no data rows"),
    ],
)
def test_process_refuses_hostile_files_in_one_line(
    tmp_path: Path, name: str, data: bytes, fragment: str
) -> None:
    request = tmp_path / name
    request.write_bytes(data)
    cover = tmp_path / "cover.toml"
    cover.write_text(COVER, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "process", str(request), "--cover", str(cover), "--db", str(tmp_path / "none.duckdb"),
        "--out", str(tmp_path / "out"), "--state-db", f"sqlite:///{tmp_path / 's.sqlite'}", "-q",
    ])  # fmt: skip
    assert result.exit_code == InputFileError.exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
