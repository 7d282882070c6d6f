"""A request's chunks with their candidates, in order: linked ahead where the engine allows it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import pandas as pd

C = TypeVar("C")
Linked = Iterator[tuple[C, pd.DataFrame | None]]


@contextmanager
def linked_in_order(
    link: Callable[[pd.DataFrame], pd.DataFrame],
    chunks: Iterable[C],
    features: Callable[[C], pd.DataFrame | None],
    *,
    interrupt: Callable[[], None] | None = None,
) -> Iterator[Linked[C]]:
    """Each of `chunks` with ``link(features(chunk))`` (None when a chunk has no features).

    Without `interrupt`, a chunk is linked when the caller asks for it, on the caller's thread.
    With it (an engine whose linking runs outside the GIL), chunk i+1 is linked on a worker
    thread while the caller works on chunk i; the results are the same as one chunk after the
    other. If the caller fails, the next chunk's link is cancelled, or interrupted if running.
    """
    if interrupt is None:
        yield ((chunk, _link_now(link, features(chunk))) for chunk in chunks)
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinmatch-link")
    submitted: list[Future[pd.DataFrame]] = []  # the last is the chunk submitted last

    def ahead() -> Linked[C]:
        pending: list[tuple[C, Future[pd.DataFrame] | None]] = []  # at most one
        for chunk in chunks:
            found = features(chunk)
            linking = None if found is None else pool.submit(link, found)
            if linking is not None:
                submitted.append(linking)
                del submitted[:-1]
            if pending:
                yield _result(*pending.pop())
            pending.append((chunk, linking))
        if pending:
            yield _result(*pending.pop())

    try:
        yield ahead()
    except BaseException:
        # Nothing will read the next chunk: drop it if it has not started, else stop it.
        if submitted and not submitted[-1].cancel() and submitted[-1].running():
            interrupt()
        raise
    finally:
        pool.shutdown(wait=True)


def _link_now(
    link: Callable[[pd.DataFrame], pd.DataFrame], found: pd.DataFrame | None
) -> pd.DataFrame | None:
    return None if found is None else link(found)


def _result(chunk: C, linking: Future[pd.DataFrame] | None) -> tuple[C, pd.DataFrame | None]:
    return chunk, None if linking is None else linking.result()
