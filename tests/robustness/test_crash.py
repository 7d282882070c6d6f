"""kill -9 at any point, re-run the same command: byte-identical outputs, one ledger entry per
disclosed row, and nothing half-written under a final name.

Real subprocesses: the named crash points in ``pipeline.publish`` (``TINMATCH_TEST_CRASH_AT``)
SIGKILL the process at each stage of publishing; a further run is killed at a random moment.
The crashes accumulate in one output folder and one state database, then a clean re-run must
reproduce, byte for byte, what an uninterrupted run wrote elsewhere.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from enroll import enroll_synth
from reviewers import REVIEWER_PASSWORD, add_reviewers
from tinmatch.neutralize import neutralize
from tinmatch.ops.store import Store
from tinmatch.pipeline.publish import CRASH_ENV, CRASH_POINTS, STAGING_PREFIX

from .conftest import HOSTILE_IDS, World
from .helpers import assert_inert

pytestmark = pytest.mark.slow

#: What `process` writes: no address before release (held.csv is record ids only).
OUTPUTS = ("held.csv", "rejected.csv", "unmatched.csv", "result.xlsx", "explain.csv")
#: Also written by `process`, not compared byte for byte (status.json; issue 18's tables).
ALSO_WRITTEN = frozenset({"status.json", "reasons.csv", "request_columns.csv"})
#: pipeline/explain.py stages explain.csv under this fixed name in the output folder (not in the
#: writer's staging folder), so a killed run leaves it until the next run. See the report.
KNOWN_LEFTOVERS: frozenset[str] = frozenset()
EPOCH = "1767225600"  # 2026-01-01: the workbook's dates are then reproducible


def tinmatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "tinmatch.cli", *args] if _no_script() else [_script(), *args]


def _script() -> str:
    return str(Path(sys.executable).with_name("tinmatch"))


def _no_script() -> bool:
    return not Path(_script()).exists()


def _env(crash_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    env["SOURCE_DATE_EPOCH"] = EPOCH
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    return env


def process_cmd(world: World, out: Path, state: Path) -> list[str]:
    return tinmatch(
        "process", str(world.request), "--cover", str(world.cover), "--db", str(world.db),
        "--out", str(out), "--state-db", f"sqlite:///{state}", "-q",
    )  # fmt: skip


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS if (out / name).exists()}


def assert_consistent(out: Path, reference: dict[str, bytes]) -> None:
    """What a crash leaves: result.xlsx only ever beside the CSVs of its own run."""
    found = outputs(out)
    if "result.xlsx" in found:
        assert found == reference
    leftovers = [p.name for p in out.glob("*") if p.name not in {*OUTPUTS, *ALSO_WRITTEN}]
    assert all(
        name.startswith(STAGING_PREFIX) or name in KNOWN_LEFTOVERS for name in leftovers
    ), leftovers


def test_kill_9_anywhere_then_rerun_gives_identical_outputs_and_one_ledger_entry_per_row(
    world: World, tmp_path: Path
) -> None:
    clean_out, clean_state = tmp_path / "clean", tmp_path / "clean.sqlite"
    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    enroll_synth(str(clean_state))
    enroll_synth(str(state))
    # The uninterrupted reference run goes alongside the first crash, to save wall time.
    clean = subprocess.Popen(process_cmd(world, clean_out, clean_state), env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    crashed = subprocess.run(process_cmd(world, out, state), env=_env(CRASH_POINTS[0]),
                             capture_output=True, text=True, timeout=300)
    stdout, stderr = clean.communicate(timeout=300)
    assert clean.returncode == 0, stderr
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    reference = outputs(clean_out)
    assert set(OUTPUTS) - {"explain.csv"} <= set(reference)
    assert_consistent(out, reference)

    for point in CRASH_POINTS[1:]:
        run = subprocess.run(process_cmd(world, out, state), env=_env(point),
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == -signal.SIGKILL, (point, run.stderr)
        assert_consistent(out, reference)

    # And once at a random moment (seeded, so a failure can be replayed).
    rng = random.Random(int(os.environ.get("TINMATCH_CRASH_SEED", "7")))
    victim = subprocess.Popen(process_cmd(world, out, state), env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.5, 4.0))
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert_consistent(out, reference)

    final = subprocess.run(process_cmd(world, out, state), env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert outputs(out) == reference  # byte for byte, after five crashes
    leftovers = [p.name for p in out.glob(".*")]
    assert not leftovers, f"temporary files of killed runs remain: {leftovers}"

    matched = _matched_ids(out, "held.csv")
    returned = set().union(*(_ids(out / f"{n}.csv") for n in ("held", "rejected", "unmatched")))
    hostile = {neutralize(h.strip()) for h in HOSTILE_IDS}  # cells are read stripped
    assert hostile <= returned, "every hostile record_id comes back, inert"
    assert not {h for h in HOSTILE_IDS if h.lstrip()[:1] in "=+-@"} & returned

    # Release: kill the approval at a random moment, approve again, count the ledger.
    with Store.open(f"sqlite:///{state}") as store:
        (request,) = store.list_requests()
        assert request.status == "held"
        request_id = request.id
        add_reviewers(store, "R. Eviewer")
    approve = tinmatch("review", "approve", request_id, "--reviewer", "R. Eviewer",
                       "--note", "crash test", "--state-db", f"sqlite:///{state}")
    reviewer_env = {**_env(), "TINMATCH_REVIEWER_PASSWORD": REVIEWER_PASSWORD}
    killed = subprocess.Popen(approve, env=reviewer_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.5, 5.0))
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    again = subprocess.run(approve, env=reviewer_env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 or "already released" in again.stderr, again.stderr
    twice = subprocess.run(approve, env=reviewer_env, capture_output=True, text=True,
                           timeout=300)
    assert twice.returncode != 0 and "\n" not in twice.stderr.strip()
    rerun = subprocess.run(process_cmd(world, out, state), env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode != 0 and "already released" in rerun.stderr
    # The release renders the requester's files from the store (killed or not, the approval
    # that reports "already released" renders them again): matched.csv replaces held.csv with
    # the same rows; the other tables are those of the uninterrupted run.
    assert not (out / "held.csv").exists()
    assert _matched_ids(out) == matched
    assert (out / "rejected.csv").read_bytes() == reference["rejected.csv"]
    assert (out / "explain.csv").read_bytes() == reference["explain.csv"]
    assert _ids(out / "unmatched.csv") == _ids(clean_out / "unmatched.csv")
    assert_inert(out)  # the rendered files too: every cell inert
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(out / "result.xlsx"))
    summary = {r[0]: r[1] for r in book.get_sheet_by_name("summary").to_python()}
    assert summary["review_status"] == "released"

    with Store.open(f"sqlite:///{state}") as store:
        entries = [e for e in store.ledger_entries(request_id) if e.entry_type == "disclosure"]
        assert store.verify_ledger() == []
        assert store.get_request(request_id).status == "released"
    assert len(entries) == len(matched)
    assert {neutralize(e.record_id) for e in entries} == matched
    shutil.rmtree(tmp_path, ignore_errors=True)


def _ids(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["record_id"] for row in csv.DictReader(handle)}


def _matched_ids(out: Path, name: str = "matched.csv") -> set[str]:
    with (out / name).open(encoding="utf-8", newline="") as handle:
        ids = [row["record_id"] for row in csv.DictReader(handle)]
    assert len(ids) == len(set(ids)) > 0
    return set(ids)
