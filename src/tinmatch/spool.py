"""An append-only sequence that keeps all but its last batch in a temporary file.

A request of a million rows makes a million decision-log entries and most of a million pending
disclosures before the store records them in one transaction; held as Python objects they grew
the process by gigabytes (7.3 million rows would have needed ~10 GB). The spool keeps one batch in
memory and pickles full batches to an anonymous temporary file (deleted when closed or when the
process ends), so memory stays bounded by the batch, not the request.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")

BATCH_ITEMS = 50_000


class Spool(Generic[T]):
    def __init__(self, batch_items: int = BATCH_ITEMS) -> None:
        self._batch_items = batch_items
        self._batch: list[T] = []
        self._file: IO[bytes] | None = None
        self._count = 0

    def append(self, item: T) -> None:
        self._batch.append(item)
        self._count += 1
        if len(self._batch) >= self._batch_items:
            self._spill()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[T]:
        """Every item in the order appended (the spool must not grow while it is read)."""
        if self._file is not None:
            self._file.seek(0)
            while True:
                try:
                    batch: list[T] = pickle.load(self._file)  # our own file, written above
                except EOFError:
                    break
                yield from batch
        yield from self._batch

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._batch = []
        self._count = 0

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="tinmatch-spool-")
        self._file.seek(0, 2)  # append after whatever an earlier read left the position at
        pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, in order (``itertools.batched`` arrives in 3.12)."""
    out: list[T] = []
    for item in items:
        out.append(item)
        if len(out) >= size:
            yield out
            out = []
    if out:
        yield out
