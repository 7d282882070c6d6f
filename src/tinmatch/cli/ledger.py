"""`tinmatch ledger`: account for a taxpayer, export, recall (checkpoints, proofs, verify,
witness and notice are in `cli.ledger_log`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import InvalidInputError
from tinmatch.ledger.notice import write_recall_notice

ledger_app = typer.Typer(
    help=(
        "The ledger: an append-only Merkle log (RFC 9162) of every disclosure, with signed "
        "checkpoints (C2SP), proofs and witnesses.\n\n"
        "Example:\n\n"
        "  tinmatch ledger verify --checkpoint cp-2026-09.txt\n\n"
        "  tinmatch ledger disclosures --tin 900123456\n\n"
        "  tinmatch ledger export --out ledger.csv"
    ),
    no_args_is_help=True,
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("disclosures")
@one_line_errors
def disclosures(
    tin: Annotated[str, typer.Option("--tin", help="The taxpayer's TIN (9 digits).")],
    state_db: StateDbOption = None,
) -> None:
    """Who received what about this taxpayer, when, and why (recalls included).

    Example:

      tinmatch ledger disclosures --tin 900123456
    """
    with open_store(state_db) as store:
        entries = store.disclosures_for_tin(tin)
    if not entries:
        typer.echo(f"no disclosure recorded for TIN {tin}")
        return
    rows: list[list[object]] = [
        [
            e.seq,
            e.entry_type + (f" of {e.recalls_seq}" if e.recalls_seq else ""),
            when(e.created_at if e.entry_type == "recall" else e.released_at),
            e.agency,
            e.official,
            e.request_id,
            e.record_id,
            ",".join(e.fields_released),
            e.tax_year,
            e.statute,
            e.case_number,
            e.reviewer,
            e.note,
        ]
        for e in entries
    ]
    headers = ["seq", "entry", "when", "agency", "official", "request", "record", "fields"]
    typer.echo(table([*headers, "year", "statute", "case", "reviewer", "note"], rows))


@ledger_app.command("export")
@one_line_errors
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv: every field, for people; jsonl: one leaf per line, byte for byte, "
            "for tools/verify_ledger.py.",
        ),
    ] = "csv",
    state_db: StateDbOption = None,
) -> None:
    """Export every ledger entry, every field, as CSV (or the leaves as JSON Lines).

    Example:

      tinmatch ledger export --out ledger-2026-09.csv

      tinmatch ledger export --format jsonl --out leaves.jsonl
    """
    if fmt not in ("csv", "jsonl"):
        raise InvalidInputError(f"--format is csv or jsonl, not {fmt!r}")
    with open_store(state_db) as store:
        store.checkpoint_if_due(utc_now())
        if fmt == "jsonl":
            if out is None:
                n = store.export_leaves(sys.stdout.buffer)
            else:
                with out.open("wb") as binary:
                    n = store.export_leaves(binary)
        elif out is None:
            n = store.export_ledger(sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                n = store.export_ledger(handle)
    typer.echo(f"exported {n} entries" + (f" to {out}" if out else ""), err=True)


@ledger_app.command("recall")
@one_line_errors
def recall(
    request_id: Annotated[str, typer.Argument(help="The request that disclosed the row.")],
    record_id: Annotated[str, typer.Argument(help="The requester's record_id of the row.")],
    why: Annotated[str, typer.Option("--why", help="Why the disclosure was wrong.")],
    by: Annotated[str | None, typer.Option("--by", help="Who recalls it.")] = None,
    state_db: StateDbOption = None,
) -> None:
    """Recall a released disclosure found wrong: a ledger entry of its own.

    Example:

      tinmatch ledger recall req-6ab9f1eb8f7d3388 R-0042 --why 'wrong person' --by 'A. Reviewer'
    """
    now = utc_now()
    with open_store(state_db) as store:
        entry = store.recall(request_id, record_id, why, now, by=by)
        out_dir = Path(store.get_request(request_id).out_dir)
    notice = write_recall_notice(
        out_dir, request_id=request_id, record_id=record_id, why=why, at=now
    )
    typer.echo(
        f"recalled {record_id} of {request_id}: ledger seq {entry.seq} "
        f"(recalls seq {entry.recalls_seq}); tell {entry.agency}"
    )
    if notice is not None:
        typer.echo(f"recall notice added to {notice}")


# The log's own commands register on `ledger_app` when imported.
from tinmatch.cli import ledger_log as _ledger_log  # noqa: E402,F401  isort: skip
