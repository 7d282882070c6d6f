"""One error shape for the whole HTTP API, produced by one handler:
`{"ok": false, "error": "<one line>", "status": N}`.

`STATUS_OF` is the one place a tinmatch error becomes an HTTP status: by what happened (not
found 404, conflict 409, unavailable 503, bad input 400/422), never by where it was raised. Code
behind the API lets these errors rise to the handler; nothing turns an outage into an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tinmatch.errors import (
    ConfigError,
    ConflictError,
    InputFileError,
    InvalidInputError,
    MasterNotLoadedError,
    NotFoundError,
    RefusedError,
    TinmatchError,
    UnavailableError,
)

log = logging.getLogger("tinmatch.web")

STATUS_OF: list[tuple[type[TinmatchError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (RefusedError, 409),
    (UnavailableError, 503),
    (MasterNotLoadedError, 503),
    (InvalidInputError, 400),
    (InputFileError, 422),
    (ConfigError, 422),
    (TinmatchError, 500),
]
"""First match wins; anything else (a defect such as DisclosureGuardError) is 500."""

RETRY_AFTER_SECONDS = 30
"""Sent with every 503 that does not say otherwise: an outage is worth retrying."""


class ApiError(StarletteHTTPException):
    """Raise anywhere (even while the body is read) for an error answer in the one shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"ok": False, "error": message, "status": status}


def describe(exc: Exception) -> tuple[int, str, Mapping[str, str] | None]:
    """The status, one-line message and headers for any exception (a 503 says when to retry)."""
    status, message, headers = _describe(exc)
    if status == 503 and "Retry-After" not in (headers or {}):
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}
    return status, message, headers


def _describe(exc: Exception) -> tuple[int, str, Mapping[str, str] | None]:
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, _one_line(str(exc.detail)), exc.headers
    if isinstance(exc, RequestValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
        return 422, _one_line("; ".join(parts) or "invalid request"), None
    if isinstance(exc, TinmatchError):
        return status_of(exc), _one_line(str(exc)), None
    return 500, "internal error (logged on the server)", None


def status_of(exc: TinmatchError) -> int:
    """The HTTP status of a tinmatch error (see `STATUS_OF`)."""
    return next(code for cls, code in STATUS_OF if isinstance(exc, cls))


async def handle_error(request: Request, exc: Exception) -> Response:
    status, message, headers = describe(exc)
    if status >= 500:
        log.error(
            "server error",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"path": request.url.path},
        )
    if request.url.path.startswith("/review") and "text/html" in request.headers.get("accept", ""):
        templates = request.app.state.templates
        return HTMLResponse(
            templates.get_template("error.html").render(status=status, message=message),
            status_code=status,
            headers=headers,
        )
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    for cls in (StarletteHTTPException, RequestValidationError, TinmatchError, Exception):
        app.add_exception_handler(cls, handle_error)


def _one_line(text: str) -> str:
    return " ".join(text.split())
