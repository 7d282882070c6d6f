"""The xlsxwriter adapter: the private names it uses still exist, and its fast rows are
byte for byte what xlsxwriter's public calls write. Either failing means xlsxwriter moved under
the pin in pyproject.toml: fix ``pipeline/xlsx_adapter.py`` before moving the pin."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tinmatch.pipeline.xlsx_adapter import EXCEL_MAX_CHARS, FastRows, missing_private_api

HEADER = ("record_id", "text", "tax_year", "match_probability", "more")
NUMERIC = [False, False, True, True, False]
ROWS: list[list[str]] = [
    ["R1", "12 Elm St", "2024", "0.995", ""],
    ["R2", " leading and trailing ", "2023", "1.0", "tab\there"],
    ["R3", "a & b < c > d", "", "0.1", "quote \" and ' apostrophe"],
    ["R4", "ctrl \x01\x02 char", "2019", "0.30000000000000004", "_x0041_ literal"],
    ["", "", "", "", ""],  # an empty row: no <row> at all
    ["R6", "José Müller 日本", "2025", "1e-07", "x" * (EXCEL_MAX_CHARS + 10)],
    ["R7", "'=SUM(A1)", "2020", "123456789.123456789", "line\nbreak"],
    ["R8", "\u2028 separator", "2021", "0", "ends with space "],
    ["R9", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 3000, "2022", "0.5", "|pipe"],
]


def _book(path: Path, fill: Callable[[Any, Any], None]) -> None:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "tmpdir": str(path.parent),
    })
    book.set_properties({"created": datetime(2026, 1, 1)})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("matched")
    sheet.write_row(0, 0, HEADER, bold)
    fill(sheet, book)
    book.close()


def _public(sheet: Any, _book: Any) -> None:
    for r, record in enumerate(ROWS, start=1):
        for c, value in enumerate(record):
            if value == "":
                continue
            if NUMERIC[c]:
                sheet.write_number(r, c, float(value))
            else:
                sheet.write_string(r, c, value)


def _fast(sheet: Any, _book: Any) -> None:
    rows = FastRows(sheet, NUMERIC, lambda text: text)
    for r, record in enumerate(ROWS, start=1):
        rows.write(r, record)
    rows.finish()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_private_api_the_adapter_uses_is_there(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True,
                                                        "tmpdir": str(tmp_path)})
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "header")
    missing = missing_private_api(sheet)
    book.close()
    assert missing == [], (
        f"xlsxwriter {xlsxwriter.__version__} lacks {missing}: pipeline/xlsx_adapter.py must "
        "follow it (or keep the pin in pyproject.toml)"
    )


def test_fast_rows_write_the_bytes_xlsxwriter_writes(tmp_path: Path) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "fast").mkdir()
    public, fast = tmp_path / "public" / "r.xlsx", tmp_path / "fast" / "r.xlsx"
    _book(public, _public)
    _book(fast, _fast)
    want, got = _parts(public), _parts(fast)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs from xlsxwriter {xlsxwriter.__version__}"


def test_fast_rows_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    _book(path, _fast)
    cells = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("matched").to_python()[1:]
    assert cells[0] == ["R1", "12 Elm St", 2024.0, pytest.approx(0.995), ""]
    assert cells[1][1] == " leading and trailing "
    assert cells[3][1] == "ctrl \x01\x02 char" and cells[3][4] == "_x0041_ literal"
    assert cells[4] == [""] * len(HEADER)
    assert cells[5][1] == "José Müller 日本" and len(cells[5][4]) == EXCEL_MAX_CHARS
    assert cells[6][3] == pytest.approx(123456789.123456789)
    assert len(cells) == len(ROWS)


def test_text_that_looks_like_rich_text_is_escaped(tmp_path: Path) -> None:
    """The one deliberate difference from xlsxwriter: ``<r>`` text is a string, not markup."""
    path = tmp_path / "r.xlsx"

    def fill(sheet: Any, _book: Any) -> None:
        rows = FastRows(sheet, NUMERIC, lambda text: text)
        rows.write(1, ["R1", "<r><t>bold</t></r>", "", "", ""])
        rows.finish()

    _book(path, fill)
    assert openpyxl.load_workbook(path)["matched"]["B2"].value == "<r><t>bold</t></r>"


def test_text_that_is_not_plain_goes_through_the_callers_preparation(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"

    def fill(sheet: Any, _book: Any) -> None:
        rows = FastRows(sheet, NUMERIC, lambda text: "'" + text)
        rows.write(1, ["R1", "=1+1", "", "", "plain text"])
        rows.finish()

    _book(path, fill)
    sheet = openpyxl.load_workbook(path)["matched"]
    assert sheet["B2"].value == "'=1+1" and sheet["E2"].value == "plain text"
