"""The service's logs carry no taxpayer data: no TIN, no disclosed address, no name sought.

Logs are read by operators and shipped to log stores that are not under the data-sharing
agreement, so they are a door out like any other. The test runs a whole request through the
API and the review page (submit, hold, approve, download) with every logger at DEBUG, and
searches what was logged for the values that must never leave that way.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator

import pytest
from test_review import csrf_of, login

from conftest import Web, request_csv
from tinmatch.web.logging import JsonFormatter


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Everything any logger emits at DEBUG and above, formatted as the service formats it."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    names = ("", "tinmatch", "tinmatch.web", "uvicorn", "uvicorn.error", "splink", "httpx")
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate)
             for name in names}  # fmt: skip
    for name in names:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    try:
        yield sink
    finally:
        for name, (level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def test_a_whole_request_logs_no_tin_address_or_name(web: Web, logged: io.StringIO) -> None:
    master = web.settings.master_db.parent
    body = request_csv(master, 60, tag="LOGS")
    _, answer = web.submit(body)
    rid = str(answer["id"])
    assert web.settle(rid)["state"] == "held"
    assert login(web) == 303
    html = web.client.get(f"/review/requests/{rid}").text
    done = web.client.post(
        f"/review/requests/{rid}/decision",
        data={"action": "approve", "note": "checked", "csrf": csrf_of(html)},
    )
    assert done.status_code == 200
    matched = web.client.get(f"/v1/requests/{rid}/matched.csv", headers={"X-API-Key": web.key_a})
    assert matched.status_code == 200
    disclosed = list(csv.DictReader(io.StringIO(matched.text)))
    assert disclosed, "the request discloses addresses (else the test proves nothing)"

    text = logged.getvalue()
    assert rid in text, "the flow was logged (else the test proves nothing)"
    tins = {d.tin for d in web.store.decisions(rid) if d.tin}
    assert tins
    leaked_tins = sorted(tin for tin in tins if tin in text or tin.replace("-", "") in text)
    assert not leaked_tins, f"TINs in the logs: {leaked_tins[:3]}"
    address_columns = [c for c in disclosed[0] if "street" in c or c.endswith("line1")]
    assert address_columns, f"no address column in matched.csv: {list(disclosed[0])}"
    streets = {row[c] for row in disclosed for c in address_columns if len(row[c]) > 6}
    assert streets
    leaked_streets = sorted(s for s in streets if s in text)
    assert not leaked_streets, f"disclosed addresses in the logs: {leaked_streets[:3]}"
    sought = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    names = {f"{r['first_name']} {r['last_name']}" for r in sought if r["first_name"]}
    leaked_names = sorted(n for n in names if n in text)
    assert not leaked_names, f"names sought in the logs: {leaked_names[:3]}"
