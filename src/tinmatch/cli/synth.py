"""`tinmatch synth`: generate a synthetic master file, a request and its truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors


@app.command("synth")
@one_line_errors
def synth_command(
    people: Annotated[int, typer.Option("--people", help="Number of people in the master.")],
    requests: Annotated[int, typer.Option("--requests", help="Number of request rows.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
    years: Annotated[
        str, typer.Option("--years", help="Tax years of the master, as FIRST-LAST.")
    ] = "2019-2025",
    fmt: Annotated[
        str,
        typer.Option("--format", help="Master tables as parquet, csv or both (csv is slow "
                                      "at millions of rows)."),
    ] = "both",
    noise_model: Annotated[
        str,
        typer.Option("--noise-model", help="How request rows of people in the master are "
                                           "corrupted: standard, or field (a second model "
                                           "written apart; docs/synthetic-data.md)."),
    ] = "standard",
) -> None:
    """Generate synthetic data: master (taxpayers, returns), request, truth, cover letter.

    Writes taxpayers.parquet/.csv, returns.parquet/.csv, request.csv, request.xlsx,
    truth.csv (what the right answer is for every request row) and cover.toml to --out.
    Only synthetic people. See docs/synthetic-data.md for the mix of people and rows.

    Example:

        tinmatch synth --people 20000 --requests 500 --seed 7 --out data

        tinmatch synth --people 1000000 --requests 20000 --format parquet --out big

        tinmatch synth --people 200000 --requests 20000 --noise-model field --out field
    """
    from tinmatch.synth import generate, parse_years

    summary = generate(out, people, requests, seed=seed, years=parse_years(years), fmt=fmt,
                       noise_model=noise_model)
    typer.echo(
        f"{summary.out}: {summary.people:,} people, {summary.returns:,} returns, "
        f"{summary.requests:,} request rows in {summary.seconds:.1f}s"
    )
