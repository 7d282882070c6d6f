"""The API for requesting agencies: submit a request file, follow it, download the results."""

from __future__ import annotations

import shutil
from concurrent.futures import TimeoutError as FutureTimeout
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from tinmatch.errors import InputFileError
from tinmatch.master.database import master_tax_years
from tinmatch.pipeline.check import check_request
from tinmatch.web.auth import Agency
from tinmatch.web.errors import ApiError
from tinmatch.web.service import RESULT_FILES, Service

router = APIRouter(prefix="/v1", tags=["requests"])

RequestId = Annotated[
    str, Path(pattern=r"^req-[0-9a-f]{16}$", description="The id returned on submission.")
]


class ErrorBody(BaseModel):
    ok: Literal[False]
    error: str
    status: int


class ProgressModel(BaseModel):
    stage: str
    done: int
    total: int | None


class RequestStatus(BaseModel):
    ok: bool
    id: str
    state: Literal["queued", "running", "received", "held", "released", "denied", "refused",
                   "failed"]  # fmt: skip
    input_name: str
    received_at: str
    updated_at: str
    rows: int | None
    counts: dict[str, int]
    progress: ProgressModel | None
    error: str | None
    downloads: dict[str, str]


class RequestList(BaseModel):
    ok: bool
    requests: list[RequestStatus]


class ResultFile(str, Enum):
    result_xlsx = "result.xlsx"
    matched_csv = "matched.csv"
    rejected_csv = "rejected.csv"
    unmatched_csv = "unmatched.csv"
    recalls_csv = "recalls.csv"


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "No API key, or an invalid or revoked one.",
        404: "No such request for this agency.",
        422: "The request is not acceptable as sent.",
        429: "Too many calls with this key (see Retry-After).",
    }.items()
}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.post(
    "/requests",
    status_code=202,
    response_model=RequestStatus,
    responses={
        200: {"model": RequestStatus, "description": "Processed while you waited (`wait=true`)."},
        413: {"model": ErrorBody, "description": "The file exceeds the upload limit."},
        415: {"model": ErrorBody, "description": "Not a .csv or .xlsx file."},
        403: {
            "model": ErrorBody,
            "description": "The official is not a registered official of the key's agency.",
        },
        503: {"model": ErrorBody, "description": "The queue is full; retry later."},
        **ERRORS,
    },
    summary="Submit a request file",
)
def submit_request(
    request: Request,
    key: Agency,
    file: Annotated[UploadFile, File(description="The request: .csv (UTF-8) or .xlsx.")],
    official: Annotated[
        str, Form(min_length=1, max_length=200, description="The requesting official.")
    ],
    attestation: Annotated[
        str,
        Form(
            min_length=20,
            max_length=4000,
            description="That each person is under active criminal investigation and the "
            "information is used only for it.",
        ),
    ],
    wait: Annotated[
        bool, Query(description="Wait for the outcome of a small request (<= 100 rows).")
    ] = False,
) -> JSONResponse:
    """Upload a request file; processing runs in the background. Returns the request id at
    once (202), or the outcome (200) when `wait=true` and the request is small."""
    service = _service(request)
    upload = service.keep_upload(file.filename, file.file)
    sub = service.submit(key, upload, official, attestation)
    request.state.request_id = sub.id
    finished = False
    if wait:
        future = service.workers.future(sub.id)
        n_rows = service.count_rows(upload.path) if future is not None else None
        if future is not None and (n_rows is None or n_rows <= service.settings.sync_max_rows):
            try:
                future.result(timeout=service.settings.wait_seconds)
                finished = True
            except FutureTimeout:
                pass
        elif future is None:
            finished = True
        sub = service.submissions.get(sub.id) or sub
    body = service.status(sub)
    return JSONResponse(
        body,
        status_code=200 if finished else 202,
        headers={"Location": f"/v1/requests/{sub.id}"},
    )


