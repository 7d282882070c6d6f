"""`tinmatch check`: what a request file would give before it is sent (nothing is looked up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption
from tinmatch.master.database import master_tax_years
from tinmatch.pipeline.check import check_request

SplitFullNameOption = Annotated[
    bool,
    typer.Option(
        "--split-full-name",
        help="The file has one whole-name column (Full Name, Name): split it into first, "
        "middle and last name ('Last, First Middle' or 'First Middle Last'; Jr/Sr/II/III kept "
        "as the suffix).",
    ),
]


@app.command("check")
@one_line_errors
def check_command(
    request: Annotated[Path, typer.Argument(help="The request file (.xlsx or .csv).")],
    db: DbOption,
    agreement_path: Annotated[
        Path | None,
        typer.Option("--agreement", help="Agreement TOML (default: the packaged one)."),
    ] = None,
    split_full_name: SplitFullNameOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check a request file before sending it: read and validate every row, look no one up.

    Says which sheet and header row were read, which headers were taken for which column,
    which columns are your own, which trailing lines are notes, and every row that would be
    rejected and why. No master is needed; with one (--db) the tax periods are checked against
    the years the agreement allows in it. Nothing is recorded and nothing counts against a cap.

    Exit 0 when every row would pass, 1 when a row would be rejected, 3 when the file cannot be
    read as a whole (the message says what was found and what is needed).

    Example:

        tinmatch check request.xlsx

        tinmatch check cases.csv --agreement ice-2026.toml --split-full-name --json
    """
    agreement = Agreement.load(agreement_path)
    report = check_request(
        request,
        agreement,
        master_years=master_tax_years(db),
        split_full_name=split_full_name,
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)
