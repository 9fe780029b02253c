"""Signing in with an API key, and out.

The key is posted once, in the sign-in form's body (`forms`), checked with
the key store (`KeyStore.principal_of`, as the API checks it), and
forgotten: the session's row names it by digest, and the session cookie
holds only the row's random secret (`nxdocs.auth.sessions`). The key never
appears in a URL, a page (the form is never filled in again), a cookie or a
log line. Signing out deletes the row, so the cookie stops working
everywhere, copies of it included.

Both forms carry a CSRF token: the sign-in form the one its own cookie holds
(so no other site can sign a browser in with the other site's key), the
sign-out form the session's.

Sign-in posts are rate-limited per client address (`limiter`), before the
form's token or the key is looked at: over the limit, the form answers 429
with `Retry-After`.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from nxdocs.auth.keys import KEY_PATTERN, hash_key
from nxdocs.auth.rate_limiter import RateLimiter
from nxdocs.clock import Clock
from nxdocs.dashboard.context import Dashboard, dashboard
from nxdocs.dashboard.forms import PostedFields
from nxdocs.dashboard.messages import forbidden
from nxdocs.dashboard.sessions import csrf_matches
from nxdocs.dashboard.signed_in import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_PATH,
    DashboardDep,
    SignedIn,
    set_cookie,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)
logger = logging.getLogger(__name__)

# Sign-in attempts per client address: a burst of 10, then one every 6 s (10 a
# minute). A person who mistypes a key a few times never meets it, nor do a
# handful of people signing in together behind one address. A key is ~238
# random bits, so no rate makes guessing one feasible; the limit bounds what
# one address can make the server do (a key lookup and a page per attempt),
# and a script hammering the form gets a 429 instead of a database read.
# Per process, like the API's own limits: N nodes admit N times as many.
SIGN_IN_BURST = 10
SIGN_IN_PER_SECOND = 1 / 6


def limiter(clock: Clock) -> RateLimiter:
    """The sign-in attempts' buckets, one per client address (`client_bucket`), refilled
    on the system's clock (which tests move by hand)."""
    return RateLimiter(SIGN_IN_PER_SECOND, SIGN_IN_BURST, monotonic=lambda: clock.now_ms() / 1000)


def client_bucket(host: str | None) -> str:
    """The bucket a sign-in from `host` counts against: the address, and for IPv6
    its /64 (one subscriber's usual share, whose addresses they pick at will).

    `host` is the connection's peer, or the client a trusted proxy names: uvicorn
    reads `X-Forwarded-For` from the addresses in `FORWARDED_ALLOW_IPS` only
    (127.0.0.1 and ::1 unless set)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def sign_in_wait(request: Request) -> int:
    """Seconds the client must wait before another sign-in attempt; 0 spends one.
    Async, so that it runs on the event loop thread, where the limiter lives."""
    host = request.client.host if request.client else None
    return dashboard(request).sign_in_limiter.retry_after(client_bucket(host))


SignInWait = Annotated[int, Depends(sign_in_wait)]


@router.get("/sign-in")
def sign_in_form(request: Request, dash: DashboardDep) -> Response:
    if dash.system.dashboard_sessions.read(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return _form(request, dash)


@router.post("/sign-in")
def sign_in(
    request: Request, wait: SignInWait, dash: DashboardDep, fields: PostedFields
) -> Response:
    if wait:
        return _too_many_attempts(request, dash, wait)
    if not dash.sign_in_tokens.matches(request.cookies.get(SIGN_IN_COOKIE), fields.get("csrf", "")):
        return forbidden(dash)
    key = fields.get("key", "").strip()
    principal = dash.system.keys.principal_of(key) if KEY_PATTERN.match(key) else None
    if principal is None:
        return _form(request, dash, 401, error="That key is not valid, or it has been revoked.")
    secret, _session = dash.system.dashboard_sessions.create(hash_key(key))
    response = RedirectResponse("/dashboard", status_code=303)
    set_cookie(response, request, dash, SESSION_COOKIE, secret)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    logger.info("dashboard: %s signed in", principal.user_id)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, session: SignedIn, dash: DashboardDep, fields: PostedFields
) -> Response:
    if not csrf_matches(session.csrf, fields.get("csrf", "")):
        return forbidden(dash)
    dash.system.dashboard_sessions.delete(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _too_many_attempts(request: Request, dash: Dashboard, wait: int) -> Response:
    """The form again, with 429 and `Retry-After`; nothing posted was looked at."""
    seconds = "1 second" if wait == 1 else f"{wait} seconds"
    message = f"Too many sign-in attempts; try again in {seconds}."
    response = _form(request, dash, 429, error=message)
    response.headers["Retry-After"] = str(wait)
    return response


def _form(
    request: Request, dash: Dashboard, status: int = 200, error: str | None = None
) -> Response:
    token = dash.sign_in_tokens.issue()
    response = dash.pages.render("sign_in.html.j2", status, csrf=token, error=error, session=None)
    set_cookie(response, request, dash, SIGN_IN_COOKIE, token)
    return response
