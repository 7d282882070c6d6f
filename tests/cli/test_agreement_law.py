"""The agreement is law: caps, covers, lifetime, suspension, review and the ledger, via the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from enroll import APPROVER_PASSWORD, approvers, enroll, register_agreement
from reviewers import REVIEWER_PASSWORD, add_reviewers
from tinmatch.agreement import Agreement
from tinmatch.ops import Store

DEFAULT = Path(__file__).parents[2] / "src" / "tinmatch" / "data" / "default_agreement.toml"
ATTESTATION = "Each person is under active criminal investigation; used only for it."
COVER = ["--agency", "ICE", "--official", "J. Doe, Special Agent", "--attestation", ATTESTATION]


def tinmatch(
    *args: str, cwd: Path, password: str = APPROVER_PASSWORD
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TINMATCH_REVIEWER_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "tinmatch", *args], cwd=cwd, capture_output=True, text=True,
        timeout=600, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("law")
    for step in (
        ["synth", "--people", "3000", "--requests", "200", "--seed", "9", "--out", "data",
         "--format", "parquet"],
        ["load-master", "--taxpayers", "data/taxpayers.parquet", "--returns",
         "data/returns.parquet", "--db", "master.duckdb", "-q"],
    ):  # fmt: skip
        done = tinmatch(*step, cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def agreement(root: Path, name: str, register: str | None = None, **edits: str) -> Path:
    """An edited copy of the default agreement; registered in state `register` when given."""
    text = DEFAULT.read_text()
    for old, new in edits.items():
        assert old.replace("__", " ") in text or old in text, old
        text = text.replace(old, new)
    path = root / f"{name}.toml"
    path.write_text(text)
    Agreement.load(path)  # must be a valid agreement
    if register is not None:
        register_agreement(str(root / f"{register}.sqlite"), path)
    return path


def run(root: Path, out: str, state: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`process` with the ICE cover's agency and official registered in `state`."""
    enroll(str(root / f"{state}.sqlite"), "ICE", "J. Doe, Special Agent")
    return tinmatch(
        "process", "data/request.csv", "--db", "master.duckdb", "--out", out,
        "--state-db", f"sqlite:///{state}.sqlite", "-q", *extra, cwd=root,
    )  # fmt: skip


def test_rows_beyond_the_request_cap_are_rejected_not_dropped(world: Path) -> None:
    edit = {"max_rows_per_request = 100000": "max_rows_per_request = 25"}
    path = agreement(world, "cap", register="cap", **edit)
    done = run(world, "out_cap", "cap", "--agreement", str(path), *COVER)
    assert done.returncode == 0, done.stderr
    out = world / "out_cap"
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    capped = rejected[rejected["reason_codes"].str.contains("volume_cap_exceeded")]
    matched = pd.read_csv(out / "held.csv", dtype=str)  # held for review until released
    unmatched = pd.read_csv(out / "unmatched.csv", dtype=str)
    assert len(matched) + len(unmatched) == 25  # exactly the cap was looked up
    assert len(capped) > 0
    request = pd.read_csv(world / "data" / "request.csv", dtype=str)
    assert len(matched) + len(unmatched) + len(rejected) == len(request)


def test_no_cover_refuses_the_whole_request(world: Path) -> None:
    done = run(world, "out_nocover", "nocover")
    assert done.returncode != 0
    assert "cover" in done.stderr and done.stderr.count("\n") == 1
    assert not (world / "out_nocover" / "matched.csv").exists()


def test_expired_agreement_refuses(world: Path) -> None:
    path = agreement(
        world, "expired", register="expired",
        **{"effective = 2026-01-01": "effective = 2020-01-01",
           "expires = 2027-06-30": "expires = 2021-06-30"},
    )  # fmt: skip
    done = run(world, "out_expired", "expired", "--agreement", str(path), *COVER)
    assert done.returncode != 0 and "not in force" in done.stderr


def test_suspended_agreement_refuses_until_resumed(world: Path) -> None:
    state = "sqlite:///suspend.sqlite"
    enroll(str(world / "suspend.sqlite"), "ICE", "J. Doe, Special Agent")  # an existing database
    done = tinmatch("agreement", "suspend", "--why", "court order 26-1", "--state-db", state,
                    cwd=world)  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run(world, "out_susp", "suspend", *COVER)
    assert done.returncode != 0 and "suspended" in done.stderr and "court order" in done.stderr
    assert tinmatch("agreement", "resume", "--state-db", state, cwd=world).returncode == 0
    assert run(world, "out_susp", "suspend", *COVER).returncode == 0


