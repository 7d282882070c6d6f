"""Look at a request file's bytes before parsing it: say clearly what is wrong with a hostile file.

``csv_encoding`` tells UTF-8 (with or without BOM) and BOM-marked UTF-16 apart from what is not a
CSV text file at all (a workbook or zip named ``.csv``, binary junk, UTF-16 without a BOM, Latin-1).
``check_xlsx`` refuses what is not an ``.xlsx`` workbook (not a zip, an old ``.xls`` or an
encrypted workbook) and zip bombs: more entries, more uncompressed bytes, or a higher compression
ratio than any real workbook has, or sizes a crafted archive lies about. Every refusal is an
``InputFileError`` with a one-line message naming the file.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from tinmatch.errors import InputFileError

SAMPLE_BYTES = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and encrypted .xlsx
MAX_UNZIPPED_BYTES = 1 << 30  # a full 1,048,576-row sheet is well under this
MAX_ZIP_ENTRIES = 10_000
MAX_RATIO = 200  # sheet XML compresses ~5-30x; a bomb 1000x
RATIO_MIN_BYTES = 8 << 20  # small entries may compress very well; they cannot hurt
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))


def _head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(n)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}") from exc


def csv_encoding(path: Path) -> str:
    """The codec to read ``path`` with (``utf-8-sig`` or ``utf-16``), or InputFileError."""
    head = _head(path)
    name = path.name
    if head.startswith(ZIP_MAGIC):
        raise InputFileError(
            f"{name} is a zip archive (an .xlsx workbook?), not CSV text: name it .xlsx"
        )
    if head.startswith(OLE_MAGIC):
        raise InputFileError(
            f"{name} is an old .xls or password-protected workbook, not CSV text: "
            "save it as 'CSV UTF-8' or as an unprotected .xlsx"
        )
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputFileError(f"{name} is UTF-32 text: save it as 'CSV UTF-8'")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if even.count(0) > len(even) // 3 or odd.count(0) > len(odd) // 3:
            raise InputFileError(
                f"{name} looks like UTF-16 text without a byte-order mark: save it as 'CSV UTF-8'"
            )
        raise InputFileError(f"{name} holds binary data (NUL bytes): it is not a CSV text file")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=len(head) < SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        raise InputFileError(not_utf8_message(name, head, exc.start)) from None
    controls = sum(head.count(bytes([b])) for b in _CONTROL)
    if controls > max(8, len(head) // 100):
        raise InputFileError(f"{name} holds binary data (control bytes): it is not a CSV text file")
    return "utf-8-sig"


def not_utf8_message(name: str, data: bytes, offset: int, where: str = "") -> str:
    """One line for a CSV that is not UTF-8, with a guess at what it is."""
    byte = data[offset] if offset < len(data) else None
    shown = f" (byte 0x{byte:02X}{where})" if byte is not None else where
    guess = ""
    if byte is not None and byte >= 0x80:
        guess = "; it looks like Latin-1/Windows-1252"
    return f"{name} is not UTF-8 text{shown}{guess}: save it as 'CSV UTF-8'"


def check_xlsx(path: Path, max_unzipped_bytes: int = MAX_UNZIPPED_BYTES) -> None:
    """Refuse a file that is not an .xlsx workbook, or that would expand beyond reason."""
    name = path.name
    head = _head(path, 8)
    if head.startswith(OLE_MAGIC):
        raise InputFileError(
            f"{name} is an old .xls or password-protected workbook: save it as an "
            "unprotected .xlsx (or as 'CSV UTF-8')"
        )
    if not head.startswith(ZIP_MAGIC):
        raise InputFileError(
            f"{name}: unreadable spreadsheet (not a zip archive, so not an .xlsx workbook)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"{name}: unreadable spreadsheet (broken zip: {exc})") from None
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise InputFileError(f"{name} is a zip archive but not an .xlsx workbook")
    if len(entries) > MAX_ZIP_ENTRIES:
        raise InputFileError(
            f"{name} holds {len(entries):,} zip entries (limit {MAX_ZIP_ENTRIES:,}): refused"
        )
    total = 0
    for entry in entries:
        size, packed = entry.file_size, entry.compress_size
        total += size
        if entry.compress_type == zipfile.ZIP_STORED and packed != size:
            raise InputFileError(f"{name}: zip entry {entry.filename} has inconsistent sizes")
        if packed > size + size // 50 + 1024:  # deflate never grows data this much: a lie
            raise InputFileError(f"{name}: zip entry {entry.filename} has inconsistent sizes")
        if size > RATIO_MIN_BYTES and size > MAX_RATIO * max(packed, 1):
            raise InputFileError(
                f"{name}: zip entry {entry.filename} expands {size // max(packed, 1):,}x "
                f"to {size:,} bytes (a zip bomb?): refused"
            )
    if total > max_unzipped_bytes:
        raise InputFileError(
            f"{name} expands to {total:,} bytes, over the limit of {max_unzipped_bytes:,} "
            "(a zip bomb?): refused"
        )


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


def _sheet_part(archive: zipfile.ZipFile, index: int) -> str | None:
    """The zip entry of the workbook's ``index``-th sheet (in workbook order), or None."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return None
    sheets = book.findall(f"{{{_MAIN_NS}}}sheets/{{{_MAIN_NS}}}sheet")
    if index >= len(sheets):
        return None
    rel_id = sheets[index].get(f"{{{_REL_NS}}}id")
    for rel in rels.findall(f"{{{_PKG_REL_NS}}}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _has_formula(archive: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    with archive.open(part) as handle:
        while block := handle.read(1 << 20):
            if _FORMULA_TAG.search(tail + block):
                return True
            tail = block[-64:]
    return False


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def uncached_formulas(path: Path, sheet_index: int, col_offset: int = 0) -> dict[int, set[int]]:
    """Cells of the ``sheet_index``-th sheet that hold a formula but no saved result.

    Excel and LibreOffice save each formula's last result beside it, and that result is what is
    read; a workbook written by a script (openpyxl) and never opened in a spreadsheet program has
    formulas without results, which a reader sees as blanks. Returned as sheet row (1-based) ->
    positions in the row as read (0-based, less ``col_offset``, the sheet's first used column).
    The sheet is scanned for a formula first (a plain byte search); only a sheet that has one is
    parsed.
    """
    found: dict[int, set[int]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet_index)
            if part is None or not _has_formula(archive, part):
                return found
            cell_tag, f_tag, v_tag = (f"{{{_MAIN_NS}}}{t}" for t in ("c", "f", "v"))
            row_tag = f"{{{_MAIN_NS}}}row"
            with archive.open(part) as handle:
                for _, element in ElementTree.iterparse(handle, events=("end",)):
                    if element.tag == cell_tag:
                        if element.find(f_tag) is None:
                            continue
                        value = element.find(v_tag)
                        if value is not None and (value.text or "") != "":
                            continue
                        match = _CELL_REF.fullmatch(element.get("r") or "")
                        if match is None:
                            continue
                        column = _column_number(match.group(1)) - col_offset
                        found.setdefault(int(match.group(2)), set()).add(column)
                    elif element.tag == row_tag:
                        element.clear()
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
        return found  # calamine reads the sheet or says why; this is only a better message
    return found
