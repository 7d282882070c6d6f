"""The hash chain on its own: canonical form, hashing, and what verify_chain reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tinmatch.ledger import GENESIS_HASH, LedgerEntry, canonical_json, compute_hash, verify_chain

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _chain(n: int) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        entry = LedgerEntry(
            seq=seq,
            entry_type="disclosure",
            request_id="req-1",
            agency="Agency A",
            official="Officer One",
            record_id=f"r{seq}",
            tin=f"90000000{seq}",
            fields_released=("street", "city"),
            tax_year=2024,
            match_probability=0.995,
            agreement_id="default",
            agreement_sha256="a" * 64,
            model_sha256=None,
            statute="8 U.S.C. 1326",
            case_number="C-1",
            reviewer="Ann",
            note="",
            recalls_seq=None,
            created_at=T0,
            released_at=T0,
            prev_hash=prev,
        ).with_hash()
        entries.append(entry)
        prev = entry.entry_hash
    return entries


def test_canonical_json_is_sorted_compact_and_utc() -> None:
    entry = _chain(1)[0]
    text = canonical_json(entry)
    assert text.startswith('{"agency":"Agency A","agreement_id":"default"')
    assert '"created_at":"2026-09-01T12:00:00+00:00"' in text
    assert "entry_hash" not in text
    same_instant = replace(entry, created_at=T0.astimezone(timezone(timedelta(hours=-5))))
    assert compute_hash(same_instant) == entry.entry_hash


@pytest.mark.parametrize(
    "change",
    [
        {"tin": "900000009"},
        {"fields_released": ("street", "city", "zip")},
        {"match_probability": 0.9951},
        {"reviewer": "Bob"},
        {"seq": 2},
        {"prev_hash": "f" * 64},
        {"released_at": T0 + timedelta(microseconds=1)},
    ],
)
def test_any_field_changes_the_hash(change: dict[str, object]) -> None:
    entry = _chain(1)[0]
    assert compute_hash(replace(entry, **change)) != entry.entry_hash  # type: ignore[arg-type]


def test_intact_chain_has_no_problems() -> None:
    entries = _chain(5)
    assert verify_chain(entries, (5, entries[-1].entry_hash)) == []


def test_edited_entry_is_named() -> None:
    entries = _chain(5)
    entries[2] = replace(entries[2], tin="999999999")
    problems = verify_chain(entries, (5, entries[-1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_rehashed_edit_breaks_the_link_to_the_next_entry() -> None:
    entries = _chain(5)
    entries[2] = replace(entries[2], tin="999999999").with_hash()
    problems = verify_chain(entries, (5, entries[-1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(4, "chain_broken")]


def test_deleted_entries_are_gaps() -> None:
    entries = _chain(6)
    kept = entries[:1] + entries[3:]
    problems = verify_chain(kept, (6, entries[-1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(2, "deleted")]
    assert "entries 2..3 missing" in str(problems[0])


def test_deleted_tail_is_caught_by_the_head() -> None:
    entries = _chain(4)
    problems = verify_chain(entries[:3], (4, entries[-1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(4, "deleted")]
    assert verify_chain(entries[:3]) == []  # without the head it cannot be seen


def test_swapped_positions_are_reordered() -> None:
    entries = _chain(5)
    swapped = [entries[0], replace(entries[2], seq=2), replace(entries[1], seq=3), *entries[3:]]
    problems = verify_chain(swapped, (5, entries[-1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(2, "reordered"), (3, "reordered")]
    assert "written as seq 3" in str(problems[0])


def test_entries_added_behind_the_heads_back() -> None:
    entries = _chain(3)
    problems = verify_chain(entries, (2, entries[1].entry_hash))
    assert [(p.seq, p.kind) for p in problems] == [(3, "appended")]
