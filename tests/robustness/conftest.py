"""A small synthetic world (master + request with hostile rows), built once per session."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

HOSTILE_IDS = ("=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\t=1+1")


@dataclass(frozen=True)
class World:
    root: Path
    db: Path
    cover: Path
    request: Path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from tinmatch.master.load import load_master
    from tinmatch.synth import generate

    root = tmp_path_factory.mktemp("world")
    data = root / "data"
    generate(data, 600, 60, seed=5, fmt="parquet")
    db = root / "master.duckdb"
    load_master(data / "taxpayers.parquet", data / "returns.parquet", db)
    with (data / "request.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the synthetic request is empty"
    fields = list(rows[0])
    # Requester-controlled text that a spreadsheet would run: the same people again under
    # record_ids that are formulas (they must come back matched, but inert).
    for hostile, row in zip(HOSTILE_IDS, rows[:10], strict=False):
        rows.append({**row, "record_id": hostile})
    request = root / "request.csv"
    with request.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return World(root, db, data / "cover.toml", request)
