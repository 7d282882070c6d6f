"""Hostile and careless request files: a clear one-line error for the file, or per-row rejections.

Never a traceback, never a silently wrong value.
"""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from tinmatch.agreement import Agreement
from tinmatch.errors import InputFileError
from tinmatch.pipeline.read import read_request
from tinmatch.pipeline.sniff import check_xlsx

from .helpers import HEADER, Outcome, csv_text, good_row, run_file


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_one_line_error(outcome: Outcome, *fragments: str) -> None:
    assert outcome.error is not None, "expected the file to be refused"
    assert "\n" not in outcome.error and len(outcome.error) < 300
    for fragment in fragments:
        assert fragment in outcome.error


TWO_ROWS = csv_text([good_row("r1"), good_row("r2", first_name="José")])


# -- encodings and text shape ------------------------------------------------------------------


def test_latin1_csv_is_refused_with_a_hint(tmp_path: Path) -> None:
    outcome = run_file(write(tmp_path, "req.csv", TWO_ROWS.encode("latin-1")))
    assert_one_line_error(outcome, "req.csv", "not UTF-8", "0xE9", "Latin-1", "CSV UTF-8")


def test_latin1_late_in_a_long_file_names_the_row(tmp_path: Path) -> None:
    rows = [good_row(f"r{i}") for i in range(3000)] + [good_row("bad", first_name="Zoë")]
    outcome = run_file(write(tmp_path, "req.csv", csv_text(rows).encode("latin-1")))
    assert_one_line_error(outcome, "not UTF-8", "after row")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_with_bom_are_read_alike(
    tmp_path: Path, encoding: str
) -> None:
    outcome = run_file(write(tmp_path, "req.csv", TWO_ROWS.encode(encoding)))
    assert outcome.error is None and outcome.rows == 2
    assert outcome.valid is not None
    assert outcome.valid["first_name"].tolist() == ["Ann", "José"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_refused(tmp_path: Path, encoding: str) -> None:
    outcome = run_file(write(tmp_path, "req.csv", TWO_ROWS.encode(encoding)))
    assert_one_line_error(outcome, "UTF-16", "byte-order mark")


def test_utf32_is_refused(tmp_path: Path) -> None:
    data = codecs.BOM_UTF32_LE + TWO_ROWS.encode("utf-32-le")
    assert_one_line_error(run_file(write(tmp_path, "req.csv", data)), "UTF-32")


def test_mixed_line_endings_and_quoted_newlines(tmp_path: Path) -> None:
    lines = TWO_ROWS.splitlines()
    text = lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n"
    text += 'r3,"Ann\nMarie",Lee,"12 Elm St\r\nRear",Boston,MA,02134,2024-01-05,8 USC 1326,C,2024\n'
    outcome = run_file(write(tmp_path, "req.csv", text.encode()))
    assert outcome.error is None and outcome.rows == 3
    assert outcome.valid is not None
    assert outcome.valid["record_id"].tolist() == ["r1", "r2", "r3"]
    assert outcome.valid["first_name"].tolist()[2] == "Ann\nMarie"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "is empty"),
        (b"\r\n\n\r", "is empty"),
        (csv_text([]).encode(), "header row but no data rows"),
        (csv_text([]).encode() + b",,,,\n\n", "header row but no data rows"),
    ],
)
def test_empty_and_header_only_files(tmp_path: Path, data: bytes, fragment: str) -> None:
    assert_one_line_error(run_file(write(tmp_path, "req.csv", data)), fragment)


def test_duplicate_headers_are_refused_even_spelled_differently(tmp_path: Path) -> None:
    text = csv_text([good_row()], header=(*HEADER, "Record ID"))
    assert_one_line_error(run_file(write(tmp_path, "req.csv", text.encode())), "record_id")


def test_semicolon_separated_csv_gets_a_hint(tmp_path: Path) -> None:
    text = TWO_ROWS.replace(",", ";")
    assert_one_line_error(run_file(write(tmp_path, "req.csv", text.encode())), "separated")


