"""The web dashboard at /dashboard: an owner's jobs, live, in a browser.

Server-rendered pages (Jinja templates in `templates/`) and one small script
and stylesheet (`static/`), all served by the API's own app: no build step,
nothing from another origin. An owner signs in with an API key (`sign_in`,
rate-limited per client address); the session is a row on the server whose
random secret the cookie holds (`nxdocs.auth.sessions`), and which names the
key by digest: both are checked again on every request (`signed_in`), and
signing out deletes the row. The dashboard reads through the same stores
and listing as the API, and cancels through the same `JobControl`; its only
queries of its own are a job's full row (`details`) and the charts'
per-minute counts (`activity`). Client input is read at the edge, leniently
where a form sent it (`filters`, `forms`) and by shape where a path names
it; what is refused is a page of the dashboard's own (`messages`), the
framework's refusals on its paths included. Not part of the public API: its
routes are left out of the OpenAPI document, and /v1's key middleware does
not guard them (they guard themselves).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from nxdocs.dashboard import artifacts_view, jobs_view, sign_in
from nxdocs.dashboard.activity import ActivityReader
from nxdocs.dashboard.context import Dashboard
from nxdocs.dashboard.details import JobDetails
from nxdocs.dashboard.messages import install_error_pages
from nxdocs.dashboard.previews import PagePreviews
from nxdocs.dashboard.security import SecurityHeaders
from nxdocs.dashboard.sessions import SignInTokens
from nxdocs.dashboard.signed_in import NotSignedInError, to_sign_in
from nxdocs.dashboard.templates import Pages
from nxdocs.db.secrets import signing_secret
from nxdocs.exports.links import DownloadLinks
from nxdocs.poll.listing import JobLister
from nxdocs.system import System


def mount(api: FastAPI, system: System) -> None:
    """Add the dashboard's routes to `api`."""
    settings = system.settings
    configured = settings.signing_secret
    # The secret download links are signed with (every node shares it); the
    # sign-in form's tokens are signed with a key derived from it.
    secret = signing_secret(system.engine, configured.get_secret_value() if configured else None)
    public_url = settings.resolved_public_url()
    api.state.dashboard = Dashboard(
        system=system,
        sign_in_tokens=SignInTokens(secret),
        sign_in_limiter=sign_in.limiter(system.clock),
        pages=Pages(),
        links=DownloadLinks(
            system.link_signer(),
            system.blobs,
            system.clock,
            url_seconds=settings.download_url_seconds,
            retention_seconds=settings.export_retention_seconds,
        ),
        previews=PagePreviews(settings.document_page_size, system.images),
        jobs=JobLister(system.engine),
        details=JobDetails(system.engine),
        activity=ActivityReader(system.engine),
        secure_cookies=public_url.startswith("https://"),
    )
    for router in (sign_in.router, jobs_view.router, artifacts_view.router):
        api.include_router(router)
    api.mount("/dashboard/static", StaticFiles(packages=[("nxdocs.dashboard", "static")]))
    api.add_exception_handler(NotSignedInError, to_sign_in)
    install_error_pages(api)
    api.add_middleware(SecurityHeaders)
