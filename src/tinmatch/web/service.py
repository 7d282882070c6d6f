"""The work behind the API: keep an upload, queue it, run it through `answer_request`,
and say where a request stands."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tinmatch.agreement import Agreement
from tinmatch.answer import answer_request
from tinmatch.cover import Cover
from tinmatch.delivery import write_delivery
from tinmatch.engines import by_tin, key_index
from tinmatch.errors import (
    ConfigError,
    InputFileError,
    RefusedError,
    TinmatchError,
    UnavailableError,
)
from tinmatch.ops import RequestRecord, Store, request_id_for
from tinmatch.ops.registry import Registry
from tinmatch.pipeline.process import request_key
from tinmatch.pipeline.read import RequestReader
from tinmatch.pipeline.warm import warm_up
from tinmatch.progress import Reporter
from tinmatch.report import requester_counts
from tinmatch.web.accounts import Accounts, ApiKey
from tinmatch.web.audit import Audit
from tinmatch.web.errors import ApiError
from tinmatch.web.settings import Settings
from tinmatch.web.submissions import Submission, Submissions
from tinmatch.web.workers import BusyError, Workers

log = logging.getLogger("tinmatch.web")

SUFFIXES = (".csv", ".xlsx")
RESULT_FILES = {
    "result.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "matched.csv": "text/csv; charset=utf-8",
    "rejected.csv": "text/csv; charset=utf-8",
    "unmatched.csv": "text/csv; charset=utf-8",
    "recalls.csv": "text/csv; charset=utf-8",
}
REFUSALS = (RefusedError, InputFileError, ConfigError)
SMALL_CSV_BYTES = 256 * 1024
REJECTED = "rejected.csv"
SHOWN_BEFORE_RELEASE = ("received", "rejected")
"""Before a release the requester learns only what needs no lookup: rows received and rejected."""


@dataclass
class Upload:
    path: Path
    name: str
    sha256: str
    size: int


class Service:
    def __init__(self, settings: Settings, store: Store, agreement: Agreement) -> None:
        self.settings = settings
        self.store = store
        self.agreement = agreement
        self.accounts = Accounts(store.engine)
        self.audit = Audit(store.engine)
        self.submissions = Submissions(store.engine)
        self.workers = Workers(settings.workers, settings.max_queue)

    # -- receiving ---------------------------------------------------------------------------

    def keep_upload(self, filename: str | None, source: IO[bytes]) -> Upload:
        """Copy the uploaded file under work_dir/uploads, refusing it beyond the size limit."""
        name = safe_name(filename or "")
        if not name.lower().endswith(SUFFIXES):
            raise ApiError(415, "the request file must be .csv or .xlsx")
        folder = self.settings.uploads / secrets.token_hex(8)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        digest, size, limit = hashlib.sha256(), 0, self.settings.max_upload_bytes
        try:
            with path.open("wb") as out:
                while block := source.read(1 << 20):
                    size += len(block)
                    if size > limit:
                        raise ApiError(413, f"the request file exceeds {limit:,} bytes")
                    digest.update(block)
                    out.write(block)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if size == 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise ApiError(422, "the request file is empty")
        return Upload(path, name, digest.hexdigest(), size)

    def submit(self, key: ApiKey, upload: Upload, official: str, attestation: str) -> Submission:
        """Record and queue the request (or find the same one sent before)."""
        try:
            cover = Cover.from_mapping(
                {"agency": key.agency, "official": official, "attestation": attestation},
                source="form",
            )
        except TinmatchError:
            shutil.rmtree(upload.path.parent, ignore_errors=True)
            raise
        try:
            # Only a registered official of the key's agency may ask; counted under the
            # registered names however the form spells them.
            agency, person = Registry(self.store).resolve(key.agency, cover.official)
        except RefusedError as exc:
            shutil.rmtree(upload.path.parent, ignore_errors=True)
            raise ApiError(403, " ".join(str(exc).split())) from None
        cover = Cover(agency, person, cover.attestation)
        rid = request_id_for(request_key(upload.sha256, cover, self.agreement))
        now = datetime.now(UTC)
        wanted = Submission(
            id=rid,
            agency=key.agency,
            api_key_id=key.id,
            official=cover.official,
            attestation=cover.attestation,
            input_name=upload.name,
            upload_path=str(upload.path),
            out_dir=str(self.settings.results / rid),
            n_rows=0,
            state="queued",
            error=None,
            created_at=now,
            updated_at=now,
        )
        sub, run = self.submissions.claim(wanted)
        if not run:
            shutil.rmtree(upload.path.parent, ignore_errors=True)
            return sub
        try:
            self.workers.submit(sub.id, lambda reporter: self.run(sub, reporter))
        except BusyError as exc:
            self.submissions.set_state(sub.id, "failed", f"the service is busy ({exc})")
            raise ApiError(503, f"the service is busy ({exc}); retry later",
                           headers={"Retry-After": "30"}) from None  # fmt: skip
        return sub

    def count_rows(self, path: Path) -> int | None:
        """Rows in the request file, or None when it cannot be read (the worker will say why).

        A small CSV is counted by its line breaks (an upper bound: quoted breaks only add)."""
        if path.suffix.lower() == ".csv" and path.stat().st_size <= SMALL_CSV_BYTES:
            raw = path.read_bytes()
            breaks = max(raw.count(b"\n"), raw.count(b"\r"))
            lines = breaks if raw.endswith((b"\n", b"\r")) else breaks + 1
            return max(0, lines - 1)  # less the header; quoted line breaks only add
        limits = self.agreement.limits
        try:
            reader = RequestReader(
                path,
                required_columns=self.agreement.request.required_columns,
                max_cell_chars=limits.max_cell_chars,
                max_file_bytes=limits.max_file_bytes,
            )
            return len(reader.record_ids())
        except InputFileError:
            return None

    # -- processing --------------------------------------------------------------------------

    def warm(self) -> list[float]:
        """Warm every worker thread before the first request (``pipeline.warm``): its engine
        open over the master (its DuckDB on all the cores), the small-request SQL compiled,
        the pipeline's code run once, the master's returns sorted by TIN attached and its
        block keys mapped into memory (both built first, once per master, under
        ``WORK_DIR/serving``; ``engines.by_tin``, ``engines.key_index``). Nobody is looked up;
        the seconds each worker took."""
        db = self.settings.master_db
        returns = by_tin.build(db, self.settings.serving)
        keys = key_index.build(db, self.settings.serving)
        # Each engine's queries may use every core: a request is mostly Python between its
        # queries, so one worker's query rarely meets another's. Against the cores divided by
        # the workers, one at a time took 0.70 -> 0.44 s at 10M people, and two clients got
        # 2.71 -> 3.05 requests/s (docs/benchmarks.md).
        threads = os.cpu_count() or 1
        return self.workers.on_each_thread(
            lambda: warm_up(
                db, self.agreement, returns_by_tin=returns, threads=threads, key_index=keys
            )
        )

    def run(self, sub: Submission, reporter: Reporter) -> None:
        """Process one submission (in a worker thread); the outcome lands in the Store."""
        self.submissions.set_state(sub.id, "running")
        started = datetime.now(UTC)
        try:
            answer = answer_request(
                Path(sub.upload_path),
                Path(sub.out_dir),
                db=self.settings.master_db,
                agreement=self.agreement,
                cover=Cover(sub.agency, sub.official, sub.attestation),
                store=self.store,
                reporter=reporter,
            )
        except REFUSALS as exc:
            self.submissions.set_state(sub.id, "refused", " ".join(str(exc).split()))
            log.info("request refused", extra={"request_id": sub.id, "error": str(exc)})
        except UnavailableError as exc:
            self.submissions.set_state(sub.id, "failed", " ".join(str(exc).split()))
            log.error("request failed: database unavailable",
                      extra={"request_id": sub.id, "error": str(exc)})  # fmt: skip
        except TinmatchError as exc:
            self.submissions.set_state(sub.id, "failed", " ".join(str(exc).split()))
            log.warning("request failed", extra={"request_id": sub.id, "error": str(exc)})
        except Exception:
            self.submissions.set_state(sub.id, "failed", "internal error (logged on the server)")
            log.exception("request crashed", extra={"request_id": sub.id})
        else:
            self.submissions.set_state(sub.id, "processed")
            seconds = (datetime.now(UTC) - started).total_seconds()
            log.info(
                "request processed",
                extra={
                    "request_id": sub.id,
                    "agency": sub.agency,
                    "rows": answer.result.rows,
                    "status": answer.status,
                    "seconds": round(seconds, 3),
                },
            )

    # -- reporting ---------------------------------------------------------------------------

    def owned(self, key: ApiKey, request_id: str) -> Submission:
        """The agency's own submission; 404 for anyone else's (existence is not revealed)."""
        sub = self.submissions.get(request_id)
        if sub is None or sub.agency != key.agency:
            raise ApiError(404, f"no request {request_id!r} for this agency")
        return sub

    def record(self, sub: Submission) -> RequestRecord | None:
        """The request's record once processed, else None.

        Nothing is caught: a database that cannot answer is an UnavailableError, answered 503
        by the one error handler (``web.errors``) -- never reported as a request not processed.
        """
        if sub.state != "processed":
            return None
        return self.store.get_request(sub.id)

    def status(self, sub: Submission) -> dict[str, Any]:
        record = self.record(sub)
        state = record.status if record is not None else sub.state
        counts: dict[str, int] = {}
        if record is not None:
            released = record.status == "released"
            counts = {
                k: v
                for k, v in requester_counts(record.counts).items()
                if released or k in SHOWN_BEFORE_RELEASE
            }
        released = state == "released" and (record is None or record.purged_at is None)
        names = [n for n in RESULT_FILES if n != "recalls.csv"]
        if record is not None and record.recalled_record_ids:
            counts["recalled"] = len(record.recalled_record_ids)
            names.append("recalls.csv")
        # rejected.csv is served as soon as processing ends (nothing was looked up for it)
        at_once = record is not None and record.purged_at is None
        if record is not None and self.suspended(record) is not None:
            released = at_once = False  # nothing is served while the agency is suspended
        return {
            "ok": True,
            "id": sub.id,
            "state": state,
            "input_name": sub.input_name,
            "received_at": sub.created_at.isoformat(),
            "updated_at": (record.updated_at if record else sub.updated_at).isoformat(),
            "rows": record.counts.get("received") if record else None,
            "counts": counts,
            "progress": self.workers.progress(sub.id),
            "error": sub.error,
            "downloads": (
                {name: f"/v1/requests/{sub.id}/{name}" for name in names} if released
                else {REJECTED: f"/v1/requests/{sub.id}/{REJECTED}"} if at_once else {}
            ),
        }

    def suspended(self, record: RequestRecord) -> str | None:
        """Why the request's agency (or its agreement's) is suspended, or None: while it is,
        files released under it are not served."""
        return Registry(self.store).request_suspension(
            record.agency, record.agreement_sha256, record.agreement_id
        )

    def result_file(self, key: ApiKey, request_id: str, name: str) -> bytes:
        """A result file of a released request, rendered now from the operational store.

        Never read back from the request's folder: a row recalled a second ago is in no
        matched.csv served, whatever is on disk."""
        sub = self.owned(key, request_id)
        record = self.record(sub)
        why = self.suspended(record) if record is not None else None
        if why is not None:
            raise ApiError(403, f"results of request {request_id} are not served: {why}")
        if name == REJECTED and record is not None and record.status != "released":
            return self._rejected_at_once(record)
        if record is None or record.status != "released":
            state = record.status if record is not None else sub.state
            raise ApiError(409, f"request {request_id} is {state}: results are not released")
        if record.purged_at is not None:
            raise ApiError(410, f"the result files of request {request_id} were purged")
        found = self.store.delivery(request_id)
        if name == "recalls.csv" and not found.recalls:
            raise ApiError(404, f"nothing of request {request_id} was recalled")
        scratch = self.settings.work_dir / "rendering"
        scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{request_id}-"))
        try:
            write_delivery(found, folder)
            return (folder / name).read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _rejected_at_once(self, record: RequestRecord) -> bytes:
        """``rejected.csv`` as soon as processing ends, before any review: the rows nothing was
        looked up for, which the requester may correct and send again while the rest waits.
        It is the file ``process`` wrote, served only while it is byte for byte what the
        manifest recorded; the other files wait for release."""
        if record.purged_at is not None:
            raise ApiError(410, f"the result files of request {record.id} were purged")
        path = Path(record.out_dir) / REJECTED
        written = {f.path: f.sha256 for f in self.store.result_files(record.id)}
        expected = written.get(str(path.resolve()))
        try:
            body = path.read_bytes()
        except OSError:
            body = None
        if expected is None or body is None or hashlib.sha256(body).hexdigest() != expected:
            raise ApiError(410, f"{REJECTED} of request {record.id} is no longer kept")
        return body


def safe_name(filename: str) -> str:
    """The last part of an uploaded file's name, reduced to safe characters."""
    base = re.split(r"[\\/]", filename)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "request"
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        return cleaned[:100]
    return f"{stem[:90]}.{suffix[:8]}"
