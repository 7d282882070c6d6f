"""`tinmatch evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.evaluate import evaluate


@app.command("evaluate")
@one_line_errors
def evaluate_command(
    truth: Annotated[Path, typer.Option("--truth", help="Truth CSV (from `tinmatch synth`).")],
    results: Annotated[Path, typer.Option("--results", help="A `tinmatch process` --out DIR.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score results against truth: precision, recall, wrong-person disclosures, misses by reason.

    A wrong-person disclosure is an address handed over for a row whose person is not in the
    master, is indistinguishable from another, or is someone else.

    Example:

        tinmatch evaluate --truth data/truth.csv --results result/ --json
    """
    figures = evaluate(truth, results)
    if as_json:
        typer.echo(json.dumps(figures.as_dict(), indent=2))
    else:
        for line in figures.lines():
            typer.echo(line)
