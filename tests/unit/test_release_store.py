"""Release is the only door, in the Store (SQLite and PostgreSQL): who may approve, two
reviewers, rows withheld, recalls that stop delivery, what the files are rendered from, and no
empty database created where one was expected."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, T0, backend_url, disclosure, held_request, open_store

from reviewers import add_reviewers
from tinmatch.errors import InvalidInputError, NotFoundError, RefusedError
from tinmatch.ops import Decision, Store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_store(request.param, tmp_path)


def _two_reviewer_request(store: Store) -> str:
    rid = held_request(store, "big", n=3)
    store.record_outcome(
        rid,
        counts={"received": 3, "matched": 3},
        disclosures=[disclosure(f"big-r{i}", tin=f"90000000{i}") for i in range(3)],
        decisions=[Decision(f"big-r{i}", "matched", None, f"90000000{i}", 0.99) for i in range(3)],
        now=T0,
        reviewers_required=2,
    )
    return rid


def test_only_a_registered_reviewer_who_is_not_the_official(store: Store) -> None:
    rid = held_request(store, official="Officer One")
    with pytest.raises(RefusedError, match="not a registered reviewer"):
        store.approve(rid, reviewer="Somebody Typed This", note="", now=T0)
    add_reviewers(store, "Officer One")  # the official holds an account: still refused
    with pytest.raises(RefusedError, match="official"):
        store.approve(rid, reviewer="Officer  One", note="", now=T0)
    with pytest.raises(RefusedError, match="official"):
        store.deny(rid, reviewer="Officer One", note="", now=T0)
    with pytest.raises(InvalidInputError):
        store.approve(rid, reviewer="  ", note="", now=T0)
    assert store.get_request(rid).status == "held"
    assert store.ledger_entries(rid) == []


def test_two_different_reviewers_when_the_request_is_large(store: Store) -> None:
    rid = _two_reviewer_request(store)
    first = store.approve(rid, reviewer="R", note="first look", now=T0)
    assert (first.status, first.approvals, first.required) == ("held", 1, 2)
    assert store.ledger_entries(rid) == []
    with pytest.raises(RefusedError, match="second, different reviewer"):
        store.approve(rid, reviewer="R", note="me again", now=T0)
    second = store.approve(rid, reviewer="Ann", note="agreed", now=T0)
    assert (second.status, second.disclosed) == ("released", 3)
    record = store.get_request(rid)
    assert record.reviewer == "R & Ann" and [a.reviewer for a in record.approvals] == ["R", "Ann"]


def test_withheld_rows_are_recorded_and_never_delivered(store: Store) -> None:
    rid = held_request(store, n=3)
    with pytest.raises(RefusedError, match="only those can be withheld"):
        store.approve(rid, reviewer="R", note="", now=T0, withhold={"nope": "x"})
    with pytest.raises(InvalidInputError, match="why"):
        store.approve(rid, reviewer="R", note="", now=T0, withhold={"k1-r1": " "})
    out = store.approve(rid, reviewer="R", note="ok", now=T0, withhold={"k1-r1": "a shelter"})
    assert (out.disclosed, out.withheld) == (2, 1)
    kinds = [(e.entry_type, e.record_id, e.note) for e in store.ledger_entries(rid)]
    assert ("withheld", "k1-r1", "a shelter") in kinds
    assert not any(k == "disclosure" and r == "k1-r1" for k, r, _ in kinds)
    delivered = store.delivery(rid)
    assert [m.record_id for m in delivered.matched] == ["k1-r0", "k1-r2"]
    assert store.pending(rid)[0].record_id == "k1-r0"  # the withheld address left the store


def matched_a_and_b(store: Store, key: str = "k1") -> str:
    """A held request whose decision log names rows "a" and "b" as matched; returns its id."""
    rid = held_request(store, key, n=2)
    store.record_outcome(
        rid,
        counts={"received": 2, "matched": 2},
        disclosures=[disclosure("a"), disclosure("b", tin="900000009")],
        decisions=[Decision("a", "matched", None, "123456789", 0.99),
                   Decision("b", "matched", None, "900000009", 0.99)],  # fmt: skip
        now=T0,
    )
    return rid


def test_denial_withholds_every_held_row(store: Store) -> None:
    rid = matched_a_and_b(store)
    store.deny(rid, reviewer="R", note="no", now=T0)
    delivered = store.delivery(rid)
    assert delivered.matched == []
    assert {(d.record_id, d.outcome, d.reason) for d in delivered.decisions} == {
        ("a", "unmatched", "withheld_by_reviewer"),
        ("b", "unmatched", "withheld_by_reviewer"),
    }


def test_recall_stops_delivery_and_blocks_the_taxpayer(store: Store) -> None:
    rid = held_request(store, n=2)
    store.approve(rid, reviewer="R", note="", now=T0)
    store.recall(rid, "k1-r0", "wrong person", T0 + timedelta(days=1), by="Sup")
    delivered = store.delivery(rid)
    assert [m.record_id for m in delivered.matched] == ["k1-r1"]
    assert [(r.record_id, r.why) for r in delivered.recalls] == [("k1-r0", "wrong person")]
    assert store.recalled_tins("agency a") == {"900000000"}
    assert store.recalled_tins("Agency B") == set()


def test_recall_by_tin_covers_every_disclosure(store: Store) -> None:
    one = held_request(store, "one", n=1)
    two = held_request(store, "two", n=1, now=T0 + timedelta(days=3))
    store.approve(one, reviewer="R", note="", now=T0)
    store.approve(two, reviewer="R", note="", now=T0 + timedelta(days=3))
    entries = store.recall_tin("900000000", "identity theft", T0 + timedelta(days=4), by="Sup")
    assert sorted(e.request_id for e in entries) == sorted([one, two])
    assert store.delivery(one).matched == [] and store.delivery(two).matched == []
    with pytest.raises(NotFoundError, match="left to recall"):
        store.recall_tin("900000000", "again", T0 + timedelta(days=5), by="Sup")


def test_repeats_within_90_days_to_the_same_agency(store: Store) -> None:
    earlier = held_request(store, "e", n=2)
    store.approve(earlier, reviewer="R", note="", now=T0)
    other_agency = held_request(store, "o", agency="Agency B", n=2)
    store.approve(other_agency, reviewer="R", note="", now=T0)
    now = held_request(store, "n", n=2, now=T0 + timedelta(days=30))
    flagged = store.repeats(now, T0 + timedelta(days=30))
    assert set(flagged) == {"n-r0", "n-r1"}
    assert {rid for rid, _ in flagged["n-r0"]} == {earlier}
    assert store.repeats(now, T0 + timedelta(days=95)) == {}


def test_nothing_is_rendered_before_a_decision(store: Store) -> None:
    rid = held_request(store)
    with pytest.raises(Exception, match="nothing is rendered before"):
        store.delivery(rid)


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_without_create_never_makes_an_empty_database(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        missing = tmp_path / "gone" / "ops.sqlite"
        with pytest.raises(NotFoundError, match="no operational database"):
            Store.open(f"sqlite:///{missing}", create=False)
        assert not missing.exists() and not missing.parent.exists()
        with Store.open(f"sqlite:///{missing}", create=True):
            pass
        assert stat.S_IMODE(missing.stat().st_mode) == 0o600
        with Store.open(f"sqlite:///{missing}", create=False):
            pass
        return
    url = backend_url(backend, tmp_path)  # tables dropped: no tinmatch schema there
    with pytest.raises(NotFoundError, match="holds no tinmatch operational database"):
        Store.open(url, create=False)


def test_repeats_are_each_earlier_disclosure_once_and_nothing_else(store: Store) -> None:
    """Exactly the earlier disclosures of the same taxpayers to the same agency, each listed
    once: not a recall of one of them, not another taxpayer disclosed to the agency, not the
    request itself once released; and exactly 90 days back still counts."""
    earlier = held_request(store, "e", n=2)
    store.approve(earlier, reviewer="R", note="", now=T0)
    store.recall(earlier, "e-r1", "checked again", T0, by="Sup")  # a ledger entry with the TIN
    stranger = held_request(store, "s", n=1)  # another taxpayer, same agency
    store.record_outcome(
        stranger,
        counts={"received": 1, "matched": 1},
        disclosures=[disclosure("s-r0", tin="999999999")],
        decisions=None,
        now=T0,
    )
    store.approve(stranger, reviewer="R", note="", now=T0)
    later = T0 + timedelta(days=90)
    now = held_request(store, "n", n=2, now=later)
    assert store.repeats(now, later) == {"n-r0": [(earlier, T0)], "n-r1": [(earlier, T0)]}
    store.approve(now, reviewer="R", note="", now=later)
    assert store.repeats(now, later) == {"n-r0": [(earlier, T0)], "n-r1": [(earlier, T0)]}


def test_repeats_beyond_one_batch_of_500(store: Store) -> None:
    """Taxpayers are looked up 500 at a time: the 501st and 502nd are found too, once."""
    tins = [f"8{i:08d}" for i in range(502)]

    def request(key: str, now: datetime) -> str:
        rid = held_request(store, key, n=1, now=now)
        store.record_outcome(
            rid,
            counts={"received": 502, "matched": 502},
            disclosures=[disclosure(f"{key}-{i}", tin=tin) for i, tin in enumerate(tins)],
            decisions=None,
            now=now,
        )
        return rid

    earlier = request("e", T0)
    store.approve(earlier, reviewer="R", note="", now=T0)
    later = T0 + timedelta(days=1)
    flagged = store.repeats(request("n", later), later)
    assert len(flagged) == 502
    assert all(found == [(earlier, T0)] for found in flagged.values())


def test_a_recall_stays_with_its_request(store: Store) -> None:
    one = held_request(store, "one", n=2)
    two = held_request(store, "two", n=2)
    store.approve(one, reviewer="R", note="", now=T0)
    store.approve(two, reviewer="R", note="", now=T0)
    store.recall(one, "one-r1", "wrong person", T0 + timedelta(days=1), by="Sup")
    store.recall(one, "one-r0", "also wrong", T0 + timedelta(days=2), by="Sup")
    assert [r.record_id for r in store.delivery(one).recalls] == ["one-r1", "one-r0"]
    other = store.delivery(two)
    assert other.recalls == [] and [m.record_id for m in other.matched] == ["two-r0", "two-r1"]
    assert [m.match_probability for m in other.matched] == [0.9973, 0.9973]  # in matched.csv


def test_withholding_a_row_not_to_be_disclosed_says_which(store: Store) -> None:
    rid = held_request(store, n=1)
    with pytest.raises(RefusedError) as refused:
        store.approve(rid, reviewer="R", note="", now=T0, withhold={"k1-r9": "a shelter"})
    assert str(refused.value) == (
        f"record 'k1-r9' is not a row request {rid} would disclose: only those can be withheld; "
        "nothing decided"
    )


def test_denying_one_request_leaves_anothers_decisions(store: Store) -> None:
    """Withheld rows are found by request and record id: two requests may use the same record
    ids (each agency numbers its own rows), and denying one must not touch the other's log."""
    rids = [matched_a_and_b(store, key) for key in ("k1", "k2")]
    store.deny(rids[0], reviewer="R", note="no", now=T0)
    store.approve(rids[1], reviewer="R", note="ok", now=T0)
    other = store.delivery(rids[1])
    assert [m.record_id for m in other.matched] == ["a", "b"]
    assert {(d.record_id, d.outcome, d.reason) for d in other.decisions} == {
        ("a", "matched", None),
        ("b", "matched", None),
    }


