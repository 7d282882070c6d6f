"""The web service's own rules without a master or an HTTP client (fast; in the mutation runs):
what an upload must be, how its rows are counted, that a request belongs to its agency (the
request id is per agency; another agency's id answers 404), what a status says and which files
are served before and after release, while suspended and once recalled.

Requests are put in the store the way ``answer_request`` leaves them (held, with pending rows);
nothing here runs the pipeline (tests/web/test_api.py does, end to end)."""

from __future__ import annotations

import hashlib
import io
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

import tinmatch.web.service as service_module
from enroll import enroll
from reviewers import add_reviewers
from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.errors import RefusedError
from tinmatch.ops import PendingDisclosure, Store
from tinmatch.ops.purge import purge
from tinmatch.ops.records import ResultFile
from tinmatch.ops.registry import Registry
from tinmatch.web.accounts import Accounts, ApiKey
from tinmatch.web.audit import Audit
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
        ("X-ray list.csv", "X-ray_list.csv"),  # only dots and underscores are trimmed
        ("x" * 95 + ".tar.csv", "x" * 90 + ".csv"),  # the suffix is what follows the last dot
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


def test_the_refusals_of_an_upload_say_why(service: Service) -> None:
    foreign = _refused(lambda: service.keep_upload("list.txt", io.BytesIO(b"x")), 415)
    assert foreign.detail == "the request file must be .csv or .xlsx"
    empty = _refused(lambda: service.keep_upload("a.csv", io.BytesIO(b"")), 422)
    assert empty.detail == "the request file is empty"


class _Trickle(io.RawIOBase):
    """An upload that arrives a few bytes at a time, however much is asked for."""

    def __init__(self, body: bytes, step: int) -> None:
        self.body, self.step, self.at = body, step, 0

    def read(self, size: int | None = -1) -> bytes:
        block = self.body[self.at : self.at + self.step]
        self.at += len(block)
        return block


class _Endless(io.RawIOBase):
    """An upload with no end: what was read is counted; asking for all of it is a failure."""

    def __init__(self) -> None:
        self.served = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the whole upload was asked for at once")
        self.served += size
        return b"x" * size


def test_an_upload_arriving_in_pieces_is_counted_whole(service: Service) -> None:
    kept = service.keep_upload("a.csv", _Trickle(b"y" * 60, 10))
    assert kept.size == 60 and kept.path.read_bytes() == b"y" * 60
    assert kept.sha256 == hashlib.sha256(b"y" * 60).hexdigest()
    error = _refused(lambda: service.keep_upload("b.csv", _Trickle(b"z" * 70, 10)), 413)
    assert error.detail == "the request file exceeds 64 bytes"
    assert [p.parent for p in service.settings.uploads.glob("*/*")] == [kept.path.parent]


def test_an_endless_upload_is_cut_off_after_one_block(service: Service) -> None:
    endless = _Endless()
    _refused(lambda: service.keep_upload("a.csv", endless), 413)
    assert 64 < endless.served <= 1 << 20  # never more than a block of it held in memory
    uploads = service.settings.uploads
    assert list(uploads.iterdir()) == []


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


def test_a_csv_of_exactly_the_small_size_is_still_counted_by_its_line_breaks(
    service: Service, tmp_path: Path
) -> None:
    path = tmp_path / "edge.csv"
    body = b"not,the,columns\n" + b"x,y,z\n" * 3
    path.write_bytes(body + b"#" * (SMALL_CSV_BYTES - len(body)))
    assert path.stat().st_size == SMALL_CSV_BYTES
    assert service.count_rows(path) == 4  # by line breaks; the reader would refuse it (None)


def test_a_large_csv_over_the_agreements_size_limit_is_not_counted(
    service: Service, tmp_path: Path
) -> None:
    header = ",".join(REQUEST_COLUMNS)
    row = ",".join(["R{}", "Ann", "", "Lee", "", "", "1 Main St", "", "Springfield", "IL",
                    "62701", "2026-01-01", "8 USC 1326", "C1", "2024"])  # fmt: skip
    path = tmp_path / "big.csv"
    path.write_text("\n".join([header] + [row.format(i) for i in range(4000)]) + "\n")
    size = path.stat().st_size
    assert service.count_rows(path) == 4000
    limits = service.agreement.limits.model_copy(update={"max_file_bytes": size - 1})
    service.agreement = service.agreement.model_copy(update={"limits": limits})
    assert service.count_rows(path) is None  # the worker will refuse it, saying why


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


