"""`POST /v1/requests/check`: the same findings as `tinmatch check`, nothing recorded or kept."""

from __future__ import annotations

from conftest import Web, request_csv


def check(web: Web, body: bytes, name: str = "request.csv", **data: str) -> tuple[int, dict]:
    response = web.client.post(
        "/v1/requests/check",
        headers={"X-API-Key": web.key_a},
        files={"file": (name, body, "text/csv")},
        data=data,
    )
    return response.status_code, response.json()


def test_check_lists_what_would_be_rejected_and_records_nothing(web: Web) -> None:
    body = request_csv(web.settings.master_db.parent, 40)
    status, found = check(web, b"Request export, March 2026\n" + body + b"Prepared by me\n")
    assert status == 200
    assert found["header_row"] == 2 and found["rows"] == 40
    assert found["notes"] == [{"row": 43, "text": "Prepared by me"}]
    assert found["would_pass"] + found["would_reject"] == 40
    assert found["allowed_years"] is not None  # the service's master gives the years
    assert found["ok"] is (found["would_reject"] == 0)
    for row in found["rejected"]:
        assert set(row) == {"row", "record_id", "reason_codes", "fields", "message"}
    # nothing was submitted, queued or kept
    assert web.get("/v1/requests")[1]["requests"] == []
    assert not any(web.settings.uploads.rglob("*.csv"))


def test_check_of_a_file_that_cannot_be_read_is_422_with_the_reason(web: Web) -> None:
    status, found = check(web, b"ID,Full Name,Address\n1,Ann Lee,1 Elm St\n")
    assert status == 422 and found["ok"] is False
    assert "missing required columns" in found["error"] and "header row 1" in found["error"]
    assert "--split-full-name" in found["error"]
    status, found = check(web, b"x", name="request.txt")
    assert status == 415


def test_check_needs_a_key(web: Web) -> None:
    response = web.client.post(
        "/v1/requests/check", files={"file": ("r.csv", b"record_id\n1\n", "text/csv")}
    )
    assert response.status_code == 401
