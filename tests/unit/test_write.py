import csv
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from tinmatch.pipeline.write import DisclosureGuardError, ResultWriter

DEFAULT_FIELDS = ("street", "address_line2", "city", "state", "zip", "tax_year")


def matched(**extra: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": ["r1", "=r2"],
        "street": ["12 Elm St", "@SUM(A1)"],
        "address_line2": [None, "Apt 2"],
        "city": ["Boston", "-Springfield"],
        "state": ["MA", "IL"],
        "zip": ["02134", None],
        "tax_year": [2024, 2023],
        "match_probability": [0.995, 1.0],
        **extra,
    })


def rejected() -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": ["r3", "r4"],
        "reason_codes": ["missing_field;statute_not_authorized", "invalid_value"],
        "fields": ["first_name;criminal_statute", "street"],
        "message": ["first_name is missing; statute '=1+1' is not authorized.", "+cmd|'x'!A0"],
        "_row": [4, 5],
    })


def unmatched() -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": ["r5", "r6"],
        "reason_code": ["ambiguous", "no_candidate"],
        "message": ["2 taxpayers plausibly fit this row", "no taxpayer fits"],
    })


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def written(tmp_path: Path, fields: tuple[str, ...] = DEFAULT_FIELDS) -> Path:
    out = tmp_path / "out"
    writer = ResultWriter(out, fields)
    writer.add_matched(matched())
    writer.add_rejected(rejected())
    writer.add_rejected(rejected().iloc[:0])
    writer.add_unmatched(unmatched())
    paths = writer.close({"request_id": "req-1",
                          "agreement": {"id": "default", "sha256": "ab" * 32},
                          "review_status": "held"})
    assert paths.counts == {"rows_matched": 2, "rows_rejected": 2, "rows_unmatched": 2,
                            "rows_total": 6}
    return out


def test_csv_columns_follow_the_contract(tmp_path: Path) -> None:
    out = written(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "matched.csv", "rejected.csv", "result.xlsx", "unmatched.csv",
    ]
    m, r, u = (read_csv(out / f"{n}.csv") for n in ("matched", "rejected", "unmatched"))
    assert m[0] == ["record_id", "street", "address_line2", "city", "state", "zip", "tax_year",
                    "match_probability"]
    assert r[0] == ["record_id", "reason_codes", "fields", "message"]
    assert u[0] == ["record_id", "reason_code", "message"]
    assert m[1] == ["r1", "12 Elm St", "", "Boston", "MA", "02134", "2024", "0.995"]
    assert r[1][:3] == ["r3", "missing_field;statute_not_authorized", "first_name;criminal_statute"]
    assert [row[1] for row in u[1:]] == ["ambiguous", "no_candidate"]


def test_text_cells_are_neutralized_in_csv(tmp_path: Path) -> None:
    out = written(tmp_path)
    m = read_csv(out / "matched.csv")
    assert m[2][:4] == ["'=r2", "'@SUM(A1)", "Apt 2", "'-Springfield"]
    assert read_csv(out / "rejected.csv")[2][3] == "'+cmd|'x'!A0"


def test_xlsx_has_the_same_tables_no_formulas_and_a_summary(tmp_path: Path) -> None:
    out = written(tmp_path)
    book = openpyxl.load_workbook(out / "result.xlsx")
    assert book.sheetnames == ["summary", "matched", "rejected", "unmatched"]
    for name in ("matched", "rejected", "unmatched"):
        cells = [[c.value for c in row] for row in book[name].iter_rows()]
        from_csv = read_csv(out / f"{name}.csv")
        assert cells[0] == from_csv[0]
        assert len(cells) == len(from_csv)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    m = book["matched"]
    assert m["A3"].value == "'=r2" and m["B3"].value == "'@SUM(A1)"
    assert m["G2"].value == 2024 and m["H2"].value == pytest.approx(0.995)  # numbers
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=2)}
    assert summary["request_id"] == "req-1"
    assert summary["agreement.id"] == "default" and summary["agreement.sha256"] == "ab" * 32
    assert summary["review_status"] == "held"
    assert summary["rows_matched"] == 2 and summary["rows_total"] == 6
    assert summary["reason.missing_field"] == 1 and summary["reason.ambiguous"] == 1
    assert summary["reason.volume_cap_exceeded"] == 0
    assert "generated_at" in summary
    assert len(book["summary"]._charts) == 1


def test_disclosed_fields_beyond_the_default_are_written_in_contract_order(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    writer = ResultWriter(out, ("tax_year", "zip", "street", "city"))
    writer.add_matched(pd.DataFrame({
        "record_id": ["r1"], "street": ["1 Main"], "zip": ["02134"], "tax_year": [2024],
        "city": ["Boston"], "match_probability": [0.999], "_row": [2],
    }))
    writer.close({})
    assert read_csv(out / "matched.csv") == [
        ["record_id", "street", "city", "zip", "tax_year", "match_probability"],
        ["r1", "1 Main", "Boston", "02134", "2024", "0.999"],
    ]


@pytest.mark.parametrize("column", ["tin", "employer_name", "spouse_tin", "filing_status", "_tin"])
def test_matched_rows_with_undisclosed_columns_are_refused(tmp_path: Path, column: str) -> None:
    writer = ResultWriter(tmp_path / "out", DEFAULT_FIELDS)
    with pytest.raises(DisclosureGuardError, match=column):
        writer.add_matched(matched(**{column: ["x", "y"]}))
    writer.abort()


def test_writer_refuses_forbidden_disclosure_list(tmp_path: Path) -> None:
    with pytest.raises(DisclosureGuardError, match="tin"):
        ResultWriter(tmp_path / "out", ("street", "tin"))


def test_probability_outside_unit_interval_is_refused(tmp_path: Path) -> None:
    writer = ResultWriter(tmp_path / "out", DEFAULT_FIELDS)
    bad = matched()
    bad["match_probability"] = [0.5, 1.5]
    with pytest.raises(DisclosureGuardError, match="outside"):
        writer.add_matched(bad)
    writer.abort()


def test_nothing_is_published_before_close_or_after_failure(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with ResultWriter(out, DEFAULT_FIELDS) as writer:
            writer.add_matched(matched())
            assert not (out / "matched.csv").exists()
            assert all(p.name.startswith(".") for p in out.iterdir())
            raise RuntimeError("linkage failed")
    assert list(out.iterdir()) == []


def test_rerun_replaces_previous_results(tmp_path: Path) -> None:
    out = written(tmp_path)
    writer = ResultWriter(out, DEFAULT_FIELDS)
    writer.add_unmatched(unmatched().iloc[:1])
    writer.close({"review_status": "released"})
    assert read_csv(out / "matched.csv") == [read_csv(out / "matched.csv")[0]]
    assert len(read_csv(out / "unmatched.csv")) == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    summary = openpyxl.load_workbook(out / "result.xlsx")["summary"]
    assert {r[0].value: r[1].value for r in summary.iter_rows()}["review_status"] == "released"
