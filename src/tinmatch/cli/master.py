"""`tinmatch load-master`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption, QuietOption
from tinmatch.engines import ENGINES
from tinmatch.engines.export import (
    MAX_PARTS,
    MIN_PARTS,
    ROWS_PER_PART,
    default_export_dir,
    export_master,
)
from tinmatch.errors import ConfigError
from tinmatch.master.load import load_master
from tinmatch.progress import Reporter, RichReporter

PartsOption = Annotated[
    int | None,
    typer.Option(
        "--parts",
        min=1,
        max=MAX_PARTS,
        help="Files the link rows and appearances are split into, by block key range "
        f"(default: one per {ROWS_PER_PART:,} link rows, at least {MIN_PARTS}).",
    ),
]


@app.command("load-master")
@one_line_errors
def load_master_command(
    taxpayers: Annotated[
        Path, typer.Option("--taxpayers", help="Taxpayers table (.csv or .parquet).")
    ],
    returns: Annotated[Path, typer.Option("--returns", help="Returns table (.csv or .parquet).")],
    db: DbOption,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (default) or spark: spark standardizes the names and addresses on "
            "the Spark session (TINMATCH_SPARK_MASTER; the rest of the load stays in DuckDB) "
            "and exports the master to Parquet beside --db, where `process --engine spark` "
            "reads it.",
        ),
    ] = "duckdb",
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Also write the master as partitioned Parquet to this directory (what a Spark "
            "cluster reads: copy it to HDFS/S3 and point TINMATCH_SPARK_DATA at it).",
        ),
    ] = None,
    parts: PartsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import the master file: taxpayers and every return, standardized once, model trained.

    Only the contract's columns are stored (employer names and other return fields are never
    loaded). Loading the same files again does nothing; new files replace the master
    atomically, so a failed load leaves the old one in place.

    With --export (or --engine spark, beside --db) the load also writes the Parquet export
    `process --engine spark` reads: the link rows and appearances split into --parts files by
    block key range, which a cluster's executors read in parallel.

    Example:

        tinmatch load-master --taxpayers t.parquet --returns r.parquet --db master.duckdb

        tinmatch load-master --taxpayers t.parquet --returns r.parquet --export m.parquet
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    reporter: Reporter = Reporter() if quiet else RichReporter()
    standardizer = None
    if engine == "spark":
        from tinmatch.engines.spark_load import SparkExecutor

        standardizer = SparkExecutor()  # the session starts when the first values come
    summary = load_master(taxpayers, returns, db, reporter, standardizer)
    target = export or (default_export_dir(db) if engine == "spark" else None)
    if target is not None:
        exported = export_master(db, target, parts)
        typer.echo(f"Parquet export for Spark: {exported.out_dir} ({exported.parts} parts)")
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


@app.command("export-master")
@one_line_errors
def export_master_command(
    db: DbOption,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for the Parquet tables (default: DB.parquet)."),
    ] = None,
    parts: PartsOption = None,
) -> None:
    """Export the loaded master to Parquet, for `process --engine spark` on a cluster.

    Copy the directory to storage every executor reads (HDFS, S3) and point
    TINMATCH_SPARK_DATA at it. Exporting an unchanged master again does nothing.

    Example:

        tinmatch export-master --db master.duckdb --out /data/master.parquet
    """
    target = out or default_export_dir(db)
    summary = export_master(db, target, parts)
    state = "already current" if summary.unchanged else "written"
    rows = ", ".join(f"{k} {v:,}" for k, v in summary.rows.items())
    typer.echo(
        f"{target}: {state} ({rows}; {summary.parts} parts); model {summary.model_sha256[:12]}"
    )
