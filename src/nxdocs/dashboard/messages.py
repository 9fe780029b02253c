"""The dashboard's refusals, as pages: a form without its token, an id that is not yours,
and whatever the framework refuses on a dashboard path.

The framework refuses some requests itself, with an `HTTPException`: a path
no route or static file has (404), a method the path does not take (405);
`forms` refuses a form too large (413) the same way. The app's handler
(`nxdocs.api.error_handlers`) answers those in the API's JSON; on a dashboard
path, `install_error_pages` makes them a page in the dashboard's own style
instead, with the same status (and for a 405, `Allow`). Every other path gets
the app's answer, untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response

from nxdocs.dashboard.context import Dashboard, dashboard
from nxdocs.dashboard.security import is_dashboard_path
from nxdocs.dashboard.signed_in import Session

_MESSAGES = {
    404: "There is no such page in the dashboard.",
    405: "This address does not take that kind of request.",
    413: "The form sent more than a dashboard form holds, so nothing was done.",
}
_OTHERWISE = "The request could not be answered, so nothing was done."


def forbidden(dash: Dashboard) -> Response:
    """A form that came without its CSRF token, or with another: refused, nothing done."""
    return dash.pages.render(
        "message.html.j2",
        403,
        title="Refused",
        message="This form was not sent from this dashboard's own page, so nothing was done. "
        "Open the page again and retry.",
        session=None,
    )


def not_found(dash: Dashboard, session: Session) -> Response:
    """Another owner's job or artifact, exactly as one that does not exist."""
    return dash.pages.render(
        "message.html.j2",
        404,
        title="Not found",
        message="There is no such job or artifact among yours.",
        session=session,
    )


def install_error_pages(api: FastAPI) -> None:
    """Answer the framework's 4xx refusals on dashboard paths with a page (`error_page`).

    Registered by status code: the framework looks those up before the
    handlers by exception class, so this holds whichever is installed first."""
    for status in HTTPStatus:
        if 400 <= status < 500:
            api.add_exception_handler(status.value, error_page)


async def error_page(request: Request, exc: Exception) -> Response:
    """On a dashboard path, the refusal's status (and `Allow`) as a page, with
    nothing of the request echoed in it; elsewhere, what the app's own handler answers."""
    if not isinstance(exc, HTTPException) or not is_dashboard_path(request.scope["path"]):
        return await _app_answer(request, exc)
    status = exc.status_code
    page = dashboard(request).pages.render(
        "message.html.j2",
        status,
        title=HTTPStatus(status).phrase,
        message=_MESSAGES.get(status, _OTHERWISE),
        session=None,
    )
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        # The app's handler names every method of every route at the path.
        page.headers["Allow"] = (await _app_answer(request, exc)).headers.get("Allow", "")
    return page


async def _app_answer(request: Request, exc: Exception) -> Response:
    """What the app's handler for `exc`'s class answers (`nxdocs.api.error_handlers`)."""
    handlers: dict[object, Callable[[Request, Any], object]] = request.app.exception_handlers
    found = (handlers[kind] for kind in type(exc).__mro__ if kind in handlers)
    handler: Callable[[Request, Any], object] = next(found, http_exception_handler)
    answer = handler(request, exc)
    if inspect.isawaitable(answer):
        answer = await answer
    assert isinstance(answer, Response)
    return answer
