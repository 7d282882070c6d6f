"""`tinmatch agreement`: register agreements, look at the registry, suspend and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.review import authenticate
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import ConfigError
from tinmatch.ops import Store
from tinmatch.ops.registry import Registry
from tinmatch.ops.suspensions import EVERY_AGENCY

agreement_app = typer.Typer(
    help=(
        "Register data-sharing agreements, look at the registry, suspend and resume. An "
        "agreement runs only once registered by its content hash; while an agency is "
        "suspended, its requests are refused whole, nothing under it is released and its "
        "released files are not served.\n\n"
        "Example:\n\n"
        "  tinmatch agreement register agreements/ice.toml --by 'A. Approver'\n\n"
        "  tinmatch agreement list\n\n"
        "  tinmatch agreement suspend --agency 'Example Agency' --why 'audit finding 2026-07'"
    ),
    no_args_is_help=True,
)
app.add_typer(agreement_app, name="agreement")

AgreementPath = Annotated[
    Path | None,
    typer.Option("--agreement", help="The agreement file (default: the one shipped).", exists=True),
]
AgreementId = Annotated[
    str | None, typer.Option("--id", help="A registered agreement's id, instead of its file.")
]
AgencyOption = Annotated[
    str | None, typer.Option("--agency", help="A registered agency, instead of an agreement.")
]
By = Annotated[
    str,
    typer.Option(
        "--by", help="Your reviewer account (password from $TINMATCH_REVIEWER_PASSWORD)."
    ),
]
Ref = Annotated[str, typer.Argument(help="A registered agreement: its id or SHA-256 (prefix).")]


def scope_of(
    store: Store, path: Path | None, given_id: str | None, agency: str | None
) -> str:
    """The agency a suspension applies to: `--agency`, else the agency of the agreement named
    by `--id` or `--agreement` (or of the default agreement): `*` for one open to any agency."""
    if sum(x is not None for x in (path, given_id, agency)) > 1:
        raise ConfigError("give one of --agreement PATH, --id ID or --agency NAME")
    registry = Registry(store)
    if agency is not None:
        return registry.agency_name(agency)
    if given_id is not None:
        if not given_id.strip():
            raise ConfigError("--id is empty")
        return registry.registration(given_id).agency
    return registry.scope(Agreement.load(path))


def _who(scope: str) -> str:
    return "every agency" if scope == EVERY_AGENCY else f"agency {scope!r}"


@agreement_app.command("register")
@one_line_errors
def register(
    path: Annotated[Path, typer.Argument(help="The agreement TOML file.", exists=True)],
    by: By,
    state_db: StateDbOption = None,
) -> None:
    """Register an agreement file by its SHA-256, approved by you (a reviewer account).

    Refused when the file breaks a floor (made-up statute, a required column dropped, review
    switched off, a forbidden field, a cap missing or beyond its maximum). An agreement that
    loosens anything relative to the one it replaces (same agency) or to the packaged default
    waits for a second, different approver: the same command with another --by.

    Example:

      TINMATCH_REVIEWER_PASSWORD=... tinmatch agreement register ice.toml --by 'A. Approver'
    """
    agreement = Agreement.load(path)
    with open_store(state_db, create=True) as store:
        approver = authenticate(store, by)
        reg = Registry(store).register(
            agreement, agreement.raw_bytes, approver=approver, now=utc_now()
        )
    if reg.status == "active":
        typer.echo(
            f"agreement {reg.agreement_id!r} registered (sha256 {reg.sha256[:12]}), approved by "
            f"{reg.approvers}: it may run"
        )
    else:
        typer.echo(
            f"agreement {reg.agreement_id!r} (sha256 {reg.sha256[:12]}) approved by "
            f"{reg.approved_by}; it loosens {'; '.join(reg.loosens)}: a second, different "
            "approver must register it too before it runs"
        )


@agreement_app.command("list")
@one_line_errors
def list_agreements(state_db: StateDbOption = None) -> None:
    """Registered agreements: id, agency, status, hash, who approved them and when.

    Example:

      tinmatch agreement list
    """
    with open_store(state_db) as store:
        regs = Registry(store).registrations()
    if not regs:
        typer.echo("no registered agreements")
        return
    rows: list[list[object]] = [
        [r.agreement_id, r.agency, r.status, r.sha256[:12], r.approvers, when(r.registered_at),
         when(r.active_at)]
        for r in regs
    ]  # fmt: skip
    headers = ["id", "agency", "status", "sha256", "approved by", "registered", "active"]
    typer.echo(table(headers, rows))


@agreement_app.command("show")
@one_line_errors
def show(ref: Ref, state_db: StateDbOption = None) -> None:
    """One registered agreement: approvals, what it loosens, and the file as registered.

    Example:

      tinmatch agreement show default
    """
    with open_store(state_db) as store:
        r = Registry(store).registration(ref)
    typer.echo(
        "\n".join(
            [
                f"agreement  {r.agreement_id}  ({r.status})",
                f"sha256     {r.sha256}",
                f"agency     {r.agency}",
                f"source     {r.source}",
                f"approved   {r.approved_by} at {when(r.registered_at)}",
                *([f"second     {r.second_by} at {when(r.second_at)}"] if r.second_by else []),
                f"replaces   {r.replaces_sha256 or '(nothing: first of its agency)'}",
                *[f"loosens    {x}" for x in r.loosens],
                "",
                r.body.rstrip("\n"),
            ]
        )
    )


@agreement_app.command("diff")
@one_line_errors
def diff(ref: Ref, state_db: StateDbOption = None) -> None:
    """What changed from the agreement it replaced (or from the packaged default), as a diff.

    Example:

      tinmatch agreement diff pilot-2026
    """
    with open_store(state_db) as store:
        text = Registry(store).diff(ref)
    typer.echo(text.rstrip("\n") if text else "no change")


@agreement_app.command("suspend")
@one_line_errors
def suspend(
    why: Annotated[str, typer.Option("--why", help="Why: shown in every refusal.")],
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    agency: AgencyOption = None,
    by: Annotated[str, typer.Option("--by", help="Who suspends (recorded).")] = "",
    state_db: StateDbOption = None,
) -> None:
    """Suspend every agreement of an agency: its requests are refused, nothing under them is
    released and released files are not served, until resumed. An agreement open to any
    agency (the default) suspends every agency; copies under another id are suspended too.

    Example:

      tinmatch agreement suspend --why 'audit finding 2026-07' --agency 'Example Agency'
    """
    with open_store(state_db) as store:
        scope = scope_of(store, agreement, id_, agency)
        Registry(store).suspend(scope, why, by.strip() or "(not given)", utc_now())
    typer.echo(f"{_who(scope)} suspended: {why}")


@agreement_app.command("resume")
@one_line_errors
def resume(
    why: Annotated[str, typer.Option("--why", help="Why it may resume.")] = "",
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    agency: AgencyOption = None,
    by: Annotated[str, typer.Option("--by", help="Who resumes (recorded).")] = "",
    state_db: StateDbOption = None,
) -> None:
    """Lift the suspension of an agency (or of every agency, for an agreement open to any).

    Example:

      tinmatch agreement resume --why 'finding closed' --agency 'Example Agency'
    """
    with open_store(state_db) as store:
        scope = scope_of(store, agreement, id_, agency)
        Registry(store).resume(scope, why, by.strip() or "(not given)", utc_now())
    typer.echo(f"{_who(scope)} resumed")


@agreement_app.command("status")
@one_line_errors
def status(
    agreement: AgreementPath = None,
    id_: AgreementId = None,
    agency: AgencyOption = None,
    state_db: StateDbOption = None,
) -> None:
    """Whether an agency (or the agreement's agency) is suspended, and its history.

    Example:

      tinmatch agreement status --agency 'Example Agency'
    """
    with open_store(state_db) as store:
        scope = scope_of(store, agreement, id_, agency)
        registry = Registry(store)
        why = registry.suspension(scope)
        events = registry.suspension_history(scope)
        if scope != EVERY_AGENCY:
            events = registry.suspension_history(EVERY_AGENCY) + events
    typer.echo(f"SUSPENDED: {why}" if why else f"{_who(scope)}: active")
    if events:
        rows: list[list[object]] = [
            [when(e.at), e.agency, e.action, e.by, e.why]
            for e in sorted(events, key=lambda e: e.id)
        ]
        typer.echo(table(["when", "agency", "action", "by", "why"], rows))