def test_official_caseload_cap_refuses_whole(world: Path) -> None:
    path = agreement(
        world, "caseload", register="case",
        **{"max_rows_per_official_per_period = 1000": "max_rows_per_official_per_period = 50"},
    )  # fmt: skip
    done = run(world, "out_case", "case", "--agreement", str(path), *COVER)
    assert done.returncode != 0 and "official" in done.stderr
    assert not (world / "out_case" / "matched.csv").exists()


def test_min_interval_between_requests(world: Path) -> None:
    edit = {"min_interval_seconds = 60": "min_interval_seconds = 3600"}
    path = agreement(world, "interval", register="interval", **edit)
    first = run(world, "out_i1", "interval", "--agreement", str(path), *COVER)
    assert first.returncode == 0, first.stderr
    other = world / "data" / "request2.csv"
    pd.read_csv(world / "data" / "request.csv", dtype=str).head(10).to_csv(other, index=False)
    second = tinmatch(
        "process", str(other), "--db", "master.duckdb", "--out", "out_i2",
        "--state-db", "sqlite:///interval.sqlite", "-q", "--agreement", str(path), *COVER,
        cwd=world,
    )  # fmt: skip
    assert second.returncode != 0 and "between requests" in second.stderr


def test_review_release_ledger_and_recall(world: Path) -> None:
    state = "sqlite:///review.sqlite"
    done = run(world, "out_rev", "review", *COVER)
    assert done.returncode == 0, done.stderr
    request_id = done.stdout.split(":")[0].strip()
    held = pd.read_csv(world / "out_rev" / "held.csv", dtype=str)
    assert "status held" in done.stdout and not (world / "out_rev" / "matched.csv").exists()

    here = f"sqlite:///{world / 'review.sqlite'}"  # the CLI ran in `world`; this test may not

    def disclosures() -> list[str]:
        with Store.open(here, create=False) as store:
            return [e.kind for e in store.ledger_entries(request_id)]

    assert disclosures() == []  # nothing in the ledger until a reviewer approves
    with Store.open(here, create=False) as store:
        add_reviewers(store, "R. Viewer")
    approve = ["review", "approve", request_id, "--reviewer", "R. Viewer", "--note", "ok",
               "--state-db", state]  # fmt: skip
    refused = tinmatch(*approve, cwd=world)  # the approvers' password is not R. Viewer's
    assert refused.returncode != 0 and "password" in refused.stderr
    released = tinmatch(*approve, cwd=world, password=REVIEWER_PASSWORD)
    assert released.returncode == 0, released.stderr
    matched = pd.read_csv(world / "out_rev" / "matched.csv", dtype=str)
    assert sorted(matched["record_id"]) == sorted(held["record_id"])
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(world / "out_rev" / "result.xlsx"))
    summary = {r[0]: r[1] for r in book.get_sheet_by_name("summary").to_python()}
    assert summary["review_status"] == "released" and summary["reviewed_by"] == "R. Viewer"
    again = tinmatch(*approve, cwd=world, password=REVIEWER_PASSWORD)
    assert again.returncode != 0 and "already released" in again.stderr
    assert disclosures() == ["disclosure"] * len(matched)
    # re-processing a released request never writes a second set of entries
    assert run(world, "out_rev", "review", *COVER).returncode != 0
    record = matched["record_id"].iloc[0]
    recall = tinmatch("ledger", "recall", request_id, record, "--why", "wrong person",
                      "--by", "R. Viewer", "--state-db", state, cwd=world)  # fmt: skip
    assert recall.returncode == 0, recall.stderr
    notice = pd.read_csv(world / "out_rev" / "recalls.csv", dtype=str)
    assert notice["record_id"].tolist() == [record]
    after = pd.read_csv(world / "out_rev" / "matched.csv", dtype=str)
    assert record not in set(after["record_id"])
    assert disclosures() == ["disclosure"] * len(matched) + ["recall"]
    verify = tinmatch("ledger", "verify", "--state-db", state, cwd=world)
    assert verify.returncode == 0, verify.stderr


def test_disclosing_employer_or_tin_fails_to_load(tmp_path: Path) -> None:
    from tinmatch.errors import ConfigError

    for field in ("employer_name", "tin"):
        text = DEFAULT.read_text().replace('"tax_year"]', f'"tax_year", "{field}"]')
        path = tmp_path / f"{field}.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=field):
            Agreement.load(path)


# -- the registry, played by an insider ----------------------------------------------------------


