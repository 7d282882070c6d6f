"""Fuzz target for the request readers (CSV and XLSX) and the validator behind them.

The property: whatever the bytes, reading a request either yields rows that validation splits
into valid and rejected, or raises ``InputFileError`` with a one-line message. Any other
exception, or a multi-line message, is a finding.

The first input byte picks the shape: raw ``.csv`` bytes, raw ``.xlsx`` bytes, or
structure-aware: the rest of the input becomes ``xl/worksheets/sheet1.xml`` (or the shared
strings) inside an otherwise valid workbook, so the fuzzer reaches the XML reader.

Run with atheris (coverage-guided, libFuzzer options after the script name)::

    python fuzz/fuzz_read.py -max_total_time=60 fuzz/corpus

or without atheris, a seeded random-mutation loop over the same seeds::

    python fuzz/fuzz_read.py --plain --seconds 60 [--seed 1]

``--make-seeds DIR`` writes a starting corpus (valid CSV and XLSX requests) to DIR.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinmatch.agreement import Agreement

SHAPES = ("csv", "xlsx", "sheet_xml", "shared_strings")
HEADER = (
    "record_id,first_name,last_name,street,city,state,zip,removal_order_date,"
    "criminal_statute,case_number,tax_periods"
)
ROWS = (
    "r1,Ann,Lee,12 Elm St,Boston,MA,2134,2024-01-05,8 USC 1326,C1,2024",
    'r2,"O\'Brien, Jr",=1+1,"1 A St\nRear",Reno,NV,89501,1/5/2024,8 U.S.C. 1253(a)(1),C2,2022-2024',
)
_WORKDIR = Path(tempfile.mkdtemp(prefix="tinmatch-fuzz-"))


def _skeleton(sheet_xml: bytes | None = None, shared: bytes | None = None) -> bytes:
    """A minimal valid workbook; ``sheet_xml``/``shared`` replace its sheet or shared strings."""
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(HEADER.split(","))
    )
    sheet = sheet_xml or (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.'
        f'org/spreadsheetml/2006/main"><sheetData><row r="1">{cells}</row><row r="2">'
        '<c r="A2" t="s"><v>0</v></c><c r="B2"><v>2134</v></c></row></sheetData></worksheet>'
    ).encode()
    strings = shared or (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>r1</t></si></sst>'
    ).encode()
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sharedStrings+xml"/></Types>'
        ).encode(),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
            f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/'
            f'main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet '
            'name="request" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
            f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{ns}/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": strings,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def seeds() -> list[bytes]:
    """A starting corpus: one input per shape (shape byte first)."""
    csv_text = (HEADER + "\r\n" + "\r\n".join(ROWS) + "\r\n").encode()
    sheet = zipfile.ZipFile(io.BytesIO(_skeleton())).read("xl/worksheets/sheet1.xml")
    strings = zipfile.ZipFile(io.BytesIO(_skeleton())).read("xl/sharedStrings.xml")
    return [b"\x00" + csv_text, b"\x01" + _skeleton(), b"\x02" + sheet, b"\x03" + strings]


def _materialize(data: bytes) -> Path:
    shape = SHAPES[data[0] % len(SHAPES)] if data else "csv"
    body = data[1:]
    if shape == "csv":
        path, content = _WORKDIR / "request.csv", body
    elif shape == "xlsx":
        path, content = _WORKDIR / "request.xlsx", body
    elif shape == "sheet_xml":
        path, content = _WORKDIR / "request.xlsx", _skeleton(sheet_xml=body)
    else:
        path, content = _WORKDIR / "request.xlsx", _skeleton(shared=body)
    path.write_bytes(content)
    return path


def check(data: bytes) -> None:
    """Read and validate one input; raise on anything but a one-line InputFileError."""
    import datetime as dt

    from tinmatch.errors import InputFileError
    from tinmatch.pipeline.read import duplicate_ids, read_request
    from tinmatch.pipeline.validate import ValidationContext, validate

    agreement = _agreement()
    path = _materialize(data)
    try:
        reader = read_request(
            path,
            required_columns=("record_id",),
            chunk_rows=7,
            max_cell_chars=agreement.limits.max_cell_chars,
            max_file_bytes=1 << 20,
            max_unzipped_bytes=8 << 20,
        )
        ids = reader.record_ids()
    except InputFileError as exc:
        message = str(exc)
        if "\n" in message or not message:
            raise AssertionError(f"not a one-line error: {message!r}") from exc
        return
    ctx = ValidationContext(
        allowed_years=(2019, 2025), today=dt.date(2026, 6, 1),
        duplicate_ids=duplicate_ids(ids), remaining_quota=50,
    )  # fmt: skip
    rows = 0
    for chunk in reader:
        valid, rejected = validate(chunk, agreement, ctx)
        if len(valid) + len(rejected) != len(chunk):
            raise AssertionError("validation lost or duplicated a row")
        rows += len(chunk)
    if rows != len(ids):
        raise AssertionError(f"two passes disagree: {rows} rows, {len(ids)} record_ids")


_AGREEMENT: list[Agreement] = []
_TOKENS = (
    b",", b'"', b"\r", b"\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"=", b"<", b"&#0;", b"]]>",
    b"PK\x03\x04", b";", b"\t",
)  # fmt: skip


def _agreement() -> Agreement:
    from tinmatch.agreement import Agreement

    if not _AGREEMENT:
        _AGREEMENT.append(Agreement.load())
    return _AGREEMENT[0]


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind = rng.randrange(7)
        at = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 2:
            del out[at : at + rng.randint(1, 64)]
        elif kind == 3:
            out[at:at] = rng.choice(_TOKENS)
        elif kind == 4:
            donor = rng.choice(pool)
            start = rng.randrange(len(donor) + 1)
            out[at:at] = donor[start : start + rng.randint(1, 200)]
        elif kind == 5 and out:
            out = out[: rng.randrange(len(out))]  # truncation
        else:
            out[0:1] = bytes([rng.randrange(len(SHAPES))])
    return bytes(out)


def plain_loop(seconds: float, seed: int = 1, report: Callable[[str], None] = print) -> int:
    """Random mutations of the seeds for ``seconds``; returns the number of inputs tried."""
    rng = random.Random(seed)
    pool = seeds()
    corpus = list(pool)
    deadline = time.monotonic() + seconds
    tried = 0
    while time.monotonic() < deadline:
        if rng.random() < 0.05:
            data = bytes([rng.randrange(len(SHAPES))]) + os.urandom(rng.randint(0, 512))
        else:
            data = _mutate(rng, rng.choice(corpus), pool)
        try:
            check(data)
        except Exception:
            crash = Path("fuzz-crash-" + str(abs(hash(data)))).resolve()
            crash.write_bytes(data)
            report(f"finding after {tried} inputs: input saved to {crash}")
            raise
        tried += 1
        if len(corpus) < 256 and rng.random() < 0.1:
            corpus.append(data)
    report(f"plain fuzz: {tried} inputs in {seconds:.0f}s, no finding")
    return tried


def main(argv: list[str]) -> None:
    if "--make-seeds" in argv:
        target = Path(argv[argv.index("--make-seeds") + 1])
        target.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(seeds()):
            (target / f"seed-{SHAPES[i]}").write_bytes(data)
        return
    if "--plain" in argv:
        seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 30.0
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
        plain_loop(seconds, seed)
        return
    import atheris

    with atheris.instrument_imports(include=["tinmatch"]):
        import tinmatch.pipeline.read  # noqa: F401
        import tinmatch.pipeline.sniff  # noqa: F401
        import tinmatch.pipeline.validate  # noqa: F401
    _agreement()
    atheris.Setup(argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
