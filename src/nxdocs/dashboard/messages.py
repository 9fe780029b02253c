"""The dashboard's refusals, as pages: a form without its token, and an id that is not yours."""

from __future__ import annotations

from starlette.responses import Response

from nxdocs.dashboard.context import Dashboard
from nxdocs.dashboard.signed_in import Session


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
