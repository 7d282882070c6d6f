"""One small generated master for the CLI tests that need nothing bigger (built once per run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 synthetic people and a 40-row request (seed 11), loaded: the folder holding both."""
    root = tmp_path_factory.mktemp("cli-master")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINMATCH_")}
    for step in (
        ["synth", "--people", "1000", "--requests", "40", "--seed", "11", "--out", "D"],
        ["load-master", "--taxpayers", "D/taxpayers.parquet", "--returns",
         "D/returns.parquet", "--db", "D/master.duckdb", "-q"],
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "tinmatch", *step],
            cwd=root, capture_output=True, text=True, timeout=600, env=env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return root / "D"
