"""Command-line interface: `tinmatch COMMAND`. Each module registers its commands on `app`."""

from __future__ import annotations

from tinmatch.cli.app import app

# Each import registers commands on `app`.
from tinmatch.cli import synth as _synth  # noqa: E402,F401  isort: skip
from tinmatch.cli import master as _master  # noqa: E402,F401  isort: skip
from tinmatch.cli import process as _process  # noqa: E402,F401  isort: skip
from tinmatch.cli import check as _check  # noqa: E402,F401  isort: skip
from tinmatch.cli import template as _template  # noqa: E402,F401  isort: skip
from tinmatch.cli import evaluate as _evaluate  # noqa: E402,F401  isort: skip
from tinmatch.cli import review as _review  # noqa: E402,F401  isort: skip
from tinmatch.cli import ledger as _ledger  # noqa: E402,F401  isort: skip
from tinmatch.cli import ledger_log as _ledger_log  # noqa: E402,F401  isort: skip
from tinmatch.cli import agreement as _agreement  # noqa: E402,F401  isort: skip
from tinmatch.cli import requesters as _requesters  # noqa: E402,F401  isort: skip
from tinmatch.cli import report as _report  # noqa: E402,F401  isort: skip
from tinmatch.cli import purge as _purge  # noqa: E402,F401  isort: skip
from tinmatch.cli import results as _results  # noqa: E402,F401  isort: skip
from tinmatch.cli import keys as _keys  # noqa: E402,F401  isort: skip
from tinmatch.cli import serve as _serve  # noqa: E402,F401  isort: skip


def main() -> None:
    app()


__all__ = ["app", "main"]