@router.get("/requests", response_model=RequestList, responses=ERRORS, summary="Your requests")
def list_requests(request: Request, key: Agency) -> dict[str, Any]:
    """This agency's requests, newest first (at most 100)."""
    service = _service(request)
    subs = service.submissions.for_agency(key.agency)
    return {"ok": True, "requests": [service.status(s) for s in subs]}


@router.get(
    "/requests/{request_id}",
    response_model=RequestStatus,
    responses=ERRORS,
    summary="Where a request stands",
)
def get_request(request: Request, key: Agency, request_id: RequestId) -> dict[str, Any]:
    """State (queued, running, held, released, denied, refused, failed), counts and progress.

    Before a release only the rows received and rejected are counted."""
    request.state.request_id = request_id
    service = _service(request)
    return service.status(service.owned(key, request_id))


@router.get(
    "/requests/{request_id}/{filename}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in set(RESULT_FILES.values())}},
        409: {
            "model": ErrorBody,
            "description": "Not released (yet); rejected.csv is served as soon as processing "
            "ends.",
        },
        410: {"model": ErrorBody, "description": "The files were purged."},
        403: {"model": ErrorBody, "description": "The agency is suspended: nothing is served."},
        404: {"model": ErrorBody, "description": "No such request, or nothing recalled."},
        **ERRORS,
    },
    summary="Download a result file (once released; rejected.csv as soon as processed)",
)
def download(
    request: Request, key: Agency, request_id: RequestId, filename: ResultFile
) -> Response:
    """result.xlsx, matched.csv, rejected.csv, unmatched.csv (or recalls.csv, once a row was
    recalled) of a released request, rendered from the operational store: a recalled row is in
    no matched.csv served. rejected.csv (rows nothing was looked up for) is served as soon as
    processing ends, so the requester can correct and resend them while the rest is reviewed."""
    request.state.request_id = request_id
    body = _service(request).result_file(key, request_id, filename.value)
    name = f"{request_id}-{filename.value}"
    return Response(
        body,
        media_type=RESULT_FILES[filename.value],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class CheckedRow(BaseModel):
    row: int
    record_id: str | None
    reason_codes: str
    fields: str
    message: str


class CheckReport(BaseModel):
    ok: bool
    file: str
    sheet: str | None
    header_row: int
    columns: list[str]
    renamed: list[dict[str, str]]
    extra_columns: list[str]
    notes: list[dict[str, Any]]
    rows: int
    would_pass: int
    would_reject: int
    reasons: dict[str, int]
    allowed_years: list[int] | None
    remarks: list[str]
    rejected: list[CheckedRow]
    rejected_listed: int


@router.post(
    "/requests/check",
    response_model=CheckReport,
    responses={
        413: {"model": ErrorBody, "description": "The file exceeds the upload limit."},
        415: {"model": ErrorBody, "description": "Not a .csv or .xlsx file."},
        **ERRORS,
    },
    summary="Check a request file without sending it",
)
def check_request_file(
    request: Request,
    key: Agency,
    file: Annotated[UploadFile, File(description="The request: .csv (UTF-8) or .xlsx.")],
    split_full_name: Annotated[
        bool,
        Form(description="Split a whole-name column (Full Name, Name) into first, middle and "
             "last name."),
    ] = False,
) -> dict[str, Any]:
    """Read and validate a request file as a submission would, and look no one up: which sheet
    and header row were read, and every row that would be rejected and why (`ok` is true when
    every row would pass). Nothing is recorded and nothing counts against a cap; the file is
    not kept. A file that cannot be read as a whole is 422, with the reason."""
    service = _service(request)
    upload = service.keep_upload(file.filename, file.file)
    try:
        report = check_request(
            upload.path,
            service.agreement,
            master_years=master_tax_years(service.settings.master_db),
            split_full_name=split_full_name,
        )
    except InputFileError as exc:
        raise ApiError(422, " ".join(str(exc).split())) from None
    finally:
        shutil.rmtree(upload.path.parent, ignore_errors=True)
    return report.as_dict()
