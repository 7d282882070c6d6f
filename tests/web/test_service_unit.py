"""The web service's own rules without a master or an HTTP client (fast; in the mutation runs):
what an upload must be, how its rows are counted, that a request belongs to its agency (the
request id is per agency; another agency's id answers 404), what a status says and which files
are served before and after release, while suspended and once recalled.

Requests are put in the store the way ``answer_request`` leaves them (held, with pending rows);
nothing here runs the pipeline (tests/web/test_api.py does, end to end)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from enroll import enroll
from reviewers import add_reviewers
from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.ops import PendingDisclosure, Store
from tinmatch.ops.registry import Registry
from tinmatch.web.accounts import Accounts, ApiKey
from tinmatch.web.errors import ApiError
from tinmatch.web.service import SMALL_CSV_BYTES, Service, Upload, safe_name
from tinmatch.web.settings import Settings
from tinmatch.web.submissions import Submission
from tinmatch.web.workers import BusyError

ATTESTATION = "Each person named is under active criminal investigation; used only for it."
NOW = datetime.now(UTC)


@pytest.fixture
def service(tmp_path: Path, store: Store) -> Iterator[Service]:
    settings = Settings(
        master_db=tmp_path / "no-master.duckdb",
        work_dir=tmp_path / "web",
        session_secret="test-secret",
        max_upload_bytes=64,
    )
    svc = Service(settings, store, Agreement.load())
    try:
        yield svc
    finally:
        svc.workers.shutdown(wait=False)


def _key(store: Store, agency: str) -> ApiKey:
    accounts = Accounts(store.engine)
    found = accounts.verify_key(accounts.create_key(agency))
    assert found is not None
    return found


def _refused(call: Any, status: int) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    assert info.value.status_code == status, info.value.detail
    return info.value


# --- safe names and uploads ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("request.csv", "request.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\agent\\May list.csv", "May_list.csv"),
        ("..hidden.csv", "hidden.csv"),
        ("", "request"),
        ("...", "request"),
        ("résumé (2).xlsx", "r_sum_2_.xlsx"),
        ("x" * 120 + ".csv", "x" * 90 + ".csv"),
        ("y" * 120, "y" * 100),
        ("data.verylongsuffix", "data.verylong"),
    ],
)
def test_safe_name(given: str, kept: str) -> None:
    assert safe_name(given) == kept


def test_an_upload_is_kept_with_its_hash_and_size(service: Service) -> None:
    body = b"record_id\nA1\n"
    upload = service.keep_upload("list.CSV", io.BytesIO(body))
    assert (upload.name, upload.size) == ("list.CSV", len(body))
    assert upload.sha256 == hashlib.sha256(body).hexdigest()
    assert upload.path.read_bytes() == body
    assert upload.path.parent.parent == service.settings.uploads


def test_an_upload_at_the_size_limit_is_kept_one_byte_more_is_not(service: Service) -> None:
    assert service.keep_upload("a.csv", io.BytesIO(b"x" * 64)).size == 64
    error = _refused(lambda: service.keep_upload("b.csv", io.BytesIO(b"x" * 65)), 413)
    assert "exceeds 64 bytes" in error.detail
    assert len(list(service.settings.uploads.iterdir())) == 1  # the refused one left nothing


def test_an_empty_or_foreign_upload_is_refused_and_leaves_nothing(service: Service) -> None:
    assert "empty" in _refused(lambda: service.keep_upload("a.csv", io.BytesIO(b"")), 422).detail
    _refused(lambda: service.keep_upload("a.txt", io.BytesIO(b"x")), 415)
    _refused(lambda: service.keep_upload(None, io.BytesIO(b"x")), 415)
    uploads = service.settings.uploads
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        (b"h\na\nb\n", 2),
        (b"h\na\nb", 2),
        (b"h\r\na\r\nb\r\n", 2),
        (b"h\ra\rb\r", 2),
        (b"h\n", 0),
        (b"h", 0),
    ],
)
def test_a_small_csv_is_counted_by_its_line_breaks(
    service: Service, tmp_path: Path, body: bytes, rows: int
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(body)
    assert service.count_rows(path) == rows


def test_a_large_csv_is_counted_by_reading_it(service: Service, tmp_path: Path) -> None:
    header = ",".join(REQUEST_COLUMNS)
    row = ",".join(["R{}", "Ann", "", "Lee", "", "", "1 Main St", "", "Springfield", "IL",
                    "62701", "2026-01-01", "8 USC 1326", "C1", "2024"])  # fmt: skip
    lines = [header] + [row.format(i) for i in range(4000)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > SMALL_CSV_BYTES
    assert service.count_rows(path) == 4000
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"not,the,columns\n" + b"x" * SMALL_CSV_BYTES)
    assert service.count_rows(broken) is None


# --- submitting: the request id is the agency's ------------------------------------------------


@pytest.fixture
def queued(service: Service, store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Registered agencies A and B with one official each; the worker pool only records ids."""
    enroll(store, "Agency A", "Jane Agent")
    enroll(store, "Agency B", "Jane Agent")
    jobs: list[str] = []
    monkeypatch.setattr(service.workers, "submit", lambda job_id, job: jobs.append(job_id))
    return jobs