def test_denying_more_than_a_thousand_rows_withholds_every_one(store: Store) -> None:
    """The rows leave the store in batches of 500: every batch, the last one included."""
    rid = held_request(store, n=1001)
    assert len(store.pending(rid)) == 1001
    store.deny(rid, reviewer="R", note="no", now=T0)
    assert store.pending(rid) == []


def test_withholding_one_row_leaves_the_released_rows_matched_in_the_log(store: Store) -> None:
    """The decision log (unmatched.csv) says "withheld" of the rows withheld and of no other:
    a row released to the agency is not also reported as withheld."""
    rid = matched_a_and_b(store)
    out = store.approve(rid, reviewer="R", note="ok", now=T0, withhold={"a": "a shelter"})
    assert (out.disclosed, out.withheld) == (1, 1)
    delivered = store.delivery(rid)
    assert [m.record_id for m in delivered.matched] == ["b"]
    assert [(d.record_id, d.outcome, d.reason, d.tin) for d in delivered.decisions] == [
        ("a", "unmatched", "withheld_by_reviewer", "123456789"),
        ("b", "matched", None, "900000009"),
    ]
    assert delivered.decisions[0].message == "nothing is disclosed for this row"


def test_a_released_row_is_delivered_whole(store: Store) -> None:
    """What the requester's files are rendered from: the address fields, the tax year and the
    probability of the pending row, as recorded."""
    rid = held_request(store, n=1)
    store.approve(rid, reviewer="R", note="", now=T0)
    (row,) = store.delivery(rid).matched
    assert row.record_id == "k1-r0"
    assert row.fields == {
        "street": "12 Elm St", "city": "Springfield", "state": "IL", "tax_year": 2024,
    }  # fmt: skip
    assert (row.tax_year, row.match_probability) == (2024, 0.9973)


