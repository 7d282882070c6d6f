"""`tinmatch purge`: delete result files of decided requests after a retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, utc_now
from tinmatch.ops.purge import purge as purge_results


@app.command("purge")
@one_line_errors
def purge(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", help="Age since release or denial: 30d, 12h, 2w (days, hours, weeks)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
    state_db: StateDbOption = None,
) -> None:
    """Delete the result files of requests released or denied longer ago than --older-than.

    Only files tinmatch wrote and recorded in the request's manifest, unchanged since, are
    removed (then the folder, if nothing else is in it); any other file is left and listed.
    The operational database is never removed. Each purge is logged; the ledger is untouched.

    Example:

      tinmatch purge --older-than 30d
    """
    with open_store(state_db) as store:
        results = purge_results(store, older_than, utc_now(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for r in results:
        if r.skipped:
            typer.echo(f"skipped {r.request_id}: {r.path} ({r.skipped})")
        else:
            typer.echo(
                f"{verb} {r.request_id}: {r.path} "
                f"({r.files_removed} files, {r.bytes_removed} bytes)"
            )
            for path in r.left:
                typer.echo(f"  left {path}")
    done = [r for r in results if not r.skipped]
    typer.echo(
        f"{len(done)} request(s) purged" if not dry_run else f"{len(done)} request(s) to purge"
    )