def test_an_unregistered_or_edited_agreement_is_refused_in_one_line(world: Path) -> None:
    edit = {"max_rows_per_request = 100000": "max_rows_per_request = 500"}
    path = agreement(world, "registered", register="edited", **edit)
    assert run(world, "out_reg", "edited", "--agreement", str(path), *COVER).returncode == 0
    path.write_text(path.read_text().replace("500", "5000"))  # a quiet edit
    done = run(world, "out_edit", "edited", "--agreement", str(path), *COVER)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "is not registered" in done.stderr
    assert not (world / "out_edit" / "held.csv").exists()


def test_registering_an_agreement_that_breaks_a_floor_is_refused(world: Path) -> None:
    with Store.open(f"sqlite:///{world / 'floors.sqlite'}") as store:
        approver = approvers(store)[0]
    cases = {
        "statute": ({'"8 U.S.C. 1326"]': '"8 U.S.C. 1326", "99 U.S.C. 9999 (made up)"]'},
                    "'99 U.S.C. 9999 (made up)' is not a criminal statute"),
        "case": ({'"criminal_statute", "case_number",': '"criminal_statute",'},
                 "must include case_number"),
        "review": ({"required = true": "required = false"}, "review.required cannot be false"),
        "filing": ({'"tax_year"]': '"tax_year", "filing_status"]'},
                   "'filing_status' may never be disclosed"),
    }  # fmt: skip
    for name, (edits, message) in cases.items():
        text = DEFAULT.read_text()
        for old, new in edits.items():
            text = text.replace(old, new)
        path = world / f"floor-{name}.toml"
        path.write_text(text)
        done = tinmatch("agreement", "register", str(path), "--by", approver,
                        "--state-db", "sqlite:///floors.sqlite", cwd=world)  # fmt: skip
        assert done.returncode == 2 and message in done.stderr, (name, done.stderr)
    listed = tinmatch("agreement", "list", "--state-db", "sqlite:///floors.sqlite", cwd=world)
    assert "floor-" not in listed.stdout and "no registered agreements" in listed.stdout


def test_a_looser_agreement_runs_only_after_a_second_approver(world: Path) -> None:
    state = "sqlite:///loose.sqlite"
    with Store.open(f"sqlite:///{world / 'loose.sqlite'}") as store:
        first, second = approvers(store)
    edit = {"min_match_probability = 0.99": "min_match_probability = 0.95"}
    path = agreement(world, "loose", **edit)
    register = ("agreement", "register", str(path), "--state-db", state, "--by")
    done = tinmatch(*register, first, cwd=world)
    assert done.returncode == 0 and "second, different approver" in done.stdout
    refused = run(world, "out_loose", "loose", "--agreement", str(path), *COVER)
    assert refused.returncode == 2 and "awaits a second approver" in refused.stderr
    again = tinmatch(*register, first, cwd=world)
    assert again.returncode != 0 and "second approver" in again.stderr
    done = tinmatch(*register, second, cwd=world)
    assert done.returncode == 0 and "it may run" in done.stdout
    assert run(world, "out_loose", "loose", "--agreement", str(path), *COVER).returncode == 0
    shown = tinmatch("agreement", "show", "default", "--state-db", state, cwd=world).stdout
    assert "matching.min_match_probability 0.99 -> 0.95" in shown and second in shown
    diff = tinmatch("agreement", "diff", Agreement.load(path).sha256[:12], "--state-db", state,
                    cwd=world).stdout  # fmt: skip
    assert "-min_match_probability = 0.99" in diff and "+min_match_probability = 0.95" in diff


def test_suspending_the_default_also_refuses_a_renamed_copy(world: Path) -> None:
    state = "sqlite:///renamed.sqlite"
    copy = agreement(world, "renamed", register="renamed", **{'id = "default"': 'id = "copy-2"'})
    done = tinmatch("agreement", "suspend", "--why", "court order 26-2", "--state-db", state,
                    cwd=world)  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = run(world, "out_renamed", "renamed", "--agreement", str(copy), *COVER)
    assert refused.returncode == 6 and "court order 26-2" in refused.stderr


def test_an_unregistered_official_is_refused_whole(world: Path) -> None:
    cover = ["--agency", "ICE", "--official", "J. Doe (2)", "--attestation", ATTESTATION]
    done = run(world, "out_official", "official", *cover)
    assert done.returncode == 6 and "not a registered official of 'ICE'" in done.stderr
    assert not (world / "out_official" / "held.csv").exists()
    respelled = ["--agency", "ice", "--official", "Doe, J., Special Agent", "--attestation",
                 ATTESTATION]  # fmt: skip
    done = run(world, "out_official", "official", *respelled)
    assert done.returncode == 0, done.stderr
