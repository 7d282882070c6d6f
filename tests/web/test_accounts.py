"""Keys, reviewer accounts, submissions and the audit logs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends import BACKENDS, backend_url
from enroll import enroll
from tinmatch.errors import ConfigError, ConflictError, NotFoundError
from tinmatch.ops import Store
from tinmatch.web.accounts import Accounts
from tinmatch.web.audit import Audit
from tinmatch.web.charts import bar_chart, probability_bins
from tinmatch.web.hashing import check_password, hash_password, split_api_key
from tinmatch.web.logging import JsonFormatter
from tinmatch.web.service import safe_name
from tinmatch.web.sessions import Sessions
from tinmatch.web.submissions import Submission, Submissions
from tinmatch.web.throttle import RateLimiter
from tinmatch.web.workers import BusyError, Workers

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = backend_url(request.param, tmp_path)
    store = Store.open(url)
    request.addfinalizer(store.close)
    return store


def test_keys(db: Store) -> None:
    accounts = Accounts(db.engine)
    with pytest.raises(NotFoundError, match="not registered"):
        accounts.create_key("Agency A")  # a key belongs to a registered agency
    enroll(db, "Agency A")
    key = accounts.create_key("  Agency   A ", "case system", now=NOW)
    found = accounts.verify_key(key)
    assert found is not None and found.agency == "Agency A" and found.label == "case system"
    assert accounts.verify_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert accounts.verify_key("tmk_short") is None
    with pytest.raises(ConfigError):
        accounts.create_key("  ")
    accounts.revoke_key(found.prefix)
    assert accounts.verify_key(key) is None
    assert accounts.list_keys()[0].revoked_at is not None
    with pytest.raises(NotFoundError, match="no API key"):
        accounts.revoke_key("000000000000")


def test_reviewers(db: Store) -> None:
    accounts = Accounts(db.engine)
    rita = accounts.add_reviewer("Rita Reviewer", "a long passphrase")
    assert accounts.check_reviewer("Rita Reviewer", "a long passphrase") == rita
    assert accounts.check_reviewer("Rita Reviewer", "a long passphrasE") is None
    assert accounts.check_reviewer("Nobody", "a long passphrase") is None
    assert accounts.reviewer(rita.id) == rita
    with pytest.raises(ConflictError, match="exists"):
        accounts.add_reviewer("Rita Reviewer", "another passphrase")
    with pytest.raises(ConfigError, match="at least"):
        accounts.add_reviewer("Sam", "short")


def _sub(sid: str = "req-0000000000000001", agency: str = "Agency A") -> Submission:
    return Submission(
        sid, agency, 1, "Jane", "attested", "r.csv", "/tmp/u/r.csv", "/tmp/o", 0, "queued",
        None, NOW, NOW,
    )  # fmt: skip


def test_submissions_claim_once_and_retry_after_refusal(db: Store) -> None:
    subs = Submissions(db.engine)
    first, run = subs.claim(_sub())
    assert run and first.state == "queued"
    again, run = subs.claim(_sub())
    assert not run and again.id == first.id
    subs.set_state(first.id, "refused", "no cover")
    retried, run = subs.claim(_sub())
    assert run and retried.state == "queued" and retried.error is None
    subs.claim(_sub("req-0000000000000002", agency="Agency B"))
    assert [s.id for s in subs.for_agency("Agency B")] == ["req-0000000000000002"]
    assert subs.fail_interrupted() == 2
    assert subs.get(first.id).state == "failed"  # type: ignore[union-attr]


def test_audit_logs(db: Store) -> None:
    audit = Audit(db.engine)
    audit.log_call(method="GET", path="/v1/requests", status=200, duration_ms=1.5, agency="A")
    audit.log_views("Rita", "req-1", [(None, "request_page", ""), ("R1", "candidate_tin_masked",
                                                                   "•••-••-1234")])  # fmt: skip
    assert [c.status for c in audit.calls("A")] == [200]
    views = audit.views("req-1")
    assert [(v.record_id, v.what) for v in views] == [
        (None, "request_page"),
        ("R1", "candidate_tin_masked"),
    ]


def test_password_and_key_helpers() -> None:
    stored = hash_password("pass phrase one")
    assert stored.startswith("scrypt$") and "pass phrase" not in stored
    assert check_password("pass phrase one", stored)
    assert not check_password("pass phrase two", stored)
    assert not check_password("x", "garbage")
    assert split_api_key("tmk_abcdef012345_" + "s" * 43) == "abcdef012345"
    assert split_api_key("tmk_abc_" + "s" * 43) is None


def test_sessions_live_in_the_database_and_end_at_logout(db: Store) -> None:
    sessions = Sessions(db.engine)
    token = sessions.create(7, hours=1, now=NOW)
    assert sessions.reviewer_id(token, now=NOW) == 7
    assert Sessions(db.engine).reviewer_id(token, now=NOW) == 7  # any process sees it
    assert sessions.reviewer_id(token, now=NOW + timedelta(seconds=3601)) is None
    assert sessions.reviewer_id("8" + token[1:], now=NOW) is None
    assert sessions.revoke(token, now=NOW)
    assert sessions.reviewer_id(token, now=NOW) is None
    assert not sessions.revoke(token, now=NOW)


def test_accounts_lock_after_repeated_wrong_passwords(db: Store) -> None:
    accounts = Accounts(db.engine)
    accounts.add_reviewer("Rita Reviewer", "a long passphrase")
    for _ in range(4):
        assert accounts.check_reviewer("Rita Reviewer", "guess", now=NOW) is None
    assert accounts.check_reviewer("Rita Reviewer", "a long passphrase", now=NOW) is not None
    for _ in range(5):  # the good password reset the count: five more lock it
        assert accounts.check_reviewer("Rita Reviewer", "guess", now=NOW) is None
    assert accounts.check_reviewer("Rita Reviewer", "a long passphrase", now=NOW) is None
    later = NOW + timedelta(minutes=16)
    assert accounts.check_reviewer("Rita Reviewer", "a long passphrase", now=later) is not None


def test_rate_limiter_refills(db: Store) -> None:
    limiter = RateLimiter(db.engine, per_minute=2)
    assert limiter.take("k", now=0.0) == 0 and limiter.take("k", now=0.0) == 0
    assert limiter.take("k", now=0.0) == pytest.approx(30.0)
    assert limiter.take("k", now=31.0) == 0
    assert limiter.take("other", now=0.0) == 0


def test_workers_are_bounded() -> None:
    workers = Workers(workers=1, max_queue=2)
    gate = threading.Event()
    try:
        first = workers.submit("a", lambda r: gate.wait(5) and None)
        workers.submit("b", lambda r: None)
        with pytest.raises(BusyError):
            workers.submit("c", lambda r: None)
        assert workers.submit("a", lambda r: None) is first  # the same job is not queued twice
    finally:
        gate.set()
        workers.shutdown()


def test_progress_is_reported() -> None:
    workers = Workers(workers=1, max_queue=2)
    seen: list[dict[str, object] | None] = []
    gate = threading.Event()

    def job(reporter: object) -> None:
        with reporter.task("matching request rows", 10) as advance:  # type: ignore[attr-defined]
            advance(4)
            seen.append(workers.progress("j"))
            gate.wait(5)

    future = workers.submit("j", job)
    gate.set()
    future.result(5)
    workers.shutdown()
    assert seen == [{"stage": "matching request rows", "done": 4, "total": 10}]
    assert workers.progress("j") is None  # forgotten once finished: the store has the outcome


def test_charts_and_names() -> None:
    bins = probability_bins([0.1, 0.5, 0.995, 1.0, 1.0])
    assert [n for _, n in bins] == [1, 1, 0, 0, 0, 1, 2]
    chart = bar_chart("t", bins)
    assert max(b.width for b in chart.bars) > 0 and chart.total == 5
    assert bar_chart("empty", []).total == 0
    assert safe_name("../../etc/passwd.csv") == "passwd.csv"
    assert safe_name("C:\\x\\my file (1).xlsx") == "my_file_1_.xlsx"


def test_json_log_lines() -> None:
    record = logging.LogRecord("tinmatch.web", logging.INFO, "f", 1, "http", (), None)
    record.status = 200  # an `extra` field
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "http" and line["status"] == 200 and line["level"] == "info"
