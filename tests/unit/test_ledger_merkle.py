"""RFC 9162 section 2.1 on its own: the reference roots of RFC 6962's test tree, proofs of
every leaf in every small tree against a plain recursive MTH, and the stored tiles."""

from __future__ import annotations

import hashlib

import pytest

from tinmatch.ledger import merkle, tiles
from tinmatch.ledger.merkle import (
    EMPTY_ROOT,
    ListSource,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    perfect_root,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference tree (leaves and MTH of each prefix).
LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")
] + [bytes.fromhex("606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATH_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
PATH_5_OF_8 = [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
HASHES = [leaf_hash(x) for x in LEAVES]


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162's definition, literally."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def synthetic(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert EMPTY_ROOT.hex() == ROOTS[0]


def test_reference_roots_of_every_prefix() -> None:
    for n in range(len(LEAVES) + 1):
        assert root_of(HASHES[:n]).hex() == ROOTS[n]
        assert mth(HASHES[:n]).hex() == ROOTS[n]


@pytest.mark.parametrize(("index", "expected"), [(0, PATH_0_OF_8), (5, PATH_5_OF_8)])
def test_reference_inclusion_paths(index: int, expected: list[str]) -> None:
    path = inclusion_path(ListSource(HASHES), index, 8)
    assert [h.hex() for h in path] == expected
    assert verify_inclusion(index, 8, HASHES[index], path, bytes.fromhex(ROOTS[8]))


def test_every_inclusion_proof_of_every_small_tree() -> None:
    leaves = synthetic(40)
    for size in range(1, 41):
        root = mth(leaves[:size])
        source = ListSource(leaves[:size])
        for index in range(size):
            path = inclusion_path(source, index, size)
            assert verify_inclusion(index, size, leaves[index], path, root)
            assert not verify_inclusion(index, size, leaves[(index + 1) % 40], path, root) or (
                size == 1 and index == 0 and leaves[1] == leaves[0]
            )
            if path:
                bad = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
                assert not verify_inclusion(index, size, leaves[index], bad, root)
            assert not verify_inclusion(size, size, leaves[index], path, root)


def test_every_consistency_proof_of_every_small_pair() -> None:
    leaves = synthetic(33)
    for second in range(1, 34):
        source = ListSource(leaves[:second])
        for first in range(0, second + 1):
            path = consistency_path(source, first, second)
            a, b = mth(leaves[:first]), mth(leaves[:second])
            assert verify_consistency(first, second, a, b, path), (first, second)
            if 0 < first < second:
                other = mth([*leaves[: first - 1], leaf_hash(b"forged")])
                assert not verify_consistency(first, second, other, b, path)
                assert not verify_consistency(first, second, a, leaf_hash(b"x"), path)


class MemoryTiles:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def read(self, level: int, start: int, end: int) -> list[bytes]:
        self.reads += 1
        return [self.rows[(level, i)] for i in range(start, end) if (level, i) in self.rows]

    def add(self, old: int, hashes: list[bytes]) -> None:
        for level, index, h in tiles.new_nodes(self, old, hashes):
            assert (level, index) not in self.rows
            self.rows[(level, index)] = h


def test_tiles_in_uneven_appends_reproduce_every_root_and_proof() -> None:
    leaves = synthetic(70_000)
    store = MemoryTiles()
    done = 0
    for chunk in (1, 254, 1, 300, 66_000, 3444):
        store.add(done, leaves[done : done + chunk])
        done += chunk
        assert tiles.StoredTree(store).root(done) == root_of(leaves[:done])
    assert {lv for lv, _ in store.rows} == {0, 8, 16}
    assert len(store.rows) == 70_000 + 70_000 // 256 + 70_000 // 65_536
    tree = tiles.StoredTree(store)
    for index in (0, 255, 256, 65_535, 65_536, 69_999):
        path = inclusion_path(tree, index, done)
        assert path == inclusion_path(ListSource(leaves), index, done)
        assert verify_inclusion(index, done, leaves[index], path, root_of(leaves))
    store.reads = 0
    consistency_path(tree, 65_537, done)
    assert store.reads < 200


def test_split_point() -> None:
    assert [merkle.split_point(n) for n in (2, 3, 4, 5, 8, 9)] == [1, 2, 2, 4, 4, 8]


def test_malformed_proofs_are_refused() -> None:
    """Proofs of the wrong length, for impossible sizes or with roots that disagree never verify
    (killed mutants of `verify_inclusion` / `verify_consistency`, docs/testing.md)."""
    leaves = synthetic(12)
    source = ListSource(leaves)
    root = mth(leaves)
    with pytest.raises(ValueError, match="leaf 12 is not in a tree of size 12"):
        inclusion_path(source, 12, 12)
    path = inclusion_path(source, 5, 12)
    assert verify_inclusion(5, 12, leaves[5], path, root)
    assert not verify_inclusion(5, 12, leaves[5], [*path, path[0]], root)  # one hash too many
    assert not verify_inclusion(5, 12, leaves[5], path[:-1], root)  # one too few
    assert not verify_inclusion(-1, 12, leaves[5], path, root)
    a, b = mth(leaves[:5]), root
    proof = consistency_path(source, 5, 12)
    assert verify_consistency(5, 12, a, b, proof)
    assert not verify_consistency(5, 12, a, b, [*proof, proof[0]])  # one hash too many
    assert not verify_consistency(5, 12, a, b, [])  # no proof at all
    assert not verify_consistency(12, 5, b, a, proof)  # the first tree is the larger
    assert not verify_consistency(-1, 12, a, b, proof)
    assert not verify_consistency(0, 12, b"", b, proof)  # the empty tree takes an empty path
    assert verify_consistency(12, 12, b, b, [])
    assert not verify_consistency(12, 12, b, b, proof)  # same size: nothing to prove
    assert not verify_consistency(12, 12, a, b, [])  # same size, different roots
    # a "proof" that a tree of 3 is extended by one of 2, forged to pass the hashing itself
    x, y = leaves[0], leaves[1]
    assert not verify_consistency(3, 2, x, node_hash(x, y), [x, y])


def test_impossible_sizes_are_refused_in_words_and_an_empty_range_is_the_empty_root() -> None:
    source = ListSource(synthetic(4))
    with pytest.raises(ValueError, match="no split point for a tree of 1 leaves"):
        merkle.split_point(1)
    with pytest.raises(ValueError, match="no consistency proof from size 4 to size 3"):
        consistency_path(source, 4, 3)
    assert merkle.subtree_hash(source, 3, 3) == EMPTY_ROOT


@pytest.mark.parametrize("n", [3, 5, 6, 7, 12])
def test_perfect_root_refuses_a_count_that_is_not_a_power_of_two(n: int) -> None:
    """A subtree of 2^k leaves only: with 6 hashes the pairwise fold would give a root of a tree
    that does not exist (and with 3 or 5 drop a hash silently)."""
    with pytest.raises(ValueError) as refused:
        perfect_root([bytes([i]) * 32 for i in range(n)])
    assert str(refused.value) == f"not a complete subtree: {n} hashes"


def test_perfect_root_refuses_nothing() -> None:
    with pytest.raises(ValueError, match="not a complete subtree: 0 hashes"):
        perfect_root([])
