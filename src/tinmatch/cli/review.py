"""`tinmatch review`: list held requests, inspect one, approve (release) or deny it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import ConflictError
from tinmatch.ops import Decision, RequestRecord
from tinmatch.pipeline.explain import read_candidates
from tinmatch.pipeline.republish import republish

review_app = typer.Typer(
    help=(
        "Review held requests before anything is released.\n\n"
        "Example:\n\n"
        "  tinmatch review list --status held\n\n"
        "  tinmatch review show req-6ab9f1eb8f7d3388\n\n"
        "  tinmatch review approve req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' "
        "--note 'statutes and cover checked'"
    ),
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

RequestId = Annotated[str, typer.Argument(help="The request id, as `review list` shows it.")]
Reviewer = Annotated[str, typer.Option("--reviewer", help="Your name, recorded in the ledger.")]
Note = Annotated[str, typer.Option("--note", help="Why: recorded with the decision.")]

HISTOGRAM_EDGES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
SAMPLE_SIZE = 10


@review_app.command("list")
@one_line_errors
def list_requests(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only this status: received, held, released or denied."),
    ] = None,
    state_db: StateDbOption = None,
) -> None:
    """List requests, newest first.

    Example:

      tinmatch review list --status held
    """
    with open_store(state_db) as store:
        records = store.list_requests(status)
    if not records:
        typer.echo("no requests" + (f" with status {status}" if status else ""))
        return
    rows: list[list[object]] = [
        [
            r.id,
            r.status,
            r.agency,
            r.official,
            r.n_rows,
            r.n_pending if r.status == "held" else "",
            r.n_disclosed,
            when(r.created_at),
            r.input_name,
        ]
        for r in records
    ]
    headers = ["request", "status", "agency", "official", "rows", "pending", "disclosed"]
    typer.echo(table([*headers, "received", "file"], rows))


@review_app.command("show")
@one_line_errors
def show(request_id: RequestId, state_db: StateDbOption = None) -> None:
    """Summary of one request: figures, reasons, match probabilities, ambiguous rows.

    No TIN is printed.

    Example:

      tinmatch review show req-6ab9f1eb8f7d3388
    """
    with open_store(state_db) as store:
        record = store.get_request(request_id)
        decisions = store.decisions(request_id)
        suspended = store.suspension(record.agreement_id)
    typer.echo(summary(record, suspended))
    if record.counts:
        typer.echo("\nbatch figures")
        typer.echo(table(["figure", "rows"], [[k, v] for k, v in record.counts.items()]))
    if decisions:
        typer.echo("\noutcome / reason")
        typer.echo(table(["outcome", "reason", "rows"], reason_counts(decisions)))
        typer.echo("\nmatch probability")
        typer.echo(histogram([d.probability for d in decisions if d.probability is not None]))
        sample = [d for d in decisions if "ambiguous" in (d.outcome, d.reason)][:SAMPLE_SIZE]
        if sample:
            typer.echo(f"\nambiguous rows (first {len(sample)})")
            explained = side_by_side(Path(record.out_dir), [d.record_id for d in sample])
            if explained:
                typer.echo(explained)
            else:
                typer.echo(
                    table(
                        ["record_id", "probability"],
                        [[d.record_id, _prob(d.probability)] for d in sample],
                    )
                )


def side_by_side(out_dir: Path, record_ids: list[str]) -> str:
    """The best and runner-up candidate of each row, field by field, from explain.csv.

    Candidates are shown by rank: what agreed and how much it weighed, never who they are.
    """
    found = read_candidates(out_dir, set(record_ids))
    blocks: list[str] = []
    for record_id in dict.fromkeys(record_ids):
        ranks = found.get(record_id)
        if not ranks:
            continue
        headers = ["field"] + [f"candidate {c.rank}" for c in ranks]
        rows: list[list[object]] = [
            ["probability", *[f"{c.probability or 0:.6f}" for c in ranks]],
            ["match weight", *[f"{c.weight or 0:+.1f}" for c in ranks]],
        ]
        for name in ranks[0].fields:
            cells = [f"{c.fields[name][0]} ({float(c.fields[name][1] or 0):+.1f})" for c in ranks]
            rows.append([name, *cells])
        blocks.append(f"{record_id}\n" + table(headers, rows))
    return "\n\n".join(blocks)


@review_app.command("approve")
@one_line_errors
def approve(
    request_id: RequestId, reviewer: Reviewer, note: Note, state_db: StateDbOption = None
) -> None:
    """Release a held request: one ledger entry per disclosed row. A request is released once.

    Example:

      tinmatch review approve req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' --note 'checked'
    """
    now = utc_now()
    with open_store(state_db) as store:
        try:
            n = store.release(request_id, reviewer=reviewer, note=note, now=now)
        except ConflictError:
            # Released already (perhaps by a run killed before it republished the workbook):
            # make sure the workbook says so, then report the refusal.
            done = store.get_request(request_id)
            if done.status == "released" and done.decided_at is not None:
                republish(
                    Path(done.out_dir),
                    status="released",
                    reviewer=done.reviewer or reviewer,
                    at=done.decided_at,
                )
            raise
        record = store.get_request(request_id)
    republish(Path(record.out_dir), status="released", reviewer=reviewer, at=now)
    typer.echo(f"released {request_id}: {n} disclosures recorded in the ledger")
    typer.echo(f"results: {record.out_dir}")


@review_app.command("deny")
@one_line_errors
def deny(
    request_id: RequestId, reviewer: Reviewer, note: Note, state_db: StateDbOption = None
) -> None:
    """Deny a held request: nothing is released, ever, under this request id.

    Example:

      tinmatch review deny req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' --note 'no attestation'
    """
    with open_store(state_db) as store:
        store.deny(request_id, reviewer=reviewer, note=note, now=utc_now())
    typer.echo(f"denied {request_id}: nothing released")


def summary(record: RequestRecord, suspended: str | None) -> str:
    lines = [
        f"request    {record.id}  ({record.status})",
        f"agency     {record.agency}",
        f"official   {record.official}",
        f"file       {record.input_name}  sha256 {record.input_sha256[:16]}...",
        f"received   {when(record.created_at)}",
        f"agreement  {record.agreement_id}  sha256 {record.agreement_sha256[:16]}...",
        f"rows       {record.n_rows}; pending disclosures {record.n_pending}; "
        f"disclosed {record.n_disclosed}",
        f"results    {record.out_dir}",
    ]
    if suspended:
        lines.append(f"SUSPENDED  agreement suspended: {suspended}")
    if record.decided_at:
        lines.append(
            f"decided    {record.status} by {record.reviewer} at {when(record.decided_at)}: "
            f"{record.review_note or ''}".rstrip(": ")
        )
    if record.recalled_record_ids:
        lines.append(f"recalled   {', '.join(record.recalled_record_ids)}")
    if record.purged_at:
        lines.append(f"purged     {when(record.purged_at)}")
    return "\n".join(lines)


def reason_counts(decisions: Sequence[Decision]) -> list[list[object]]:
    counts = Counter((d.outcome, d.reason or "") for d in decisions)
    return [[o, r, n] for (o, r), n in sorted(counts.items())]


def histogram(values: Sequence[float], width: int = 40) -> str:
    """A text histogram over HISTOGRAM_EDGES (the last bin includes 1.0)."""
    if not values:
        return "(no probabilities recorded)"
    bins = [0] * (len(HISTOGRAM_EDGES) - 1)
    for v in values:
        for i in range(len(bins)):
            if v < HISTOGRAM_EDGES[i + 1] or i == len(bins) - 1:
                bins[i] += 1
                break
    top = max(bins)
    lines = []
    for i, n in enumerate(bins):
        lo, hi = HISTOGRAM_EDGES[i], HISTOGRAM_EDGES[i + 1]
        bar = "#" * (round(n / top * width) if n else 0)
        close = "]" if i == len(bins) - 1 else ")"
        lines.append(f"[{lo:<5g}, {hi:<5g}{close} {n:>7}  {bar}".rstrip())
    return "\n".join(lines)


def _prob(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
