"""The Merkle tree hash of RFC 9162 section 2.1 (RFC 6962), its proofs and their verification.

- leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``;
- ``MTH({}) = SHA-256()``; for n > 1, ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`` with k the
  largest power of two smaller than n;
- inclusion proofs (``PATH``, 2.1.3.1) and consistency proofs (``PROOF``/``SUBPROOF``, 2.1.4.1)
  are generated from any :class:`NodeSource` (a stored tree answers ``node(level, index)`` for a
  complete aligned subtree), and verified with the algorithms of 2.1.3.2 and 2.1.4.2.

Pure: no database, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than `n` (n >= 2)."""
    if n < 2:
        raise ValueError(f"no split point for a tree of {n} leaves")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree whose 2^k leaf-level `hashes` are given in order."""
    level = list(hashes)
    if not level or len(level) & (len(level) - 1):
        raise ValueError(f"not a complete subtree: {len(level)} hashes")
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class RootBuilder:
    """Streaming MTH: feed leaf hashes in order, ask for the root at any size reached.

    Keeps one hash per set bit of the size (the complete subtrees the size decomposes into);
    folding them right to left is exactly RFC 9162's recursive definition.
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []  # left to right, strictly decreasing subtree sizes

    def add(self, hash_: bytes) -> None:
        self._peaks.append(hash_)
        self.size += 1
        n = self.size
        while n & 1 == 0:  # merge equal-sized complete subtrees
            right = self._peaks.pop()
            self._peaks[-1] = node_hash(self._peaks[-1], right)
            n >>= 1

    def extend(self, hashes: Iterable[bytes]) -> None:
        for h in hashes:
            self.add(h)

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc


def root_of(hashes: Iterable[bytes]) -> bytes:
    builder = RootBuilder()
    builder.extend(hashes)
    return builder.root()


class NodeSource(Protocol):
    """Hashes of complete aligned subtrees: leaves [index * 2^level, (index + 1) * 2^level)."""

    def node(self, level: int, index: int) -> bytes: ...


class ListSource:
    """A NodeSource over leaf hashes held in memory (tests, small logs)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaves = leaf_hashes

    def node(self, level: int, index: int) -> bytes:
        width = 1 << level
        return perfect_root(self.leaves[index * width : (index + 1) * width])


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) as RFC 9162 defines it, from complete subtrees of `source`."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return source.node(level, start >> level)
    k = split_point(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def inclusion_path(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(source, start, start + k))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_path(source: NodeSource, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 2.1.4.1 (empty when first is 0 or equals second)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(subtree_hash(source, start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `leaf` (its leaf hash) sit at `index` of the tree with `root`?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (second, second_root) an append-only extension of
    (first, first_root)? An empty first tree is extended by any tree (empty path)."""
    if first < 0 or first > second:
        return False
    if first == 0:
        return not path
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