def test_who_may_review_is_refused_in_words(store: Store) -> None:
    """The refusals a reviewer reads: no name, and the request's own official."""
    rid = held_request(store, official="Officer One")
    with pytest.raises(InvalidInputError) as no_name:
        store.deny(rid, reviewer=" ", note="", now=T0)
    assert str(no_name.value) == "a decision needs the reviewer's name (--reviewer)"
    add_reviewers(store, "officer one")  # the official's own account, written in lower case
    with pytest.raises(RefusedError) as own:
        store.approve(rid, reviewer="officer one", note="", now=T0)
    assert str(own.value) == (
        f"'officer one' is the official who sent request {rid}: the requester cannot review "
        "their own request; nothing decided"
    )
    assert store.get_request(rid).status == "held"


def test_the_decision_log_keeps_the_request_s_order_after_rows_are_withheld(store: Store) -> None:
    """unmatched.csv and the workbook list rows in the request's order. Withholding rewrites
    decision-log rows; on PostgreSQL a rewritten row on a full page moves to another one, and
    only the `ORDER BY` keeps it in its place (SQLite keeps rowid order either way)."""
    ids = [f"r{i:03d}" for i in range(300)]
    rid = held_request(store, "k1", n=1)
    store.record_outcome(
        rid,
        counts={"received": 300, "matched": 300},
        disclosures=[disclosure(r, tin=f"8{i:08d}") for i, r in enumerate(ids)],
        decisions=[Decision(r, "matched", None, f"8{i:08d}", 0.99) for i, r in enumerate(ids)],
        now=T0,
    )
    withheld = {r: "a shelter" for r in ids[:3]}
    store.approve(rid, reviewer="R", note="ok", now=T0, withhold=withheld)
    decisions = store.delivery(rid).decisions
    assert [d.record_id for d in decisions] == ids
    assert [d.outcome for d in decisions[:4]] == ["unmatched"] * 3 + ["matched"]
