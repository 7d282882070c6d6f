"""Release is the only door (issue 13), end to end through the CLI on a small synthetic master,
with the operational store on SQLite and on PostgreSQL.

Each guardrail is tried the way an insider would: reading the folder before release, editing
status.json, reviewing one's own request, reviewing without an account, processing into another
request's folder, planting a file for purge, pointing a command at a missing database.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import tinmatch
from backends import BACKENDS, backend_url
from enroll import register_agreement
from tinmatch.ops import Store

DEFAULT_AGREEMENT = Path(tinmatch.__file__).parent / "data" / "default_agreement.toml"
PASSWORD = "correct horse battery staple"
AGENCY = "U.S. Immigration and Customs Enforcement (synthetic test request)"
OFFICIAL = "Jane Q. Example, Special Agent in Charge (synthetic)"


def tinmatch(
    *args: str, cwd: Path, password: str | None = PASSWORD
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINMATCH_")}
    if password is not None:
        env["TINMATCH_REVIEWER_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "tinmatch", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class World:
    root: Path
    data: Path
    db: str

    def run(self, *args: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
        return tinmatch(*args, "--state-db", self.db, cwd=self.root, password=password)

    def process(
        self, out: str, request: str = "request.csv", *extra: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "process", str(self.data / request), "--cover", str(self.data / "cover.toml"),
            "--db", str(self.data / "master.duckdb"), "--out", out, "-q", *extra,
        )  # fmt: skip

    def request_id(self, out: str) -> str:
        body = json.loads((self.root / out / "status.json").read_text())
        return str(body["request_id"])

    def store(self) -> Store:
        return Store.open(self.db, create=False)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, master: Path, tmp_path: Path) -> Iterator[World]:
    db = backend_url(request.param, tmp_path)
    w = World(tmp_path, master, db)
    assert w.run("agencies", "add", AGENCY).returncode == 0
    assert w.run("officials", "add", OFFICIAL, "--agency", AGENCY).returncode == 0
    assert w.run("reviewers", "add", "Rita Reviewer").returncode == 0
    assert w.run("reviewers", "add", "Sam Second").returncode == 0
    yield w


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _all_text(folder: Path) -> str:
    """Every byte under `folder` as text, workbooks unzipped."""
    parts = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts.extend(book.read(n).decode("utf-8", "replace") for n in book.namelist())
        else:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def test_nothing_before_release_then_release_renders_matched(world: World) -> None:
    assert world.process("R").returncode == 0
    folder = world.root / "R"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["explain.csv", "held.csv", "reasons.csv", "rejected.csv", "result.xlsx",
                     "status.json", "unmatched.csv"]  # fmt: skip
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "held"
    assert list(_rows(folder / "held.csv")[0]) == ["record_id"]
    rid = world.request_id("R")
    with world.store() as store:
        pending = store.pending(rid)
    assert pending, "the request should identify some rows"
    everything = _all_text(folder)
    for p in pending:  # no address of the request anywhere under its folder
        assert str(p.fields["street"]) not in everything
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if world.db.startswith("sqlite"):
        assert stat.S_IMODE((world.root / "ops.sqlite").stat().st_mode) == 0o600

    done = world.run("review", "approve", rid, "--reviewer", "Rita Reviewer", "--note", "ok")
    assert done.returncode == 0, done.stderr
    assert "released" in done.stdout
    assert not (folder / "held.csv").exists()
    matched = _rows(folder / "matched.csv")
    assert {r["record_id"] for r in matched} == {p.record_id for p in pending}
    assert list(matched[0]) == ["record_id", "street", "address_line2", "city", "state", "zip",
                                "tax_year", "match_probability"]  # fmt: skip
    assert json.loads((folder / "status.json").read_text())["status"] == "released"
    assert stat.S_IMODE((folder / "matched.csv").stat().st_mode) == 0o600
    truth = world.data / "truth.csv"
    scored = world.run("evaluate", "--truth", str(truth), "--results", str(folder), "--json")
    assert scored.returncode == 0, scored.stderr
    figures = json.loads(scored.stdout)
    n_request = len(_rows(world.data / "request.csv"))
    assert (figures["rows"], figures["disclosed"]) == (n_request, len(matched)), figures
    assert figures["wrong_person"] == 0


def test_out_must_be_new_empty_or_this_requests_own(world: World) -> None:
    assert world.process("R").returncode == 0
    assert world.process("R").returncode == 0  # the same request again: its own folder
    other = world.data / "request.csv"
    body = other.read_text(encoding="utf-8").replace("ICE-2026-", "ICE-OTHER-")
    (world.data / "other.csv").write_text(body, encoding="utf-8")
    refused = world.process("R", request="other.csv")
    assert refused.returncode == 2 and "folder of its own" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    foreign = world.root / "F"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("someone else's file")
    assert world.process("F").returncode == 2
    assert (foreign / "notes.txt").read_text() == "someone else's file"


def test_insider_edits_status_json_and_results_before_release(world: World) -> None:
    assert world.process("R").returncode == 0
    rid = world.request_id("R")
    status = world.root / "R" / "status.json"
    status.write_text(json.dumps({"request_id": rid, "status": "released", "counts": {}}))
    done = world.run("results", rid, "--out", "again")
    assert done.returncode != 0 and "held" in done.stderr
    assert not (world.root / "again" / "matched.csv").exists()
    with world.store() as store:
        assert store.get_request(rid).status == "held"


def test_reviewers_are_people_with_accounts(world: World) -> None:
    assert world.process("R").returncode == 0
    rid = world.request_id("R")
    approve = ("review", "approve", rid, "--note", "ok", "--reviewer")
    nobody = world.run(*approve, "Not Registered")
    assert nobody.returncode != 0 and "not a registered reviewer" in nobody.stderr
    wrong = world.run(*approve, "Rita Reviewer", password="not the password at all")
    assert wrong.returncode != 0 and "password" in wrong.stderr
    # The requesting official holds a reviewer account too: still refused on their own request.
    assert world.run("reviewers", "add", OFFICIAL).returncode == 0
    own = world.run(*approve, OFFICIAL)
    assert own.returncode != 0 and "official" in own.stderr
    assert len(own.stderr.strip().splitlines()) == 1
    denied = world.run("review", "deny", rid, "--reviewer", "Nobody", "--note", "no")
    assert denied.returncode != 0
    with world.store() as store:
        assert store.get_request(rid).status == "held"
        assert store.ledger_entries(rid) == []
    assert not (world.root / "R" / "matched.csv").exists()


def test_withheld_row_is_in_no_matched_csv(world: World) -> None:
    assert world.process("R").returncode == 0
    rid = world.request_id("R")
    shown = world.run("review", "show", rid, "--lowest", "--limit", "0")
    assert shown.returncode == 0, shown.stderr
    with world.store() as store:
        pending = store.pending(rid)
    first = pending[0]
    assert f"\n{first.record_id}  probability" in shown.stdout
    assert "asked" in shown.stdout and "leaves" in shown.stdout and "why" in shown.stdout
    assert first.tin not in shown.stdout  # no TIN printed
    done = world.run(
        "review", "approve", rid, "--reviewer", "Rita Reviewer", "--note", "one row withheld",
        "--withhold", first.record_id, "--withhold-why", "address is a shelter",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = world.root / "R"
    assert first.record_id not in {r["record_id"] for r in _rows(folder / "matched.csv")}
    unmatched = {r["record_id"]: r["reason_code"] for r in _rows(folder / "unmatched.csv")}
    # the requester is told only that nothing is disclosed, not that a reviewer withheld it
    assert unmatched[first.record_id] == "not_disclosed"
    with world.store() as store:
        reasons = {d.record_id: d.reason for d in store.delivery(rid).decisions}
    assert reasons[first.record_id] == "withheld_by_reviewer"
    with world.store() as store:
        kinds = {(e.entry_type, e.record_id) for e in store.ledger_entries(rid)}
    assert ("withheld", first.record_id) in kinds
    assert ("disclosure", first.record_id) not in kinds


def test_recall_stops_delivery_everywhere_and_for_good(world: World) -> None:
    assert world.process("R").returncode == 0
    rid = world.request_id("R")
    assert world.run("review", "approve", rid, "--reviewer", "Rita Reviewer",
                     "--note", "ok").returncode == 0  # fmt: skip
    folder = world.root / "R"
    victim = _rows(folder / "matched.csv")[0]["record_id"]
    no_by = world.run("ledger", "recall", rid, victim, "--why", "wrong person")
    assert no_by.returncode != 0 and "--by" in no_by.stderr
    done = world.run("ledger", "recall", rid, victim, "--why", "wrong person", "--by", "Sup")
    assert done.returncode == 0, done.stderr
    assert victim not in {r["record_id"] for r in _rows(folder / "matched.csv")}
    recalls = _rows(folder / "recalls.csv")
    assert [(r["record_id"], r["why"]) for r in recalls] == [(victim, "wrong person")]
    assert list(recalls[0]) == ["record_id", "recalled_at", "why"]
    again = world.run("results", rid, "--out", "redelivery")
    assert again.returncode == 0, again.stderr
    assert victim not in {r["record_id"] for r in _rows(world.root / "redelivery/matched.csv")}
    assert (world.root / "redelivery" / "recalls.csv").exists()
    # The same person asked for again by the same agency: not disclosed again.
    with world.store() as store:
        tin = next(p.tin for p in store.pending(rid) if p.record_id == victim)
    lines = (world.data / "request.csv").read_text(encoding="utf-8").splitlines()
    row = next(line for line in lines if line.startswith(victim + ","))
    (world.data / "again.csv").write_text(
        lines[0] + "\n" + row.replace(victim, "AGAIN-1", 1) + "\n", encoding="utf-8"
    )
    # the agency asks again at once: under an agreement without the default's 60 s interval
    fast = world.root / "no_interval.toml"
    fast.write_text(
        DEFAULT_AGREEMENT.read_text(encoding="utf-8").replace(
            "min_interval_seconds = 60", "min_interval_seconds = 0"
        ),
        encoding="utf-8",
    )
    register_agreement(world.db, fast)
    again = world.process("R2", "again.csv", "--agreement", str(fast))
    assert again.returncode == 0, again.stderr
    unmatched = _rows(world.root / "R2" / "unmatched.csv")
    assert [(r["record_id"], r["reason_code"]) for r in unmatched] == [
        ("AGAIN-1", "not_disclosed")
    ]
    reasons = _rows(world.root / "R2" / "reasons.csv")  # the reviewers' copy says why
    assert [(r["record_id"], r["reason_code"]) for r in reasons] == [
        ("AGAIN-1", "previously_recalled")
    ]
    # --tin recalls every disclosure of the taxpayer that is left; none is left here.
    left = world.run("ledger", "recall", "--tin", tin, "--why", "x", "--by", "Sup")
    assert left.returncode != 0 and "left to recall" in left.stderr


def test_purge_removes_only_what_tinmatch_wrote_never_the_store(world: World) -> None:
    assert world.process("R").returncode == 0
    rid = world.request_id("R")
    assert world.run("review", "approve", rid, "--reviewer", "Rita Reviewer",
                     "--note", "ok").returncode == 0  # fmt: skip
    folder = world.root / "R"
    (folder / "theirs.txt").write_text("not tinmatch's")
    (folder / "explain.csv").write_text("edited by hand\n")  # changed since written: kept
    if world.db.startswith("sqlite"):
        db_file = world.root / "ops.sqlite"
        with world.store() as store:  # an insider lists the store in the manifest
            store.engine.dispose()
            with store.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO result_files (request_id, path, sha256, bytes, written_at) "
                        "VALUES (:r, :p, :s, 0, '2026-01-01')"
                    ),
                    {"r": rid, "p": str(db_file), "s": "0" * 64},
                )
    done = world.run("purge", "--older-than", "0d")
    assert done.returncode == 0, done.stderr
    assert (folder / "theirs.txt").read_text() == "not tinmatch's"
    assert (folder / "explain.csv").exists()
    assert not (folder / "matched.csv").exists() and not (folder / "result.xlsx").exists()
    assert "left" in done.stdout
    if world.db.startswith("sqlite"):
        assert (world.root / "ops.sqlite").stat().st_size > 0
    verify = world.run("ledger", "verify")
    assert verify.returncode == 0, verify.stderr


def test_no_command_creates_an_empty_operational_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ops.sqlite"
    for args in (["ledger", "verify"], ["review", "list"], ["purge", "--older-than", "1d"],
                 ["results", "req-0000000000000000", "--out", "x"]):  # fmt: skip
        done = tinmatch(*args, "--state-db", str(missing), cwd=tmp_path)
        assert done.returncode != 0, args
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "no operational database" in done.stderr
        assert not missing.exists()
