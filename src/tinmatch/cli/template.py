"""`tinmatch template`: a request workbook to start from, for an agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinmatch.agreement import Agreement
from tinmatch.cli.app import app, one_line_errors
from tinmatch.cli.options import DbOption
from tinmatch.errors import ConfigError
from tinmatch.master.database import master_tax_years
from tinmatch.pipeline.check import allowed_years_for
from tinmatch.pipeline.template import write_template


@app.command("template")
@one_line_errors
def template_command(
    out: Annotated[Path, typer.Option("--out", help="The workbook to write (.xlsx).")],
    db: DbOption,
    agreement_path: Annotated[
        Path | None,
        typer.Option("--agreement", help="Agreement TOML (default: the packaged one)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a request template for an agreement: its columns, instructions, drop-downs.

    The 'request' sheet has the contract's columns (the agreement's required ones marked),
    a frozen, filtered header, the authorized statutes and the state codes as drop-downs, date
    cells, and the allowed tax years (from the agreement, or from the master at --db when the
    agreement takes the most recent years in it). The 'instructions' sheet says what each
    column takes.

    Example:

        tinmatch template --out request.xlsx --agreement ice-2026.toml
    """
    if out.suffix.lower() != ".xlsx":
        raise ConfigError(f"{out}: the template is an .xlsx workbook; name it .xlsx")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; choose another name or give --force")
    agreement = Agreement.load(agreement_path)
    years = allowed_years_for(agreement, master_tax_years(db))
    write_template(out, agreement, allowed_years=years)
    typer.echo(f"{out}: request template for agreement {agreement.id}")
