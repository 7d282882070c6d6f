"""The service behind a proxy and in several processes: forwarded headers believed only from
configured proxies, accounts locked after wrong passwords, sessions ended at logout on the
server, rate limits shared by two app instances on one database; requests only from
registered officials; nothing served while the agency is suspended."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backends import BACKENDS, backend_url
from conftest import PASSWORD, Web, open_web, request_csv
from tinmatch.ops import Store
from tinmatch.ops.registry import Registry
from tinmatch.web.app import create_app


def login(client: TestClient, password: str = PASSWORD) -> int:
    response = client.post(
        "/review/login",
        data={"name": "Rita Reviewer", "password": password},
        follow_redirects=False,
    )
    return response.status_code


def url_for(backend: str, tmp_path: Path) -> str:
    return backend_url(backend, tmp_path, "shared.sqlite")


@contextmanager
def second_instance(web: Web, url: str) -> Iterator[TestClient]:
    """Another `serve` process on the same operational database: its own Store and app."""
    with Store.open(url) as store, TestClient(create_app(web.settings, store=store)) as client:
        yield client


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_instances_share_rate_limits_sessions_and_lockouts(
    master: Path, tmp_path: Path, backend: str
) -> None:
    url = url_for(backend, tmp_path)
    with (
        Store.open(url) as store,
        open_web(master, tmp_path, store, rate_per_minute=4) as web,
        second_instance(web, url) as other,
    ):
        # 4 calls a minute per key, whichever process answers them
        codes = [
            (web.client if i % 2 else other)
            .get("/v1/requests", headers={"X-API-Key": web.key_a})
            .status_code
            for i in range(6)
        ]
        assert codes == [200, 200, 200, 200, 429, 429]
        # a session opened on one process works on the other, and logout on either ends it
        assert login(web.client) == 303
        cookie = web.client.cookies.get("tinmatch_review")
        assert cookie
        other.cookies.set("tinmatch_review", cookie, path="/review")
        assert other.get("/review", follow_redirects=False).status_code == 200
        page = other.get("/review").text
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        assert other.post("/review/logout", data={"csrf": csrf}, follow_redirects=False)
        web.client.cookies.set("tinmatch_review", cookie, path="/review")
        gone = web.client.get("/review", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/review/login"
        # wrong passwords counted across processes lock the account on both
        for i in range(5):
            assert login(web.client if i % 2 else other, "wrong password!") == 401
        assert login(web.client) == 401 and login(other) == 401


def test_forwarded_for_is_believed_only_from_a_configured_proxy(
    master: Path, tmp_path: Path, store: Store
) -> None:
    with open_web(master, tmp_path, store, login_attempts_per_minute=3) as web:
        rotating = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(12)]
        codes = [
            web.client.post("/review/login", data={"name": "x", "password": "y"}, headers=h)
            .status_code
            for h in rotating
        ]
        assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}  # the header changed nothing
    proxied = tmp_path / "proxied"
    proxied.mkdir()
    with (
        Store.open(f"sqlite:///{proxied / 'ops.sqlite'}") as other_store,
        open_web(master, proxied, other_store, login_attempts_per_minute=3,
                 trusted_proxies=("10.0.0.0/8",)) as web,  # fmt: skip
        TestClient(web.client.app, client=("10.1.2.3", 5000)) as via_proxy,
    ):
        form = {"name": "x", "password": "y"}
        for i in range(5):  # each client behind the proxy has its own allowance
            h = {"X-Forwarded-For": f"203.0.113.{i}, 10.9.9.9"}
            assert via_proxy.post("/review/login", data=form, headers=h).status_code == 401
        same = {"X-Forwarded-For": "198.51.100.7"}
        codes = [via_proxy.post("/review/login", data=form, headers=same).status_code
                 for _ in range(4)]  # fmt: skip
        assert codes == [401, 401, 401, 429]


def test_an_unregistered_official_is_refused_and_a_respelled_one_counts_as_registered(
    web: Web,
) -> None:
    master = web.settings.master_db.parent
    status, body = web.submit(request_csv(master, 3, tag="U1"), official="Jane Agent (2)")
    assert status == 403 and "not a registered official of 'Agency A'" in str(body["error"])
    status, body = web.submit(request_csv(master, 3, tag="U2"), official="Agent, Jane")
    assert status in (200, 202), body
    record = web.store.get_request(str(web.settle(str(body["id"]))["id"]))
    assert record.official == "Jane Agent"


def test_released_files_are_not_served_while_the_agency_is_suspended(web: Web) -> None:
    master = web.settings.master_db.parent
    _, body = web.submit(request_csv(master, 4, tag="SUS"))
    rid = str(body["id"])
    assert web.settle(rid)["state"] == "held"
    web.store.approve(rid, reviewer="Rita Reviewer", note="ok", now=datetime.now(UTC))
    assert web.client.get(f"/v1/requests/{rid}/matched.csv",
                          headers={"X-API-Key": web.key_a}).status_code == 200  # fmt: skip
    registry = Registry(web.store)
    registry.suspend("Agency A", "audit 2026-12", "Oversight", datetime.now(UTC))
    refused = web.client.get(f"/v1/requests/{rid}/matched.csv", headers={"X-API-Key": web.key_a})
    assert refused.status_code == 403 and "audit 2026-12" in refused.json()["error"]
    _, status = web.get(f"/v1/requests/{rid}")
    assert status["downloads"] == {}
    registry.resume("Agency A", "closed", "Oversight", datetime.now(UTC))
    assert web.client.get(f"/v1/requests/{rid}/matched.csv",
                          headers={"X-API-Key": web.key_a}).status_code == 200  # fmt: skip


def test_serve_refuses_an_unregistered_agreement(
    master: Path, tmp_path: Path, store: Store
) -> None:
    from tinmatch.errors import ConfigError
    from tinmatch.web.settings import Settings

    path = tmp_path / "edited.toml"
    text = (Path(__file__).parents[2] / "src/tinmatch/data/default_agreement.toml").read_text()
    path.write_text(text.replace("max_cell_chars = 1000", "max_cell_chars = 900"))
    settings = Settings(master_db=master / "master.duckdb", work_dir=tmp_path / "w",
                        agreement_path=path)  # fmt: skip
    with pytest.raises(ConfigError, match="is not registered"):
        create_app(settings, store=store)
