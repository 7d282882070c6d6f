"""Progress bars for long work (rich), behind a tiny interface the pipeline can call.

Library code receives a :class:`Reporter`; the CLI passes a rich one, tests and the API a
silent one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]


class Reporter:
    """Silent by default."""

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n: None

    def note(self, message: str) -> None:
        pass


class RichReporter(Reporter):
    """Bars on stderr, so stdout stays clean for a command's own output."""

    def __init__(self) -> None:
        self.console = Console(file=sys.stderr)

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        columns = [
            TextColumn("[bold]{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=self.console, transient=False) as bar:
            task_id = bar.add_task(description, total=total)

            def advance(n: int) -> None:
                bar.advance(task_id, n)

            yield advance
            if total is not None:
                bar.update(task_id, completed=total)

    def note(self, message: str) -> None:
        self.console.print(message)