def test_a_million_character_cell_rejects_its_row_only(tmp_path: Path) -> None:
    rows = [good_row("r1", last_name="L" * 1_000_000), good_row("r2")]
    outcome = run_file(write(tmp_path, "req.csv", csv_text(rows).encode()))
    assert outcome.error is None and outcome.rows == 2
    assert outcome.reasons("r1") == {"invalid_value", "missing_field"}
    assert outcome.valid_ids() == ["r2"]
    assert outcome.rejected is not None
    assert "longer than 1000 characters" in outcome.rejected["message"].iloc[0]


LONG = "L" * 1001  # the default agreement's max_cell_chars is 1000


def _request_file(tmp_path: Path, suffix: str, rows: list[dict[str, str]]) -> Path:
    """``rows`` under HEADER as a CSV, or as an .xlsx with text cells (blank cells unwritten)."""
    if suffix == ".csv":
        return write(tmp_path, "req.csv", csv_text(rows).encode())
    path = tmp_path / "req.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(HEADER):
            if row.get(column):
                sheet.write_string(r, c, row[column])
    book.close()
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize(
    ("middle", "record_id"),
    [
        ({"record_id": LONG}, None),  # an overlong record_id, the row's only value
        ({"city": LONG}, None),  # an overlong city, the row's only value
        ({"record_id": LONG, "city": LONG}, None),  # two overlong cells and nothing else
        ({"city": LONG, "case_number": "C-9"}, None),  # an overlong cell beside another value
        ({"record_id": "r9", "city": LONG}, "r9"),  # and beside its record_id
    ],
    ids=["only-record-id", "only-city", "only-two-overlong", "beside-a-value", "beside-its-id"],
)
def test_a_row_of_overlong_cells_is_rejected_and_counted_never_dropped(
    tmp_path: Path, suffix: str, middle: dict[str, str], record_id: str | None
) -> None:
    """Nothing lost: blanking an overlong cell must not leave its row looking blank. The row is
    a row (``record_ids``, which the service counts) and is rejected saying which cell is too
    long, in CSV and in .xlsx, even when that cell was its only value."""
    path = _request_file(tmp_path, suffix, [good_row("r1"), middle, good_row("r2")])
    reader = read_request(path, required_columns=("record_id",), max_cell_chars=1000)
    assert reader.record_ids() == ["r1", record_id, "r2"]
    assert reader.notes == []
    outcome = run_file(path)
    assert outcome.error is None and outcome.rows == 3
    assert outcome.valid_ids() == ["r1", "r2"]
    assert outcome.rejected is not None and len(outcome.rejected) == 1
    (rejected,) = outcome.rejected.to_dict("records")
    assert rejected["_row"] == 3 and rejected["record_id"] == record_id
    assert "invalid_value" in rejected["reason_codes"].split(";")
    for column in middle:
        if middle[column] == LONG:
            assert f"{column} is longer than 1000 characters" in rejected["message"]


def test_control_characters_reject_the_row(tmp_path: Path) -> None:
    rows = [good_row("r1", first_name="An\x1bn"), good_row("r2", street="12 Elm\x07 St")]
    outcome = run_file(write(tmp_path, "req.csv", csv_text(rows).encode()))
    assert outcome.reasons("r1") == {"invalid_value"}
    assert outcome.reasons("r2") == {"invalid_value"}


# -- not text at all ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("junk.csv", bytes(range(256)) * 64, "binary data"),
        ("junk.csv", b"\x01\x02\x03\x04garbage\x05\x06" * 100, "binary data"),
        ("wb.csv", b"PK\x03\x04" + b"\0" * 200, "zip archive"),
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old .xls"),
        ("text.xlsx", TWO_ROWS.encode(), "not a zip archive"),
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "password-protected"),
        ("cut.xlsx", b"PK\x03\x04" + b"\0" * 200, "unreadable spreadsheet"),
        ("req.txt", b"record_id\n", "unsupported file type"),
    ],
)
def test_files_that_are_not_what_their_name_says(
    tmp_path: Path, name: str, data: bytes, fragment: str
) -> None:
    assert_one_line_error(run_file(write(tmp_path, name, data)), name, fragment)


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "req.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert_one_line_error(run_file(path), "not an .xlsx workbook")


def _workbook_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "base.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, list(good_row().values()))
    book.close()
    return path


