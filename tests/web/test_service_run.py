"""The worker's side of the service without a master (fast; in the mutation runs): how one
submission is run through ``answer_request`` and what its outcome says, and how the worker
threads are warmed.

``answer_request``, ``by_tin.build`` and ``warm_up`` are replaced by fakes that record what they
were given: the pipeline itself is tested elsewhere (tests/web/test_api.py runs it end to end).
What is asserted here is the service's own part: the state and error text a requester sees for
each kind of failure (a crash's text is never shown), the log line an operator sees, and the
arguments passed on."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tinmatch.web.service as service_module
from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.errors import (
    ConfigError,
    ConflictError,
    EngineError,
    InputFileError,
    RefusedError,
    TinmatchError,
    UnavailableError,
)
from tinmatch.ops import Store
from tinmatch.web.service import Service
from tinmatch.web.settings import Settings
from tinmatch.web.submissions import Submission

ATTESTATION = "Each person named is under active criminal investigation; used only for it."
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _service(tmp_path: Path, store: Store, workers: int = 2) -> Service:
    settings = Settings(
        master_db=tmp_path / "master.duckdb",
        work_dir=tmp_path / "web",
        session_secret="test-secret",
        workers=workers,
    )
    return Service(settings, store, Agreement.load())


@pytest.fixture
def service(tmp_path: Path, store: Store) -> Iterator[Service]:
    svc = _service(tmp_path, store)
    try:
        yield svc
    finally:
        svc.workers.shutdown(wait=False)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """The records of the ``tinmatch.web`` logger (the app's logging setup stops propagation,
    so the handler is on that logger itself)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler = logging.getLogger("tinmatch.web"), Keep(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _queued(service: Service) -> Submission:
    sub, run = service.submissions.claim(
        Submission(
            id="REQ-00000000000000aa", agency="Agency A", api_key_id=1, official="Jane Agent",
            attestation=ATTESTATION, input_name="request.csv",
            upload_path=str(service.settings.uploads / "f0" / "request.csv"),
            out_dir=str(service.settings.results / "REQ-00000000000000aa"), n_rows=0,
            state="queued", error=None, created_at=T0, updated_at=T0,
        )  # fmt: skip
    )
    assert run
    return sub


class FakeAnswer:
    """``answer_request``: records its call and the submission's state then; raises `error`."""

    def __init__(self, service: Service, error: BaseException | None = None) -> None:
        self.service, self.error = service, error
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any], str]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sub = self.service.submissions.get("REQ-00000000000000aa")
        self.calls.append((args, kwargs, sub.state if sub is not None else "?"))
        if self.error is not None:
            raise self.error
        return SimpleNamespace(result=SimpleNamespace(rows=7), status="held")


def _run(
    service: Service, monkeypatch: pytest.MonkeyPatch, error: BaseException | None = None
) -> tuple[Submission, FakeAnswer]:
    fake = FakeAnswer(service, error)
    monkeypatch.setattr(service_module, "answer_request", fake)
    sub = _queued(service)
    service.run(sub, reporter := object())
    (call,) = fake.calls
    assert call[1]["reporter"] is reporter
    done = service.submissions.get(sub.id)
    assert done is not None
    return done, fake


def _logged_once(
    logged: list[logging.LogRecord], level: int, message: str, request_id: str
) -> logging.LogRecord:
    """The one record the run logged, checked for its level, message and request id."""
    (record,) = logged
    assert (record.levelno, record.getMessage()) == (level, message)
    assert getattr(record, "request_id", None) == request_id
    return record


def test_a_processed_request_is_run_on_its_upload_under_its_cover(
    service: Service, monkeypatch: pytest.MonkeyPatch, logged: list[logging.LogRecord]
) -> None:
    times = iter([T0, T0 + timedelta(seconds=1.23456)])

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            now = next(times)
            return now if tz is not None else now.replace(tzinfo=None)

    monkeypatch.setattr(service_module, "datetime", Clock)
    done, fake = _run(service, monkeypatch)
    ((args, kwargs, state_then),) = fake.calls
    assert state_then == "running"  # said before the pipeline starts
    assert args == (Path(done.upload_path), Path(done.out_dir))
    assert kwargs == {
        "db": service.settings.master_db,
        "agreement": service.agreement,
        "cover": Cover("Agency A", "Jane Agent", ATTESTATION),
        "store": service.store,
        "reporter": kwargs["reporter"],
    }
    assert (done.state, done.error) == ("processed", None)
    record = _logged_once(logged, logging.INFO, "request processed", done.id)
    fields = {k: getattr(record, k, None) for k in ("request_id", "agency", "rows", "status")}
    assert fields == {"request_id": done.id, "agency": "Agency A", "rows": 7, "status": "held"}
    assert getattr(record, "seconds", None) == 1.235  # to the millisecond


