"""The Store's request lifecycle: quotas, review, release once, recall, accounting, purge."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from _ops_fixtures import BACKENDS, T0, disclosure, held_request, open_store

from tinmatch.delivery import sha256_of
from tinmatch.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
)
from tinmatch.ops import Decision, Limits, Quota, Store
from tinmatch.ops.purge import purge
from tinmatch.ops.records import ResultFile


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_store(request.param, tmp_path)


def _check(
    store: Store,
    limits: Limits,
    *,
    n: int = 10,
    official: str = "Officer One",
    agency: str = "Agency A",
    minutes: float = 0,
    key: str | None = None,
) -> Quota:
    return store.check_submission(
        agency=agency,
        official=official,
        n_rows=n,
        now=T0 + timedelta(minutes=minutes),
        agreement_id="default",
        limits=limits,
        request_key=key,
    )


def test_begin_request_is_idempotent(store: Store) -> None:
    first = held_request(store, "same")
    again = store.begin_request(
        request_key="same",
        agency="Agency A",
        official="Officer One",
        attestation="x",
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256=None,
        input_sha256="i" * 64,
        input_name="same.xlsx",
        out_dir="/elsewhere",
        n_rows=5,
        now=T0 + timedelta(hours=1),
    )
    assert again.id == first
    assert again.status == "held"
    assert again.out_dir == "/elsewhere"
    assert [r.id for r in store.list_requests()] == [first]


def test_release_writes_one_entry_per_disclosure(store: Store) -> None:
    rid = held_request(store, n=4)
    assert store.get_request(rid).status == "held"
    assert store.ledger_entries() == []
    written = store.approve(rid, reviewer="Reviewer R", note="checked", now=T0)
    entries = store.ledger_entries()
    assert written.disclosed == 4 and written.status == "released"
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.record_id for e in entries] == [f"k1-r{i}" for i in range(4)]
    first = entries[0]
    assert first.entry_type == "disclosure"
    assert first.tin == "900000000"
    assert first.fields_released == ("street", "city", "state", "tax_year")
    assert first.match_probability == pytest.approx(0.9973)
    assert first.reviewer == "Reviewer R"
    assert first.agreement_sha256 == "a" * 64 and first.model_sha256 == "m" * 64
    assert first.released_at == T0 and first.released_at.tzinfo is not None
    assert entries[1].seq == first.seq + 1
    assert first.values == {"street": "12 Elm St", "city": "Springfield", "state": "IL",
                            "tax_year": 2024}  # fmt: skip
    assert store.latest_checkpoint() is not None  # a release signs a checkpoint
    record = store.get_request(rid)
    assert (record.status, record.reviewer, record.n_disclosed) == ("released", "Reviewer R", 4)
    assert store.verify_ledger() == []


def test_second_approve_writes_nothing(store: Store) -> None:
    rid = held_request(store)
    store.approve(rid, reviewer="R", note="", now=T0)
    with pytest.raises(ConflictError, match="already released.*nothing written"):
        store.approve(rid, reviewer="R", note="again", now=T0 + timedelta(minutes=1))
    assert len(store.ledger_entries()) == 3


def test_denied_request_cannot_be_released(store: Store) -> None:
    rid = held_request(store)
    store.deny(rid, reviewer="R", note="statute does not fit", now=T0)
    with pytest.raises(ConflictError, match="already denied"):
        store.approve(rid, reviewer="R", note="", now=T0)
    with pytest.raises(ConflictError, match="already denied"):
        store.deny(rid, reviewer="R", note="", now=T0)
    record = store.get_request(rid)
    assert (record.status, record.n_pending) == ("denied", 0)
    assert store.ledger_entries() == []


def test_released_request_cannot_be_denied(store: Store) -> None:
    rid = held_request(store)
    store.approve(rid, reviewer="R", note="", now=T0)
    with pytest.raises(ConflictError, match="already released"):
        store.deny(rid, reviewer="R", note="", now=T0)


def test_release_needs_an_outcome_and_a_reviewer(store: Store) -> None:
    record = store.begin_request(
        request_key="bare",
        agency="A",
        official="O",
        attestation="x",
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256=None,
        input_sha256="i" * 64,
        input_name="f",
        out_dir="/o",
        n_rows=1,
        now=T0,
    )
    with pytest.raises(ConflictError, match="no recorded outcome"):
        store.approve(record.id, reviewer="R", note="", now=T0)
    rid = held_request(store)
    with pytest.raises(InvalidInputError, match="reviewer"):
        store.approve(rid, reviewer="  ", note="", now=T0)
    with pytest.raises(NotFoundError, match="no request"):
        store.approve("req-missing", reviewer="R", note="", now=T0)


def test_record_outcome_replaces_the_pending_set(store: Store) -> None:
    rid = held_request(store, n=5)
    store.record_outcome(
        rid,
        counts={"received": 2, "matched": 2},
        disclosures=[disclosure("x"), disclosure("y")],
        decisions=[
            Decision("x", "matched", None, "123456789", 0.999),
            Decision("z", "unmatched", "ambiguous", None, 0.7),
        ],
        now=T0,
    )
    assert store.get_request(rid).counts == {"matched": 2, "received": 2}
    assert [d.reason for d in store.decisions(rid)] == [None, "ambiguous"]
    assert store.approve(rid, reviewer="R", note="", now=T0).disclosed == 2
    # re-processing a released request changes nothing
    after = store.record_outcome(
        rid,
        counts={"received": 9},
        disclosures=[disclosure("q")],
        decisions=None,
        now=T0,
    )
    assert after.status == "released" and after.counts == {"matched": 2, "received": 2}
    assert len(store.ledger_entries()) == 2


def test_recording_an_outcome_never_releases(store: Store) -> None:
    """Auto-release is gone: whatever the size, an outcome is held for reviewers."""
    record = store.begin_request(
        request_key="auto",
        agency="A",
        official="O",
        attestation="x",
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256=None,
        input_sha256="i" * 64,
        input_name="f",
        out_dir="/o",
        n_rows=1,
        now=T0,
    )
    out = store.record_outcome(
        record.id,
        counts={"received": 1},
        disclosures=[disclosure("a")],
        decisions=None,
        now=T0,
    )
    assert (out.status, out.n_disclosed, out.n_pending) == ("held", 0, 1)
    assert store.ledger_entries(record.id) == []
    with pytest.raises(TypeError):
        store.record_outcome(  # type: ignore[call-arg]
            record.id, counts={}, disclosures=[], decisions=None, now=T0, auto_release=True
        )


def test_min_interval_refuses_then_allows(store: Store) -> None:
    limits = Limits(min_interval_seconds=3600)
    _check(store, limits)
    held_request(store, "first")
    with pytest.raises(RefusedError, match="3600 s between requests"):
        _check(store, limits, minutes=30)
    _check(store, limits, minutes=30, agency="Agency B")
    _check(store, limits, minutes=30, key="first")  # re-processing the same request
    _check(store, limits, minutes=61)


def test_official_caseload_is_refused_whole(store: Store) -> None:
    limits = Limits(max_rows_per_official_per_period=12, period_days=30)
    held_request(store, "a", n=3)  # counts 5 rows (n_rows = n + 2)
    _check(store, limits, n=7)
    with pytest.raises(RefusedError, match="already has 5 rows.*cap of 12"):
        _check(store, limits, n=8)
    # the same official typed in another case and spacing counts against the same caseload,
    # in the same period (not only after it has rolled)
    for spelling in ("officer  one", "OFFICER ONE", " Officer\tOne "):
        with pytest.raises(RefusedError, match="already has 5 rows.*cap of 12"):
            _check(store, limits, n=8, official=spelling)
    _check(store, limits, n=8, official="Officer Two")
    # the period is rolling and open at its start: a request exactly 30 days old no longer counts,
    # one a minute younger still does
    with pytest.raises(RefusedError, match="already has 5 rows"):
        _check(store, limits, n=8, minutes=60 * 24 * 30 - 1)
    _check(store, limits, n=8, minutes=60 * 24 * 30)
    _check(store, limits, n=8, official="officer  one", minutes=60 * 24 * 31)  # period rolled
    store.deny(store.list_requests()[0].id, reviewer="R", note="", now=T0)
    _check(store, limits, n=12)  # denied requests do not count


def test_agency_quota(store: Store) -> None:
    limits = Limits(max_rows_per_request=100, max_rows_per_agency_per_period=20, period_days=30)
    assert _check(store, limits).remaining_rows_for_agency_in_period == 20
    held_request(store, "a", n=3)
    held_request(store, "b", n=10, official="Officer Two")
    quota = _check(store, limits)
    assert (quota.remaining_rows_for_agency_in_period, quota.max_rows_per_request) == (3, 100)
    assert _check(store, limits, agency="Agency B").remaining_rows_for_agency_in_period == 20
    assert _check(store, Limits()).remaining_rows_for_agency_in_period is None


def test_suspension_refuses_requests_and_releases(store: Store) -> None:
    rid = held_request(store)
    store.suspend("default", "audit finding 2026-07", T0)
    assert store.suspension("default") is not None
    assert store.suspension("other") is None
    with pytest.raises(RefusedError, match="suspended: audit finding"):
        _check(store, Limits())
    with pytest.raises(RefusedError, match="suspended"):
        store.approve(rid, reviewer="R", note="", now=T0)
    with pytest.raises(ConflictError, match="already suspended"):
        store.suspend("default", "again", T0)
    store.resume("default", T0 + timedelta(days=1), "fixed")
    assert store.suspension("default") is None
    _check(store, Limits())
    assert store.approve(rid, reviewer="R", note="", now=T0).disclosed == 3
    assert [e.action for e in store.agreement_events("default")] == ["suspend", "resume"]
    with pytest.raises(ConflictError, match="not suspended"):
        store.resume("default", T0)


def test_recall_is_an_entry_of_its_own(store: Store) -> None:
    rid = held_request(store)
    store.approve(rid, reviewer="R", note="", now=T0)
    later = T0 + timedelta(days=2)
    entry = store.recall(rid, "k1-r1", "wrong person: twin", later, by="Supervisor S")
    assert (entry.seq, entry.entry_type, entry.recalls_seq) == (4, "recall", 2)
    assert (entry.note, entry.reviewer, entry.created_at) == (
        "wrong person: twin",
        "Supervisor S",
        later,
    )
    assert entry.released_at == T0
    assert store.get_request(rid).recalled_record_ids == ("k1-r1",)
    about = store.disclosures_for_tin("900000001")
    assert [(e.seq, e.entry_type) for e in about] == [(2, "disclosure"), (4, "recall")]
    with pytest.raises(ConflictError, match="already recalled"):
        store.recall(rid, "k1-r1", "again", later, by="Supervisor S")
    with pytest.raises(NotFoundError, match="nothing to recall"):
        store.recall(rid, "nope", "x", later, by="Supervisor S")
    with pytest.raises(InvalidInputError, match="--by"):
        store.recall(rid, "k1-r2", "x", later, by="  ")
    assert store.verify_ledger() == []


def test_period_report(store: Store) -> None:
    a1 = held_request(store, "a1", n=3)
    held_request(store, "a2", n=2, now=T0 + timedelta(days=1))
    b1 = held_request(store, "b1", agency="Agency B", n=1)
    held_request(store, "old", n=4, now=T0 - timedelta(days=90))
    store.approve(a1, reviewer="R", note="", now=T0)
    store.deny(b1, reviewer="R", note="", now=T0)
    store.recall(a1, "a1-r0", "wrong", T0, by="Sup")
    report = store.period_report("2026-Q3")
    assert [row["agency"] for row in report] == ["Agency A", "Agency B"]
    a, b = report
    assert (a["requests"], a["held"], a["released"], a["received"], a["matched"]) == (2, 1, 1, 9, 5)
    assert (a["disclosed"], a["ledger_disclosed"], a["ledger_recalled"]) == (5, 3, 1)
    assert (b["requests"], b["denied"], b["ledger_disclosed"], b["ledger_recalled"]) == (1, 1, 0, 0)
    assert set(a) == set(b)
    assert store.period_report("2026-06")[0]["requests"] == 1  # the 'old' request
    assert store.period_report("2025") == []


def test_export_ledger_csv(store: Store) -> None:
    store.approve(held_request(store), reviewer="R", note="", now=T0)
    out = io.StringIO()
    assert store.export_ledger(out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("seq,entry_type,request_id,agency")
    assert len(lines) == 4 and lines[1].startswith("1,disclosure,")


def test_purge_removes_only_the_files_in_the_manifest(store: Store, tmp_path: Path) -> None:
    rid = held_request(store, "p")
    kept = held_request(store, "q")
    results = tmp_path / "result"
    results.mkdir()
    ours = results / "matched.csv"
    ours.write_text("record_id\nx\n")
    theirs = results / "notes.txt"
    theirs.write_text("the operator's own notes")
    store.begin_request(
        request_key="p",
        agency="Agency A",
        official="Officer One",
        attestation="x",
        agreement_id="default",
        agreement_sha256="a" * 64,
        model_sha256="m" * 64,
        input_sha256="i" * 64,
        input_name="p.xlsx",
        out_dir=str(results),
        n_rows=5,
        now=T0,
    )
    store.record_files(rid, [ResultFile(str(ours), sha256_of(ours), 8, T0)])
    store.approve(rid, reviewer="R", note="", now=T0)
    assert purge(store, "30d", T0 + timedelta(days=29)) == []
    done = purge(store, "30d", T0 + timedelta(days=31))
    assert [(d.request_id, d.files_removed) for d in done] == [(rid, 1)]
    assert not ours.exists()
    assert theirs.read_text() == "the operator's own notes"  # never a file it did not write
    assert [p.request_id for p in store.purge_log()] == [rid]
    assert store.get_request(rid).purged_at is not None
    assert store.get_request(kept).status == "held"
    assert store.result_files(rid) == []
    assert purge(store, "30d", T0 + timedelta(days=40)) == []


def test_purge_leaves_a_file_changed_since_and_never_the_store(
    store: Store, tmp_path: Path
) -> None:
    rid = held_request(store, "p")
    changed = tmp_path / "matched.csv"
    changed.write_text("record_id\nx\n")
    store.record_files(rid, [ResultFile(str(changed), sha256_of(changed), 8, T0)])
    changed.write_text("record_id\nsomething else\n")  # replaced after tinmatch wrote it
    planted = [ResultFile(p, "0" * 64, 0, T0) for p in store.database_files()[:1]]
    store.record_files(rid, planted)  # an insider lists the store in the manifest
    store.approve(rid, reviewer="R", note="", now=T0)
    (done,) = purge(store, "1d", T0 + timedelta(days=2))
    assert done.files_removed == 0 and changed.exists()
    assert any("changed since" in left for left in done.left)
    for path in store.database_files()[:1]:
        assert Path(path).exists()
    assert store.verify_ledger() == []
    assert len(store.ledger_entries()) == 3 and store.verify_ledger() == []


def test_limits_from_the_agreement() -> None:
    from tinmatch.agreement import Agreement

    limits = Limits.from_object(Agreement.load().limits)
    assert limits == Limits(
        max_rows_per_request=100000, max_rows_per_agency_per_period=1000000, period_days=30,
        max_rows_per_official_per_period=1000, min_interval_seconds=60,
    )  # fmt: skip
