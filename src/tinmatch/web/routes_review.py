"""Pages for the tax agency's reviewers: log in, the queue of held requests, one request with
its figures, ambiguous rows and every row to be disclosed beside what was asked for it (a
checkbox withholds a row, with a reason), approve or deny with a note. Works without JavaScript.

What a reviewer is shown of taxpayers (masked candidate TINs, explanations) is logged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tinmatch import delivery
from tinmatch.ops import Decision
from tinmatch.pipeline.explain import read_candidates
from tinmatch.reviewing import ReviewRow, RowFilter, review_rows
from tinmatch.web.accounts import Reviewer
from tinmatch.web.auth import (
    SESSION_COOKIE,
    check_csrf,
    client_address,
    csrf_token,
    current_reviewer,
)
from tinmatch.web.charts import bar_chart, probability_bins, reason_items
from tinmatch.web.errors import ApiError
from tinmatch.web.service import Service

router = APIRouter(prefix="/review", include_in_schema=False)

MAX_ROWS_SHOWN = 25
MAX_DISCLOSED_SHOWN = 500
DONE = {
    "released": "Released: the disclosures are recorded in the ledger and the requester can "
    "download the results.",
    "approved": "Approval recorded: a second, different reviewer must approve before anything "
    "is released.",
    "denied": "Denied: nothing is released under this request.",
}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = request.cookies.get(SESSION_COOKIE, "")
    secret = request.app.state.settings.session_secret
    context.setdefault("reviewer", getattr(request.state, "reviewer", None))
    context["csrf"] = csrf_token(secret, session) if session else ""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status
    )
    return response


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/review/login", status_code=303)


def mask_tin(tin: str | None) -> str:
    """What a reviewer sees of a candidate's TIN: the last four digits."""
    if not tin:
        return "—"
    return f"•••-••-{tin[-4:]}"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _page(request, "login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
) -> Response:
    # The throttle counts per client address (X-Forwarded-For only from a configured proxy)
    # and the lockout per account; both are kept in the database, shared by every process.
    wait = request.app.state.login_limiter.take(client_address(request))
    if wait > 0:
        return _page(request, "login.html", status=429, error="Too many attempts; wait a minute.")
    settings = request.app.state.settings
    reviewer = _service(request).accounts.check_reviewer(
        name, password, lock_after=settings.lockout_after, lock_minutes=settings.lockout_minutes
    )
    if reviewer is None:
        return _page(
            request, "login.html", status=401,
            error="Name or password is wrong (or the account is locked for a while).",
        )  # fmt: skip
    response = RedirectResponse("/review", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        request.app.state.sessions.create(reviewer.id, settings.session_hours),
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/review",
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    request.app.state.sessions.revoke(request.cookies.get(SESSION_COOKIE, ""))  # server side
    response = _login_redirect()
    response.delete_cookie(SESSION_COOKIE, path="/review")
    return response


@router.get("", response_class=HTMLResponse)
def queue(request: Request) -> Response:
    reviewer = current_reviewer(request)
    if reviewer is None:
        return _login_redirect()
    store = _service(request).store
    held = store.list_requests("held")
    decided = [r for r in store.list_requests() if r.status in ("released", "denied")][:20]
    return _page(request, "queue.html", held=held, decided=decided)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request,
    request_id: str,
    done: str | None = None,
    order: str | None = None,
    only: str | None = None,
) -> Response:
    reviewer = current_reviewer(request)
    if reviewer is None:
        return _login_redirect()
    service = _service(request)
    record = service.store.get_request(request_id)  # unknown: NotFoundError, answered 404
    decisions = service.store.decisions(request_id)
    probabilities = [d.probability for d in decisions if d.probability is not None]
    reasons = [d.reason or d.outcome for d in decisions]
    rows = _ambiguous_rows(Path(record.out_dir), decisions)
    wanted = RowFilter(
        lowest_first=order == "lowest",
        address_differs=only == "differs",
        repeats=only == "repeats",
        limit=MAX_DISCLOSED_SHOWN,
    )
    disclosed, n_disclosed = (
        review_rows(service.store, request_id, datetime.now(UTC), wanted)
        if record.status == "held"
        else ([], 0)
    )
    _log_views(service, reviewer, request_id, record.status, rows, disclosed)
    return _page(
        request,
        "request.html",
        record=record,
        suspended=service.suspended(record),
        probability_chart=bar_chart(
            "Match probability of the best candidate", probability_bins(probabilities)
        ),
        reason_chart=bar_chart("Outcome or reason per row", reason_items(reasons)),
        rows=rows,
        n_ambiguous=sum(1 for d in decisions if d.reason == "ambiguous"),
        max_rows=MAX_ROWS_SHOWN,
        disclosed=disclosed,
        n_disclosed=n_disclosed,
        order=order or "",
        only=only or "",
        already_approved=[a.reviewer for a in record.approvals],
        message=DONE.get(done or ""),
    )


@router.post("/requests/{request_id}/decision")
def decide(
    request: Request,
    request_id: str,
    action: Annotated[str, Form(pattern="^(approve|deny)$")],
    note: Annotated[str, Form(min_length=3, max_length=2000)],
    csrf: Annotated[str, Form()] = "",
    withhold: Annotated[list[str] | None, Form(max_length=200)] = None,
    withhold_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    reviewer = current_reviewer(request)
    if reviewer is None:
        raise ApiError(401, "log in as a reviewer first")
    check_csrf(request, csrf)
    store = _service(request).store
    now = datetime.now(UTC)
    if action == "approve":
        withheld = {rid: withhold_reason.strip() for rid in withhold or []}
        if withheld and not withhold_reason.strip():
            raise ApiError(422, "say why the checked rows are withheld")
        outcome = delivery.approve(
            store, request_id, reviewer=reviewer.name, note=note.strip(), now=now,
            withhold=withheld,
        )  # fmt: skip
        done = "released" if outcome.status == "released" else "approved"
    else:
        delivery.deny(store, request_id, reviewer=reviewer.name, note=note.strip(), now=now)
        done = "denied"
    return RedirectResponse(f"/review/requests/{request_id}?done={done}", status_code=303)


def _ambiguous_rows(out_dir: Path, decisions: list[Decision]) -> list[dict[str, Any]]:
    chosen = [d for d in decisions if d.reason == "ambiguous"][:MAX_ROWS_SHOWN]
    candidates = read_candidates(out_dir, {d.record_id for d in chosen})
    rows = []
    for d in chosen:
        cands = candidates.get(d.record_id, [])
        names = list(cands[0].fields) if cands else []
        rows.append(
            {
                "record_id": d.record_id,
                "probability": d.probability,
                "best_tin": mask_tin(d.tin),
                "candidates": cands,
                "fields": names,
            }
        )
    return rows


def _log_views(
    service: Service,
    reviewer: Reviewer,
    request_id: str,
    status: str,
    rows: list[dict[str, Any]],
    disclosed: tuple[ReviewRow, ...] | list[ReviewRow] = (),
) -> None:
    shown: list[tuple[str | None, str, str]] = [(None, "request_page", f"status={status}")]
    for item in disclosed:
        shown.append((item.record_id, "row_to_disclose", f"tax_year={item.tax_year}"))
    for row in rows:
        shown.append((row["record_id"], "candidate_tin_masked", row["best_tin"]))
        if row["candidates"]:
            shown.append((row["record_id"], "explanation", f"{len(row['candidates'])} candidates"))
    service.audit.log_views(reviewer.name, request_id, shown)