@pytest.mark.parametrize(
    "error",
    [
        RefusedError("agreement default is with 'Agency B',\n   not 'Agency A'"),
        InputFileError("request.csv:  no record_id\tcolumn"),
        ConfigError("agreement  expired\non 2026-06-30"),
    ],
)
def test_a_refused_request_says_why_in_one_line(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    logged: list[logging.LogRecord],
    error: TinmatchError,
) -> None:
    done, _ = _run(service, monkeypatch, error)
    assert (done.state, done.error) == ("refused", " ".join(str(error).split()))
    assert "  " not in (done.error or "") and "\n" not in (done.error or "")
    record = _logged_once(logged, logging.INFO, "request refused", done.id)
    assert getattr(record, "error", None) == str(error)


def test_an_unavailable_database_fails_the_request_and_is_logged_as_an_error(
    service: Service, monkeypatch: pytest.MonkeyPatch, logged: list[logging.LogRecord]
) -> None:
    error = UnavailableError("the operational database\n  did not answer")
    done, _ = _run(service, monkeypatch, error)
    assert (done.state, done.error) == ("failed", "the operational database did not answer")
    record = _logged_once(logged, logging.ERROR, "request failed: database unavailable", done.id)
    assert getattr(record, "error", None) == str(error)


@pytest.mark.parametrize(
    "error", [EngineError("the engine\n  stopped"), ConflictError("claimed  by another worker")]
)
def test_another_tinmatch_error_fails_the_request_with_its_message(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    logged: list[logging.LogRecord],
    error: TinmatchError,
) -> None:
    done, _ = _run(service, monkeypatch, error)
    assert (done.state, done.error) == ("failed", " ".join(str(error).split()))
    record = _logged_once(logged, logging.WARNING, "request failed", done.id)
    assert getattr(record, "error", None) == str(error)


def test_a_crash_is_never_shown_to_the_requester_only_logged(
    service: Service, monkeypatch: pytest.MonkeyPatch, logged: list[logging.LogRecord]
) -> None:
    crash = KeyError("tin 900000001 of row r7")
    done, _ = _run(service, monkeypatch, crash)
    assert (done.state, done.error) == ("failed", "internal error (logged on the server)")
    record = _logged_once(logged, logging.ERROR, "request crashed", done.id)
    assert record.exc_info is not None and record.exc_info[1] is crash  # the traceback, logged


# --- warming the workers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "workers", "threads"),
    [(8, 2, 8), (8, 3, 8), (2, 2, 2), (1, 2, 1), (None, 1, 1), (None, 2, 1)],
)
def test_each_worker_is_warmed_with_all_the_cores(
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    cpus: int | None,
    workers: int,
    threads: int,
) -> None:
    service = _service(tmp_path, store, workers)
    built: list[tuple[Path, Path]] = []
    indexed: list[tuple[Path, Path]] = []
    warmed: list[tuple[Any, ...]] = []
    returns = tmp_path / "serving" / "returns_by_tin.parquet"
    keys = tmp_path / "serving" / "block-keys"

    def build(db: Path, folder: Path) -> Path:
        built.append((db, folder))
        return returns

    def build_keys(db: Path, folder: Path) -> Path:
        indexed.append((db, folder))
        return keys

    def warm_up(db: Path, agreement: Agreement, **kw: Any) -> float:
        warmed.append((db, agreement, kw, threading.current_thread().name))
        return 0.25

    monkeypatch.setattr(service_module.by_tin, "build", build)
    monkeypatch.setattr(service_module.key_index, "build", build_keys)
    monkeypatch.setattr(service_module, "warm_up", warm_up)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    try:
        assert service.warm() == [0.25] * workers
    finally:
        service.workers.shutdown(wait=True)
    assert built == [(service.settings.master_db, service.settings.serving)]  # built once
    assert indexed == built
    assert len(warmed) == workers
    assert len({name for *_, name in warmed}) == workers  # once on every worker thread
    for db, agreement, kw, name in warmed:
        assert (db, agreement) == (service.settings.master_db, service.agreement)
        assert kw == {"returns_by_tin": returns, "threads": threads, "key_index": keys}
        assert type(kw["threads"]) is int and name.startswith("tinmatch")
