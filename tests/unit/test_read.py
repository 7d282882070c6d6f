import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from tinmatch.agreement import REQUEST_COLUMNS
from tinmatch.errors import InputFileError
from tinmatch.pipeline.read import duplicate_ids, read_record_ids, read_request

REQUIRED = ("record_id", "first_name", "last_name")


def write_csv(tmp_path: Path, text: str, name: str = "request.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], start_row: int = 0) -> Path:
    path = tmp_path / "request.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("people")
    date_format = workbook.add_format({"num_format": "mm/dd/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(start_row + r, c, value, date_format)
            elif value is not None:
                sheet.write(start_row + r, c, value)
    workbook.add_worksheet("ignored").write(0, 0, "not read")
    workbook.close()
    return path


def records(path: Path, **kwargs: object) -> list[dict[Any, Any]]:
    reader = read_request(path, required_columns=REQUIRED, **kwargs)  # type: ignore[arg-type]
    return [row for chunk in reader for row in chunk.to_dict("records")]


@pytest.mark.parametrize("bom", [False, True])
def test_csv_headers_match_loosely_and_values_are_clean(tmp_path: Path, bom: bool) -> None:
    path = write_csv(
        tmp_path,
        "Record ID,FIRST-NAME,last_name,Address Line 2,Tax  Periods,Unrelated\n"
        " r1 ,  Ann ,Lee,  ,2024,x\n",
        bom=bom,
    )
    reader = read_request(path, required_columns=REQUIRED)
    assert reader.columns == (
        "record_id", "first_name", "last_name", "address_line2", "tax_periods",
    )
    (row,) = records(path)
    assert list(row) == [*REQUEST_COLUMNS, "_row"]
    assert row["record_id"] == "r1" and row["first_name"] == "Ann"
    assert row["address_line2"] is None and row["street"] is None  # blank, and absent
    assert row["tax_periods"] == "2024" and row["_row"] == 2


def test_csv_row_numbers_skip_blank_rows_but_count_them(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,last_name\na,A,B\n\n,,\nb,C,D\n")
    rows = records(path, chunk_rows=1)
    assert [(r["record_id"], r["_row"]) for r in rows] == [("a", 2), ("b", 5)]


def test_chunks_are_bounded_and_values_are_str_or_none(tmp_path: Path) -> None:
    body = "".join(f"id{i},F{i},\n" for i in range(25))
    path = write_csv(tmp_path, "record_id,first_name,last_name\n" + body)
    chunks = list(read_request(path, required_columns=REQUIRED, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    for chunk in chunks:
        for column in REQUEST_COLUMNS:
            assert all(v is None or isinstance(v, str) for v in chunk[column])
    assert chunks[2]["_row"].tolist() == [22, 23, 24, 25, 26]


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,nombre\nr1,A\n")
    with pytest.raises(
        InputFileError,
        match=r"missing required columns first_name, last_name \(header row 1: 'record_id', "
        r"'nombre'\)",
    ):
        read_request(path, required_columns=REQUIRED)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n", "is empty"),
        ("latin1.csv", "record_id,first_name,last_name\nr1,Jos\u00e9,L\n".encode("latin-1"),
         "not UTF-8"),
        ("request.txt", b"record_id\n", "unsupported file type .txt"),
        ("broken.xlsx", b"this is not a zip file", "unreadable spreadsheet"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=match):
        list(read_request(path, required_columns=REQUIRED))


def test_extra_fields_in_a_row_fail_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,last_name\nr1,A,B,,\nr2,A,B,C\n")
    with pytest.raises(InputFileError, match="row 3 has 4 fields"):
        records(path)


def test_duplicate_header_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,First Name,last_name\n")
    with pytest.raises(InputFileError, match="first_name appears twice"):
        read_request(path, required_columns=REQUIRED)


def test_file_size_limit(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,last_name\nr1,A,B\n")
    with pytest.raises(InputFileError, match="over the agreement"):
        read_request(path, required_columns=REQUIRED, max_file_bytes=10)


def test_overlong_cells_are_blanked_and_flagged(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,last_name\nr1,Annabelle,Lee\n")
    (row,) = records(path, max_cell_chars=5)
    assert row["first_name"] is None and row["_overlong"] == "first_name"
    assert row["last_name"] == "Lee"


def test_xlsx_dates_numbers_and_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["Record ID", "First Name", "Last Name", "Date of Birth", "ZIP",
             "Removal Order Date", "Tax Periods", "Case Number"],
            [1001, "Ann", "Lee", dt.date(1980, 5, 6), 2134, dt.datetime(2024, 1, 2), 2024, 7.5],
            [None] * 8,
            ["r2 ", "Bo", "Ng", "01/02/1990", "021341234", "2024-03-04", "2022-2024", "C-9"],
            ["r3", "Cy", "Oz", None, 21341234, None, 2023.0, None],
        ],
        start_row=2,
    )
    rows = records(path)
    assert [r["_row"] for r in rows] == [4, 6, 7]
    first, second, third = rows
    assert first["record_id"] == "1001"
    assert first["date_of_birth"] == "1980-05-06"
    assert first["removal_order_date"] == "2024-01-02"
    assert first["zip"] == "02134"  # a ZIP typed as a number lost its leading zero
    assert first["tax_periods"] == "2024" and first["case_number"] == "7.5"
    assert second["record_id"] == "r2" and second["date_of_birth"] == "01/02/1990"
    assert second["zip"] == "021341234"
    assert third["zip"] == "021341234" and third["tax_periods"] == "2023"
    assert third["date_of_birth"] is None


def test_xlsx_missing_column_and_empty_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [["record_id", "first_name"], ["r1", "A"]])
    with pytest.raises(InputFileError, match="missing required column last_name"):
        read_request(path, required_columns=REQUIRED)
    empty = write_xlsx(tmp_path, [])  # an empty first sheet, and one that says "not read"
    with pytest.raises(InputFileError, match="no sheet has the request's columns"):
        read_request(empty, required_columns=REQUIRED)


def test_record_ids_first_pass_and_duplicates(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "record_id,first_name,last_name\na,,\nb,,\na,,\n,X,\nc,,\n")
    ids = read_record_ids(path)
    assert ids == ["a", "b", "a", None, "c"]
    assert duplicate_ids(ids) == {"a"}
    reader = read_request(path, required_columns=REQUIRED)
    assert reader.n_rows is None
    reader.record_ids()
    assert reader.n_rows == 5
