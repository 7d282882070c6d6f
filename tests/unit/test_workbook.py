"""result.xlsx as a requester uses it: summary first, frozen headers, filters, widths, dates as
dates, the requester's own columns beside each row (never in the CSVs), the reason chart."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd

from tinmatch.pipeline.write import (
    REASONS_NOT_SHOWN,
    UNMATCHED_REASONS_KEY,
    ResultWriter,
    echoable,
)

FIELDS = ("street", "address_line2", "city", "state", "zip", "tax_year")


def own_columns() -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": ["r1", "r2", "r3", "r3"],
        "Analyst notes": ["first seen 2024", "=HYPERLINK(1)", "dup one", "dup two"],
        "SSN": ["123-45-6789", "987-65-4321", "", ""],
        "Field office": ["Boston", "Denver", "", "Miami"],
    })


def held_result(out: Path, summary: dict[str, object] | None = None) -> Path:
    writer = ResultWriter(out, FIELDS, held=True)
    writer.add_held(["r1"])
    writer.add_rejected(pd.DataFrame({
        "record_id": ["r3", "r3"], "reason_codes": ["duplicate_record_id"] * 2,
        "fields": ["record_id"] * 2, "message": ["record_id 'r3' occurs more than once"] * 2,
    }))
    writer.add_unmatched(pd.DataFrame({
        "record_id": ["r2"], "reason_code": ["not_disclosed"],
        "message": ["nothing is disclosed for this row"],
    }))
    writer.add_request_columns(own_columns())
    writer.close(summary or {"request_id": "req-1", UNMATCHED_REASONS_KEY: REASONS_NOT_SHOWN,
                             "generated_at": "2026-03-01T10:20:30+00:00"})
    return out


def cells(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[list[object]]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_summary_first_frozen_filtered_and_sized(tmp_path: Path) -> None:
    out = held_result(tmp_path / "out")
    book = openpyxl.load_workbook(out / "result.xlsx")
    assert book.sheetnames == ["summary", "held", "rejected", "unmatched"]
    for name in ("held", "rejected", "unmatched"):
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        width = len(cells(sheet)[0])
        rows = max(sheet.max_row, 2)
        assert sheet.auto_filter.ref == f"A1:{chr(64 + width)}{rows}", name
    message = book["rejected"].column_dimensions["D"].width
    assert message >= len("record_id 'r3' occurs more than once")
    assert book["summary"].freeze_panes == "A2"
    assert len(book["summary"]._charts) == 1


def test_the_requesters_columns_are_echoed_beside_each_row_but_not_in_csvs(
    tmp_path: Path,
) -> None:
    out = held_result(tmp_path / "out")
    book = openpyxl.load_workbook(out / "result.xlsx")
    held = cells(book["held"])
    assert held[0] == ["record_id", "Analyst notes", "Field office"]  # SSN never echoed
    assert held[1] == ["r1", "first seen 2024", "Boston"]
    assert book["held"]["B1"].font.i  # the requester's own columns look different
    unmatched = cells(book["unmatched"])
    assert unmatched[1] == ["r2", "not_disclosed", "nothing is disclosed for this row",
                            "'=HYPERLINK(1)", "Denver"]  # neutralized
    rejected = cells(book["rejected"])
    assert [r[4:] for r in rejected[1:]] == [["dup one", None], ["dup one", None]]
    with (out / "unmatched.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["record_id", "reason_code", "message"]
    with (out / "request_columns.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["record_id", "Analyst notes", "Field office"]


def test_a_release_renders_the_echo_again_and_dates_are_dates(tmp_path: Path) -> None:
    out = held_result(tmp_path / "out")
    writer = ResultWriter(out, FIELDS)  # the release, rendered again from elsewhere
    writer.add_matched(pd.DataFrame({
        "record_id": ["r1"], "street": ["12 Elm St"], "city": ["Boston"], "state": ["MA"],
        "zip": ["02134"], "tax_year": [2024], "match_probability": [0.999],
    }))
    writer.add_rejected(pd.DataFrame(columns=["record_id", "reason_codes", "fields", "message"]))
    writer.add_unmatched(pd.DataFrame(columns=["record_id", "reason_code", "message"]))
    writer.echo_from(out / "request_columns.csv")
    writer.close({"review_status": "released", "reviewed_at": "2026-03-02T09:00:00+00:00",
                  UNMATCHED_REASONS_KEY: REASONS_NOT_SHOWN})
    book = openpyxl.load_workbook(out / "result.xlsx")
    matched = cells(book["matched"])
    assert matched[0][-2:] == ["Analyst notes", "Field office"]
    assert matched[1][0] == "r1" and matched[1][-2:] == ["first seen 2024", "Boston"]
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary["reviewed_at"] == dt.datetime(2026, 3, 2, 9, 0)
    assert isinstance(summary["generated_at"], dt.datetime)


def test_the_summary_counts_not_disclosed_alone_when_reasons_are_kept(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(held_result(tmp_path / "out") / "result.xlsx")
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary[UNMATCHED_REASONS_KEY] == REASONS_NOT_SHOWN
    assert summary["reason.not_disclosed"] == 1
    assert not {"reason.ambiguous", "reason.no_candidate", "reason.low_confidence",
                "reason.no_return_in_period"} & set(summary)
    reason_rows = [k for k in summary if str(k).startswith("reason.")]
    assert reason_rows[-1] == "reason.not_disclosed" and len(reason_rows) == 7


def test_echoable() -> None:
    assert echoable("Analyst notes") and echoable("Field office")
    assert not echoable("SSN") and not echoable("Spouse Name") and not echoable("t.i.n.")
    # nothing that could pass for a result or request column (a file planted in the folder)
    for name in ("street", "Tax Year", "match_probability", "Zip Code", "Full Name", "message"):
        assert not echoable(name), name
