"""Who is calling: requesting agencies by API key, reviewers by a session kept in the database.

The two never mix: a key opens only `/v1/...`, a reviewer session only `/review/...`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from tinmatch.web.accounts import ApiKey, Reviewer
from tinmatch.web.errors import ApiError
from tinmatch.web.throttle import RateLimiter

__all__ = [
    "API_KEY_HEADER", "SESSION_COOKIE", "Agency", "RateLimiter", "check_csrf", "client_address",
    "csrf_token", "current_reviewer", "require_key",
]

API_KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "tinmatch_review"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The requesting agency's API key (`tinmatch keys create --agency NAME`).",
)


def client_address(request: Request) -> str:
    """The caller's address: the peer, or -- only when the peer is a configured proxy
    ($TINMATCH_TRUSTED_PROXIES) -- the nearest address in X-Forwarded-For that is not a proxy.
    A forwarded header from anyone else is ignored, so it cannot dodge the login throttle."""
    peer = request.client.host if request.client else ""
    trusted = request.app.state.settings.trusted_networks
    if not _is_trusted(peer, trusted):
        return peer or "?"
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop[:64]
    return peer


def _is_trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


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


def csrf_token(secret: str, session: str) -> str:
    return _sign(secret, "csrf." + session)


def current_reviewer(request: Request) -> Reviewer | None:
    """The reviewer of the request's session cookie, when the session is live in the
    database (not expired, not ended by a logout)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    reviewer_id = request.app.state.sessions.reviewer_id(token) if token else None
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
