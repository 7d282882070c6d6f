"""Recompute the hash chain and say where, and how, it is broken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from tinmatch.ledger.entry import GENESIS_HASH, LedgerEntry, compute_hash

MAX_PAIRWISE = 2000
"""Above this many broken entries, reordering is not told apart from editing."""


@dataclass(frozen=True, order=True)
class Problem:
    """One break in the chain: the first seq concerned, its kind and a sentence."""

    seq: int
    kind: str  # edited | deleted | reordered | chain_broken | appended
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


def verify_chain(
    entries: Iterable[LedgerEntry], head: tuple[int, str] | None = None
) -> list[Problem]:
    """Problems found in `entries` (in seq order), sorted by seq; empty when the chain is intact.

    `head` is the (seq, entry_hash) the chain-head row records for the last append; it catches
    the deletion of the last entries, which leaves no gap.
    """
    problems: list[Problem] = []
    broken: list[LedgerEntry] = []
    gaps: list[int] = []
    expected = 1
    prev_hash = GENESIS_HASH
    prev_ok = True
    last: LedgerEntry | None = None
    for entry in entries:
        gap = entry.seq > expected
        if gap:
            problems.append(_deleted(expected, entry.seq - 1, f"next entry present is {entry.seq}"))
            gaps.extend(range(expected, min(entry.seq, expected + MAX_PAIRWISE)))
        ok = compute_hash(entry) == entry.entry_hash
        if not ok:
            broken.append(entry)
        elif not gap and prev_ok and entry.prev_hash != prev_hash:
            where = "the start of the ledger" if entry.seq == 1 else f"entry {entry.seq - 1}"
            problems.append(
                Problem(
                    entry.seq,
                    "chain_broken",
                    f"its prev_hash does not match {where} (an earlier entry was rewritten "
                    "with a recomputed hash, or this one was)",
                )
            )
        prev_hash, prev_ok, expected, last = entry.entry_hash, ok, entry.seq + 1, entry
    problems.extend(_classify(broken, gaps))
    if head is not None:
        problems.extend(_check_head(head, last))
    return sorted(problems)


def _deleted(first: int, last: int, why: str) -> Problem:
    which = f"entry {first}" if first == last else f"entries {first}..{last}"
    return Problem(first, "deleted", f"{which} missing ({why})")


def _classify(broken: list[LedgerEntry], gaps: list[int]) -> list[Problem]:
    """Tell an entry moved to another position (reordered) from one whose contents changed."""
    pairwise = len(broken) <= MAX_PAIRWISE
    candidates = sorted({e.seq for e in broken} | set(gaps)) if pairwise else []
    by_seq = {e.seq: e for e in broken}
    out: list[Problem] = []
    for entry in broken:
        origin = None
        for seq in candidates:
            if seq == entry.seq:
                continue
            moved_whole = compute_hash(replace(entry, seq=seq)) == entry.entry_hash
            other = by_seq.get(seq)
            moved_contents = other is not None and (
                compute_hash(replace(entry, seq=seq, prev_hash=other.prev_hash)) == other.entry_hash
            )
            if moved_whole or moved_contents:
                origin = seq
                break
        if origin is None:
            out.append(Problem(entry.seq, "edited", "its contents do not match its hash"))
        else:
            out.append(
                Problem(entry.seq, "reordered", f"it holds the entry written as seq {origin}")
            )
    return out


def _check_head(head: tuple[int, str], last: LedgerEntry | None) -> list[Problem]:
    head_seq, head_hash = head
    last_seq = last.seq if last else 0
    if head_seq > last_seq:
        return [_deleted(last_seq + 1, head_seq, f"the chain head records {head_seq} entries")]
    if head_seq < last_seq:
        return [
            Problem(
                head_seq + 1,
                "appended",
                f"entries after {head_seq} were added outside tinmatch (chain head ends there)",
            )
        ]
    if last is not None and last.entry_hash != head_hash:
        return [Problem(last_seq, "edited", "its hash does not match the chain head")]
    return []
