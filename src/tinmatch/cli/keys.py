"""`tinmatch keys` (API keys of requesting agencies) and `tinmatch reviewers` (reviewer
accounts of the tax agency). Keys and passwords are stored hashed only."""

from __future__ import annotations

from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, when
from tinmatch.errors import ConfigError
from tinmatch.ops.registry import Registry
from tinmatch.settings import REVIEWER_PASSWORD
from tinmatch.web.accounts import Accounts

PASSWORD_ENV = REVIEWER_PASSWORD.name

keys_app = typer.Typer(
    help=(
        "API keys of requesting agencies. A key is shown once, when created.\n\n"
        "Example:\n\n"
        "  tinmatch agencies add 'Example Agency'\n\n"
        "  tinmatch keys create --agency 'Example Agency' --label 'case system'\n\n"
        "  tinmatch keys list\n\n"
        "  tinmatch keys revoke 3f2a9c1b7d4e"
    ),
    no_args_is_help=True,
)
reviewers_app = typer.Typer(
    help=(
        "Reviewer accounts (separate from API keys).\n\n"
        "Example:\n\n"
        "  TINMATCH_REVIEWER_PASSWORD='a long passphrase' tinmatch reviewers add 'A. Reviewer'"
    ),
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
app.add_typer(reviewers_app, name="reviewers")


@keys_app.command("create")
@one_line_errors
def create(
    agency: Annotated[str, typer.Option("--agency", help="The requesting agency's name.")],
    label: Annotated[str, typer.Option("--label", help="What the key is for.")] = "",
    state_db: StateDbOption = None,
) -> None:
    """Create an API key for a registered agency and print it (only now: it is stored hashed).

    Example:

      tinmatch keys create --agency 'Example Agency'
    """
    with open_store(state_db, create=True) as store:
        agency = Registry(store).agency_name(agency)  # a key belongs to a registered agency
        key = Accounts(store.engine).create_key(agency, label)
    typer.echo(key)
    typer.echo(f"API key for {agency!r}: keep it secret; it is not shown again.", err=True)


@keys_app.command("list")
@one_line_errors
def list_keys(state_db: StateDbOption = None) -> None:
    """List API keys (prefix, agency, label, created, revoked); never the keys themselves.

    Example:

      tinmatch keys list
    """
    with open_store(state_db) as store:
        keys = Accounts(store.engine).list_keys()
    if not keys:
        typer.echo("no API keys")
        return
    rows: list[list[object]] = [
        [k.prefix, k.agency, k.label, when(k.created_at), when(k.revoked_at)] for k in keys
    ]
    typer.echo(table(["prefix", "agency", "label", "created", "revoked"], rows))


@keys_app.command("revoke")
@one_line_errors
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it.")],
    state_db: StateDbOption = None,
) -> None:
    """Revoke an API key: calls with it are refused from now on.

    Example:

      tinmatch keys revoke 3f2a9c1b7d4e
    """
    with open_store(state_db) as store:
        key = Accounts(store.engine).revoke_key(prefix)
    typer.echo(f"revoked key {key.prefix} of {key.agency!r}")


@reviewers_app.command("add")
@one_line_errors
def add_reviewer(
    name: Annotated[str, typer.Argument(help="The reviewer's name, recorded with decisions.")],
    state_db: StateDbOption = None,
) -> None:
    """Add a reviewer account. The password comes from $TINMATCH_REVIEWER_PASSWORD, or is
    asked for (hidden, twice).

    Example:

      TINMATCH_REVIEWER_PASSWORD='a long passphrase' tinmatch reviewers add 'A. Reviewer'
    """
    password = REVIEWER_PASSWORD.text() or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    if not password:
        raise ConfigError(f"no password (set {PASSWORD_ENV} or type one)")
    with open_store(state_db, create=True) as store:
        reviewer = Accounts(store.engine).add_reviewer(name, password)
    typer.echo(f"reviewer {reviewer.name!r} added")
