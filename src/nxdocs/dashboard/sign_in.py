"""Signing in with an API key, and out.

The key is posted once, in the sign-in form's body (`forms`), checked with
the key store (`KeyStore.principal_of`, as the API checks it), and
forgotten: the session cookie names it by digest (`sessions`). It never appears in
a URL, a page (the form is never filled in again), a cookie or a log line.

Both forms carry a CSRF token: the sign-in form the one its own cookie holds
(so no other site can sign a browser in with the other site's key), the
sign-out form the session's.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from nxdocs.auth.keys import KEY_PATTERN, hash_key
from nxdocs.dashboard.context import Dashboard
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


@router.get("/sign-in")
def sign_in_form(request: Request, dash: DashboardDep) -> Response:
    if dash.codec.read(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return _form(request, dash)


@router.post("/sign-in")
def sign_in(request: Request, dash: DashboardDep, fields: PostedFields) -> Response:
    if not dash.codec.sign_in_matches(request.cookies.get(SIGN_IN_COOKIE), fields.get("csrf", "")):
        return forbidden(dash)
    key = fields.get("key", "").strip()
    principal = dash.system.keys.principal_of(key) if KEY_PATTERN.match(key) else None
    if principal is None:
        return _form(request, dash, error="That key is not valid, or it has been revoked.")
    cookie, _session = dash.codec.issue(hash_key(key))
    response = RedirectResponse("/dashboard", status_code=303)
    set_cookie(response, request, dash, SESSION_COOKIE, cookie)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    logger.info("dashboard: %s signed in", principal.user_id)
    return response


@router.post("/sign-out")
def sign_out(session: SignedIn, dash: DashboardDep, fields: PostedFields) -> Response:
    if not csrf_matches(session.token, fields.get("csrf", "")):
        return forbidden(dash)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _form(request: Request, dash: Dashboard, error: str | None = None) -> Response:
    token = dash.codec.sign_in_token()
    response = dash.pages.render(
        "sign_in.html.j2", 401 if error else 200, csrf=token, error=error, session=None
    )
    set_cookie(response, request, dash, SIGN_IN_COOKIE, token)
    return response
