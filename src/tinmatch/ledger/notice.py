"""Recall notices: what the requester collects when a released disclosure is withdrawn.

A recall is a ledger entry of its own; the notice is also appended to ``recalls.csv`` in the
request's result directory, so whoever collects the results collects the recall with them.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from tinmatch.neutralize import neutralize

FILENAME = "recalls.csv"
COLUMNS = ["record_id", "request_id", "recalled_at", "reason"]


def write_recall_notice(
    out_dir: Path, *, request_id: str, record_id: str, why: str, at: datetime
) -> Path | None:
    """Append one notice; None when the result directory no longer exists (purged)."""
    if not out_dir.is_dir():
        return None
    path = out_dir / FILENAME
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(COLUMNS)
        writer.writerow(
            [neutralize(record_id), request_id, at.isoformat(timespec="seconds"), neutralize(why)]
        )
    return path
