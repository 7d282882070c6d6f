"""Progress for long work, behind a tiny interface the pipeline can call.

Library code receives a :class:`Reporter`; tests and the API pass a silent one. The CLI passes a
:class:`RichReporter`: bars on a terminal, and, when stderr is not a terminal (a log file, a
pipe, a service manager's journal), plain lines instead: one when a step starts, one at most
every :data:`PLAIN_EVERY_SECONDS` while it runs, one when it ends. No cursor movement or colour
codes ever reach a log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

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
#: Seconds between two progress lines when stderr is not a terminal.
PLAIN_EVERY_SECONDS = 30.0


class Reporter:
    """Silent by default."""

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n: None

    def note(self, message: str) -> None:
        pass


class PlainReporter(Reporter):
    """Progress as plain lines (``tinmatch: matching request rows: 50,000 of 100,000 (50%),
    12 s``), for logs: at the start, at most every ``every`` seconds, and at the end."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        every: float = PLAIN_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.clock = clock

    def _line(self, text: str) -> None:
        print(f"tinmatch: {text}", file=self.stream, flush=True)

    @staticmethod
    def _done(done: int, total: int | None) -> str:
        if total:
            return f"{done:,} of {total:,} ({100 * done // total}%)"
        return f"{done:,}"

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        started = self.clock()
        last = started
        done = 0
        self._line(f"{description}: started" + (f" ({total:,})" if total else ""))

        def advance(n: int) -> None:
            nonlocal done, last
            done += n
            now = self.clock()
            if now - last >= self.every:
                last = now
                self._line(f"{description}: {self._done(done, total)}, {now - started:.0f} s")

        yield advance
        finished = total if total is not None else done
        self._line(f"{description}: done ({finished:,}), {self.clock() - started:.1f} s")

    def note(self, message: str) -> None:
        self._line(message)


class RichReporter(Reporter):
    """Bars on stderr when it is a terminal (stdout stays clean for a command's own output);
    plain periodic lines (:class:`PlainReporter`) when it is not."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stderr)
        self.plain: PlainReporter | None = None
        if not self.console.is_terminal:
            self.plain = PlainReporter(self.console.file)

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        if self.plain is not None:
            with self.plain.task(description, total) as advance:
                yield advance
            return
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
        if self.plain is not None:
            self.plain.note(message)
            return
        self.console.print(message)
