"""The `--state-db` option shared by the review, ledger, agreement, report and purge commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from tinmatch.ops import ENV_VAR, Store

StateDbOption = Annotated[
    str | None,
    typer.Option(
        "--state-db",
        envvar=ENV_VAR,
        help=(
            "The operational database (requests, reviews, ledger): a SQLAlchemy URL such as "
            "sqlite:///tinmatch.sqlite or postgresql+psycopg://user@host/db, "
            "or a SQLite file path."
        ),
        show_default="sqlite:///tinmatch.sqlite",
    ),
]


def open_store(state_db: str | None, *, create: bool = False) -> Store:
    """Open (and migrate) the operational database named on the command line.

    Only commands that start something (process, serve, keys create, reviewers add, ...) pass
    `create=True`; every other command refuses a database that does not exist (one line,
    non-zero exit) rather than create an empty one where the real one was expected."""
    return Store.open(state_db, create=create)


def utc_now() -> datetime:
    return datetime.now(UTC)


def when(value: datetime | None) -> str:
    """A timestamp for people: `2026-09-01 12:00 UTC` (blank when None)."""
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(c) for c in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
