"""Fixtures of the web tests: one synthetic master per session, one app and store per test.

The operational database is SQLite; tests marked with `backend` also run on PostgreSQL when
TINMATCH_TEST_POSTGRES_URL is set (its tinmatch tables are dropped first).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from enroll import enroll, register_agreement
from tinmatch.ops import Store
from tinmatch.web.accounts import Accounts
from tinmatch.web.app import create_app
from tinmatch.web.settings import Settings

DEFAULT_AGREEMENT = Path(__file__).parents[2] / "src/tinmatch/data/default_agreement.toml"
TEST_AGREEMENT_EDITS = {
    "min_interval_seconds = 60": "min_interval_seconds = 0",
    "max_rows_per_official_per_period = 1000": "max_rows_per_official_per_period = 10000",
}
ATTESTATION = "Each person named is under active criminal investigation; used only for it."
PASSWORD = "correct horse battery staple"


def tinmatch(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tinmatch", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, f"tinmatch {args[0]} failed: {done.stderr}"


@pytest.fixture(scope="session")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic master (3,000 people) and its request file, built once per session."""
    root = tmp_path_factory.mktemp("web-master")
    tinmatch("synth", "--people", "3000", "--requests", "300", "--seed", "5", "--out", "D",
             cwd=root)  # fmt: skip
    tinmatch("load-master", "--taxpayers", "D/taxpayers.parquet", "--returns",
             "D/returns.parquet", "--db", "D/master.duckdb", "-q", cwd=root)  # fmt: skip
    return root / "D"


def request_csv(master: Path, rows: int, tag: str = "") -> bytes:
    """The first `rows` rows of the synthetic request; `tag` makes the file's bytes unique."""
    lines = (master / "request.csv").read_text(encoding="utf-8").splitlines()[: rows + 1]
    if tag:
        lines = [lines[0]] + [line.replace("ICE-2026-", f"ICE-{tag}-") for line in lines[1:]]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as opened:
        yield opened


@dataclass
class Web:
    client: TestClient
    store: Store
    settings: Settings
    key_a: str
    key_b: str

    def submit(
        self, body: bytes, *, key: str | None = None, name: str = "request.csv",
        wait: bool = True, official: str = "Jane Agent", attestation: str = ATTESTATION,
    ) -> tuple[int, dict[str, object]]:  # fmt: skip
        response = self.client.post(
            "/v1/requests",
            params={"wait": "true"} if wait else None,
            headers={"X-API-Key": key or self.key_a},
            files={"file": (name, body, "text/csv")},
            data={"official": official, "attestation": attestation},
        )
        return response.status_code, response.json()

    def settle(
        self, rid: str, key: str | None = None, timeout: float = 180.0
    ) -> dict[str, object]:
        """Poll a request until it leaves queued/running (busy CI can outlast ?wait)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            _, body = self.get(f"/v1/requests/{rid}", key)
            if body.get("state") not in ("queued", "running") or time.monotonic() > deadline:
                return body
            time.sleep(0.5)

    def get(self, path: str, key: str | None = None) -> tuple[int, dict[str, object]]:
        response = self.client.get(path, headers={"X-API-Key": key or self.key_a})
        return response.status_code, response.json()


def test_agreement(tmp_path: Path, store: Store) -> Path:
    """The default agreement without the pause between requests (tests send several in a
    row) and with room for many rows per official: registered, with its two approvers."""
    text = DEFAULT_AGREEMENT.read_text(encoding="utf-8")
    for old, new in TEST_AGREEMENT_EDITS.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "web-agreement.toml"
    path.write_text(text, encoding="utf-8")
    register_agreement(store, path)
    return path


def make_web(master: Path, tmp_path: Path, store: Store, **overrides: object) -> Iterator[Web]:
    enroll(store, "Agency A", "Jane Agent")
    enroll(store, "Agency B", "Jane Agent")
    if "agreement_path" not in overrides:
        overrides["agreement_path"] = test_agreement(tmp_path, store)
    settings = Settings(
        master_db=master / "master.duckdb",
        work_dir=tmp_path / "web",
        session_secret="test-secret",
        **overrides,  # type: ignore[arg-type]
    )
    accounts = Accounts(store.engine)
    key_a = accounts.create_key("Agency A")
    key_b = accounts.create_key("Agency B")
    accounts.add_reviewer("Rita Reviewer", PASSWORD)
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        yield Web(client, store, settings, key_a, key_b)


open_web = contextmanager(make_web)
"""`with open_web(master, tmp_path, store, **settings) as web:` for tests with own settings."""


@pytest.fixture
def web(master: Path, tmp_path: Path, store: Store) -> Iterator[Web]:
    yield from make_web(master, tmp_path, store)
