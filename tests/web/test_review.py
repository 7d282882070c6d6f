"""The reviewers' pages: sign-in, queue, a request with charts and ambiguous rows, decisions."""

from __future__ import annotations

import re

from conftest import PASSWORD, Web, request_csv
from tinmatch.web.accounts import Accounts
from tinmatch.web.audit import Audit


def login(web: Web, password: str = PASSWORD) -> int:
    response = web.client.post(
        "/review/login",
        data={"name": "Rita Reviewer", "password": password},
        follow_redirects=False,
    )
    return response.status_code


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_pages_need_a_reviewer(web: Web) -> None:
    for path in ("/review", "/review/requests/req-0123456789abcdef"):
        response = web.client.get(path, headers={"X-API-Key": web.key_a}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/review/login"
    assert login(web, "wrong password!") == 401
    assert "tinmatch_review" not in web.client.cookies
    page = web.client.get("/review/login")
    assert page.status_code == 200 and '<label for="password">' in page.text


def test_review_and_approve_then_requester_downloads(web: Web) -> None:
    master = web.settings.master_db.parent
    _, body = web.submit(request_csv(master, 100))
    rid = str(body["id"])
    body = web.settle(rid)
    assert body["state"] == "held"
    assert login(web) == 303
    queue = web.client.get("/review")
    assert queue.status_code == 200 and rid in queue.text and "Agency A" in queue.text
    page = web.client.get(f"/review/requests/{rid}")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 2 and 'role="img"' in html
    decisions = web.store.decisions(rid)
    tins = {d.tin for d in decisions if d.tin}
    assert tins and not any(tin in html for tin in tins), "a full TIN reached the page"
    ambiguous = [d for d in decisions if d.reason == "ambiguous"]
    views = Audit(web.store.engine).views(rid)
    assert views[0].what == "request_page" and views[0].reviewer == "Rita Reviewer"
    masked = [v for v in views if v.what == "candidate_tin_masked"]
    assert len(masked) == min(len(ambiguous), 25)
    for d in ambiguous[:25]:
        assert f"Row {d.record_id}" in html
    assert ambiguous, "the synthetic request (seed 5) has ambiguous rows among its first 100"
    assert ambiguous[0].tin and f"•••-••-{ambiguous[0].tin[-4:]}" in html
    assert "Candidate 2" in html and "last_name" in html  # side by side, field by field
    # a decision needs the form's token
    forged = web.client.post(
        f"/review/requests/{rid}/decision", data={"action": "approve", "note": "ok, checked"}
    )
    assert forged.status_code == 403 and web.store.get_request(rid).status == "held"
    done = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "statutes checked", "csrf": csrf_of(html)},
    )
    assert done.status_code == 200 and "Released" in done.text
    record = web.store.get_request(rid)
    assert record.status == "released" and record.reviewer == "Rita Reviewer"
    assert record.review_note == "statutes checked"
    download = web.client.get(f"/v1/requests/{rid}/result.xlsx", headers={"X-API-Key": web.key_a})
    assert download.status_code == 200 and download.content[:2] == b"PK"
    again = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "deny", "note": "too late", "csrf": csrf_of(html)},
        headers={"Accept": "text/html"},
    )
    assert again.status_code == 409 and "already released" in again.text


def test_deny(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 5, tag="D"))
    rid = str(body["id"])
    login(web)
    html = web.client.get(f"/review/requests/{rid}").text
    response = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "deny", "note": "no investigation stated", "csrf": csrf_of(html)},
    )
    assert response.status_code == 200 and "Denied" in response.text
    status, after = web.get(f"/v1/requests/{rid}")
    # after a denial only the rows nothing was looked up for remain to download
    assert after["state"] == "denied" and set(after["downloads"]) <= {"rejected.csv"}
    assert (
        web.client.get(
            f"/v1/requests/{rid}/matched.csv", headers={"X-API-Key": web.key_a}
        ).status_code
        == 409
    )


def test_api_key_cannot_decide_and_cookie_cannot_call_api(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 3, tag="K"))
    rid = str(body["id"])
    response = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "sneaky"},
        headers={"X-API-Key": web.key_a},
    )
    assert response.status_code == 401 and response.json()["ok"] is False
    login(web)
    assert web.client.get(f"/v1/requests/{rid}").status_code == 401


def test_row_by_row_page_withholds_a_checked_row(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 30, tag="W"))
    rid = str(body["id"])
    assert web.settle(rid)["state"] == "held"
    login(web)
    pending = web.store.pending(rid)
    assert pending, "some of the first 30 rows are identified"
    html = web.client.get(f"/review/requests/{rid}?order=lowest").text
    first = pending[0]
    # every row to be disclosed, beside what was asked: the address given and the one to leave
    assert f'value="{first.record_id}"' in html and "Would leave: address" in html
    assert str(first.fields["street"]) in html and str(first.asked.get("street")) in html
    assert first.case_number in html and "bits" in html
    assert not any(p.tin in html for p in pending), "a TIN reached the page"
    missing_reason = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "checked", "csrf": csrf_of(html),
              "withhold": first.record_id},  # fmt: skip
    )
    assert missing_reason.status_code == 422 and web.store.get_request(rid).status == "held"
    done = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "checked", "csrf": csrf_of(html),
              "withhold": first.record_id, "withhold_reason": "a shelter's address"},  # fmt: skip
    )
    assert done.status_code == 200 and "Released" in done.text
    headers = {"X-API-Key": web.key_a}
    matched = web.client.get(f"/v1/requests/{rid}/matched.csv", headers=headers).text
    assert first.record_id not in matched
    unmatched = web.client.get(f"/v1/requests/{rid}/unmatched.csv", headers=headers).text
    assert f"{first.record_id},not_disclosed," in unmatched  # not told it was withheld
    reasons = {d.record_id: d.reason for d in web.store.delivery(rid).decisions}
    assert reasons[first.record_id] == "withheld_by_reviewer"
    kinds = {(e.entry_type, e.record_id) for e in web.store.ledger_entries(rid)}
    assert ("withheld", first.record_id) in kinds


def test_the_requesting_official_cannot_review_on_the_page(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 5, tag="O"))
    rid = str(body["id"])
    web.settle(rid)
    Accounts(web.store.engine).add_reviewer("Jane Agent", PASSWORD)  # the official's account
    web.client.post("/review/login", data={"name": "Jane Agent", "password": PASSWORD})
    html = web.client.get(f"/review/requests/{rid}").text
    response = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "my own request", "csrf": csrf_of(html)},
    )
    assert response.status_code == 409 and "official" in response.text
    assert web.store.get_request(rid).status == "held"
