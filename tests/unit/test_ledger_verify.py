"""The leaf encoding and what `audit_log` reports, without a database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from _ledger_fixtures import T0, disclosure

from tinmatch.ledger import KINDS, Anchor, LedgerEntry, audit_log, leaf_bytes, verify
from tinmatch.ledger.merkle import leaf_hash, root_of
from tinmatch.ledger.verify import MAX_PAIRWISE


def _log(n: int) -> list[LedgerEntry]:
    return [replace(disclosure(i), seq=i + 1).with_leaf_hash() for i in range(n)]


def _stored(entries: list[LedgerEntry]) -> list[tuple[int, bytes]]:
    return [(e.seq - 1, e.leaf_hash) for e in entries]


def test_leaf_is_canonical_json_with_the_values_that_left() -> None:
    entry = _log(1)[0]
    text = leaf_bytes(entry).decode()
    assert text.startswith('{"agency":"Agency A","agreement_id":"default"')
    assert ": " not in text and ", " not in text and "\n" not in text
    obj = json.loads(text)
    assert obj["values"] == {
        "city": "Springfield",
        "state": "IL",
        "street": "0 Elm St",
        "tax_year": 2024,
        "zip": "62701",
    }
    assert obj["v"] == 1 and obj["seq"] == 1 and obj["kind"] == "disclosure"
    assert obj["created_at"] == "2026-09-01T12:00:00.000000Z"
    assert json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == text
    same_instant = replace(entry, created_at=T0.astimezone(timezone(timedelta(hours=-5))))
    assert leaf_bytes(same_instant) == leaf_bytes(entry)


@pytest.mark.parametrize(
    "change",
    [
        {"tin": "900000009"},
        {"values": {"street": "1 Oak St"}},
        {"fields_released": ("street",)},
        {"match_probability": 0.9951},
        {"reviewer": "auto"},
        {"seq": 2},
        {"entry_type": "recall"},
        {"detail": {"x": 1}},
        {"released_at": T0 + timedelta(microseconds=1)},
    ],
)
def test_any_field_changes_the_leaf(change: dict[str, object]) -> None:
    entry = _log(1)[0]
    assert leaf_bytes(replace(entry, **change)) != leaf_bytes(entry)  # type: ignore[arg-type]


def test_event_entries_fit_the_same_leaf() -> None:
    event = LedgerEntry.event(
        "suspension", at=T0, agency="Agency A", detail={"scope": "agency", "why": "audit"}
    )
    assert event.kind in KINDS
    assert json.loads(leaf_bytes(event))["detail"] == {"scope": "agency", "why": "audit"}


def test_intact_log() -> None:
    entries = _log(6)
    anchor = Anchor(4, root_of([e.leaf_hash for e in entries[:4]]), "cp")
    audit = audit_log(entries, _stored(entries), recorded_size=6, anchors=[anchor])
    assert audit.problems == [] and audit.size == 6
    assert audit.root == root_of([leaf_hash(leaf_bytes(e)) for e in entries])


def test_edited_deleted_reordered_truncated() -> None:
    entries = _log(8)
    stored = _stored(entries)
    edited = [*entries[:2], replace(entries[2], tin="999999999"), *entries[3:]]
    assert [(p.seq, p.kind) for p in audit_log(edited, stored, recorded_size=8).problems] == [
        (3, "edited")
    ]
    gap = entries[:1] + entries[3:]
    problems = audit_log(gap, stored, recorded_size=8).problems
    assert [(p.seq, p.kind) for p in problems] == [(2, "deleted")]
    assert "entries 2..3 missing" in str(problems[0])
    swapped = [entries[0], replace(entries[2], seq=2), replace(entries[1], seq=3), *entries[3:]]
    assert [(p.seq, p.kind) for p in audit_log(swapped, stored, recorded_size=8).problems] == [
        (2, "reordered"),
        (3, "reordered"),
    ]
    cut = audit_log(entries[:5], stored[:5], recorded_size=8).problems
    assert [(p.seq, p.kind) for p in cut] == [(6, "truncated")]


def test_rewritten_history_needs_an_anchor() -> None:
    entries = _log(5)
    anchor = Anchor(5, root_of([e.leaf_hash for e in entries]), "the checkpoint of 1 Sept")
    forged = [*entries[:1], replace(entries[1], reviewer="auto").with_leaf_hash(), *entries[2:]]
    assert audit_log(forged, _stored(forged), recorded_size=5).problems == []
    problems = audit_log(forged, _stored(forged), recorded_size=5, anchors=[anchor]).problems
    assert [(p.seq, p.kind) for p in problems] == [(5, "rewritten")]
    assert str(problems[0]) == (
        "seq 5: rewritten: the first 5 entries no longer hash to the root of the checkpoint of "
        "1 Sept: the log is not an append-only extension of it (history rewritten and re-hashed)"
    )


def test_entries_added_behind_the_logs_back() -> None:
    entries = _log(3)
    problems = audit_log(entries, _stored(entries[:2]), recorded_size=2).problems
    assert [str(p) for p in problems] == [
        "seq 3: appended: it is in no stored leaf (written outside tinmatch)"
    ]


def test_an_empty_log_and_a_log_with_no_stored_tree() -> None:
    empty = audit_log([], [], recorded_size=0)
    assert (empty.problems, empty.size, empty.root) == ([], 0, root_of([]))
    entries = _log(2)
    problems = audit_log(entries, [], recorded_size=0).problems
    assert [(p.seq, p.kind) for p in problems] == [(1, "appended"), (2, "appended")]


def test_a_tail_cut_below_the_stored_tree_is_truncated() -> None:
    """The head row was set back with the entries, but the stored tree still holds 8 leaves."""
    entries = _log(8)
    problems = audit_log(entries[:5], _stored(entries), recorded_size=5).problems
    assert [str(p) for p in problems] == [
        "seq 6: truncated: the log holds 5 entries but had reached 8 "
        "(entries 6..8 were cut off the tail)"
    ]


def test_every_anchor_is_checked() -> None:
    entries = _log(6)
    leaves = [e.leaf_hash for e in entries]
    good = [Anchor(n, root_of(leaves[:n]), f"cp{n}") for n in (2, 4, 6)]
    assert audit_log(entries, _stored(entries), recorded_size=6, anchors=good).problems == []
    for bad in range(3):  # each anchor on its own stops a rewritten history
        anchors = [replace(a, root=b"x" * 32) if i == bad else a for i, a in enumerate(good)]
        problems = audit_log(entries, _stored(entries), recorded_size=6, anchors=anchors).problems
        assert [(p.seq, p.kind) for p in problems] == [(good[bad].size, "rewritten")]


def test_a_long_log_keeps_the_leaves_it_needs() -> None:
    """Over 4 x MAX_PAIRWISE stored leaves (the window of remembered leaves is trimmed), an edit
    and a swap near the end are still told apart."""
    entries = _log(4 * MAX_PAIRWISE + 10)
    n = len(entries)
    swapped = [replace(entries[n - 2], seq=n - 2), replace(entries[n - 3], seq=n - 1)]
    changed = [*entries[: n - 3], *swapped, replace(entries[n - 1], tin="999999999")]
    problems = audit_log(changed, _stored(entries), recorded_size=n).problems
    assert [(p.seq, p.kind) for p in problems] == [
        (n - 2, "reordered"), (n - 1, "reordered"), (n, "edited"),
    ]  # fmt: skip


def test_two_edits_are_two_edits() -> None:
    entries = _log(6)
    edited = [replace(e, tin="999999999") if e.seq in (3, 5) else e for e in entries]
    problems = audit_log(edited, _stored(entries), recorded_size=6).problems
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited"), (5, "edited")]


def test_moves_are_told_apart_up_to_max_pairwise_broken_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Telling a move from an edit compares every broken entry with every broken seat; above
    MAX_PAIRWISE broken entries (made 3 here) it is not tried and every one is an edit."""
    monkeypatch.setattr(verify, "MAX_PAIRWISE", 3)
    entries = _log(6)
    swapped = [entries[0], replace(entries[2], seq=2), replace(entries[1], seq=3), *entries[3:]]
    three = [replace(e, tin="999999999") if e.seq == 5 else e for e in swapped]
    problems = audit_log(three, _stored(entries), recorded_size=6).problems
    assert [(p.seq, p.kind) for p in problems] == [
        (2, "reordered"), (3, "reordered"), (5, "edited"),
    ]  # fmt: skip
    four = [replace(e, tin="999999999") if e.seq in (5, 6) else e for e in swapped]
    problems = audit_log(four, _stored(entries), recorded_size=6).problems
    assert [(p.seq, p.kind) for p in problems] == [(s, "edited") for s in (2, 3, 5, 6)]


