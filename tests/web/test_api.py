"""The requesters' API: authentication, isolation between agencies, limits, results."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from conftest import Web, make_web, request_csv
from tinmatch.delivery import approve
from tinmatch.ops import Store
from tinmatch.web.accounts import Accounts
from tinmatch.web.audit import Audit

ERROR_KEYS = {"ok", "error", "status"}


def assert_error(response_status: int, body: dict[str, object], status: int) -> None:
    assert response_status == status
    assert set(body) == ERROR_KEYS
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]


def test_one_error_shape_for_every_failure(web: Web) -> None:
    client = web.client
    cases = [
        (client.get("/v1/requests"), 401),  # no key
        (client.get("/v1/requests", headers={"X-API-Key": "tmk_nope"}), 401),
        (client.get("/v1/requests/req-0123456789abcdef", headers={"X-API-Key": web.key_a}), 404),
        (client.get("/v1/requests/not-an-id", headers={"X-API-Key": web.key_a}), 422),
        (client.get("/v1/nowhere"), 404),
        (client.delete("/v1/requests", headers={"X-API-Key": web.key_a}), 405),
        (client.post("/v1/requests", headers={"X-API-Key": web.key_a}), 422),
    ]
    for response, status in cases:
        assert_error(response.status_code, response.json(), status)
        assert response.headers["content-type"].startswith("application/json")


def test_auth_failures(web: Web, store: Store) -> None:
    body = request_csv(web.settings.master_db.parent, 3)
    assert_error(*web.submit(body, key="garbage"), 401)
    bearer = web.client.get("/v1/requests", headers={"Authorization": f"Bearer {web.key_a}"})
    assert bearer.status_code == 200
    # a well-formed key whose secret part is wrong
    prefix = web.key_a.split("_")[1]
    assert_error(*web.get("/v1/requests", key=f"tmk_{prefix}_{'x' * 43}"), 401)
    Accounts(store.engine).revoke_key(prefix)
    assert_error(*web.get("/v1/requests"), 401)
    assert web.get("/v1/requests", key=web.key_b)[0] == 200


def test_keys_are_stored_hashed(web: Web, store: Store) -> None:
    with store.engine.connect() as conn:
        dumped = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM api_keys"))
        reviewers = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM reviewers"))
    assert web.key_a.split("_")[1] in dumped  # the public prefix
    assert web.key_a not in dumped and web.key_a.split("_")[2] not in dumped
    assert "correct horse" not in reviewers and "scrypt$" in reviewers


def test_small_request_waits_and_is_held(web: Web) -> None:
    status, body = web.submit(request_csv(web.settings.master_db.parent, 12))
    assert status == 200, body
    assert body["state"] == "held" and str(body["id"]).startswith("req-")
    # before a release the requester learns nothing that needed a lookup
    counts = body["counts"]
    assert isinstance(counts, dict) and set(counts) <= {"received", "rejected"}
    assert counts["received"] == 12
    # rows nothing was looked up for are served at once (issue 18); the rest waits for release
    assert set(body["downloads"]) == {"rejected.csv"}
    status, again = web.get(f"/v1/requests/{body['id']}")
    assert status == 200 and again["state"] == "held"
    for name in ("result.xlsx", "matched.csv", "unmatched.csv"):
        assert_error(*_download(web, str(body["id"]), name), 409)


def _download(web: Web, rid: str, name: str, key: str | None = None) -> tuple[int, dict]:
    response = web.client.get(f"/v1/requests/{rid}/{name}", headers={"X-API-Key": key or web.key_a})
    return response.status_code, response.json()


def test_another_agency_sees_nothing(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 5))
    rid = str(body["id"])
    approve(web.store, rid, reviewer="Rita Reviewer", note="ok", now=datetime.now(UTC))
    assert_error(*web.get(f"/v1/requests/{rid}", key=web.key_b), 404)
    assert_error(*_download(web, rid, "matched.csv", key=web.key_b), 404)
    status, listing = web.get("/v1/requests", key=web.key_b)
    assert status == 200 and listing["requests"] == []
    response = web.client.get(f"/v1/requests/{rid}/matched.csv", headers={"X-API-Key": web.key_a})
    assert response.status_code == 200


def test_the_same_file_from_another_agency_is_its_own_request(web: Web) -> None:
    """The request key holds the agency: agency B sending agency A's very file never gets
    A's request id, status, counts or download links."""
    body = request_csv(web.settings.master_db.parent, 6)
    _, a = web.submit(body)
    rid_a = str(a["id"])
    approve(web.store, rid_a, reviewer="Rita Reviewer", note="ok", now=datetime.now(UTC))
    _, a = web.get(f"/v1/requests/{rid_a}")
    assert a["state"] == "released" and a["downloads"]
    status, b = web.submit(body, key=web.key_b)
    assert status == 200, b
    rid_b = str(b["id"])
    assert rid_b != rid_a
    assert b["state"] == "held"
    downloads = b["downloads"]
    assert isinstance(downloads, dict) and set(downloads) <= {"rejected.csv"}  # not released
    assert all(rid_b in str(link) for link in downloads.values())
    counts = b["counts"]
    assert isinstance(counts, dict) and set(counts) <= {"received", "rejected"}
    assert rid_a not in str(b)
    _, listing = web.get("/v1/requests", key=web.key_b)
    assert [r["id"] for r in listing["requests"]] == [rid_b]  # type: ignore[union-attr,index]
    assert_error(*web.get(f"/v1/requests/{rid_a}", key=web.key_b), 404)
    assert_error(*_download(web, rid_a, "matched.csv", key=web.key_b), 404)
    # and A's request is untouched by B's
    _, a_again = web.get(f"/v1/requests/{rid_a}")
    assert a_again["state"] == "released"


