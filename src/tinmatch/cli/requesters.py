"""`tinmatch agencies` and `tinmatch officials`: the registered requesters.

A request is answered only when its cover letter names a registered official of a registered
agency; caps, caseloads and intervals count per registered identity."""

from __future__ import annotations

from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import ConflictError
from tinmatch.ops.registry import Registry

ExistOk = Annotated[
    bool, typer.Option("--exist-ok", help="Succeed when it is registered already (scripts).")
]

agencies_app = typer.Typer(
    help=(
        "Registered requesting agencies (API keys and agreements belong to one).\n\n"
        "Example:\n\n"
        "  tinmatch agencies add 'Example Agency'\n\n"
        "  tinmatch agencies list"
    ),
    no_args_is_help=True,
)
officials_app = typer.Typer(
    help=(
        "Registered requesting officials of an agency. Names match however they are punctuated "
        "or ordered ('J. Doe', 'J Doe', 'Doe, J.' are one official).\n\n"
        "Example:\n\n"
        "  tinmatch officials add 'J. Doe' --agency 'Example Agency'\n\n"
        "  tinmatch officials list --agency 'Example Agency'"
    ),
    no_args_is_help=True,
)
app.add_typer(agencies_app, name="agencies")
app.add_typer(officials_app, name="officials")


@agencies_app.command("add")
@one_line_errors
def add_agency(
    name: Annotated[str, typer.Argument(help="The agency's name, as cover letters give it.")],
    exist_ok: ExistOk = False,
    state_db: StateDbOption = None,
) -> None:
    """Register a requesting agency.

    Example:

      tinmatch agencies add 'Example Agency'
    """
    with open_store(state_db, create=True) as store:
        try:
            agency = Registry(store).add_agency(name, utc_now())
        except ConflictError as exc:
            if not exist_ok:
                raise
            typer.echo(str(exc))
            return
    typer.echo(f"agency {agency.name!r} registered")


@agencies_app.command("list")
@one_line_errors
def list_agencies(state_db: StateDbOption = None) -> None:
    """Registered agencies.

    Example:

      tinmatch agencies list
    """
    with open_store(state_db) as store:
        agencies = Registry(store).agencies()
    if not agencies:
        typer.echo("no registered agencies")
        return
    typer.echo(table(["agency", "registered"], [[a.name, when(a.created_at)] for a in agencies]))


@officials_app.command("add")
@one_line_errors
def add_official(
    name: Annotated[str, typer.Argument(help="The official's name, as cover letters give it.")],
    agency: Annotated[str, typer.Option("--agency", help="The official's registered agency.")],
    exist_ok: ExistOk = False,
    state_db: StateDbOption = None,
) -> None:
    """Register a requesting official of a registered agency.

    Example:

      tinmatch officials add 'J. Doe' --agency 'Example Agency'
    """
    with open_store(state_db, create=True) as store:
        try:
            official = Registry(store).add_official(name, agency, utc_now())
        except ConflictError as exc:
            if not exist_ok:
                raise
            typer.echo(str(exc))
            return
    typer.echo(f"official {official.name!r} of {official.agency!r} registered")


@officials_app.command("list")
@one_line_errors
def list_officials(
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency.")] = None,
    state_db: StateDbOption = None,
) -> None:
    """Registered officials.

    Example:

      tinmatch officials list --agency 'Example Agency'
    """
    with open_store(state_db) as store:
        officials = Registry(store).officials(agency)
    if not officials:
        typer.echo("no registered officials")
        return
    rows: list[list[object]] = [[o.agency, o.name, when(o.created_at)] for o in officials]
    typer.echo(table(["agency", "official", "registered"], rows))