def _upload(service: Service, body: bytes = b"record_id\nA1\n") -> Upload:
    return service.keep_upload("request.csv", io.BytesIO(body))


def test_the_same_file_is_one_request_per_agency(
    service: Service, store: Store, queued: list[str]
) -> None:
    a, b = _key(store, "Agency A"), _key(store, "Agency B")
    first = service.submit(a, _upload(service), "Jane Agent", ATTESTATION)
    again = service.submit(a, _upload(service), "jane  agent", ATTESTATION)
    other = service.submit(b, _upload(service), "Jane Agent", ATTESTATION)
    assert first.id == again.id != other.id
    assert (first.agency, other.agency) == ("Agency A", "Agency B")
    assert first.official == "Jane Agent" and first.state == "queued"
    assert first.out_dir == str(service.settings.results / first.id)
    assert queued == [first.id, other.id]  # the repeat was not queued again
    kept = [p for p in service.settings.uploads.iterdir() if any(p.iterdir())]
    assert len(kept) == 2  # the repeat's upload was removed
    assert service.owned(a, first.id) == first
    assert service.owned(b, other.id).id == other.id
    for key, rid in ((b, first.id), (a, other.id), (a, "REQ-0000000000000000")):
        error = _refused(lambda key=key, rid=rid: service.owned(key, rid), 404)
        assert error.detail == f"no request {rid!r} for this agency"
    _refused(lambda: service.result_file(b, first.id, "rejected.csv"), 404)


def test_an_unregistered_official_is_refused_and_the_upload_removed(
    service: Service, store: Store, queued: list[str]
) -> None:
    a = _key(store, "Agency A")
    error = _refused(lambda: service.submit(a, _upload(service), "Mallory", ATTESTATION), 403)
    assert "\n" not in error.detail and "  " not in error.detail
    with pytest.raises(Exception, match="attestation"):
        service.submit(a, _upload(service), "Jane Agent", "")
    assert queued == []
    assert all(not any(p.iterdir()) for p in service.settings.uploads.iterdir())