def test_a_missing_first_entry_is_deleted() -> None:
    entries = _log(5)
    problems = audit_log(entries[1:], _stored(entries), recorded_size=5).problems
    assert [str(p) for p in problems] == [
        "seq 1: deleted: entry 1 missing (next entry present is 2)"
    ]


def test_an_entry_moved_into_a_deleted_seat_is_reordered() -> None:
    """Entry 3 is deleted and its contents put in seat 4 (entry 4 gone): the stored leaf of the
    deleted seat tells a move from an edit."""
    entries = _log(6)
    moved = [*entries[:2], replace(entries[2], seq=4), *entries[4:]]
    audit = audit_log(moved, _stored(entries), recorded_size=6)
    assert [str(p) for p in audit.problems] == [
        "seq 3: deleted: entry 3 missing (next entry present is 4)",
        "seq 4: reordered: it holds the entry written as seq 3",
    ]
    # the size and root are those of the whole prefix before the first gap
    assert (audit.size, audit.root) == (2, root_of([e.leaf_hash for e in entries[:2]]))


def test_a_move_is_still_told_across_the_longest_gap_compared() -> None:
    """MAX_PAIRWISE (2000) seats deleted, and the first one's entry put in the seat after them:
    the stored leaf of that first seat is still remembered, so it is a move."""
    entries = _log(MAX_PAIRWISE + 3)
    seat = MAX_PAIRWISE + 2
    moved = [entries[0], replace(entries[1], seq=seat), entries[seat]]
    problems = audit_log(moved, _stored(entries), recorded_size=seat + 1).problems
    assert [str(p) for p in problems] == [
        f"seq 2: deleted: entries 2..{seat - 1} missing (next entry present is {seat})",
        f"seq {seat}: reordered: it holds the entry written as seq 2",
    ]


def test_a_copy_of_an_entry_still_in_place_is_an_edit_not_a_move() -> None:
    """Only a seat left broken or empty can be where an entry came from: entry 1 is intact, so a
    copy of it written over seat 5 (behind a deleted entry 4) is an edit."""
    entries = _log(6)
    copied = [*entries[:3], replace(entries[0], seq=5), entries[5]]
    problems = audit_log(copied, _stored(entries), recorded_size=6).problems
    assert [(p.seq, p.kind) for p in problems] == [(4, "deleted"), (5, "edited")]
