"""`tinmatch check` and `tinmatch template`: a pre-flight check that looks no one up, and a
template that the check passes once filled in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.cli import app
from tinmatch.pipeline.check import check_request
from tinmatch.pipeline.template import write_template

AGREEMENT = Agreement.load()
TODAY = dt.date(2026, 6, 1)
GOOD = {
    "record_id": "R1", "first_name": "Ann", "last_name": "Lee", "street": "12 Elm St",
    "city": "Boston", "state": "MA", "zip": "02134", "removal_order_date": "2024-01-05",
    "criminal_statute": "8 U.S.C. 1326", "case_number": "C-1", "tax_periods": "2024",
}


def fill(template: Path, rows: list[dict[str, object]], out: Path) -> Path:
    book = openpyxl.load_workbook(template)
    sheet = book["request"]
    for row in rows:
        sheet.append([row.get(c) for c in REQUEST_COLUMNS])
    book.save(out)
    return out


def test_template_has_the_columns_instructions_and_validation(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx", AGREEMENT, allowed_years=(2020, 2025), today=TODAY)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["request", "instructions", "lists"]
    assert book["lists"].sheet_state == "hidden"
    sheet = book["request"]
    assert [c.value for c in sheet[1]] == list(REQUEST_COLUMNS)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref is not None
    required = {c.value for c in sheet[1] if c.font.b}
    assert required == set(AGREEMENT.request.required_columns)
    rules = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    statute = rules["M2"]  # criminal_statute
    assert statute.type == "list" and statute.formula1 == "lists!$A$1:$A$2"
    assert [book["lists"].cell(r, 1).value for r in (1, 2)] == list(
        AGREEMENT.request.authorized_statutes
    )
    assert rules["F2"].type == "date" and rules["L2"].type == "date"  # dob, removal order
    assert rules["O2"].type == "list" and rules["O2"].errorStyle == "information"
    assert book["lists"]["C7"].value == "2020-2025"
    instructions = " ".join(
        str(c.value) for row in book["instructions"].iter_rows() for c in row if c.value
    )
    assert "8 U.S.C. 1326" in instructions and "tinmatch check" in instructions


def test_a_filled_template_passes_the_check_and_bad_rows_are_named(tmp_path: Path) -> None:
    template = write_template(tmp_path / "t.xlsx", AGREEMENT, allowed_years=(2020, 2025))
    good = fill(template, [GOOD, {**GOOD, "record_id": "R2"}], tmp_path / "good.xlsx")
    report = check_request(good, AGREEMENT, today=TODAY, master_years=range(2015, 2026))
    assert report.ok and report.rows == 2 and report.sheet == "request"
    bad = fill(
        template,
        [GOOD, {**GOOD, "record_id": "R2", "criminal_statute": "18 USC 1001",
                "tax_periods": "2012"}],
        tmp_path / "bad.xlsx",
    )
    report = check_request(bad, AGREEMENT, today=TODAY, master_years=range(2015, 2026))
    assert not report.ok and report.passing == 1
    (row,) = report.rejected_records()
    assert row["record_id"] == "R2" and row["row"] == 3
    assert row["reason_codes"] == "statute_not_authorized;tax_period_out_of_range"
    assert report.reasons == {"statute_not_authorized": 1, "tax_period_out_of_range": 1}


def test_without_a_master_the_year_range_is_not_checked_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        ",".join(GOOD) + "\n" + ",".join({**GOOD, "tax_periods": "1990"}.values()) + "\n",
        encoding="utf-8",
    )
    report = check_request(path, AGREEMENT, today=TODAY)
    assert report.ok and report.allowed_years is None
    assert any("not checked against the allowed years" in r for r in report.remarks)


def _csv(tmp_path: Path, *rows: dict[str, str]) -> Path:
    path = tmp_path / "request.csv"
    lines = [",".join(GOOD)] + [",".join(r.get(c, "") for c in GOOD) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_command_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "none.duckdb"
    ok = _csv(tmp_path, GOOD)
    done = runner.invoke(app, ["check", str(ok), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "every row would pass (1)" in done.output

    bad = _csv(tmp_path, GOOD, {**GOOD, "record_id": "R2", "street": "N/A"})
    done = runner.invoke(app, ["check", str(bad), "--db", str(db), "--json"])
    assert done.exit_code == 1
    body = json.loads(done.output)
    assert body["would_reject"] == 1 and body["rejected"][0]["record_id"] == "R2"
    assert body["rejected"][0]["message"] == "street 'N/A' is not an address."

    unreadable = tmp_path / "x.csv"
    unreadable.write_text("who,what\n1,2\n", encoding="utf-8")
    done = runner.invoke(app, ["check", str(unreadable), "--db", str(db)])
    assert done.exit_code == 3
    assert "missing required columns" in done.output and "header row 1" in done.output


def test_template_command_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "request.xlsx"
    args = ["template", "--out", str(out), "--db", str(tmp_path / "none.duckdb")]
    assert runner.invoke(app, args).exit_code == 0 and out.exists()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


@pytest.mark.parametrize("name", ["request.csv", "request"])
def test_template_is_an_xlsx(tmp_path: Path, name: str) -> None:
    done = CliRunner().invoke(app, ["template", "--out", str(tmp_path / name)])
    assert done.exit_code == 2 and ".xlsx" in done.output
