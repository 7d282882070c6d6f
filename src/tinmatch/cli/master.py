"""`tinmatch load-master`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption, QuietOption
from tinmatch.master.load import load_master
from tinmatch.progress import Reporter, RichReporter


@app.command("load-master")
@one_line_errors
def load_master_command(
    taxpayers: Annotated[
        Path, typer.Option("--taxpayers", help="Taxpayers table (.csv or .parquet).")
    ],
    returns: Annotated[Path, typer.Option("--returns", help="Returns table (.csv or .parquet).")],
    db: DbOption,
    quiet: QuietOption = False,
) -> None:
    """Import the master file: taxpayers and every return, standardized once, model trained.

    Only the contract's columns are stored (employer names and other return fields are never
    loaded). Loading the same files again does nothing; new files replace the master
    atomically, so a failed load leaves the old one in place.

    Example:

        tinmatch load-master --taxpayers taxpayers.parquet --returns returns.parquet\
            --db master.duckdb
    """
    reporter: Reporter = Reporter() if quiet else RichReporter()
    summary = load_master(taxpayers, returns, db, reporter)
    if summary.unchanged:
        typer.echo(f"{db}: already loaded from these files; nothing to do")
        return
    years = summary.tax_years
    span = f"{years[0]}-{years[-1]}" if years else "none"
    typer.echo(
        f"{db}: {summary.people:,} people, {summary.returns:,} returns "
        f"({summary.appearances:,} appearances incl. spouses), tax years {span}, "
        f"{summary.link_rows:,} link rows, model {summary.model_sha256[:12]}, "
        f"{summary.seconds:.1f}s"
    )
    if summary.dropped_rows:
        typer.echo(
            f"warning: {summary.dropped_rows:,} rows without a valid TIN or tax year skipped"
        )