def test_released_results_download(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 12))
    rid = str(body["id"])
    approve(web.store, rid, reviewer="Rita Reviewer", note="checked", now=datetime.now(UTC))
    status, after = web.get(f"/v1/requests/{rid}")
    assert after["state"] == "released"
    counts = after["counts"]
    assert isinstance(counts, dict)
    assert counts["matched"] + counts["unmatched"] + counts["rejected"] == 12
    assert set(after["downloads"]) == {  # type: ignore[arg-type]
        "result.xlsx", "matched.csv", "rejected.csv", "unmatched.csv",
    }  # fmt: skip
    headers = {"X-API-Key": web.key_a}
    matched = web.client.get(f"/v1/requests/{rid}/matched.csv", headers=headers)
    assert matched.status_code == 200 and matched.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(matched.text)))
    assert len(rows) == counts["matched"]
    assert "tin" not in (matched.text.splitlines()[0].split(","))
    xlsx = web.client.get(f"/v1/requests/{rid}/result.xlsx", headers=headers)
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert {"summary", "matched"} <= set(book.sheetnames)


def test_rows_of_only_overlong_cells_are_rejected_not_lost(web: Web) -> None:
    """End to end, nothing lost: two rows in the middle of the file whose only value is a cell
    over max_cell_chars (the record_id; the city) are received and rejected, saying so, and the
    released counts add up to every row of the file."""
    lines = request_csv(web.settings.master_db.parent, 12).decode().splitlines()
    width = len(lines[0].split(","))
    long = "x" * 1001  # the default agreement's max_cell_chars is 1000
    city = lines[0].split(",").index("city")
    only_city = ["" if i != city else long for i in range(width)]
    lines[5:5] = [",".join([long] + [""] * (width - 1)), ",".join(only_city)]
    _, body = web.submit(("\n".join(lines) + "\n").encode())
    rid = str(body["id"])
    assert body["state"] == "held", body
    assert body["counts"]["received"] == 14  # type: ignore[index]
    rejected = web.client.get(f"/v1/requests/{rid}/rejected.csv",
                              headers={"X-API-Key": web.key_a})  # fmt: skip
    messages = [r["message"] for r in csv.DictReader(io.StringIO(rejected.text))]
    assert sum("record_id is longer than 1000 characters" in m for m in messages) == 1
    assert sum("city is longer than 1000 characters" in m for m in messages) == 1
    approve(web.store, rid, reviewer="Rita Reviewer", note="checked", now=datetime.now(UTC))
    _, after = web.get(f"/v1/requests/{rid}")
    counts = after["counts"]
    assert isinstance(counts, dict)
    assert counts["matched"] + counts["unmatched"] + counts["rejected"] == 14


def test_same_file_is_one_request_and_refusals_are_reported(web: Web) -> None:
    body = request_csv(web.settings.master_db.parent, 4)
    _, first = web.submit(body)
    _, second = web.submit(body)
    assert first["id"] == second["id"]
    bad = b"record_id,first_name\nR1,Ann\n"  # required columns missing: refused whole
    status, refused = web.submit(bad, name="bad.csv")
    assert status == 200 and refused["state"] == "refused"
    assert "missing" in str(refused["error"]).lower() or "column" in str(refused["error"])


def test_form_checks(web: Web) -> None:
    master = web.settings.master_db.parent
    assert_error(*web.submit(request_csv(master, 2), name="request.pdf"), 415)
    assert_error(*web.submit(request_csv(master, 2), attestation="short"), 422)
    assert_error(*web.submit(b"", name="empty.csv"), 422)
    assert not list((web.settings.uploads).glob("*/*.pdf"))


