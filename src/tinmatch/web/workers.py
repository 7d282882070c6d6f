"""A bounded pool of worker threads that process requests, and their progress."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from tinmatch.progress import Advance, Reporter

T = TypeVar("T")


@dataclass
class Progress:
    stage: str = "queued"
    done: int = 0
    total: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        with self.lock:
            return {"stage": self.stage, "done": self.done, "total": self.total}


class ProgressReporter(Reporter):
    """Records the current stage and rows done, for `GET /v1/requests/{id}`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._lock = progress.lock

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        with self._lock:
            self.progress.stage, self.progress.done, self.progress.total = description, 0, total

        def advance(n: int) -> None:
            with self._lock:
                self.progress.done += n

        yield advance


class BusyError(Exception):
    """The queue is full."""


class Workers:
    """At most `workers` jobs run at once and at most `max_queue` are queued or running."""

    def __init__(self, workers: int, max_queue: int) -> None:
        self.max_queue = max(1, max_queue)
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tinmatch")
        self._lock = threading.RLock()  # a finished future calls back at once
        self._progress: dict[str, Progress] = {}
        self._futures: dict[str, Future[None]] = {}

    def submit(self, job_id: str, job: Callable[[Reporter], None]) -> Future[None]:
        """Queue `job(reporter)` under `job_id`; raises BusyError when the queue is full."""
        with self._lock:
            running = self._futures.get(job_id)
            if running is not None and not running.done():
                return running
            if self.pending() >= self.max_queue:
                raise BusyError(f"{self.max_queue} requests are queued or running")
            progress = Progress()
            self._progress[job_id] = progress
            reporter = ProgressReporter(progress)
            future = self._pool.submit(job, reporter)
            self._futures[job_id] = future
            future.add_done_callback(lambda _f: self._forget(job_id, future))
            return future

    def _forget(self, job_id: str, future: Future[None]) -> None:
        with self._lock:
            if self._futures.get(job_id) is future:
                del self._futures[job_id]
                self._progress.pop(job_id, None)

    def pending(self) -> int:
        return sum(1 for f in self._futures.values() if not f.done())

    def progress(self, job_id: str) -> dict[str, object] | None:
        with self._lock:
            found = self._progress.get(job_id)
        return None if found is None else found.as_dict()

    def future(self, job_id: str) -> Future[None] | None:
        with self._lock:
            return self._futures.get(job_id)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"pending": self.pending(), "max_queue": self.max_queue}

    def on_each_thread(self, job: Callable[[], T], timeout: float = 600.0) -> list[T]:
        """Run `job` once on every worker thread (starting them), and wait for all of them.

        Each run waits at a barrier until every worker thread has taken one, so no thread takes
        two and each of them runs it. What `job` raises is raised here."""
        barrier = threading.Barrier(self.workers)

        def once() -> T:
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                pass  # a thread did not start in time: run it here all the same
            return job()

        futures = [self._pool.submit(once) for _ in range(self.workers)]
        return [f.result() for f in futures]

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
