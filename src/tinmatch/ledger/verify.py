"""Recompute every leaf of the stored log and say where, and how, it departs from what was
hashed and signed.

Three witnesses of the past are compared with the entries as they are now:
- the stored leaf hashes (level 0 of the tree): an entry edited in place, or moved, no longer
  hashes to the leaf stored at its position;
- the size the log reached (the head row, the stored tree, the newest checkpoint): the tail cut
  leaves fewer entries than that;
- signed checkpoints (stored ones, and any the caller holds): an insider who rewrites entries
  *and* re-hashes the stored tree cannot reproduce a root someone else already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from tinmatch.ledger.entry import LedgerEntry, leaf_bytes
from tinmatch.ledger.merkle import RootBuilder, leaf_hash

MAX_PAIRWISE = 2000
"""Above this many broken entries, reordering is not told apart from editing."""


@dataclass(frozen=True, order=True)
class Problem:
    """One departure: the first seq concerned, its kind and a sentence.

    kinds: edited | deleted | reordered | truncated | appended | rewritten | tree_corrupt
    """

    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Anchor:
    """A (size, root) the log must reproduce: a signed checkpoint, named for messages."""

    size: int
    root: bytes
    name: str


@dataclass
class Audit:
    problems: list[Problem] = field(default_factory=list)
    size: int = 0
    root: bytes = b""


def audit_log(
    entries: Iterable[LedgerEntry],
    stored_leaves: Iterable[tuple[int, bytes]],
    *,
    recorded_size: int,
    anchors: Sequence[Anchor] = (),
) -> Audit:
    """Problems of the log, sorted by seq (empty when it is intact), its size and root.

    `entries` in seq order; `stored_leaves` the stored (index, leaf hash) in index order;
    `recorded_size` the size the log is known to have reached (head row, stored tree).
    """
    out = Audit()
    rewritten: list[Problem] = []
    builder = RootBuilder()
    stored = _Merge(iter(stored_leaves))
    broken: list[tuple[LedgerEntry, bytes]] = []
    gaps: list[int] = []
    stored_at: dict[int, bytes] = {}
    wanted = sorted(anchors, key=lambda a: a.size)
    expected, whole = 1, True
    checked = 0
    for entry in entries:
        if entry.seq > expected:
            out.problems.append(
                _deleted(expected, entry.seq - 1, f"next entry present is {entry.seq}")
            )
            gaps.extend(range(expected, min(entry.seq, expected + MAX_PAIRWISE)))
            whole = False
        computed = leaf_hash(leaf_bytes(entry))
        kept = stored.at(entry.seq - 1)
        if kept is None:
            out.problems.append(
                Problem(entry.seq, "appended", "it is in no stored leaf (written outside tinmatch)")
            )
        elif kept != computed:
            broken.append((entry, kept))
            stored_at[entry.seq] = kept
        if whole:
            builder.add(computed)
            while checked < len(wanted) and wanted[checked].size == builder.size:
                rewritten.extend(_against(wanted[checked], builder.root()))
                checked += 1
        expected = entry.seq + 1
    for gap in gaps:
        kept = stored.peek_seen(gap - 1)
        if kept is not None:
            stored_at[gap] = kept
    out.problems.extend(_classify(broken, stored_at))
    stored.drain()
    last = expected - 1
    known = max([recorded_size, stored.last_index + 1, *(a.size for a in wanted)])
    if known > last:
        out.problems.append(
            Problem(
                last + 1,
                "truncated",
                f"the log holds {last} entries but had reached {known} "
                f"(entries {last + 1}..{known} were cut off the tail)",
            )
        )
    if not out.problems:  # a root that differs although every leaf matches its stored one
        out.problems = rewritten
    out.size, out.root = builder.size, builder.root()
    return Audit(sorted(out.problems), out.size, out.root)


def _against(anchor: Anchor, root: bytes) -> list[Problem]:
    if root == anchor.root:
        return []
    return [
        Problem(
            anchor.size,
            "rewritten",
            f"the first {anchor.size} entries no longer hash to the root of {anchor.name}: the "
            "log is not an append-only extension of it (history rewritten and re-hashed)",
        )
    ]


class _Merge:
    """Stored leaves looked up in increasing index order, remembering the last few."""

    def __init__(self, it: Iterator[tuple[int, bytes]]) -> None:
        self._it = it
        self._next: tuple[int, bytes] | None = next(it, None)
        self._seen: dict[int, bytes] = {}
        self.last_index = -1

    def at(self, index: int) -> bytes | None:
        while self._next is not None and self._next[0] <= index:
            i, h = self._next
            self.last_index = i
            if i >= index - MAX_PAIRWISE:
                self._seen[i] = h
            if len(self._seen) > 4 * MAX_PAIRWISE:
                for old in sorted(self._seen)[: 2 * MAX_PAIRWISE]:
                    del self._seen[old]
            self._next = next(self._it, None)
        return self._seen.get(index)

    def peek_seen(self, index: int) -> bytes | None:
        return self._seen.get(index)

    def drain(self) -> None:
        while self._next is not None:
            self.at(self._next[0])


def _deleted(first: int, last: int, why: str) -> Problem:
    which = f"entry {first}" if first == last else f"entries {first}..{last}"
    return Problem(first, "deleted", f"{which} missing ({why})")


def _classify(
    broken: list[tuple[LedgerEntry, bytes]], stored_at: dict[int, bytes]
) -> list[Problem]:
    """Tell an entry moved to another position (reordered) from one whose contents changed."""
    candidates = sorted(stored_at) if len(broken) <= MAX_PAIRWISE else []
    out: list[Problem] = []
    for entry, _kept in broken:
        origin = next(
            (
                seq
                for seq in candidates
                if seq != entry.seq
                and leaf_hash(leaf_bytes(replace(entry, seq=seq))) == stored_at[seq]
            ),
            None,
        )
        if origin is None:
            out.append(Problem(entry.seq, "edited", "its contents do not match its stored leaf"))
        else:
            out.append(
                Problem(entry.seq, "reordered", f"it holds the entry written as seq {origin}")
            )
    return out
