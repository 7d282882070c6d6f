"""On demand (issue 19 item 4): workers warmed at start, and the service's fast path for small
requests decides exactly as the batch path does."""

from __future__ import annotations

import csv
import importlib
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ATTESTATION, open_web, request_csv
from enroll import enroll, register_agreement
from tinmatch.agreement import Agreement
from tinmatch.answer import answer_request
from tinmatch.cover import Cover
from tinmatch.ops import Store

link = importlib.import_module("tinmatch.engines.duckdb")


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, calls: list[str]) -> None:
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)


def _unused(*args: Any) -> str:
    raise AssertionError("the batch path reads the master's own returns")


def test_workers_are_warm_before_the_first_request(
    master: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker opens its engine and compiles the small-request SQL at start; requests after
    it do neither, whichever worker takes them."""
    calls: list[str] = []
    _count(monkeypatch, link.LinkEngine, "open", calls)
    _count(monkeypatch, link, "block_pairs_sql", calls)
    _count(monkeypatch, link, "score_pairs_sql", calls)
    with open_web(master, tmp_path, store, workers=2) as web:
        at_start = list(calls)
        for i in range(4):
            status, body = web.submit(request_csv(master, 12, tag=f"W{i}"))
            assert status == 200 and body["state"] == "held", body
        after = calls[len(at_start) :]
    assert sorted(at_start) == sorted(["open", "block_pairs_sql", "score_pairs_sql"] * 2)
    assert after == []


def test_without_warming_the_first_request_opens_the_engine(
    master: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counter-test of the one above: with warm_workers off, the first request pays."""
    calls: list[str] = []
    _count(monkeypatch, link.LinkEngine, "open", calls)
    with open_web(master, tmp_path, store, workers=1, warm_workers=False) as web:
        assert calls == []
        status, body = web.submit(request_csv(master, 12, tag="COLD"))
        assert status == 200 and body["state"] == "held", body
    assert calls == ["open"]


def test_warming_looks_nobody_up_and_keeps_nothing(
    master: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warming reads no master row, records no request and leaves no file behind."""
    fetched: list[int] = []
    real = link.LinkEngine._candidate_rows

    def counted(self: Any, request_table: str, name: str) -> None:
        real(self, request_table, name)
        fetched.append(self.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])

    monkeypatch.setattr(link.LinkEngine, "_candidate_rows", counted)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with open_web(master, tmp_path, store, workers=2):
        assert fetched == [0, 0]  # one warm-up per worker, no master row read
        assert store.list_requests() == []
        assert list(scratch.iterdir()) == []  # the warm-up's request and results are gone
        assert not (tmp_path / "web" / "results").exists() or not any(
            (tmp_path / "web" / "results").iterdir()
        )


def test_the_service_decides_as_the_batch_path(
    master: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows through the API (the small path: SQL compiled once per warm worker) and
    through ``answer_request`` forced onto the chunk path (Splink's SQL generated per chunk,
    over the whole master; disclosed from the master's own returns, not the copy sorted by
    TIN) give the same decisions row by row -- outcome, reason, TIN and
    probability -- and byte-identical held, unmatched and rejected files."""
    body = request_csv(master, 60, tag="SAME")
    sorted_copy: list[str] = []
    _count(monkeypatch, link.by_tin, "returns_of", sorted_copy)
    (tmp_path / "served").mkdir()
    with open_web(master, tmp_path / "served", store) as web:
        # two requests first, so the compared one runs on SQL compiled earlier
        for i in range(2):
            web.submit(request_csv(master, 12, tag=f"PRE{i}"))
        status, answer = web.submit(body)
        assert status == 200 and answer["state"] == "held", answer
        served_dir = web.settings.results / str(answer["id"])
        agreement_path = web.settings.agreement_path
    assert sorted_copy  # the service disclosed from the returns sorted by TIN
    monkeypatch.setattr(link.by_tin, "returns_of", _unused)
    assert agreement_path is not None
    served = store.decisions(str(answer["id"]))

    other_store = Store.open(f"sqlite:///{tmp_path / 'batch.sqlite'}")
    enroll(other_store, "Agency A", "Jane Agent")
    request = tmp_path / "request.csv"
    request.write_bytes(body)
    monkeypatch.setattr(link, "SMALL_REQUEST_ROWS", 0)  # the chunk path, as a large request
    register_agreement(other_store, agreement_path)
    batch = answer_request(
        request,
        tmp_path / "batch",
        db=master / "master.duckdb",
        agreement=Agreement.load(agreement_path),
        cover=Cover("Agency A", "Jane Agent", ATTESTATION),
        store=other_store,
    )
    batched = other_store.decisions(batch.record.id)
    # each row to be disclosed carries what its own request row asked (for the reviewer)
    asked = {r["record_id"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    pending = other_store.pending(batch.record.id)
    assert pending
    for row in pending:
        wanted = asked[row.record_id]
        assert row.asked.get("case_number") == wanted["case_number"].strip(), row.record_id
        assert row.asked.get("last_name") == (wanted["last_name"].strip() or None), row.record_id
    other_store.close()

    def rows(decisions: list[Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (d.record_id, d.outcome, d.reason, d.tin,
             None if d.probability is None else round(d.probability, 9))
            for d in decisions
        )  # fmt: skip

    assert len(served) == 60
    assert {d.outcome for d in served} >= {"matched", "unmatched", "rejected"}
    assert rows(served) == rows(batched)
    for name in ("held.csv", "unmatched.csv", "rejected.csv"):
        assert (served_dir / name).read_bytes() == (tmp_path / "batch" / name).read_bytes(), name
