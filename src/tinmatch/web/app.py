"""The application factory: `create_app(settings)` wires the store, the workers, the API,
the review pages, the audit log, body limits and JSON logs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinmatch.agreement import Agreement
from tinmatch.ops import Store
from tinmatch.ops.registry import Registry
from tinmatch.web import errors
from tinmatch.web.audit import Audit
from tinmatch.web.errors import ApiError
from tinmatch.web.routes_api import router as api_router
from tinmatch.web.routes_review import router as review_router
from tinmatch.web.service import Service
from tinmatch.web.sessions import Sessions
from tinmatch.web.settings import Settings
from tinmatch.web.throttle import RateLimiter

log = logging.getLogger("tinmatch.web")

FORM_BYTES = 1024 * 1024
"""Largest body of any call but a submission (review forms, logins)."""
MULTIPART_OVERHEAD = 64 * 1024


class BodyLimit:
    """Refuse bodies over the limit (413) as they arrive, before they are kept anywhere."""

    def __init__(self, app: ASGIApp, upload_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/requests"
        limit = self.upload_bytes + MULTIPART_OVERHEAD if is_upload else FORM_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > limit
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_big:
                raise ApiError(413, f"the request body exceeds {limit:,} bytes")
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ApiError(413, f"the request body exceeds {limit:,} bytes")
            return message

        await self.app(scope, limited, send)


class AccessLog:
    """One JSON log line per call; every API call (`/v1/...`) also goes to the audit table."""

    def __init__(self, app: ASGIApp, audit: Audit) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            await self._record(scope, status, (time.perf_counter() - started) * 1000)

    async def _record(self, scope: Scope, status: int, ms: float) -> None:
        state = scope.get("state") or {}
        key, reviewer = state.get("api_key"), state.get("reviewer")
        request_id = state.get("request_id")
        path = str(scope["path"])
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round(ms, 1),
            "agency": key.agency if key else None,
            "key": key.prefix if key else None,
            "reviewer": reviewer.name if reviewer else None,
            "request_id": request_id,
        }
        log.info("http", extra={k: v for k, v in fields.items() if v is not None})
        if path.startswith("/v1"):
            await run_in_threadpool(
                self.audit.log_call,
                method=str(scope["method"]),
                path=path,
                status=status,
                duration_ms=ms,
                api_key_id=key.id if key else None,
                agency=key.agency if key else None,
                request_id=request_id,
                client=client[0] if client else None,
            )


async def _warm(service: Service) -> None:
    """Warm every worker before the service answers anything: no requester waits for the
    master to be opened or the SQL to be compiled. A failure is logged, not fatal (the master
    may be loaded later; ``/healthz`` says whether it is there)."""
    started = time.perf_counter()
    try:
        each = await run_in_threadpool(service.warm)
    except Exception as exc:  # noqa: BLE001 - any failure: requests will report it themselves
        log.warning("workers not warmed", extra={"error": " ".join(str(exc).split())})
        return
    log.info(
        "workers warmed",
        extra={"workers": len(each), "seconds": round(time.perf_counter() - started, 3)},
    )


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The tinmatch web service. Opens (and migrates) the operational database unless a
    `store` is given; the master and the agreement are checked now, not at the first request."""
    agreement = Agreement.load(settings.agreement_path)
    store = store or Store.open(settings.state_db)
    Registry(store).require_registered(agreement, datetime.now(UTC))  # ConfigError when not
    service = Service(settings, store, agreement)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        interrupted = service.submissions.fail_interrupted()
        if interrupted:
            log.warning("submissions interrupted by a restart", extra={"count": interrupted})
        if settings.warm_workers:
            await _warm(service)
        log.info(
            "tinmatch web service started",
            extra={"master": str(settings.master_db), "workers": settings.workers},
        )
        yield
        service.workers.shutdown(wait=True)

    app = FastAPI(
        title="tinmatch",
        summary="Address requests answered under a data-sharing agreement.",
        description=(
            "Requesting agencies submit a request file with their API key "
            "(header `X-API-Key`) and follow it; results can be downloaded once a reviewer "
            "of the tax agency has released them. Errors are always "
            '`{"ok": false, "error": "...", "status": N}`.'
        ),
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.accounts = service.accounts
    # Rate limits, login throttles, lockouts and sessions live in the operational database,
    # so several `serve` processes on one database share them.
    app.state.rate_limiter = RateLimiter(store.engine, settings.rate_per_minute, "api:")
    app.state.login_limiter = RateLimiter(
        store.engine, settings.login_attempts_per_minute, "login:"
    )
    app.state.sessions = Sessions(store.engine)
    app.state.templates = Jinja2Templates(directory=str(files("tinmatch.web") / "templates"))
    errors.install(app)
    app.include_router(api_router)
    app.include_router(review_router)
    app.mount("/static", StaticFiles(directory=str(files("tinmatch.web") / "static")), "static")

    @app.get("/healthz", tags=["service"], summary="Health")
    def health() -> dict[str, Any]:
        """Whether the operational database answers and the master file is there."""
        database = True
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            database = False
        master = settings.master_db.is_file()
        ok = database and master
        if not ok:
            raise ApiError(503, f"unhealthy: database {'ok' if database else 'down'}, "
                           f"master {'ok' if master else 'missing'}")  # fmt: skip
        return {"ok": True, "status": "ok", "queue": service.workers.stats()}

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessLog, audit=service.audit)
    return app
