"""Request files as analysts make them: title rows, an instructions sheet first, footers, merged
header cells, synonyms, a whole-name column, formulas with and without saved results.

The workbooks are built the way the programs save them: xlsxwriter writes what Excel writes
(shared strings, every formula with its saved result, merged cells); openpyxl writes formulas
without a result, as any script that never opened the file in a spreadsheet program does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from tinmatch.agreement import Agreement
from tinmatch.errors import InputFileError
from tinmatch.pipeline.headers import canonical, split_full_name
from tinmatch.pipeline.read import _rechunk, read_request
from tinmatch.pipeline.validate import ValidationContext, validate

AGREEMENT = Agreement.load()
REQUIRED = AGREEMENT.request.required_columns
ANALYST_HEADER = [
    "Record ID", "First Name", "Surname", "DOB", "Street Address", "City", "State", "Zip Code",
    "Removal Date", "Statute", "Case #", "Tax Years", "Analyst notes",
]


def analyst_row(n: int, **changes: Any) -> list[Any]:
    row: dict[str, Any] = {
        "Record ID": f"R{n:03d}", "First Name": "Ann", "Surname": f"Lee{n}",
        "DOB": dt.date(1980, 5, 6), "Street Address": f"{n} Elm St", "City": "Boston",
        "State": "MA", "Zip Code": "02134", "Removal Date": dt.date(2024, 1, 5),
        "Statute": "8 U.S.C. 1326", "Case #": f"C-{n}", "Tax Years": "2024",
        "Analyst notes": f"seen {n}",
    }
    row.update(changes)
    return [row[h] for h in ANALYST_HEADER]


def excel_workbook(path: Path, rows: list[list[Any]], *, footer: list[str]) -> Path:
    """As Excel saves an analyst's file: an instructions sheet first, a merged title row, a date
    line and a blank row above the header, dates as dates, a footer after a blank row."""
    book = xlsxwriter.Workbook(str(path))
    info = book.add_worksheet("Instructions")
    info.write(0, 0, "How to fill in this request")
    info.write(1, 0, "One row per person. Dates as MM/DD/YYYY.")
    info.write_row(3, 0, ["Column", "Meaning"])
    info.write_row(4, 0, ["Record ID", "your own key"])
    sheet = book.add_worksheet("Requests")
    title = book.add_format({"bold": True, "font_size": 14})
    dates = book.add_format({"num_format": "mm/dd/yyyy"})
    sheet.merge_range(0, 0, 0, len(ANALYST_HEADER) - 1, "Address request - March 2026", title)
    sheet.write(1, 0, "Prepared for the tax agency")
    sheet.write_row(3, 0, ANALYST_HEADER)
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, value, dates)
            elif value is not None:
                sheet.write(r, c, value)
    for offset, line in enumerate(footer):
        sheet.write(4 + len(rows) + 1 + offset, 0, line)
    book.close()
    return path


def read_all(path: Path, **kwargs: Any) -> tuple[Any, list[dict[str, Any]]]:
    reader = read_request(path, required_columns=REQUIRED, **kwargs)
    rows = [row for chunk in reader for row in chunk.to_dict("records")]
    return reader, rows


def validated(path: Path, **kwargs: Any) -> tuple[Any, Any]:
    reader = read_request(path, required_columns=REQUIRED, **kwargs)
    ctx = ValidationContext(allowed_years=(2019, 2025), today=dt.date(2026, 6, 1))
    valid, rejected = [], []
    for chunk in reader:
        ok, bad = validate(chunk, AGREEMENT, ctx)
        valid += ok.to_dict("records")
        rejected += bad.to_dict("records")
    return valid, rejected


def test_title_rows_instructions_first_and_a_footer(tmp_path: Path) -> None:
    path = excel_workbook(
        tmp_path / "analyst.xlsx",
        [analyst_row(1), analyst_row(2), analyst_row(3)],
        footer=["Prepared by J. Analyst, Field Office 4, 03/01/2026", "Total: 3"],
    )
    reader, rows = read_all(path)
    assert reader.sheet == "Requests" and reader.header.row == 4
    assert [r["record_id"] for r in rows] == ["R001", "R002", "R003"]
    assert [r["_row"] for r in rows] == [5, 6, 7]
    assert rows[0]["last_name"] == "Lee1" and rows[0]["date_of_birth"] == "1980-05-06"
    assert rows[0]["case_number"] == "C-1" and rows[0]["zip"] == "02134"
    assert [(n.row, n.text) for n in reader.notes] == [
        (9, "Prepared by J. Analyst, Field Office 4, 03/01/2026"), (10, "Total: 3"),
    ]
    assert ("Surname", "last_name") in reader.header.renamed
    assert reader.extra_columns == ["Analyst notes"]
    assert reader.record_ids() == ["R001", "R002", "R003"]  # the footer is not a row


def test_a_short_row_inside_the_data_is_still_a_row(tmp_path: Path) -> None:
    """Only trailing rows can be notes: a one-cell row followed by data is rejected as a row."""
    rows = [analyst_row(1), ["R002"] + [None] * 12, analyst_row(3)]
    path = excel_workbook(tmp_path / "a.xlsx", rows, footer=[])
    valid, rejected = validated(path)
    assert [r["record_id"] for r in valid] == ["R001", "R003"]
    assert [(r["record_id"], r["_row"]) for r in rejected] == [("R002", 6)]


def test_missing_columns_say_which_sheet_and_row_were_read(tmp_path: Path) -> None:
    header = [h for h in ANALYST_HEADER if h != "Case #"]
    book = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    book.add_worksheet("Instructions").write(0, 0, "Read me first")
    sheet = book.add_worksheet("Data")
    sheet.write(0, 0, "Title")
    sheet.write_row(1, 0, header)
    book.close()
    with pytest.raises(InputFileError) as caught:
        read_request(tmp_path / "a.xlsx", required_columns=REQUIRED)
    message = str(caught.value)
    assert "missing required column case_number" in message
    assert "sheet 'Data', header row 2: 'Record ID', 'First Name', 'Surname'" in message


def test_merged_group_cells_above_the_header(tmp_path: Path) -> None:
    """A row of merged group captions ("Person", "Last known address") above the real header."""
    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Requests")
    sheet.merge_range(0, 1, 0, 3, "Person")
    sheet.merge_range(0, 4, 0, 7, "Last known address")
    sheet.merge_range(0, 8, 0, 11, "Case")
    sheet.write_row(1, 0, ANALYST_HEADER)
    sheet.write_row(2, 0, [str(v) if isinstance(v, dt.date) else v for v in analyst_row(7)])
    book.close()
    reader, rows = read_all(path)
    assert reader.header.row == 2
    assert rows[0]["record_id"] == "R007" and rows[0]["street"] == "7 Elm St"


def test_merged_header_cell_spanning_two_columns(tmp_path: Path) -> None:
    """A header cell merged across two columns names the first; the second is blank."""
    path = tmp_path / "merged2.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Requests")
    header = ["record_id", "first_name", "last_name", "street", "", "city", "state",
              "removal_order_date", "criminal_statute", "case_number", "tax_periods"]
    for c, text in enumerate(header):
        if c != 4:
            sheet.write(0, c, text)
    sheet.merge_range(0, 3, 0, 4, "street")
    sheet.write_row(1, 0, ["r1", "Ann", "Lee", "12 Elm St", "ignored", "Boston", "MA",
                           "2024-01-05", "8 U.S.C. 1326", "C-1", "2024"])
    book.close()
    valid, rejected = validated(path)
    assert rejected == [] and valid[0]["street"] == "12 Elm St"


def test_formula_with_and_without_a_saved_result(tmp_path: Path) -> None:
    # Excel (xlsxwriter here) saves each formula's result: that result is read.
    excel = tmp_path / "excel.xlsx"
    book = xlsxwriter.Workbook(str(excel))
    sheet = book.add_worksheet("Requests")
    sheet.write_row(0, 0, ANALYST_HEADER)
    row = analyst_row(1)
    row[3], row[8] = "1980-05-06", "2024-01-05"
    sheet.write_row(1, 0, row)
    sheet.write_formula(1, 10, '="C-"&1', None, "C-1")
    book.close()
    valid, rejected = validated(excel)
    assert rejected == [] and valid[0]["case_number"] == "C-1"

    # A script (openpyxl) writes the formula without a result: named as such, not "missing".
    script = tmp_path / "script.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Requests"
    ws.append(ANALYST_HEADER)
    ws.append(row)
    ws.append(analyst_row(2, **{"Removal Date": "2024-01-05", "DOB": None}))
    ws["K2"] = '="C-"&A2'
    wb.save(script)
    valid, rejected = validated(script)
    assert [r["record_id"] for r in valid] == ["R002"]
    (bad,) = rejected
    assert (bad["record_id"], bad["reason_codes"], bad["fields"]) == (
        "R001", "invalid_value", "case_number",
    )
    assert "case_number is a formula with no saved result" in bad["message"]
    assert "missing" not in bad["message"]


def test_a_whole_name_column_is_explained_or_split_on_request(tmp_path: Path) -> None:
    header = ["Record ID", "Full Name", "Address", "City", "State", "Removal Date", "Statute",
              "Case #", "Tax Years"]
    tail = ["Boston", "MA", "2024-01-05", "8 U.S.C. 1326", "C-1", "2024"]
    path = tmp_path / "names.csv"
    path.write_text(
        ",".join(header) + "\n"
        + ",".join(["r1", '"Lee, Ann Marie"', "12 Elm St", *tail]) + "\n"
        + ",".join(["r2", "Bo Q Ng Jr", "3 Oak Ave", *tail]) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError) as caught:
        read_request(path, required_columns=REQUIRED)
    message = str(caught.value)
    assert "missing required columns first_name, last_name" in message
    assert "'Full Name' holds whole names" in message and "--split-full-name" in message

    reader, rows = read_all(path, split_full_name=True)
    assert [(r["first_name"], r["middle_name"], r["last_name"], r["suffix"]) for r in rows] == [
        ("Ann", "Marie", "Lee", None), ("Bo", "Q", "Ng", "Jr"),
    ]
    assert rows[0]["street"] == "12 Elm St"


def test_csv_title_row_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    header = ",".join(ANALYST_HEADER)
    body = ",".join(str(v) for v in analyst_row(1))
    path.write_text(
        f"Case system export 2026-03-01,,,\n{header}\n{body}\n,,,\nPrepared by J. Analyst,,\n",
        encoding="utf-8",
    )
    reader, rows = read_all(path)
    assert reader.header.row == 2 and [r["_row"] for r in rows] == [3]
    assert [n.text for n in reader.notes] == ["Prepared by J. Analyst"]


def test_the_request_sheet_hidden_behind_an_instructions_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    info = wb.active
    assert info is not None
    info.title = "Instructions"
    info.append(["Fill in the other sheet"])
    data = wb.create_sheet("Requests")
    data.append(ANALYST_HEADER)
    data.append(analyst_row(1))
    data.sheet_state = "hidden"
    wb.save(tmp_path / "h.xlsx")
    with pytest.raises(InputFileError, match="'Requests', is hidden"):
        read_request(tmp_path / "h.xlsx", required_columns=REQUIRED)


@pytest.mark.parametrize(
    ("header", "column"),
    [("Surname", "last_name"), ("D.O.B.", "date_of_birth"), ("Case #", "case_number"),
     ("Case No.", "case_number"), ("ZIP/Postal code", None), ("Postal Code", "zip"),
     ("Given Name", "first_name"), ("Tax Year", "tax_periods"), ("Full name", "_full_name"),
     ("Notes", None)],
)
def test_synonyms(header: str, column: str | None) -> None:
    assert canonical(header) == column


@pytest.mark.parametrize(
    ("text", "parts"),
    [("Lee, Ann", ("Ann", None, "Lee", None)),
     ("Garcia Lopez, Maria Elena", ("Maria", "Elena", "Garcia Lopez", None)),
     ("Smith Jr., John", ("John", None, "Smith", "Jr.")),
     ("John Q Public III", ("John", "Q", "Public", "III")),
     ("Madonna", (None, None, "Madonna", None)),
     ("  ", (None, None, None, None))],
)
def test_split_full_name(text: str, parts: tuple[str | None, ...]) -> None:
    assert split_full_name(text) == parts


def test_the_requesters_own_columns_are_kept_beside_each_row(tmp_path: Path) -> None:
    rows = [analyst_row(1), analyst_row(2, **{"Analyst notes": None}), analyst_row(3)]
    path = excel_workbook(tmp_path / "a.xlsx", rows, footer=["Prepared by J. Analyst"])
    reader = read_request(path, required_columns=REQUIRED, keep_extras=True, chunk_rows=2)
    assert reader.extra_names == ["Analyst notes"]
    chunks = list(reader)
    extras = [c.attrs["extras"] for c in chunks]
    assert [len(e) for e in extras] == [len(c) for c in chunks] == [2, 1]
    assert [v for e in extras for v in e["Analyst notes"]] == ["seen 1", None, "seen 3"]
    plain = next(iter(read_request(path, required_columns=REQUIRED)))
    assert "extras" not in plain.attrs and "Analyst notes" not in plain.columns


@pytest.mark.parametrize(("first", "then"), [(2, 3), (3, 2), (7, 1), (1, 7)])
def test_a_kept_first_pass_replays_the_same_chunks(tmp_path: Path, first: int, then: int) -> None:
    """``record_ids(keep=True)`` keeps the chunks it read; iterating afterwards replays them,
    cut to the chunk size set since (``process`` sets the engine's), instead of reading the
    file again: the same rows, values, row numbers and requester's columns as a fresh read."""
    rows = [analyst_row(n, **({"Analyst notes": None} if n % 3 == 0 else {})) for n in range(1, 8)]
    rows[4][ANALYST_HEADER.index("Surname")] = "x" * 30  # overlong: blanked, still a row
    path = excel_workbook(tmp_path / "a.xlsx", rows, footer=["Prepared by J. Analyst"])
    options: dict[str, Any] = {"required_columns": REQUIRED, "keep_extras": True,
                               "max_cell_chars": 20}  # fmt: skip
    kept = read_request(path, chunk_rows=first, **options)
    ids = kept.record_ids(keep=True)
    path.unlink()  # the replay does not read the file
    kept.chunk_rows = then
    replayed = list(kept)
    fresh_path = excel_workbook(tmp_path / "b.xlsx", rows, footer=["Prepared by J. Analyst"])
    fresh = list(read_request(fresh_path, chunk_rows=then, **options))
    assert ids == [f"R{n:03d}" for n in range(1, 8)]
    assert [len(c) for c in replayed] == [len(c) for c in fresh] == [
        min(then, 7 - i) for i in range(0, 7, then)
    ]
    for got, want in zip(replayed, fresh, strict=True):
        pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(got.attrs["extras"], want.attrs["extras"])
    assert list(kept) and kept.n_rows == 7  # replayed again, as often as asked
    kept.close()  # the kept chunks go: the next pass reads the file, which is gone
    with pytest.raises(InputFileError):
        list(kept)



def test_replayed_chunks_keep_a_flag_column_only_some_chunks_had() -> None:
    """Re-cut chunks where only one had a ``_formula`` column: the other rows' flags are
    missing (None, as a chunk read with that column holds them), not NaN."""
    first = pd.DataFrame({"record_id": ["R1", "R2"], "_row": [2, 3]})
    second = pd.DataFrame({"record_id": ["R3"], "_row": [4], "_formula": ["case_number"]})
    (chunk,) = list(_rechunk([first, second], 3))
    assert chunk["record_id"].tolist() == ["R1", "R2", "R3"]
    assert chunk["_formula"].tolist() == [None, None, "case_number"]


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "valid_ids"),
    [("openpyxl_saved.xlsx", []), ("libreoffice_saved.xlsx", ["R001", "R002", "R003"])],
)
def test_real_files_saved_by_a_script_and_by_libreoffice(name: str, valid_ids: list[str]) -> None:
    """The same workbook (an instructions sheet first, a merged title row, a blank row, the
    header on row 3, case numbers as formulas ``="C-"&n``, a blank row and a footer) as openpyxl
    wrote it (formulas without results) and as LibreOffice 7 saved it after opening it
    (``soffice --headless --convert-to xlsx``: results saved beside the formulas)."""
    reader = read_request(DATA / name, required_columns=REQUIRED)
    assert reader.sheet == "Requests" and reader.header.row == 3
    valid, rejected = validated(DATA / name)
    assert [r["record_id"] for r in valid] == valid_ids
    if valid_ids:
        assert [r["case_number"] for r in valid] == ["C-1", "C-2", "C-3"]
        assert valid[0]["date_of_birth"] == "1980-05-01"
    else:
        assert {r["reason_codes"] for r in rejected} == {"invalid_value"}
        assert all("case_number is a formula with no saved result" in r["message"]
                   for r in rejected)
    reader.record_ids()
    assert [n.text for n in reader.notes] == ["Prepared by J. Analyst, 03/01/2026"]