@pytest.fixture
def small_web(master: Path, tmp_path: Path, store: Store) -> Iterator[Web]:
    yield from make_web(master, tmp_path, store, max_upload_bytes=2048, rate_per_minute=5)


def test_oversize_uploads_are_refused(small_web: Web) -> None:
    web = small_web
    big = request_csv(web.settings.master_db.parent, 40)
    assert 2048 < len(big) < 64 * 1024  # over the file limit, under the body limit
    assert_error(*web.submit(big), 413)  # the file itself is over the limit
    huge = b"x" * (200 * 1024)  # the whole body is over the limit: refused as it arrives
    assert_error(*web.submit(huge), 413)
    assert not any(web.settings.uploads.glob("*/*")), "nothing of a refused upload is kept"


def test_rate_limit_per_key(small_web: Web) -> None:
    web = small_web
    codes = [web.get("/v1/requests")[0] for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
    response = web.client.get("/v1/requests", headers={"X-API-Key": web.key_a})
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert web.get("/v1/requests", key=web.key_b)[0] == 200  # per key, not global


def test_concurrent_submissions(web: Web) -> None:
    master = web.settings.master_db.parent
    bodies = [request_csv(master, 6, tag=f"C{i}") for i in range(5)]
    bodies.append(bodies[0])  # the same file twice at once: one request
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda b: web.submit(b, wait=False), bodies))
    assert all(status == 202 for status, _ in results)
    ids = [str(body["id"]) for _, body in results]
    assert len(set(ids)) == 5 and ids[0] == ids[5]
    for rid in set(ids):
        future = web.client.app.state.service.workers.future(rid)  # type: ignore[attr-defined]
        if future is not None:
            future.result(timeout=120)
    states = {rid: web.get(f"/v1/requests/{rid}")[1]["state"] for rid in set(ids)}
    assert set(states.values()) == {"held"}, states
    assert {r.id for r in web.store.list_requests("held")} == set(ids)


def test_every_api_call_is_logged(web: Web, store: Store) -> None:
    web.get("/v1/requests")
    web.get("/v1/requests", key="bad-key")
    web.get("/v1/requests/req-0123456789abcdef", key=web.key_b)
    calls = Audit(store.engine).calls()
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/v1/requests", 200),
        ("GET", "/v1/requests", 401),
        ("GET", "/v1/requests/req-0123456789abcdef", 404),
    ]
    assert calls[0].agency == "Agency A" and calls[1].agency is None
    assert calls[2].agency == "Agency B" and calls[2].request_id == "req-0123456789abcdef"


def test_health_and_openapi(web: Web) -> None:
    health = web.client.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    spec = web.client.get("/openapi.json").json()
    assert {"/v1/requests", "/v1/requests/{request_id}"} <= set(spec["paths"])
    assert "X-API-Key" in str(spec["components"]["securitySchemes"])
    assert not any(p.startswith("/review") for p in spec["paths"])
    assert web.client.get("/docs").status_code == 200


def test_a_recalled_row_is_in_no_matched_csv_served(web: Web) -> None:
    """The API renders from the store: a recall stops delivery at once, whatever is on disk."""
    _, body = web.submit(request_csv(web.settings.master_db.parent, 12, tag="RC"))
    rid = str(body["id"])
    headers = {"X-API-Key": web.key_a}
    assert_error(*_download(web, rid, "recalls.csv"), 409)  # not released yet
    approve(web.store, rid, reviewer="Rita Reviewer", note="ok", now=datetime.now(UTC))
    before = web.client.get(f"/v1/requests/{rid}/matched.csv", headers=headers).text
    victim = next(csv.DictReader(io.StringIO(before)))["record_id"]
    assert_error(*_download(web, rid, "recalls.csv"), 404)  # nothing recalled yet
    web.store.recall(rid, victim, "wrong person", datetime.now(UTC), by="Sup")
    after = web.client.get(f"/v1/requests/{rid}/matched.csv", headers=headers)
    assert victim not in {r["record_id"] for r in csv.DictReader(io.StringIO(after.text))}
    recalls = web.client.get(f"/v1/requests/{rid}/recalls.csv", headers=headers)
    assert recalls.status_code == 200
    assert [(r["record_id"], r["why"]) for r in csv.DictReader(io.StringIO(recalls.text))] == [
        (victim, "wrong person")
    ]
    _, status = web.get(f"/v1/requests/{rid}")
    assert "recalls.csv" in status["downloads"]  # type: ignore[operator]
    assert status["counts"]["recalled"] == 1  # type: ignore[index]
    book = openpyxl.load_workbook(
        io.BytesIO(web.client.get(f"/v1/requests/{rid}/result.xlsx", headers=headers).content)
    )
    assert victim not in {str(c.value) for row in book["matched"].iter_rows() for c in row}