def test_a_row_whose_only_value_is_an_overlong_cell_is_counted(
    service: Service, tmp_path: Path
) -> None:
    """A cell over the agreement's max_cell_chars is blanked and its row rejected; read, such a
    row must still count (the worker rejects it as a row), in a large CSV and in an .xlsx."""
    limit = service.agreement.limits.max_cell_chars
    long = "x" * (limit + 1)
    header = list(REQUEST_COLUMNS)
    row = ["R{}", "Ann", "", "Lee", "", "", "1 Main St", "", "Springfield", "IL",
           "62701", "2026-01-01", "8 USC 1326", "C1", "2024"]  # fmt: skip
    only_id = [long] + [""] * (len(header) - 1)
    only_city = [long if c == "city" else "" for c in header]
    lines = [",".join(header)] + [",".join(row).format(i) for i in range(4000)]
    lines[100:100] = [",".join(only_id), ",".join(only_city)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > SMALL_CSV_BYTES
    assert service.count_rows(path) == 4002
    book = tmp_path / "small.xlsx"
    workbook = xlsxwriter.Workbook(str(book))
    sheet = workbook.add_worksheet()
    for r, values in enumerate([header, row, only_id, only_city, row]):
        for c, value in enumerate(values):
            if value:
                sheet.write_string(r, c, value.format(r))
    workbook.close()
    assert service.count_rows(book) == 4


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


def test_a_refused_official_or_cover_says_why(
    service: Service, store: Store, queued: list[str]
) -> None:
    a = _key(store, "Agency A")
    error = _refused(
        lambda: service.submit(a, _upload(service), "  Mal \n lory ", ATTESTATION), 403
    )
    assert error.detail == (
        "official 'Mal lory' is not a registered official of 'Agency A'; "
        "the request is refused whole"
    )
    with pytest.raises(RefusedError) as info:
        service.submit(a, _upload(service), "Jane Agent", "")
    assert str(info.value) == "form: the cover letter lacks attestation"
    assert queued == []


def test_another_file_is_another_request_and_its_upload_is_the_one_run(
    service: Service, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    enroll(store, "Agency A", "Jane Agent")
    jobs: dict[str, Any] = {}
    monkeypatch.setattr(service.workers, "submit", lambda job_id, job: jobs.update({job_id: job}))
    ran: list[tuple[Submission, object]] = []
    monkeypatch.setattr(service, "run", lambda sub, reporter: ran.append((sub, reporter)))
    a = _key(store, "Agency A")
    one, two = _upload(service, b"record_id\nA1\n"), _upload(service, b"record_id\nA2\n")
    first = service.submit(a, one, "Jane Agent", ATTESTATION)
    second = service.submit(a, two, "Jane Agent", ATTESTATION)
    assert first.id != second.id
    assert (first.upload_path, second.upload_path) == (str(one.path), str(two.path))
    assert first.input_name == "request.csv" and first.api_key_id == a.id
    reporter = object()
    jobs[second.id](reporter)  # what the worker thread runs
    assert ran == [(second, reporter)]


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
    a, sub = _held_for_reviewer_r(service, store)
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
    a, sub = _held_for_reviewer_r(service, store)
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    Registry(store).suspend("Agency A", "audit", "Sup", NOW)
    status = service.status(sub)
    assert status["state"] == "released" and status["downloads"] == {}
    for name in ("matched.csv", "rejected.csv"):
        error = _refused(lambda name=name: service.result_file(a, sub.id, name), 403)
        assert error.detail.startswith(f"results of request {sub.id} are not served: ")
    Registry(store).resume("Agency A", "done", "Sup", NOW)
    assert "matched.csv" in service.status(sub)["downloads"]


def test_a_status_names_the_file_its_times_its_progress_and_its_error(
    service: Service, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    enroll(store, "Agency A", "Officer One")
    sub = _held(service, store)
    monkeypatch.setattr(service.workers, "progress", lambda job_id: {"of": job_id})
    record = store.get_request(sub.id)
    assert record.updated_at != sub.updated_at
    assert service.status(sub) == {
        "ok": True,
        "id": sub.id,
        "state": "held",
        "input_name": "request.csv",
        "received_at": sub.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),  # the store's, once processed
        "rows": 4,
        "counts": {"received": 4, "rejected": 1},
        "progress": {"of": sub.id},
        "error": None,
        "downloads": {"rejected.csv": f"/v1/requests/{sub.id}/rejected.csv"},
    }
    service.submissions.set_state(sub.id, "failed", "the service is busy (x)")
    failed = service.submissions.get(sub.id)
    assert failed is not None
    status = service.status(failed)
    assert (status["state"], status["error"]) == ("failed", "the service is busy (x)")
    assert status["updated_at"] == failed.updated_at.isoformat()


def _held_for_reviewer_r(service: Service, store: Store) -> tuple[ApiKey, Submission]:
    """Agency A's official and key, reviewer "R" registered, and a request of theirs held."""
    enroll(store, "Agency A", "Officer One")
    add_reviewers(store, "R")
    return _key(store, "Agency A"), _held(service, store)


def _written(service: Service, store: Store, sub: Submission, body: bytes) -> Path:
    """rejected.csv as `process` leaves it: in the request's folder, in the manifest."""
    folder = Path(sub.out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rejected.csv"
    path.write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    store.record_files(sub.id, [ResultFile(str(path.resolve()), digest, len(body), NOW)])
    return path


REJECTED_ROWS = b"record_id,reason\r\nr9,missing last_name\r\n"


def test_rejected_csv_is_served_before_release_only_as_written(
    service: Service, store: Store
) -> None:
    enroll(store, "Agency A", "Officer One")
    enroll(store, "Agency B", "Officer One")
    a, b = _key(store, "Agency A"), _key(store, "Agency B")
    sub = _held(service, store)
    path = _written(service, store, sub, REJECTED_ROWS)
    assert service.result_file(a, sub.id, "rejected.csv") == REJECTED_ROWS
    _refused(lambda: service.result_file(b, sub.id, "rejected.csv"), 404)  # not B's
    gone = f"rejected.csv of request {sub.id} is no longer kept"

    path.write_bytes(REJECTED_ROWS.replace(b"r9", b"r8"))  # changed since it was written
    assert _refused(lambda: service.result_file(a, sub.id, "rejected.csv"), 410).detail == gone
    path.unlink()  # removed
    assert _refused(lambda: service.result_file(a, sub.id, "rejected.csv"), 410).detail == gone
    path.write_bytes(REJECTED_ROWS)
    assert service.result_file(a, sub.id, "rejected.csv") == REJECTED_ROWS
    store.forget_files(sub.id, [str(path.resolve())])  # a file the manifest does not know
    assert _refused(lambda: service.result_file(a, sub.id, "rejected.csv"), 410).detail == gone


def test_a_denied_request_once_purged_serves_nothing(service: Service, store: Store) -> None:
    a, sub = _held_for_reviewer_r(service, store)
    _written(service, store, sub, REJECTED_ROWS)
    store.deny(sub.id, reviewer="R", note="no", now=NOW)
    assert service.result_file(a, sub.id, "rejected.csv") == REJECTED_ROWS
    assert service.status(sub)["downloads"] == {
        "rejected.csv": f"/v1/requests/{sub.id}/rejected.csv"
    }
    (done,) = purge(store, "1d", NOW + timedelta(days=2))
    assert done.files_removed == 1
    error = _refused(lambda: service.result_file(a, sub.id, "rejected.csv"), 410)
    assert error.detail == f"the result files of request {sub.id} were purged"
    assert service.status(sub)["downloads"] == {}


def test_a_released_request_once_purged_serves_nothing(service: Service, store: Store) -> None:
    a, sub = _held_for_reviewer_r(service, store)
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    purge(store, "1d", NOW + timedelta(days=2))
    status = service.status(sub)
    assert status["state"] == "released" and status["downloads"] == {}
    for name in ("matched.csv", "rejected.csv"):
        error = _refused(lambda name=name: service.result_file(a, sub.id, name), 410)
        assert error.detail == f"the result files of request {sub.id} were purged"


def test_after_release_rejected_csv_is_rendered_from_the_store_in_a_private_scratch(
    service: Service, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, sub = _held_for_reviewer_r(service, store)
    _written(service, store, sub, b"whatever is on disk\n").unlink()
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    folders: list[Path] = []
    render = service_module.write_delivery

    def spy(found: Any, folder: Path) -> Any:
        folders.append(folder)
        return render(found, folder)

    monkeypatch.setattr(service_module, "write_delivery", spy)
    rejected = service.result_file(a, sub.id, "rejected.csv")
    assert rejected == b"record_id,reason_codes,fields,message\r\n"  # no row was rejected
    scratch = service.settings.work_dir / "rendering"
    (folder,) = folders
    assert folder.parent == scratch and folder.name.startswith(f"{sub.id}-")
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    assert not folder.exists()
    error = _refused(lambda: service.result_file(a, sub.id, "recalls.csv"), 404)
    assert error.detail == f"nothing of request {sub.id} was recalled"


def test_nothing_is_served_while_the_agreement_is_suspended(
    service: Service, store: Store
) -> None:
    a, sub = _held_for_reviewer_r(service, store)
    store.approve(sub.id, reviewer="R", note="", now=NOW)
    store.suspend("default", "court order 26-7", NOW)
    assert service.status(sub)["downloads"] == {}
    error = _refused(lambda: service.result_file(a, sub.id, "matched.csv"), 403)
    assert error.detail == f"results of request {sub.id} are not served: " + (
        service.suspended(store.get_request(sub.id)) or "?"
    )
    assert "court order 26-7" in error.detail


def test_the_services_accounts_and_audit_log_are_the_stores(
    service: Service, store: Store
) -> None:
    enroll(store, "Agency A")
    key = service.accounts.create_key("Agency A")
    found = Accounts(store.engine).verify_key(key)
    assert found is not None and found.agency == "Agency A"
    service.audit.log_call(method="GET", path="/v1/requests", status=200, duration_ms=1.5)
    (call,) = Audit(store.engine).calls()
    assert (call.method, call.path, call.status) == ("GET", "/v1/requests", 200)
