"""`tinmatch evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store
from tinmatch.evaluate import evaluate
from tinmatch.evaluate.calibration import Bucket, reliability, reliability_lines


@app.command("evaluate")
@one_line_errors
def evaluate_command(
    truth: Annotated[Path, typer.Option("--truth", help="Truth CSV (from `tinmatch synth`).")],
    results: Annotated[Path, typer.Option("--results", help="A `tinmatch process` --out DIR.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    state_db: StateDbOption = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="Also print the reliability table from this request's private decision log "
            "(needs --state-db).",
        ),
    ] = None,
) -> None:
    """Score results against truth: precision, recall, wrong-person disclosures, misses by reason.

    A wrong-person disclosure is an address handed over for a row whose person is not in the
    master, is indistinguishable from another, or is someone else.

    Example:

        tinmatch evaluate --truth data/truth.csv --results result/ --json

        tinmatch evaluate --truth data/truth.csv --results result/ --request-id req-... \\
            --state-db sqlite:///tinmatch.sqlite
    """
    table: list[Bucket] | None = None
    table_all: list[Bucket] = []
    decisions = None
    if request_id is not None:
        with open_store(state_db) as store:
            decisions = pd.DataFrame(
                [
                    (d.record_id, d.outcome, d.tin, d.probability)
                    for d in store.decisions(request_id)
                ],
                columns=["record_id", "outcome", "tin", "probability"],
            )
        truth_df = pd.read_csv(truth, dtype=str, keep_default_na=False)
        table = reliability(decisions[decisions["outcome"] == "matched"], truth_df)
        table_all = reliability(decisions, truth_df)
    figures = evaluate(truth, results, decisions)
    if as_json:
        body = figures.as_dict()
        if table is not None:
            body["reliability_disclosed"] = [
                {"low": b.low, "high": b.high, "rows": b.n, "correct": b.correct} for b in table
            ]
            body["reliability_best_candidate"] = [
                {"low": b.low, "high": b.high, "rows": b.n, "correct": b.correct}
                for b in table_all
            ]
        typer.echo(json.dumps(body, indent=2))
        return
    for line in figures.lines():
        typer.echo(line)
    if table is not None:
        typer.echo("reliability of disclosures (TIN disclosed vs true TIN):")
        for line in reliability_lines(table):
            typer.echo("  " + line)
        typer.echo("reliability of every row's best candidate, disclosed or not:")
        for line in reliability_lines(table_all):
            typer.echo("  " + line)
