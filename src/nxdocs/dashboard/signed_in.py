"""The session behind a dashboard request: its row found by the cookie, its key checked again.

Every route but the sign-in form takes `SignedIn`. The cookie holds the
session's secret; its row (`SessionStore.read`) names the key by digest,
which is looked up again (`KeyStore.principal_of_digest`). A request without
a live session (no cookie, an unknown or malformed one, expired, signed out,
or its key revoked since) raises `NotSignedInError`, which answers with a
redirect to the sign-in form and drops the cookie. Neither is cached: a
dashboard request is a person's click or a refresh every few seconds, and a
sign-out or a revoked key must take effect at once, on every node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response

from nxdocs.auth.principal import Principal
from nxdocs.auth.sessions import SESSION_SECONDS, DashboardSession
from nxdocs.dashboard.context import Dashboard, dashboard

SESSION_COOKIE = "nxdocs_dashboard"
SIGN_IN_COOKIE = "nxdocs_dashboard_sign_in"
COOKIE_PATH = "/dashboard"
"""Cookies go to the dashboard only: never to /v1, whose routes know nothing of them."""
SIGN_IN_PATH = "/dashboard/sign-in"


class NotSignedInError(Exception):
    """The request has no valid session: it is sent to the sign-in form."""


@dataclass(frozen=True)
class Session:
    principal: Principal
    stored: DashboardSession

    @property
    def csrf(self) -> str:
        return self.stored.csrf

    @property
    def workspace(self) -> str:
        """The owner whose jobs the dashboard lists: the key's own space, as the API's lists."""
        return self.principal.key_org_id or self.principal.user_id


DashboardDep = Annotated[Dashboard, Depends(dashboard)]


def signed_in(request: Request, dash: DashboardDep) -> Session:
    stored = dash.system.dashboard_sessions.read(request.cookies.get(SESSION_COOKIE))
    if stored is None:
        raise NotSignedInError
    principal = dash.system.keys.principal_of_digest(stored.key_digest)
    if principal is None:
        raise NotSignedInError
    return Session(principal, stored)


SignedIn = Annotated[Session, Depends(signed_in)]


def to_sign_in(_request: Request, _exc: Exception) -> Response:
    """The answer to `NotSignedInError`: the sign-in form, and the session cookie dropped."""
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def set_cookie(
    response: Response, request: Request, dash: Dashboard, name: str, value: str
) -> None:
    """A dashboard cookie: HttpOnly (no script reads it), SameSite=Strict (no other
    site's page sends it), Secure when the dashboard is served over https."""
    response.set_cookie(
        name,
        value,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=dash.secure_cookies or request.url.scheme == "https",
    )
