"""Republish a request's workbook when its review status changes.

The summary sheet of ``result.xlsx`` says ``held`` while a request waits for review. Once a
reviewer releases it, the workbook the requester collects must say ``released``, by whom and
when. The three CSVs are read back and written again through the same writer (so the files are
still staged and published atomically and every cell neutralized); their content does not change.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from tinmatch.pipeline.write import ResultWriter

# Summary keys that describe the request; the writer recomputes counts and reasons itself.
IDENTITY_KEYS = (
    "request_id",
    "request_key",
    "agreement_id",
    "agreement_sha256",
    "model_sha256",
    "input_sha256",
)
FIXED = ("record_id", "match_probability")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _summary(xlsx: Path) -> dict[str, object]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(xlsx))
    rows = book.get_sheet_by_name("summary").to_python()
    return {str(row[0]): row[1] for row in rows[1:] if row and row[0] is not None}


def republish(out_dir: Path, *, status: str, reviewer: str, at: datetime) -> bool:
    """Rewrite ``result.xlsx`` (and the CSVs, unchanged) with `status`; False if absent."""
    xlsx = out_dir / "result.xlsx"
    names = ("matched", "rejected", "unmatched")
    if not xlsx.exists() or not all((out_dir / f"{n}.csv").exists() for n in names):
        return False
    old = _summary(xlsx)
    matched = _read(out_dir / "matched.csv")
    fields = [c for c in matched.columns if c not in FIXED]
    for column in ("match_probability", "tax_year"):
        if column in matched.columns:
            matched[column] = pd.to_numeric(matched[column], errors="coerce")
    summary: dict[str, object] = {"review_status": status}
    summary.update({k: old[k] for k in IDENTITY_KEYS if k in old})
    summary["reviewed_by"] = reviewer
    summary["reviewed_at"] = at.isoformat(timespec="seconds")
    writer = ResultWriter(out_dir, fields)
    try:
        writer.add_matched(matched)
        writer.add_rejected(_read(out_dir / "rejected.csv"))
        writer.add_unmatched(_read(out_dir / "unmatched.csv"))
        writer.close(summary)
    except BaseException:
        writer.abort()
        raise
    return True
