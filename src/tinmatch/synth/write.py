"""Writers: master tables streamed chunk by chunk (Parquet and/or CSV), request CSV + XLSX,
truth CSV and the cover letter."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import xlsxwriter

from tinmatch.synth.requests import REQUEST_COLUMNS, TRUTH_COLUMNS, Row

FORMATS = ("parquet", "csv", "both")


class TableSink:
    """Append pyarrow tables to NAME.parquet and/or NAME.csv in `out`."""

    def __init__(self, out: Path, name: str, schema: pa.Schema, fmt: str) -> None:
        self.parquet: pq.ParquetWriter | None = None
        self.csv: pacsv.CSVWriter | None = None
        if fmt in ("parquet", "both"):
            self.parquet = pq.ParquetWriter(out / f"{name}.parquet", schema, compression="zstd")
        if fmt in ("csv", "both"):
            self.csv = pacsv.CSVWriter(out / f"{name}.csv", schema,
                                       write_options=pacsv.WriteOptions(quoting_style="needed"))

    def write(self, table: pa.Table) -> None:
        if self.parquet is not None:
            self.parquet.write_table(table, row_group_size=256_000)
        if self.csv is not None:
            self.csv.write_table(table)

    def close(self) -> None:
        for w in (self.parquet, self.csv):
            if w is not None:
                w.close()

    def __enter__(self) -> TableSink:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _date_text(value: Any, us_style: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%m/%d/%Y") if us_style else value.isoformat()
    return str(value)


def write_request_csv(path: Path, rows: list[Row], rng: np.random.Generator) -> None:
    """UTF-8 CSV; dates in mixed formats (YYYY-MM-DD and MM/DD/YYYY)."""
    us = rng.random((len(rows), 2)) < 0.3
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REQUEST_COLUMNS)
        for row, (us_dob, us_removal) in zip(rows, us, strict=True):
            f = row.fields
            out = []
            for col in REQUEST_COLUMNS:
                v = f.get(col)
                if col == "date_of_birth":
                    out.append(_date_text(v, bool(us_dob)))
                elif col == "removal_order_date":
                    out.append(_date_text(v, bool(us_removal)))
                else:
                    out.append("" if v is None else str(v))
            w.writerow(out)


def write_request_xlsx(path: Path, rows: list[Row]) -> None:
    """First sheet `request`; removal_order_date and date_of_birth as real Excel dates."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": datetime(2026, 1, 1)})  # same seed, same bytes
    ws = wb.add_worksheet("request")
    bold = wb.add_format({"bold": True})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    text = wb.add_format({"num_format": "@"})
    for c, col in enumerate(REQUEST_COLUMNS):
        ws.write_string(0, c, col, bold)
    for r, row in enumerate(rows, start=1):
        for c, col in enumerate(REQUEST_COLUMNS):
            v = row.fields.get(col)
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(r, c, v, day)
            else:
                ws.write_string(r, c, str(v), text)
    wb.close()


def write_truth(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TRUTH_COLUMNS)
        for row in rows:
            w.writerow(["" if row.truth.get(c) is None else row.truth[c] for c in TRUTH_COLUMNS])


def write_cover(path: Path, agency: str, official: str, attestation: str) -> None:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    path.write_text(
        f"agency = {q(agency)}\nofficial = {q(official)}\nattestation = {q(attestation)}\n",
        encoding="utf-8",
    )
