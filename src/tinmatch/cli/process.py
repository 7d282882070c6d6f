"""`tinmatch process`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption, QuietOption
from tinmatch.cover import ANONYMOUS, Cover
from tinmatch.errors import RefusedError
from tinmatch.pipeline.process import process
from tinmatch.progress import Reporter, RichReporter


@app.command("process")
@one_line_errors
def process_command(
    request: Annotated[Path, typer.Argument(help="The request file (.xlsx or .csv).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the results.")],
    db: DbOption,
    agreement_path: Annotated[
        Path | None,
        typer.Option("--agreement", help="Agreement TOML (default: the packaged one)."),
    ] = None,
    cover_path: Annotated[
        Path | None,
        typer.Option("--cover", help="Cover letter TOML: agency, official, attestation."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Answer a request: validate each row, identify the taxpayer, disclose only certain matches.

    Writes DIR/matched.csv, DIR/rejected.csv, DIR/unmatched.csv (every input row in exactly one)
    and DIR/result.xlsx with a summary sheet. Exit 0 whenever the request was processed.

    Example:

        tinmatch process request.xlsx --cover cover.toml --db master.duckdb --out result/
    """
    agreement = Agreement.load(agreement_path)
    if cover_path is not None:
        cover = Cover.load(cover_path)
    elif agreement.request.cover_required:
        raise RefusedError(
            "the agreement requires a cover letter naming the agency, the official and their "
            "attestation: pass --cover FILE"
        )
    else:
        cover = ANONYMOUS
    reporter: Reporter = Reporter() if quiet else RichReporter()
    result = process(request, out, db=db, agreement=agreement, cover=cover, reporter=reporter)
    counts = result.counts
    typer.echo(
        f"{result.request_key}: {result.rows:,} rows -> matched {counts['matched']:,}, "
        f"rejected {counts['rejected']:,}, unmatched {counts['unmatched']:,}"
    )
    for reason, n in sorted(result.reasons.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {reason:<24} {n:>8,}")
    typer.echo(f"results in {out}/ (matched.csv, rejected.csv, unmatched.csv, result.xlsx)")
