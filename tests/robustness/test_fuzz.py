"""The fuzz target runs for a few seconds in the test suite (longer runs: fuzz/run.sh SECONDS)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import run_file

FUZZ = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_read.py"


def _target() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_read", FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeds_are_accepted_as_requests() -> None:
    target = _target()
    for data in target.seeds():
        target.check(data)  # every shape reads and validates without an error


def test_accepted_seeds_put_every_row_in_exactly_one_outcome() -> None:
    """What the fuzz target accepts is a request: read, validated, every row in one outcome."""
    target = _target()
    accepted = 0
    for data in target.seeds():
        outcome = run_file(target._materialize(data))
        if outcome.error is not None:
            continue
        accepted += 1
        assert outcome.valid is not None and outcome.rejected is not None
        valid = [str(v) for v in outcome.valid["record_id"]]
        rejected = [str(v) for v in outcome.rejected["record_id"]]
        assert outcome.rows == len(valid) + len(rejected) > 0
        assert not set(valid) & set(rejected)
        assert set(valid + rejected) <= {"r1", "r2"}, (data[:1], valid, rejected)
        if data[:1] == b"\x00":  # the CSV seed: both rows, r2 with a formula for a last name
            assert sorted(valid + rejected) == ["r1", "r2"]
    assert accepted >= 2  # at least the CSV and the workbook seeds


def test_plain_random_mutation_fuzzing_finds_nothing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where a finding would be saved
    tried = _target().plain_loop(3.0, seed=11, report=lambda _msg: None)
    assert tried > 20
    assert not list(tmp_path.glob("fuzz-crash-*"))  # no finding saved


@pytest.mark.slow
def test_atheris_coverage_guided_run(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(FUZZ), "--make-seeds", str(corpus)], check=True)
    run = subprocess.run(
        [sys.executable, str(FUZZ), "-max_total_time=4", "-timeout=20",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Done" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
