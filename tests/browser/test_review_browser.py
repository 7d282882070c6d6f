"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
a reviewer signs in, opens a held request, withholds a row on the row-by-row page, approves it;
the requester downloads the results, a recall follows, and the next download lacks that row.

Skipped when /usr/bin/chromium or the playwright package is missing (.ci/run installs both).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from enroll import enroll

CHROMIUM = Path(os.environ.get("TINMATCH_CHROMIUM", "/usr/bin/chromium"))
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed")

PASSWORD = "correct horse battery staple"
ATTESTATION = "Each person named is under active criminal investigation; used only for it."
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def tinmatch(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tinmatch", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, f"tinmatch {args[0]} failed: {done.stderr}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A running server on a small synthetic master: (base URL, API key, data folder)."""
    import uvicorn

    from tinmatch.ops import Store
    from tinmatch.web.accounts import Accounts
    from tinmatch.web.app import create_app
    from tinmatch.web.settings import Settings

    root = tmp_path_factory.mktemp("browser")
    tinmatch("synth", "--people", "1000", "--requests", "40", "--seed", "11", "--out", "D",
             cwd=root)  # fmt: skip
    tinmatch("load-master", "--taxpayers", "D/taxpayers.parquet", "--returns",
             "D/returns.parquet", "--db", "D/master.duckdb", "-q", cwd=root)  # fmt: skip
    store = Store.open(f"sqlite:///{root / 'ops.sqlite'}")
    enroll(store, "Agency A", "Jane Agent")  # a key and a request need registered requesters
    accounts = Accounts(store.engine)
    key = accounts.create_key("Agency A")
    accounts.add_reviewer("Rita Reviewer", PASSWORD)
    settings = Settings(master_db=root / "D" / "master.duckdb", work_dir=root / "web")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, store=store),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )  # fmt: skip
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key, root / "D"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()


def test_reviewer_withholds_a_row_approves_then_a_recall_stops_delivery(
    service: tuple[str, str, Path], tmp_path: Path
) -> None:
    """In Chromium: sign in, open the held request, read the rows to be disclosed beside what
    was asked, check one row to withhold it (with a reason), approve. The requester downloads
    matched.csv (without the withheld row); a recall follows; the next download lacks the
    recalled row too and recalls.csv lists it."""
    from tinmatch.ops import Store

    base, key, data = service
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
        body = (data / "request.csv").read_bytes()
        submitted = api.post(
            "/v1/requests",
            params={"wait": "true"},
            files={"file": ("request.csv", body, "text/csv")},
            data={"official": "Jane Agent", "attestation": ATTESTATION},
        ).json()
        rid = submitted["id"]
        deadline = time.monotonic() + 180  # a busy machine can outlast ?wait's cap
        while submitted["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            submitted = api.get(f"/v1/requests/{rid}").json()
        assert submitted["state"] == "held", submitted
        assert api.get(f"/v1/requests/{rid}/result.xlsx").status_code == 409
        assert api.get(f"/v1/requests/{rid}/matched.csv").status_code == 409

        with playwright_api.sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
            )
            try:
                page = context.new_page()
                page.goto(f"{base}/review")
                assert page.url.endswith("/review/login")
                page.get_by_label("Name").fill("Rita Reviewer")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{base}/review")
                page.get_by_role("link", name=rid).click()
                page.wait_for_url(f"{base}/review/requests/{rid}")
                assert page.get_by_role("heading", level=1).inner_text() == f"Request {rid} held"
                assert page.locator("svg[role=img]").count() == 2
                page.get_by_role("link", name="lowest probabilities first").click()
                page.wait_for_url(f"{base}/review/requests/{rid}?order=lowest")
                rows = page.locator("table.rows tbody tr")
                assert rows.count() >= 2
                first = rows.nth(0).locator("th").inner_text()
                header = page.locator("table.rows thead").inner_text()
                for column in ("Asked: address given", "Would leave: address", "Why"):
                    assert column in header
                assert "bits" in rows.nth(0).inner_text()
                page.get_by_label(f"Withhold {first}").check()
                page.get_by_label("Why the checked rows are withheld").fill("a shelter's address")
                page.get_by_label("Note (recorded with the decision)").fill("rows checked")
                page.get_by_role("button", name="Approve and release").click()
                page.wait_for_url(f"{base}/review/requests/{rid}?done=released")
                assert "Released" in page.get_by_role("status").inner_text()
                page.screenshot(path=str(tmp_path / "released.png"), full_page=True)
                shot = os.environ.get("TINMATCH_SCREENSHOT")
                if shot:
                    page.screenshot(path=shot, full_page=True)
            finally:
                context.close()

        after = api.get(f"/v1/requests/{rid}").json()
        assert after["state"] == "released"
        download = api.get(f"/v1/requests/{rid}/result.xlsx")
        assert download.status_code == 200 and download.content[:2] == b"PK"
        matched = api.get(f"/v1/requests/{rid}/matched.csv")
        assert matched.status_code == 200
        assert matched.text.splitlines()[0].startswith("record_id,street")
        delivered = [line.split(",")[0] for line in matched.text.splitlines()[1:]]
        assert first not in delivered and delivered

        victim = delivered[0]
        with Store.open(service_db(data), create=False) as store:
            store.recall(rid, victim, "requester reports wrong person", datetime.now(UTC),
                         by="Rita Reviewer")  # fmt: skip
        again = api.get(f"/v1/requests/{rid}/matched.csv")
        assert victim not in [line.split(",")[0] for line in again.text.splitlines()[1:]]
        recalls = api.get(f"/v1/requests/{rid}/recalls.csv")
        assert recalls.status_code == 200 and f"{victim}," in recalls.text
        assert "recalls.csv" in api.get(f"/v1/requests/{rid}").json()["downloads"]


def service_db(data: Path) -> str:
    """The operational database of the `service` fixture (beside the data folder)."""
    return f"sqlite:///{data.parent / 'ops.sqlite'}"
