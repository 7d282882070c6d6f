"""Schemathesis against the OpenAPI spec: whatever it sends, the service never answers 5xx,
and every answer matches the documented schema. Then uploads that reach the pipeline: any
file content ends refused or held, never in an internal error.

(The schemathesis pytest plugin does not run under this pytest; the operations' Hypothesis
strategies are driven directly instead.)"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import ATTESTATION, Web, open_web, request_csv
from tinmatch.delivery import approve
from tinmatch.ops import Store
from tinmatch.web.audit import Audit

EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
HEADER = (
    "record_id,first_name,last_name,street,city,state,removal_order_date,criminal_statute,"
    "case_number,tax_periods"
).split(",")


def _seed(web: Web) -> None:
    """A released, a held and a refused request, so listings and statuses have content."""
    master = web.settings.master_db.parent
    _, released = web.submit(request_csv(master, 4, tag="S1"))
    now = datetime.now(UTC)
    approve(web.store, str(released["id"]), reviewer="Rita Reviewer", note="ok", now=now)
    web.submit(request_csv(master, 3, tag="S2"))
    web.submit(b"record_id\nR1\n", name="bad.csv")


def test_schemathesis_finds_no_server_error(master: Path, tmp_path: Path, store: Store) -> None:
    with open_web(master, tmp_path, store, rate_per_minute=100_000) as web:
        _seed(web)
        schema = schemathesis.openapi.from_asgi("/openapi.json", web.client.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/v1/requests", "/v1/requests/{request_id}"}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers={"X-API-Key": web.key_a})
                case.validate_response(response, checks=CHECKS)

            check()
        statuses = {c.status for c in Audit(store.engine).calls()}
        assert 200 in statuses and not any(s >= 500 for s in statuses)


cells = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@st.composite
def request_files(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["csv", "bytes", "xlsx-bytes"]))
    if kind == "bytes":
        return "r.csv", draw(st.binary(min_size=1, max_size=400))
    if kind == "xlsx-bytes":
        return "r.xlsx", b"PK\x03\x04" + draw(st.binary(max_size=400))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for _ in range(draw(st.integers(1, 4))):
        writer.writerow([draw(cells) for _ in HEADER])
    return "r.csv", out.getvalue().encode("utf-8")


def test_any_upload_is_refused_or_answered_never_crashes(
    master: Path, tmp_path: Path, store: Store
) -> None:
    with open_web(master, tmp_path, store, rate_per_minute=100_000, max_queue=100) as web:
        ids: set[str] = set()

        @given(
            upload=request_files(),
            official=st.one_of(st.just("Jane Agent"), cells),
            attestation=st.one_of(st.just(ATTESTATION), cells),
        )
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        def check(upload: tuple[str, bytes], official: str, attestation: str) -> None:
            name, body = upload
            status, answer = web.submit(
                body, name=name, wait=False, official=official, attestation=attestation
            )
            assert status in (202, 403, 413, 415, 422), answer  # 403: unregistered official
            if status == 202:
                ids.add(str(answer["id"]))
            else:
                assert set(answer) == {"ok", "error", "status"}

        check()
        assert ids, "no upload reached the pipeline"
        workers = web.client.app.state.service.workers  # type: ignore[attr-defined]
        for rid in ids:
            future = workers.future(rid)
            if future is not None:
                future.result(timeout=120)
        for rid in ids:
            _, answer = web.get(f"/v1/requests/{rid}")
            assert answer["state"] in ("held", "refused"), answer