def test_a_zip_bomb_inside_an_xlsx_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    base = _workbook_bytes(tmp_path)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        with dst.open("xl/media/padding.bin", "w") as handle:  # 64 MiB of zeros, ~64 KiB packed
            block = b"\0" * (1 << 20)
            for _ in range(64):
                handle.write(block)
    assert bomb.stat().st_size < 1 << 20
    assert_one_line_error(run_file(bomb), "bomb.xlsx", "zip bomb")
    with pytest.raises(InputFileError, match="expands to"):
        check_xlsx(base, max_unzipped_bytes=100)


def test_a_zip_that_lies_about_its_sizes_is_refused(tmp_path: Path) -> None:
    base = _workbook_bytes(tmp_path)
    data = bytearray(base.read_bytes())
    with zipfile.ZipFile(base) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    # Shrink the declared uncompressed size in the central directory entry for the sheet.
    name = info.filename.encode()
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24 : at + 28] = (1).to_bytes(4, "little")
    lying = write(tmp_path, "lying.xlsx", bytes(data))
    outcome = run_file(lying)
    assert_one_line_error(outcome, "lying.xlsx")
    # Refused by the sniffer when the lie is large, else by calamine, which stops reading an
    # entry at its declared size (so a lying entry can never expand past what was checked).
    assert outcome.error is not None
    assert "inconsistent sizes" in outcome.error or "declared uncompressed size" in outcome.error
    data[at + 20 : at + 24] = (1 << 20).to_bytes(4, "little")  # compressed size: 1 MiB
    assert_one_line_error(run_file(write(tmp_path, "lying2.xlsx", bytes(data))), "lying2.xlsx")


# -- spreadsheet features ----------------------------------------------------------------------


def _openpyxl_request(tmp_path: Path, name: str = "req.xlsx") -> tuple[Path, openpyxl.Workbook]:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "request"
    sheet.append(list(HEADER))
    return tmp_path / name, book


def test_hidden_first_sheet_is_refused(tmp_path: Path) -> None:
    path, book = _openpyxl_request(tmp_path)
    decoy = book.create_sheet("visible", 1)
    decoy.append(["nothing here"])
    first = book["request"]
    first.append(list(good_row().values()))
    first.sheet_state = "hidden"
    book.active = 1
    book.save(path)
    assert_one_line_error(run_file(path), "hidden")


def test_hidden_later_sheets_are_never_read(tmp_path: Path) -> None:
    path, book = _openpyxl_request(tmp_path)
    book["request"].append(list(good_row("r1").values()))
    secret = book.create_sheet("secret")
    secret.append(list(HEADER))
    secret.append(list(good_row("r2").values()))
    secret.sheet_state = "veryHidden"
    book.save(path)
    outcome = run_file(path)
    assert outcome.error is None and outcome.valid_ids() == ["r1"]


def test_formulas_hyperlinks_merged_cells_numbers_as_zip_and_native_dates(tmp_path: Path) -> None:
    path, book = _openpyxl_request(tmp_path)
    sheet = book["request"]
    sheet.append(list(good_row("r1", zip=2134).values()))  # type: ignore[arg-type]
    sheet.append(list(good_row("r2", removal_order_date=dt.date(2024, 1, 5)).values()))  # type: ignore[arg-type]
    sheet.append(list(good_row("r3", first_name='=HYPERLINK("http://evil.example","Ann")').values()))
    sheet.append(list(good_row("r4").values()))
    sheet.append(list(good_row("r5").values()))
    sheet.merge_cells("B5:B6")  # r4's and r5's first names merged: r5 loses its value
    sheet["D2"].hyperlink = "http://evil.example/track"
    sheet.append(list(good_row("r6", street="=1+2").values()))
    book.save(path)
    outcome = run_file(path)
    assert outcome.error is None and outcome.rows == 6
    assert outcome.valid is not None
    valid = outcome.valid.set_index("record_id")
    assert valid.loc["r1", "zip"] == "02134"  # a number lost its leading zero; restored
    assert valid.loc["r1", "street"] == "12 Elm St"  # a hyperlink's text, not its target
    assert valid.loc["r2", "removal_order_date"] == "2024-01-05"
    # A formula is never evaluated: with no cached value, the row is rejected, and says why.
    assert outcome.reasons("r3") == {"invalid_value"}
    assert "r4" in valid.index and outcome.reasons("r5") == {"missing_field"}
    assert outcome.reasons("r6") == {"invalid_value"}


