"""Who is calling: requesting agencies by API key, reviewers by a signed session cookie.

The two never mix: a key opens only `/v1/...`, a reviewer session only `/review/...`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from tinmatch.web.accounts import ApiKey, Reviewer
from tinmatch.web.errors import ApiError

API_KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "tinmatch_review"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The requesting agency's API key (`tinmatch keys create --agency NAME`).",
)


class RateLimiter:
    """A token bucket per key: `per_minute` calls a minute, bursts up to `per_minute`."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str, now: float | None = None) -> float:
        """0 when the call may go ahead, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(who, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[who] = (tokens - 1, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate


def require_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)] = None
) -> ApiKey:
    """The caller's live API key, rate-limited; 401 or 429 otherwise."""
    if not key:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    if not key:
        raise ApiError(401, f"an API key is required (header {API_KEY_HEADER})")
    found = request.app.state.accounts.verify_key(key)
    if found is None:
        raise ApiError(401, "invalid or revoked API key")
    request.state.api_key = found
    wait = request.app.state.rate_limiter.take(f"key:{found.id}")
    if wait > 0:
        raise ApiError(
            429,
            "rate limit exceeded for this API key; retry later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return found


Agency = Annotated[ApiKey, Depends(require_key)]


# -- reviewer sessions ----------------------------------------------------------------------


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def session_token(secret: str, reviewer_id: int, hours: float, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + hours * 3600)
    payload = f"{reviewer_id}.{expires}"
    return f"{payload}.{_sign(secret, payload)}"


def session_reviewer_id(secret: str, token: str, now: float | None = None) -> int | None:
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, payload), parts[2]):
        return None
    if int(parts[1]) < (time.time() if now is None else now):
        return None
    return int(parts[0])


def csrf_token(secret: str, session: str) -> str:
    return _sign(secret, "csrf." + session)


def current_reviewer(request: Request) -> Reviewer | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    settings = request.app.state.settings
    reviewer_id = session_reviewer_id(settings.session_secret, token) if token else None
    if reviewer_id is None:
        return None
    reviewer: Reviewer | None = request.app.state.accounts.reviewer(reviewer_id)
    if reviewer is not None:
        request.state.reviewer = reviewer
    return reviewer


def check_csrf(request: Request, token: str) -> None:
    session = request.cookies.get(SESSION_COOKIE, "")
    expected = csrf_token(request.app.state.settings.session_secret, session)
    if not session or not hmac.compare_digest(expected, token):
        raise ApiError(403, "the form has expired; reload the page and try again")
