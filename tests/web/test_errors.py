"""Errors by meaning: one table turns each into its HTTP status, and an outage of the operational
database is answered 503 wherever it happens -- never 404, 409 or "not processed"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from conftest import PASSWORD, open_web
from tinmatch.errors import (
    ConfigError,
    ConflictError,
    EngineError,
    InputFileError,
    InvalidInputError,
    LedgerBrokenError,
    MasterNotLoadedError,
    NotFoundError,
    RefusedError,
    TinmatchError,
    UnavailableError,
)
from tinmatch.ops import Store
from tinmatch.web.errors import describe
from tinmatch.web.submissions import Submission, Submissions

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no request 'req-x'"), 404),
        (ConflictError("request req-x was already released"), 409),
        (RefusedError("agreement 'default' is suspended"), 409),
        (UnavailableError("operational database unavailable: connection refused"), 503),
        (MasterNotLoadedError("no master loaded"), 503),
        (InvalidInputError("a release needs the reviewer's name"), 400),
        (InputFileError("request.csv is empty"), 422),
        (ConfigError("unknown cover key"), 422),
        (EngineError("linking failed"), 500),
        (LedgerBrokenError("ledger broken at seq 3"), 500),
        (TinmatchError("a defect"), 500),
    ],
)
def test_each_error_has_the_status_of_its_meaning(error: TinmatchError, status: int) -> None:
    got, message, headers = describe(error)
    assert (got, message) == (status, str(error))
    assert (headers or {}).get("Retry-After") == ("30" if status == 503 else None)


def test_the_cli_keeps_its_exit_codes() -> None:
    """docs/operations.md's table: the meanings added to the ledger's errors keep exit 7."""
    codes = {
        cls.__name__: cls.exit_code
        for cls in (ConfigError, InvalidInputError, InputFileError, MasterNotLoadedError,
                    EngineError, RefusedError, NotFoundError, ConflictError, UnavailableError,
                    LedgerBrokenError)  # fmt: skip
    }
    assert codes == {
        "ConfigError": 2, "InvalidInputError": 2, "InputFileError": 3, "MasterNotLoadedError": 4,
        "EngineError": 5, "RefusedError": 6, "NotFoundError": 7, "ConflictError": 7,
        "UnavailableError": 7, "LedgerBrokenError": 7,
    }  # fmt: skip


def unreachable_store(tmp_path: Path) -> Store:
    """A store whose database cannot be opened: its folder does not exist (an outage)."""
    return Store(create_engine(f"sqlite:///{tmp_path / 'gone' / 'ops.sqlite'}"))


@pytest.fixture
def processed(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """An app whose agency A has a processed submission, held in the Store."""
    with Store.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as store:
        with open_web(tmp_path / "no-master", tmp_path, store) as web:
            record = store.begin_request(
                request_key="k1", agency="Agency A", official="Jane Agent", attestation="yes",
                agreement_id="default", agreement_sha256="a" * 64, model_sha256=None,
                input_sha256="i" * 64, input_name="request.csv", out_dir="/nowhere", n_rows=3,
                now=NOW,
            )  # fmt: skip
            store.record_outcome(
                record.id, counts={"received": 3}, disclosures=[], decisions=None,
                now=NOW,
            )  # fmt: skip
            submissions = Submissions(store.engine)
            key = web.client.app.state.accounts.verify_key(web.key_a)  # type: ignore[attr-defined]
            submissions.claim(
                Submission(record.id, "Agency A", key.id, "Jane Agent", "yes", "request.csv",
                           "/nowhere/request.csv", "/nowhere", 3, "queued", None, NOW, NOW)
            )  # fmt: skip
            submissions.set_state(record.id, "processed")
            web.client.headers["X-API-Key"] = web.key_a
            yield web.client, record.id


def test_database_outage_is_503_not_not_processed(
    processed: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, rid = processed
    assert client.get(f"/v1/requests/{rid}").json()["state"] == "held"
    assert client.get(f"/v1/requests/{rid}/matched.csv").status_code == 409  # not released
    # The Store's database goes away (the submissions table still answers). Before, the
    # error was swallowed: the request was shown as "processed", its files as not released.
    service = client.app.state.service  # type: ignore[attr-defined]
    service.store = unreachable_store(tmp_path)
    for path in (f"/v1/requests/{rid}", f"/v1/requests/{rid}/matched.csv", "/v1/requests"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.text)
        body = response.json()
        assert body["ok"] is False and body["status"] == 503
        assert "operational database unavailable" in body["error"]
        assert response.headers["Retry-After"] == "30"


def test_review_page_outage_is_503_not_404(
    processed: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, rid = processed
    login = client.post(
        "/review/login",
        data={"name": "Rita Reviewer", "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303
    assert client.get("/review/requests/req-0123456789abcdef").status_code == 404
    assert client.get(f"/review/requests/{rid}").status_code == 200
    client.app.state.service.store = unreachable_store(tmp_path)  # type: ignore[attr-defined]
    response = client.get(f"/review/requests/{rid}")
    assert response.status_code == 503 and "operational database unavailable" in response.text


def test_store_raises_by_meaning(tmp_path: Path) -> None:
    down = unreachable_store(tmp_path)
    with pytest.raises(UnavailableError, match="operational database unavailable"):
        down.get_request("req-00000000000000aa")
    with pytest.raises(UnavailableError):
        down.list_requests()
    with Store.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as store:
        with pytest.raises(NotFoundError, match="no request"):
            store.get_request("req-00000000000000aa")
        with pytest.raises(InvalidInputError, match="--why"):
            store.suspend("default", "  ", NOW)
        store.suspend("default", "audit", NOW)
        with pytest.raises(ConflictError, match="already suspended"):
            store.suspend("default", "again", NOW)
