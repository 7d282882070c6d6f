"""`tinmatch ledger`: account for a taxpayer, export, recall (checkpoints, proofs, verify,
witness and notice are in `cli.ledger_log`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tinmatch import delivery
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import InvalidInputError

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
    request_id: Annotated[
        str | None, typer.Argument(help="The request that disclosed the row.")
    ] = None,
    record_id: Annotated[
        str | None, typer.Argument(help="The requester's record_id of the row.")
    ] = None,
    why: Annotated[str, typer.Option("--why", help="Why the disclosure was wrong.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who recalls it (required).")] = "",
    tin: Annotated[
        str | None,
        typer.Option("--tin", help="Instead of the ids: every disclosure of this taxpayer."),
    ] = None,
    state_db: StateDbOption = None,
) -> None:
    """Recall a released disclosure found wrong (or, with --tin, every disclosure of one
    taxpayer): a ledger entry of its own for each.

    From then on the row is in no matched.csv that tinmatch writes or serves (the request's
    folder is rendered again at once; `results` and the API render from the store), it is
    listed in recalls.csv, and the taxpayer is not disclosed to that agency again
    (previously_recalled).

    Example:

      tinmatch ledger recall req-6ab9f1eb8f7d3388 R-0042 --why 'wrong person' --by 'A. Reviewer'

      tinmatch ledger recall --tin 900123456 --why 'identity theft victim' --by 'A. Reviewer'
    """
    if not by.strip():
        raise InvalidInputError("say who recalls the disclosure (--by)")
    if not why.strip():
        raise InvalidInputError("say why the disclosure is recalled (--why)")
    if (tin is None) == (request_id is None or record_id is None):
        raise InvalidInputError("give REQUEST_ID RECORD_ID, or --tin TIN, not both")
    now = utc_now()
    with open_store(state_db) as store:
        if tin is not None:
            entries = store.recall_tin(tin, why, now, by=by)
        else:
            assert request_id is not None and record_id is not None
            entries = [store.recall(request_id, record_id, why, now, by=by)]
        folders = delivery.rerender_after_recall(store, entries)
    for entry in entries:
        typer.echo(
            f"recalled {entry.record_id} of {entry.request_id}: ledger seq {entry.seq} "
            f"(recalls seq {entry.recalls_seq}); tell {entry.agency}"
        )
    for folder in folders:
        typer.echo(f"rendered again without the recalled rows: {folder} (recalls.csv lists them)")

