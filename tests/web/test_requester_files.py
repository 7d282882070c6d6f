"""What the requesting agency gets through the API, and when: rejected.csv as soon as processing
ends (nothing was looked up for those rows); everything else only at release; and, under the
default agreement, nothing about why a valid row had no address."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from conftest import Web, request_csv
from tinmatch.delivery import approve


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_rejected_rows_at_once_the_rest_at_release(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 60, tag="J"))
    rid = str(body["id"])
    status = web.settle(rid)
    assert status["state"] == "held"
    assert status["downloads"] == {"rejected.csv": f"/v1/requests/{rid}/rejected.csv"}
    headers = {"X-API-Key": web.key_a}
    early = web.client.get(f"/v1/requests/{rid}/rejected.csv", headers=headers)
    assert early.status_code == 200
    rejected = rows(early.text)
    assert rejected, "the synthetic request has rows that fail the agreement"
    assert set(rejected[0]) == {"record_id", "reason_codes", "fields", "message"}
    for name in ("matched.csv", "unmatched.csv", "result.xlsx"):
        assert web.client.get(f"/v1/requests/{rid}/{name}", headers=headers).status_code == 409
    # another agency learns nothing, not even that the request exists
    other = web.client.get(f"/v1/requests/{rid}/rejected.csv", headers={"X-API-Key": web.key_b})
    assert other.status_code == 404

    approve(web.store, rid, reviewer="Rita Reviewer", note="checked", now=datetime.now(UTC))
    status = web.settle(rid)
    assert status["state"] == "released"
    assert {"matched.csv", "unmatched.csv", "rejected.csv"} <= set(status["downloads"])
    later = web.client.get(f"/v1/requests/{rid}/rejected.csv", headers=headers)
    assert rows(later.text) == rejected  # the same rows, before and after release
    unmatched = rows(web.client.get(f"/v1/requests/{rid}/unmatched.csv", headers=headers).text)
    assert unmatched and {r["reason_code"] for r in unmatched} == {"not_disclosed"}
    counts = status["counts"]
    assert isinstance(counts, dict)
    assert counts["reason.not_disclosed"] == len(unmatched)
    detailed = {"reason.no_candidate", "reason.low_confidence", "reason.ambiguous",
                "reason.no_return_in_period", "unmatched_reasons_shown"}
    assert not detailed & set(counts)
    # the reviewers still see why, in the store
    reasons = {d.reason for d in web.store.delivery(rid).decisions if d.outcome == "unmatched"}
    assert reasons and "not_disclosed" not in reasons


def test_a_changed_rejected_csv_is_not_served(web: Web) -> None:
    _, body = web.submit(request_csv(web.settings.master_db.parent, 20, tag="T"))
    rid = str(body["id"])
    assert web.settle(rid)["state"] == "held"
    folder = web.store.get_request(rid).out_dir
    with open(f"{folder}/rejected.csv", "a", encoding="utf-8") as handle:
        handle.write("PLANTED,invalid_value,street,an insider's row\n")
    response = web.client.get(
        f"/v1/requests/{rid}/rejected.csv", headers={"X-API-Key": web.key_a}
    )
    assert response.status_code == 410 and "PLANTED" not in response.text
