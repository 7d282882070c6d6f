"""The requester's desk end to end through the CLI (issue 18): an analyst's workbook (an
instructions sheet first, a title row, synonyms, their own columns, a footer) is processed with
the right rows; the requester's unmatched.csv says only `not_disclosed` unless the agreement says
otherwise, while the reviewers' reasons.csv and `evaluate` keep the detailed reasons; result.xlsx
has the summary first, frozen and filtered sheets and the requester's columns beside each row."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from enroll import register_agreement

AGENCY = "U.S. Immigration and Customs Enforcement (synthetic test request)"
OFFICIAL = "Jane Q. Example, Special Agent in Charge (synthetic)"
PASSWORD = "correct horse battery staple"
DETAILED = {"no_candidate", "low_confidence", "ambiguous", "no_return_in_period"}
DEFAULT_TOML = Path(__file__).resolve().parents[2] / "src/tinmatch/data/default_agreement.toml"
# The analyst's headers for the contract's columns (synonyms where analysts use them).
ANALYST = {
    "record_id": "Record ID", "first_name": "First Name", "middle_name": "Middle",
    "last_name": "Surname", "suffix": "Suffix", "date_of_birth": "DOB",
    "street": "Street Address", "address_line2": "Apt", "city": "City", "state": "State",
    "zip": "Zip Code", "removal_order_date": "Removal Date", "criminal_statute": "Statute",
    "case_number": "Case #", "tax_periods": "Tax Years",
}


def tinmatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINMATCH_")}
    env["TINMATCH_REVIEWER_PASSWORD"] = PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "tinmatch", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def desk(master: Path, tmp_path: Path) -> Path:
    """A working folder with the master's files and an operational store of its own (the
    default agreement spaces one agency's requests 60 s apart)."""
    (tmp_path / "D").symlink_to(master)
    state = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    for step in (
        ["agencies", "add", AGENCY, "--state-db", state],
        ["officials", "add", OFFICIAL, "--agency", AGENCY, "--state-db", state],
        ["reviewers", "add", "Rita Reviewer", "--state-db", state],
    ):
        done = tinmatch(*step, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return tmp_path


def analyst_workbook(desk: Path) -> Path:
    """The synthetic request as an analyst's Excel file."""
    with (desk / "D" / "request.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    path = desk / "analyst.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Instructions").write(0, 0, "One row per person; see the agreement.")
    sheet = book.add_worksheet("Cases")
    columns = [c for c in ANALYST if c in rows[0]]
    headers = [ANALYST[c] for c in columns] + ["Agent notes", "SSN"]
    sheet.merge_range(0, 0, 0, len(headers) - 1, "Address request, field office 4")
    sheet.write_row(2, 0, headers)
    for r, row in enumerate(rows, start=3):
        sheet.write_row(r, 0, [row[c] for c in columns] + [f"note {r}", "123-45-6789"])
    sheet.write(len(rows) + 4, 0, "Prepared by J. Analyst")
    book.close()
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def process(desk: Path, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return tinmatch(
        "process", str(analyst_workbook(desk)), "--cover", "D/cover.toml",
        "--db", "D/master.duckdb", "--out", out, "-q",
        "--state-db", f"sqlite:///{desk / 'ops.sqlite'}", *extra, cwd=desk,
    )  # fmt: skip


def test_an_analysts_workbook_processed_and_released(desk: Path) -> None:
    done = process(desk, "R")
    assert done.returncode == 0, done.stderr
    folder = desk / "R"
    status = json.loads((folder / "status.json").read_text())
    assert status["counts"]["received"] == 40  # the footer is not a row
    unmatched = read_rows(folder / "unmatched.csv")
    assert unmatched and {r["reason_code"] for r in unmatched} == {"not_disclosed"}
    reasons = read_rows(folder / "reasons.csv")
    assert [r["record_id"] for r in reasons] == [r["record_id"] for r in unmatched]
    assert {r["reason_code"] for r in reasons} <= DETAILED
    assert not {k for k in status["counts"] if k.removeprefix("reason.") in DETAILED}
    with (folder / "request_columns.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["record_id", "Agent notes"]  # never the SSN

    book = openpyxl.load_workbook(folder / "result.xlsx")
    assert book.sheetnames[0] == "summary"
    held = book["held"]
    assert held.freeze_panes == "A2" and held.auto_filter.ref
    assert [c.value for c in held[1]] == ["record_id", "Agent notes"]
    assert str(held["B2"].value).startswith("note ")

    rid = status["request_id"]
    approved = tinmatch(
        "review", "approve", rid, "--reviewer", "Rita Reviewer", "--note", "checked",
        "--state-db", f"sqlite:///{desk / 'ops.sqlite'}", cwd=desk,
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert {r["reason_code"] for r in read_rows(folder / "unmatched.csv")} == {"not_disclosed"}
    book = openpyxl.load_workbook(folder / "result.xlsx")
    matched = book["matched"]
    assert [c.value for c in matched[1]][-1] == "Agent notes"
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary["review_status"] == "released"
    assert summary["unmatched_reasons"].startswith("not shown to the requester")
    assert summary["reason.not_disclosed"] == len(unmatched)

    scored = tinmatch("evaluate", "--truth", "D/truth.csv", "--results", "R", "--json", cwd=desk)
    assert scored.returncode == 0, scored.stderr
    figures = json.loads(scored.stdout)
    assert "not_disclosed" not in figures["misses_by_reason"]  # detailed, from reasons.csv
    assert figures["unmatched_reason_as_expected"] == figures["unmatched_as_expected"] > 0


def test_an_agreement_may_tell_the_requester_why(desk: Path) -> None:
    text = DEFAULT_TOML.read_text(encoding="utf-8")
    text = text.replace('id = "default"', 'id = "tells-why"', 1)
    text = text.replace("[disclosure]\n", "[disclosure]\nunmatched_reasons = true\n", 1)
    path = desk / "tells-why.toml"
    path.write_text(text, encoding="utf-8")
    register_agreement(str(desk / "ops.sqlite"), path)
    done = process(desk, "W", "--agreement", str(path))
    assert done.returncode == 0, done.stderr
    unmatched = read_rows(desk / "W" / "unmatched.csv")
    assert unmatched and {r["reason_code"] for r in unmatched} <= DETAILED
    book = openpyxl.load_workbook(desk / "W" / "result.xlsx")
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary["unmatched_reasons"].startswith("shown to the requester")
