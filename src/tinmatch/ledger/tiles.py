"""Interior hashes of the tree, stored every TILE_HEIGHT levels, so proofs need O(log n) reads.

The store keeps the hash of every complete aligned subtree whose level is a multiple of
``TILE_HEIGHT`` (8): level 0 holds the leaf hashes, level 8 one hash per 256 leaves, level 16
one per 65,536, and so on -- at most n * 1.004 rows for n leaves. A subtree at any other level L
is computed from at most 2^(L mod 8) <= 128 stored hashes of level L - L mod 8, read in one range
query. An inclusion proof in a 10M-leaf tree thus reads about 24 ranges (a few thousand hashes
at most) and never the whole tree.

Appending k leaves to a tree of n writes the k leaf hashes and every subtree of a stored level
that the append completes; only the partial tile at the old right edge of each stored level
(< 256 hashes) is read back. Pure: the storage is behind :class:`TileStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tinmatch.ledger.merkle import EMPTY_ROOT, node_hash, perfect_root

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


class TileStore(Protocol):
    """Stored hashes of one level (a multiple of TILE_HEIGHT), indexes [start, end)."""

    def read(self, level: int, start: int, end: int) -> list[bytes]: ...


def base_range(level: int, index: int) -> tuple[int, int, int]:
    """The stored level and the index range [start, end) a subtree is computed from."""
    base = level - level % TILE_HEIGHT
    width = 1 << (level - base)
    return base, index * width, (index + 1) * width


class Recorder:
    """A NodeSource that only notes which subtrees are asked for (the proof algorithms ask for
    the same ones whatever the hashes are), so they can all be read in one query per level."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.asked.append((level, index))
        return bytes(32)


class StoredTree:
    """A merkle.NodeSource over a TileStore (with `prefetch` for stores that can read many
    ranges at once)."""

    def __init__(self, store: TileStore) -> None:
        self.store = store
        self._cache: dict[tuple[int, int], bytes] = {}

    def prefetch(self, nodes: list[tuple[int, int]]) -> None:
        read_many = getattr(self.store, "read_many", None)
        if read_many is None:
            return
        by_level: dict[int, list[tuple[int, int]]] = {}
        for level, index in set(nodes):
            base, start, end = base_range(level, index)
            by_level.setdefault(base, []).append((start, end))
        found: dict[tuple[int, int], bytes] = {}
        for base, ranges in by_level.items():
            found.update(((base, i), h) for i, h in read_many(base, ranges).items())
        for level, index in set(nodes):
            base, start, end = base_range(level, index)
            hashes = [found.get((base, i)) for i in range(start, end)]
            if all(h is not None for h in hashes):
                self._cache[(level, index)] = perfect_root(hashes)  # type: ignore[arg-type]

    def node(self, level: int, index: int) -> bytes:
        cached = self._cache.get((level, index))
        if cached is not None:
            return cached
        base, start, end = base_range(level, index)
        hashes = self.store.read(base, start, end)
        if len(hashes) != end - start:
            raise LookupError(f"the stored tree lacks the subtree at level {level}, index {index}")
        return perfect_root(hashes)

    def root(self, size: int) -> bytes:
        """MTH of the first `size` leaves: fold the complete subtrees `size` decomposes into."""
        if size == 0:
            return EMPTY_ROOT
        wanted: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                wanted.append((level, start >> level))
                start += 1 << level
        self.prefetch(wanted)
        peaks = [self.node(level, index) for level, index in wanted]
        acc = peaks[-1]
        for peak in reversed(peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc


def new_nodes(
    store: TileStore, old_size: int, leaf_hashes: Sequence[bytes]
) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) rows to store when `leaf_hashes` are appended to a tree of
    `old_size` leaves: the leaves themselves and every stored-level subtree they complete."""
    rows = [(0, old_size + i, h) for i, h in enumerate(leaf_hashes)]
    level, old_count, fresh = 0, old_size, list(leaf_hashes)
    while True:
        new_count = old_count + len(fresh)
        first, last = old_count // TILE_WIDTH, new_count // TILE_WIDTH  # parents [first, last)
        if last <= first:
            break
        head = store.read(level, first * TILE_WIDTH, old_count) if old_count % TILE_WIDTH else []
        below = head + fresh  # hashes of `level` from index first * TILE_WIDTH on
        parents = [
            perfect_root(below[i * TILE_WIDTH : (i + 1) * TILE_WIDTH]) for i in range(last - first)
        ]
        level += TILE_HEIGHT
        rows.extend((level, first + i, h) for i, h in enumerate(parents))
        old_count, fresh = first, parents
    return rows