def test_a_busy_service_says_when_to_retry(
    service: Service, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    enroll(store, "Agency A", "Jane Agent")

    def busy(job_id: str, job: object) -> None:
        raise BusyError("20 requests queued")

    monkeypatch.setattr(service.workers, "submit", busy)
    a = _key(store, "Agency A")
    error = _refused(lambda: service.submit(a, _upload(service), "Jane Agent", ATTESTATION), 503)
    assert error.headers == {"Retry-After": "30"}
    assert "busy (20 requests queued)" in error.detail
    (sub,) = service.submissions.for_agency("Agency A")
    assert (sub.state, sub.error) == ("failed", "the service is busy (20 requests queued)")


# --- status and files, before and after release ------------------------------------------------


def _held(service: Service, store: Store, agency: str = "Agency A") -> Submission:
    """A processed request held for review (2 rows to disclose, 1 rejected), as the worker
    leaves it, and its submission."""
    record = store.begin_request(
        request_key=f"key-{agency}", agency=agency, official="Officer One",
        attestation=ATTESTATION, agreement_id="default", agreement_sha256="a" * 64,
        model_sha256="m" * 64, input_sha256="i" * 64, input_name="request.csv",
        out_dir=str(service.settings.results / "nowhere"), n_rows=4, now=NOW,
    )  # fmt: skip
    store.record_outcome(
        record.id,
        counts={"received": 4, "rejected": 1, "matched": 2, "ambiguous": 1, "disclosed": 2},
        disclosures=[
            PendingDisclosure(f"r{i}", f"90000000{i}", {"street": f"{i} Elm St", "tax_year": 2024},
                              2024, 0.9973, "8 U.S.C. 1326", "C1")  # fmt: skip
            for i in range(2)
        ],
        decisions=None,
        now=NOW,
    )
    sub, _ = service.submissions.claim(
        Submission(
            id=record.id, agency=agency, api_key_id=1, official="Officer One",
            attestation=ATTESTATION, input_name="request.csv", upload_path="/nowhere",
            out_dir=record.out_dir, n_rows=4, state="queued", error=None, created_at=NOW,
            updated_at=NOW,
        )  # fmt: skip
    )
    service.submissions.set_state(sub.id, "processed")
    found = service.submissions.get(sub.id)
    assert found is not None
    return found


def test_a_queued_request_says_so_and_serves_nothing(service: Service, store: Store) -> None:
    enroll(store, "Agency A", "Officer One")
    a = _key(store, "Agency A")
    sub = _held(service, store)
    service.submissions.set_state(sub.id, "running")
    running = service.submissions.get(sub.id)
    assert running is not None and service.record(running) is None
    status = service.status(running)
    assert (status["state"], status["counts"], status["downloads"]) == ("running", {}, {})
    assert status["rows"] is None and status["id"] == sub.id and status["ok"] is True
    error = _refused(lambda: service.result_file(a, sub.id, "matched.csv"), 409)
    assert error.detail == f"request {sub.id} is running: results are not released"


def test_before_release_only_what_needs_no_lookup(service: Service, store: Store) -> None:
    enroll(store, "Agency A", "Officer One")
    a = _key(store, "Agency A")
    sub = _held(service, store)
    status = service.status(sub)
    assert status["state"] == "held" and status["rows"] == 4
    assert status["counts"] == {"received": 4, "rejected": 1}
    assert status["downloads"] == {"rejected.csv": f"/v1/requests/{sub.id}/rejected.csv"}
    for name in ("matched.csv", "unmatched.csv", "result.xlsx"):
        error = _refused(lambda name=name: service.result_file(a, sub.id, name), 409)
        assert error.detail == f"request {sub.id} is held: results are not released"
    # rejected.csv is served only as the manifest recorded it; here it was never written
    _refused(lambda: service.result_file(a, sub.id, "rejected.csv"), 410)


def test_after_release_every_file_and_every_count(service: Service, store: Store) -> None:
    enroll(store, "Agency A", "Officer One")
    add_reviewers(store, "R")
    a = _key(store, "Agency A")
    sub = _held(service, store)
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    status = service.status(sub)
    assert status["state"] == "released"
    assert status["counts"]["matched"] == 2 and "recalled" not in status["counts"]
    assert sorted(status["downloads"]) == sorted(
        ["result.xlsx", "matched.csv", "rejected.csv", "unmatched.csv"]
    )
    matched = service.result_file(a, sub.id, "matched.csv").decode()
    assert "0 Elm St" in matched and "1 Elm St" in matched
    assert "900000000" not in matched  # never a TIN
    _refused(lambda: service.result_file(a, sub.id, "recalls.csv"), 404)
    assert not any((service.settings.work_dir / "rendering").iterdir())  # scratch removed

    store.recall(sub.id, "r0", "wrong person", NOW, by="Sup")
    status = service.status(sub)
    assert status["counts"]["recalled"] == 1
    assert "recalls.csv" in status["downloads"]
    matched = service.result_file(a, sub.id, "matched.csv").decode()
    assert "0 Elm St" not in matched and "1 Elm St" in matched
    assert "r0" in service.result_file(a, sub.id, "recalls.csv").decode()


def test_nothing_is_served_while_the_agency_is_suspended(service: Service, store: Store) -> None:
    enroll(store, "Agency A", "Officer One")
    add_reviewers(store, "R")
    a = _key(store, "Agency A")
    sub = _held(service, store)
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    Registry(store).suspend("Agency A", "audit", "Sup", NOW)
    status = service.status(sub)
    assert status["state"] == "released" and status["downloads"] == {}
    for name in ("matched.csv", "rejected.csv"):
        error = _refused(lambda name=name: service.result_file(a, sub.id, name), 403)
        assert error.detail.startswith(f"results of request {sub.id} are not served: ")
    Registry(store).resume("Agency A", "done", "Sup", NOW)
    assert "matched.csv" in service.status(sub)["downloads"]
