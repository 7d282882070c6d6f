"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.master.database import default_db_path

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        help="The master database file (DuckDB). Env: TINMATCH_MASTER_DB.",
        default_factory=default_db_path,
        show_default="tinmatch.duckdb",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
