"""`tinmatch results`: render a decided request's result files again, for redelivery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch import delivery
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store


@app.command("results")
@one_line_errors
def results(
    request_id: Annotated[str, typer.Argument(help="The request id, as `review list` shows it.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="A new or empty folder (or this request's own) for the files."
        ),
    ],
    state_db: StateDbOption = None,
) -> None:
    """Render a released or denied request's files again from the operational store.

    matched.csv holds the released rows less any recalled since; recalls.csv lists the
    recalled ones; rejected.csv, unmatched.csv, result.xlsx and status.json as at release.
    Nothing is rendered for a request that is still held (exit 7), or into a folder holding
    anything else (exit 2).

    Example:

      tinmatch results req-6ab9f1eb8f7d3388 --out /srv/redelivery/req-6ab9f1eb8f7d3388
    """
    with open_store(state_db) as store:
        written = delivery.render(store, request_id, out.resolve())
    typer.echo(f"{request_id}: {', '.join(p.name for p in written)} written to {out}")
