"""linked_in_order: every chunk with its own candidates, in order, linked ahead when allowed."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from tinmatch.engines.chunks import linked_in_order


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"n": [n]})


def _link(found: pd.DataFrame) -> pd.DataFrame:
    return found.assign(linked=True)


@pytest.mark.parametrize("ahead", [False, True])
def test_each_chunk_comes_back_in_order_with_its_own_candidates(ahead: bool) -> None:
    chunks = [1, 2, None, 4]  # None: a chunk without a row to look up

    def features(chunk: int | None) -> pd.DataFrame | None:
        return None if chunk is None else _frame(chunk)

    interrupt = (lambda: None) if ahead else None
    with linked_in_order(_link, chunks, features, interrupt=interrupt) as linked:
        out = list(linked)
    assert [c for c, _ in out] == chunks
    for chunk, found in out:
        if chunk is None:
            assert found is None
        else:
            assert found is not None and found["n"].tolist() == [chunk]
            assert found["linked"].all()


def test_without_interrupt_a_chunk_is_linked_on_the_callers_thread_when_asked() -> None:
    threads: list[str] = []
    read: list[int] = []

    def features(chunk: int) -> pd.DataFrame:
        read.append(chunk)
        return _frame(chunk)

    def link(found: pd.DataFrame) -> pd.DataFrame:
        threads.append(threading.current_thread().name)
        return found

    with linked_in_order(link, [1, 2, 3], features) as linked:
        for chunk, _ in linked:
            assert read[-1] == chunk  # nothing read ahead of the caller
    assert set(threads) == {threading.current_thread().name}


def test_with_interrupt_the_next_chunk_is_linked_while_the_caller_works() -> None:
    second_started = threading.Event()

    def link(found: pd.DataFrame) -> pd.DataFrame:
        if int(found["n"].iloc[0]) == 2:
            second_started.set()
        return found

    with linked_in_order(link, [1, 2], _frame, interrupt=lambda: None) as linked:
        first, _ = next(linked)
        assert first == 1
        # The caller holds chunk 1; chunk 2 is being linked on the worker meanwhile.
        assert second_started.wait(timeout=10)
        assert [c for c, _ in linked] == [2]


def test_a_failing_caller_interrupts_the_link_still_running() -> None:
    started, release = threading.Event(), threading.Event()
    interrupted: list[bool] = []

    def link(found: pd.DataFrame) -> pd.DataFrame:
        if int(found["n"].iloc[0]) == 2:
            started.set()
            release.wait(timeout=10)  # a long link, until interrupted
        return found

    def interrupt() -> None:
        interrupted.append(True)
        release.set()

    with pytest.raises(RuntimeError, match="writing failed"):
        with linked_in_order(link, [1, 2], _frame, interrupt=interrupt) as linked:
            for _chunk, _found in linked:
                assert started.wait(timeout=10)  # chunk 2 is being linked
                raise RuntimeError("writing failed")
    assert interrupted == [True]


def test_a_failing_link_reaches_the_caller() -> None:
    def link(found: pd.DataFrame) -> pd.DataFrame:
        raise ValueError("master gone")

    for interrupt in (None, lambda: None):
        with pytest.raises(ValueError, match="master gone"):
            with linked_in_order(link, [1], _frame, interrupt=interrupt) as linked:
                list(linked)
