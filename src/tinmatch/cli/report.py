"""`tinmatch report`: per-agency accounting for a year, quarter or month."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table


@app.command("report")
@one_line_errors
def report(
    period: Annotated[
        str, typer.Option("--period", help="A year (2026), quarter (2026-Q3) or month (2026-09).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the figures to this CSV file.")
    ] = None,
    state_db: StateDbOption = None,
) -> None:
    """Per-agency figures for a period: requests by status, rows received, rejected by reason,
    matched, ambiguous, disclosed, and from the ledger the rows released and recalled.

    Example:

      tinmatch report --period 2026-Q3 --out report-2026-Q3.csv
    """
    with open_store(state_db) as store:
        rows = store.period_report(period)
    if not rows:
        typer.echo(f"no requests or disclosures in {period}")
        return
    headers = list(rows[0])
    typer.echo(f"period {period}")
    typer.echo(table(headers, [[row[h] for h in headers] for row in rows]))
    if out is not None:
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=headers, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        typer.echo(f"wrote {out}", err=True)
