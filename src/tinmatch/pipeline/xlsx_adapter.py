"""Every use of xlsxwriter's private API, in one place: a fast row writer for constant-memory
sheets.

xlsxwriter's ``write_string``/``write_number`` cost a few microseconds per cell (30-40 s for a
million-row result). :class:`FastRows` writes the same XML that xlsxwriter's constant-memory
mode writes for those calls straight into the sheet's row file. That needs xlsxwriter internals,
listed in :data:`PRIVATE_API`; ``pyproject.toml`` pins xlsxwriter to the line this was tested
with, and ``tests/unit/test_xlsx_adapter.py`` fails when one of them moves or when the XML
written here stops being byte-identical to what the public calls write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import xlsxwriter.utility
import xlsxwriter.worksheet
import xlsxwriter.xmlwriter
from xlsxwriter.utility import xl_col_to_name

EXCEL_MAX_CHARS = 32_767

#: The private names used here: (module or class, attribute). Instance attributes of a
#: constant-memory worksheet are listed with the class ``Worksheet``.
PRIVATE_API: tuple[tuple[str, str], ...] = (
    ("xlsxwriter.worksheet.Worksheet", "_write_single_row"),
    ("xlsxwriter.worksheet.Worksheet", "row_data_fh"),
    ("xlsxwriter.worksheet.Worksheet", "dim_rowmax"),
    ("xlsxwriter.worksheet.Worksheet", "previous_row"),
    ("xlsxwriter.utility", "_preserve_whitespace"),
    ("xlsxwriter.utility", "_utf16_len"),
    ("xlsxwriter.utility", "_utf16_truncate"),
    ("xlsxwriter.xmlwriter.XMLwriter", "_escape_control_characters"),
)

# Text that neither neutralizing nor XML needs to touch: starts with an ASCII letter or digit,
# no '|', no XML-special or control character, no '_xHHHH_', no trailing whitespace.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9][^|&<>\x00-\x08\x0b-\x1f\ufffe\uffff]*")


def missing_private_api(sheet: Any) -> list[str]:
    """The names of :data:`PRIVATE_API` that this xlsxwriter lacks (`sheet`: a constant-memory
    worksheet, for the instance attributes)."""
    owners: dict[str, Any] = {
        "xlsxwriter.worksheet.Worksheet": sheet,
        "xlsxwriter.utility": xlsxwriter.utility,
        "xlsxwriter.xmlwriter.XMLwriter": xlsxwriter.xmlwriter.XMLwriter,
    }
    return [f"{owner}.{name}" for owner, name in PRIVATE_API if not hasattr(owners[owner], name)]


class FastRows:
    """Data rows of one constant-memory xlsxwriter sheet, written as XML text directly.

    Writes inline strings, ``.16G`` numbers, control characters as ``_xHHHH_`` and
    ``xml:space="preserve"`` for outer whitespace, as xlsxwriter does, and leaves the sheet's
    dimensions as those calls would. One deliberate difference: a cell whose text looks like
    ``<r>...</r>`` is escaped like any other (xlsxwriter would copy it into the XML unescaped,
    as rich text).

    `text` prepares a text cell that is not plain (see ``_PLAIN_TEXT``) for the sheet (for the
    results: neutralized and cut to Excel's limit); it must leave plain text unchanged, which
    is written as it is.
    """

    def __init__(self, sheet: Any, numeric: list[bool], text: Callable[[str], str]) -> None:
        self.sheet = sheet
        self.numeric = numeric
        self.text = text
        self.letters = [xl_col_to_name(c) for c in range(len(numeric))]
        sheet._write_single_row(1)  # the header row goes to the row file now
        self.fh = sheet.row_data_fh
        self.last = 0  # last row that has a cell
        self.next = 1

    def write(self, row: int, record: list[str]) -> None:
        """Row `row` (0-based, below the header): empty strings are empty cells."""
        cells = []
        number = str(row + 1)
        plain = _PLAIN_TEXT.fullmatch
        for col, value in enumerate(record):
            if value == "":
                continue
            ref = self.letters[col] + number
            if self.numeric[col]:
                x = float(value)
                if not math.isfinite(x):  # as xlsxwriter: refused
                    self.sheet.write_number(row, col, x)
                cells.append(f'<c r="{ref}"><v>{x:.16G}</v></c>')
            elif (
                len(value) <= EXCEL_MAX_CHARS // 2
                and plain(value)
                and not value[-1].isspace()
                and "_x" not in value
            ):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(inline_string(ref, self.text(value)))
        if cells:
            self.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
            self.last = row
        self.next = row + 1

    def finish(self) -> None:
        sheet = self.sheet
        if self.last:
            sheet.dim_rowmax = max(sheet.dim_rowmax or 0, self.last)
        sheet.previous_row = self.next


def inline_string(ref: str, text: str) -> str:
    """One text cell as xlsxwriter's constant-memory mode writes it (never as rich text)."""
    from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate
    from xlsxwriter.xmlwriter import XMLwriter

    if len(text) > EXCEL_MAX_CHARS // 2 and _utf16_len(text) > EXCEL_MAX_CHARS:
        text = _utf16_truncate(text, EXCEL_MAX_CHARS)
    text = XMLwriter._escape_control_characters(text)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'