def test_a_formula_with_a_cached_value_reads_as_its_value_never_its_text(tmp_path: Path) -> None:
    path = tmp_path / "req.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, list(good_row("r1").values()))
    sheet.write_formula(1, 1, '=HYPERLINK("http://evil.example","Ann")', None, "Ann")
    sheet.write_formula(1, 6, "=2000+134", None, 2134)
    book.close()
    outcome = run_file(path)
    assert outcome.valid is not None
    assert outcome.valid["first_name"].tolist() == ["Ann"]
    assert outcome.valid["zip"].tolist() == ["02134"]


def test_zip_codes_that_lost_their_leading_zeros_in_csv(tmp_path: Path) -> None:
    rows = [good_row("r1", zip="2134"), good_row("r2", zip="501"), good_row("r3", zip="21341234"),
            good_row("r4", zip="12"), good_row("r5", zip="2134.0")]
    outcome = run_file(write(tmp_path, "req.csv", csv_text(rows).encode()))
    assert outcome.valid is not None
    zips = dict(zip(outcome.valid["record_id"], outcome.valid["zip"], strict=True))
    assert zips == {"r1": "02134", "r2": "00501", "r3": "021341234", "r5": "02134"}
    assert outcome.reasons("r4") == {"invalid_value"}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-01-05", True), ("1/5/2024", True), ("01/05/2024", True),
        ("2024-01-05 00:00:00", True), ("2024-01-05T00:00", True),
        ("1/5/24", False), ("5 Jan 2024", False), ("2024/01/05", False), ("05.01.2024", False),
        ("20240105", False), ("45296", False), ("2024-02-30", False), ("0024-01-05", False),
        ("2024-01-05 13:45", False), ("yesterday", False), ("2030-01-01", False),
    ],
)
def test_dates_as_text_in_odd_formats(tmp_path: Path, value: str, ok: bool) -> None:
    rows = [good_row("r1", removal_order_date=value, date_of_birth=value)]
    text = csv_text(rows, header=(*HEADER, "date_of_birth"))
    outcome = run_file(write(tmp_path, "req.csv", text.encode()))
    if ok:
        assert outcome.valid_ids() == ["r1"]
    else:
        assert outcome.reasons("r1") == {"invalid_value"}
        assert outcome.rejected is not None
        assert "removal_order_date" in outcome.rejected["fields"].iloc[0]


# -- limits ------------------------------------------------------------------------------------


def test_file_size_limit_is_a_clear_error(tmp_path: Path) -> None:
    agreement = Agreement.load()
    limits = agreement.limits.model_copy(update={"max_file_bytes": 100})
    small = agreement.model_copy(update={"limits": limits})
    outcome = run_file(write(tmp_path, "req.csv", TWO_ROWS.encode()), small)
    assert_one_line_error(outcome, "bytes, over the agreement's 100")


def test_rows_over_the_per_request_cap_are_rejected_per_row(tmp_path: Path) -> None:
    agreement = Agreement.load()
    limits = agreement.limits.model_copy(update={"max_rows_per_request": 3})
    capped = agreement.model_copy(update={"limits": limits})
    rows = [good_row(f"r{i}") for i in range(5)]
    outcome = run_file(write(tmp_path, "req.csv", csv_text(rows).encode()), capped, chunk_rows=2)
    assert outcome.valid_ids() == ["r0", "r1", "r2"]
    assert outcome.reasons("r3") == outcome.reasons("r4") == {"volume_cap_exceeded"}


def test_reader_never_leaks_a_non_tinmatch_exception_on_truncated_xlsx(tmp_path: Path) -> None:
    base = _workbook_bytes(tmp_path).read_bytes()
    for cut in (len(base) // 4, len(base) // 2, len(base) - 30):
        path = write(tmp_path, f"cut{cut}.xlsx", base[:cut])
        try:
            reader = read_request(path, required_columns=("record_id",))
            list(reader)
        except InputFileError as exc:
            assert "\n" not in str(exc)
