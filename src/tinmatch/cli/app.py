"""The Typer application shared by every command module, and its one-line error handling."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from tinmatch.errors import TinmatchError

app = typer.Typer(
    name="tinmatch",
    help=(
        "Answer a law-enforcement agency's address request against the tax master file, "
        "under a written data-sharing agreement.\n\n"
        "Pipeline: read -> validate -> standardize -> link -> decide -> disclose -> record.\n\n"
        "Example:\n\n"
        "  tinmatch synth --people 20000 --requests 500 --out data\n\n"
        "  tinmatch load-master --taxpayers data/taxpayers.parquet "
        "--returns data/returns.parquet\n\n"
        "  tinmatch process data/request.xlsx --cover data/cover.toml --out result"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Turn a TinmatchError (or a Ctrl-C) into `error: ...` on stderr and a non-zero exit."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TinmatchError as exc:
            message = " ".join(str(exc).split())
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
