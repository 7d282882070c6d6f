"""`tinmatch review`: list held requests, inspect one row by row, approve (release) or deny it.

The reviewer is a registered account (`tinmatch reviewers add`), authenticated with its
password ($TINMATCH_REVIEWER_PASSWORD or a prompt), never the request's own official."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from tinmatch import delivery
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.state import StateDbOption, open_store, table, utc_now, when
from tinmatch.errors import ConflictError, InvalidInputError, RefusedError
from tinmatch.ops import Decision, RequestRecord, Store
from tinmatch.ops.registry import Registry
from tinmatch.pipeline.explain import read_candidates
from tinmatch.reviewing import ReviewRow, RowFilter, review_rows
from tinmatch.settings import REVIEWER_PASSWORD
from tinmatch.web.accounts import Accounts

PASSWORD_ENV = REVIEWER_PASSWORD.name

review_app = typer.Typer(
    help=(
        "Review held requests before anything is released.\n\n"
        "Example:\n\n"
        "  tinmatch review list --status held\n\n"
        "  tinmatch review show req-6ab9f1eb8f7d3388\n\n"
        "  tinmatch review show req-6ab9f1eb8f7d3388 --lowest --limit 20\n\n"
        "  tinmatch review approve req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' "
        "--note 'statutes and cover checked' --withhold R000017 --withhold-why 'another person'"
    ),
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

RequestId = Annotated[str, typer.Argument(help="The request id, as `review list` shows it.")]
Reviewer = Annotated[
    str,
    typer.Option(
        "--reviewer",
        help="Your reviewer account (tinmatch reviewers add); the password comes from "
        "$TINMATCH_REVIEWER_PASSWORD or is asked for.",
    ),
]
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
def show(
    request_id: RequestId,
    lowest: Annotated[
        bool, typer.Option("--lowest", help="Rows with the lowest probabilities first.")
    ] = False,
    differs: Annotated[
        bool,
        typer.Option("--differs", help="Only rows whose address differs from the one given."),
    ] = False,
    repeats: Annotated[
        bool,
        typer.Option(
            "--repeats",
            help="Only rows whose taxpayer was disclosed to this agency in the last 90 days.",
        ),
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Rows shown at most (0: every row).")
    ] = 50,
    state_db: StateDbOption = None,
) -> None:
    """One request: figures, reasons, match probabilities, then every row a release would
    disclose, beside what was asked for it, and why.

    Each row: what was asked (names, address given, statute, case number, removal-order date),
    what would leave (address, tax year, probability) and the explanation in words and values.
    REPEAT marks a taxpayer disclosed to the same agency in the last 90 days; DIFFERS an
    address other than the one given. No TIN is printed.

    Example:

      tinmatch review show req-6ab9f1eb8f7d3388 --lowest --limit 20

      tinmatch review show req-6ab9f1eb8f7d3388 --repeats
    """
    wanted = RowFilter(lowest, differs, repeats, limit or None)
    with open_store(state_db) as store:
        record = store.get_request(request_id)
        decisions = store.decisions(request_id)
        suspended = Registry(store).request_suspension(
            record.agency, record.agreement_sha256, record.agreement_id
        )
        rows, total = review_rows(store, request_id, utc_now(), wanted)
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
    if record.status == "held":
        chosen = ", ".join(
            w for w, on in (("lowest first", lowest), ("address differs", differs),
                            ("repeats", repeats)) if on  # fmt: skip
        )
        typer.echo(
            f"\nrows to be disclosed: {len(rows)} shown of {total}"
            + (f" ({chosen})" if chosen else "")
        )
        for row in rows:
            typer.echo(row_block(row))


def row_block(row: ReviewRow) -> str:
    """One row to be disclosed, as a reviewer reads it."""
    flags = []
    if row.repeats:
        earlier = ", ".join(f"{rid} on {when(at)}" for rid, at in row.repeats)
        flags.append(f"REPEAT: disclosed to this agency in the last 90 days ({earlier})")
    if row.address_differs:
        flags.append("DIFFERS: not the address given")
    asked = row.asked
    lines = [
        f"\n{row.record_id}  probability {_prob(row.probability)}  tax year {row.tax_year}"
        + ("  " + "; ".join(flags) if flags else ""),
        f"  asked    {row.name_asked} | {row.address_asked} | {row.statute} | "
        f"case {row.case_number} | removal order {asked.get('removal_order_date') or ''}",
        f"  leaves   {row.address_leaving} | tax year {row.tax_year} | "
        f"probability {_prob(row.probability)}",
        f"  why      {row.explanation or '(no explanation recorded)'}",
    ]
    return "\n".join(lines)


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
    request_id: RequestId,
    reviewer: Reviewer,
    note: Note,
    withhold: Annotated[
        list[str] | None,
        typer.Option(
            "--withhold",
            help="A record_id not to disclose (repeat for several); recorded in the ledger, "
            "it ends in unmatched.csv as withheld_by_reviewer.",
        ),
    ] = None,
    withhold_why: Annotated[
        str | None,
        typer.Option("--withhold-why", help="Why the --withhold rows are withheld."),
    ] = None,
    state_db: StateDbOption = None,
) -> None:
    """Approve a held request; release it when enough reviewers have approved.

    The request's files are then rendered from the operational store into its folder
    (matched.csv replaces held.csv). A request needing two reviewers stays held after the
    first approval until a second, different reviewer approves. A request is released once.

    Example:

      tinmatch review approve req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' --note 'checked'

      tinmatch review approve req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' --note 'checked' \\
          --withhold R000017 --withhold-why 'the address is a shelter, not the person'
    """
    withheld = withheld_rows(withhold or [], withhold_why)
    now = utc_now()
    with open_store(state_db) as store:
        name = authenticate(store, reviewer)
        try:
            outcome = delivery.approve(
                store, request_id, reviewer=name, note=note, now=now, withhold=withheld
            )
        except ConflictError:
            # Released already (perhaps by a run killed before it rendered the files): make
            # sure the folder says so, then report the refusal.
            done = store.get_request(request_id)
            if done.status == "released" and done.purged_at is None:
                delivery.render(store, request_id)
            raise
        record = store.get_request(request_id)
    if outcome.status == "held":
        typer.echo(
            f"approval {outcome.approvals} of {outcome.required} recorded for {request_id}; "
            "still held: a second, different reviewer must approve"
        )
        return
    typer.echo(
        f"released {request_id}: {outcome.disclosed} disclosures recorded in the ledger"
        + (f", {outcome.withheld} withheld" if outcome.withheld else "")
    )
    typer.echo(f"results: {record.out_dir}")


@review_app.command("deny")
@one_line_errors
def deny(
    request_id: RequestId, reviewer: Reviewer, note: Note, state_db: StateDbOption = None
) -> None:
    """Deny a held request: nothing is released, ever, under this request id.

    Every row that would have been disclosed ends in unmatched.csv as withheld_by_reviewer.

    Example:

      tinmatch review deny req-6ab9f1eb8f7d3388 --reviewer 'A. Reviewer' --note 'no attestation'
    """
    with open_store(state_db) as store:
        name = authenticate(store, reviewer)
        delivery.deny(store, request_id, reviewer=name, note=note, now=utc_now())
    typer.echo(f"denied {request_id}: nothing released")


def authenticate(store: Store, name: str) -> str:
    """The reviewer's account name, once its password checks out; else refused (exit 6)."""
    password = REVIEWER_PASSWORD.text()
    if password is None:
        password = typer.prompt(f"password for reviewer {name}", hide_input=True)
    found = Accounts(store.engine).check_reviewer(name, password or "")
    if found is None:
        raise RefusedError(
            f"{name!r} is not a registered reviewer, or the password is wrong; nothing decided"
        )
    return found.name


def withheld_rows(record_ids: Sequence[str], why: str | None) -> dict[str, str]:
    if not record_ids:
        return {}
    if not (why or "").strip():
        raise InvalidInputError("say why the rows are withheld (--withhold-why TEXT)")
    return {record_id.strip(): (why or "").strip() for record_id in record_ids}


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
