"""`tinmatch agreement`: suspend or resume an agreement, and show its state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import ConfigError

agreement_app = typer.Typer(
    help=(
        "Suspend or resume a data-sharing agreement. While suspended, new requests under it "
        "are refused whole and nothing under it is released.\n\n"
        "Example:\n\n"
        "  tinmatch agreement suspend --why 'audit finding 2026-07'\n\n"
        "  tinmatch agreement status\n\n"
        "  tinmatch agreement resume --why 'finding closed'"
    ),
    no_args_is_help=True,
)
app.add_typer(agreement_app, name="agreement")

AgreementPath = Annotated[
    Path | None,
    typer.Option("--agreement", help="The agreement file (default: the one shipped).", exists=True),
]
AgreementId = Annotated[
    str | None, typer.Option("--id", help="The agreement id, instead of its file.")
]


def agreement_id(path: Path | None, given_id: str | None) -> str:
    """The id named by `--id`, else the id inside `--agreement` (or the default agreement)."""
    if path is not None and given_id is not None:
        raise ConfigError("give --agreement PATH or --id ID, not both")
    if given_id is not None:
        if not given_id.strip():
            raise ConfigError("--id is empty")
        return given_id.strip()
    return Agreement.load(path).id


@agreement_app.command("suspend")
@one_line_errors
def suspend(
    why: Annotated[str, typer.Option("--why", help="Why: shown in every refusal.")],
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    state_db: StateDbOption = None,
) -> None:
    """Suspend an agreement: requests under it are refused, held ones cannot be released.

    Example:

      tinmatch agreement suspend --why 'audit finding 2026-07' --agreement agreements/ice.toml
    """
    aid = agreement_id(agreement, id_)
    with open_store(state_db) as store:
        store.suspend(aid, why, utc_now())
    typer.echo(f"agreement {aid!r} suspended: {why}")


@agreement_app.command("resume")
@one_line_errors
def resume(
    why: Annotated[str, typer.Option("--why", help="Why it may resume.")] = "",
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    state_db: StateDbOption = None,
) -> None:
    """Lift the suspension of an agreement.

    Example:

      tinmatch agreement resume --why 'finding closed' --id default
    """
    aid = agreement_id(agreement, id_)
    with open_store(state_db) as store:
        store.resume(aid, utc_now(), why)
    typer.echo(f"agreement {aid!r} resumed")


@agreement_app.command("status")
@one_line_errors
def status(
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    state_db: StateDbOption = None,
) -> None:
    """Whether the agreement is suspended, and its suspension history.

    Example:

      tinmatch agreement status --id default
    """
    aid = agreement_id(agreement, id_)
    with open_store(state_db) as store:
        why = store.suspension(aid)
        events = store.agreement_events(aid)
    typer.echo(f"agreement {aid!r}: " + (f"SUSPENDED: {why}" if why else "active"))
    if events:
        typer.echo(
            table(["when", "action", "why"], [[when(e.at), e.action, e.why] for e in events])
        )
