"""`tinmatch process`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.answer import answer_request
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption, QuietOption
from tinmatch.cli.state import StateDbOption, open_store
from tinmatch.cover import Cover
from tinmatch.errors import ConfigError
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
    agency: Annotated[
        str | None, typer.Option("--agency", help="Cover: the requesting agency.")
    ] = None,
    official: Annotated[
        str | None, typer.Option("--official", help="Cover: the requesting official.")
    ] = None,
    attestation: Annotated[
        str | None,
        typer.Option("--attestation", help="Cover: the official's attestation."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (in-process, default) or spark (local[2], or the cluster in "
            "TINMATCH_SPARK_MASTER; Parquet export of the master beside --db).",
        ),
    ] = "duckdb",
    state_db: StateDbOption = None,
    split_full_name: Annotated[
        bool,
        typer.Option(
            "--split-full-name",
            help="The file has one whole-name column (Full Name, Name): split it into first, "
            "middle and last name (check the split with `tinmatch check --split-full-name`).",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Answer a request: validate each row, identify the taxpayer, disclose only certain matches.

    Writes DIR/status.json, DIR/held.csv (record ids only), DIR/rejected.csv, DIR/unmatched.csv
    (every input row in exactly one of the three) and DIR/result.xlsx, with no address: the
    request is *held*, its addresses kept in the operational store, until a registered reviewer
    approves it (`tinmatch review`); the release writes DIR/matched.csv and the ledger. DIR must
    be new, empty, or this request's own folder (an interrupted run); anything else is exit 2.
    Exit 0 whenever the request was processed.

    Example:

        tinmatch process request.xlsx --cover cover.toml --db master.duckdb --out result/

        tinmatch process request.csv --agency "ICE" --official "J. Doe" \\
            --attestation "Each person is under active criminal investigation..." --out result/
    """
    agreement = Agreement.load(agreement_path)
    cover: Cover | None = None
    given = {"agency": agency, "official": official, "attestation": attestation}
    if cover_path is not None:
        if any(given.values()):
            raise ConfigError("give the cover either as --cover FILE or as options, not both")
        cover = Cover.load(cover_path)
    elif any(given.values()):
        cover = Cover.from_mapping({k: v for k, v in given.items() if v}, source="options")
    reporter: Reporter = Reporter() if quiet else RichReporter()
    with open_store(state_db, create=True) as store:
        answer = answer_request(
            request,
            out,
            db=db,
            agreement=agreement,
            cover=cover,
            store=store,
            reporter=reporter,
            engine_kind=engine,
            split_full_name=split_full_name,
        )
    result = answer.result
    counts = result.counts
    typer.echo(
        f"{answer.record.id}: {result.rows:,} rows -> held {counts['matched']:,}, "
        f"rejected {counts['rejected']:,}, unmatched {counts['unmatched']:,}; "
        f"status {answer.status}"
    )
    for reason, n in sorted(result.reasons.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {reason:<24} {n:>8,}")
    typer.echo(
        f"results in {out}/ (status.json, held.csv, rejected.csv, unmatched.csv, result.xlsx); "
        "no address leaves before release"
    )
    if answer.status == "held":
        typer.echo(
            f"held for review: tinmatch review show {answer.record.id}; release with "
            f"tinmatch review approve {answer.record.id} --reviewer NAME --note TEXT"
            + (
                f" (two different reviewers: {counts['matched']:,} rows to disclose)"
                if answer.record.reviewers_required > 1
                else ""
            )
        )
