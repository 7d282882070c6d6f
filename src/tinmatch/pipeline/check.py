"""Check a request file before it is sent: read and validate it, look no one up.

``tinmatch check`` and ``POST /v1/requests/check`` run this. No master is needed; with one, the
tax periods are checked against the years the agreement allows in it (an agreement that takes
"the 6 most recent years in the master" cannot say which years those are without it). The rows
that would be rejected are the rows ``process`` would reject, for the same reasons, except that
the agency's rolling volume cap (which depends on its other requests) is not applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tinmatch.agreement import Agreement
from tinmatch.pipeline.read import ROW, Note, RequestReader, duplicate_ids
from tinmatch.pipeline.validate import REJECTED_COLUMNS, ValidationContext, validate

#: Rejected rows listed in full (the counts are always complete).
MAX_LISTED = 1_000


@dataclass
class CheckReport:
    """What a check found: where the request was read, and which rows would be rejected."""

    file: str
    sheet: str | None
    header_row: int
    columns: tuple[str, ...]
    renamed: list[tuple[str, str]]
    extra_columns: list[str]
    notes: list[Note]
    rows: int
    rejected: pd.DataFrame
    allowed_years: tuple[int, int] | None
    remarks: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every row would pass."""
        return self.rows > 0 and self.rejected.empty

    @property
    def passing(self) -> int:
        return self.rows - len(self.rejected)

    def rejected_records(self, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
        frame = self.rejected.head(limit)
        return [
            {"row": int(r[ROW]), "record_id": r["record_id"], "reason_codes": r["reason_codes"],
             "fields": r["fields"], "message": r["message"]}
            for r in frame.to_dict("records")
        ]  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "file": self.file,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": list(self.columns),
            "renamed": [{"header": h, "column": c} for h, c in self.renamed],
            "extra_columns": self.extra_columns,
            "notes": [{"row": n.row, "text": n.text} for n in self.notes],
            "rows": self.rows,
            "would_pass": self.passing,
            "would_reject": len(self.rejected),
            "reasons": self.reasons,
            "allowed_years": list(self.allowed_years) if self.allowed_years else None,
            "remarks": self.remarks,
            "rejected": self.rejected_records(),
            "rejected_listed": min(len(self.rejected), MAX_LISTED),
        }

    def lines(self) -> list[str]:
        where = f"sheet {self.sheet!r}, " if self.sheet is not None else ""
        out = [f"{self.file}: {where}header row {self.header_row}; {_rows(self.rows)}"]
        if self.renamed:
            out.append("  read " + ", ".join(f"{h!r} as {c}" for h, c in self.renamed))
        if self.extra_columns:
            out.append(
                "  your own columns (not read; echoed beside each row in result.xlsx): "
                + ", ".join(repr(c) for c in self.extra_columns)
            )
        for note in self.notes:
            out.append(f"  row {note.row} is a note after the data, not a row: {note.text!r}")
        out += [f"  {remark}" for remark in self.remarks]
        if self.ok:
            out.append(f"every row would pass ({self.rows:,})")
            return out
        out.append(
            f"{_rows(self.passing)} would pass; {len(self.rejected):,} would be rejected:"
        )
        for code, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            out.append(f"  {code:<24} {n:>8,}")
        for record in self.rejected_records():
            out.append(
                f"row {record['row']}  {record['record_id'] or '(no record_id)'}  "
                f"{record['reason_codes']}  {record['message']}"
            )
        if len(self.rejected) > MAX_LISTED:
            out.append(f"(first {MAX_LISTED:,} of {len(self.rejected):,} listed)")
        return out


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def allowed_years_for(
    agreement: Agreement, master_years: Sequence[int] | None
) -> tuple[int, int] | None:
    """The agreement's allowed years, if they can be known without (or with) the master."""
    ty = agreement.tax_years
    if ty.first is not None and ty.last is not None:
        return ty.first, ty.last
    if master_years:
        return agreement.allowed_years(master_years)
    return None


def check_request(
    path: Path,
    agreement: Agreement,
    *,
    today: dt.date | None = None,
    master_years: Sequence[int] | None = None,
    split_full_name: bool = False,
) -> CheckReport:
    """Read and validate ``path`` under ``agreement``; raises ``InputFileError`` as ``process``
    would for a file that cannot be read as a whole."""
    today = today or dt.datetime.now(dt.UTC).date()
    limits = agreement.limits
    reader = RequestReader(
        path,
        required_columns=agreement.request.required_columns,
        max_cell_chars=limits.max_cell_chars,
        max_file_bytes=limits.max_file_bytes,
        split_full_name=split_full_name,
    )
    ids = reader.record_ids()
    years = allowed_years_for(agreement, master_years)
    remarks: list[str] = []
    if years is None:
        remarks.append(
            f"tax periods not checked against the allowed years: agreement {agreement.id} "
            f"allows the {agreement.tax_years.recent or 1} most recent years in the master, "
            "and no master was given"
        )
    else:
        remarks.append(f"tax periods checked against the allowed years {years[0]}-{years[1]}")
    if not agreement.in_force(today):
        remarks.append(
            f"agreement {agreement.id} is not in force on {today.isoformat()} (effective "
            f"{agreement.agreement.effective}, expires {agreement.agreement.expires}): "
            "the request would be refused whole"
        )
    if len(ids) > limits.max_rows_per_request:
        remarks.append(
            f"{len(ids):,} rows: over the agreement's {limits.max_rows_per_request:,} per "
            "request; the rows beyond it would be rejected volume_cap_exceeded"
        )
    ctx = ValidationContext(
        allowed_years=years,
        today=today,
        duplicate_ids=duplicate_ids(ids),
        remaining_quota=limits.max_rows_per_request,
    )
    rejected: list[pd.DataFrame] = []
    rows = 0
    for chunk in reader:
        rows += len(chunk)
        _, bad = validate(chunk, agreement, ctx)
        if len(bad):
            rejected.append(bad)
    frame = (
        pd.concat(rejected, ignore_index=True)
        if rejected else pd.DataFrame(columns=list(REJECTED_COLUMNS))
    )  # fmt: skip
    reasons = {
        code: n for code, n in ctx.counters.items() if code not in ("rows", "valid", "rejected")
    }
    return CheckReport(
        file=path.name,
        sheet=reader.sheet,
        header_row=reader.header.row,
        columns=reader.columns,
        renamed=list(reader.header.renamed),
        extra_columns=reader.extra_columns,
        notes=list(reader.notes),
        rows=rows,
        rejected=frame,
        allowed_years=years,
        remarks=remarks,
        reasons=reasons,
    )
