"""The headers every dashboard response carries, whichever part of the app made it.

An ASGI middleware rather than a per-route header: the dashboard's static
files, its redirects and the framework's refusals on /dashboard paths (an
unknown path's 404, a wrong method's 405, drawn as pages by `messages`) all
get them too.

The policy allows nothing but the dashboard's own origin: no inline script or
style (every script and stylesheet is a file under /dashboard/static), no
framing by anyone (clickjacking the cancel button), and forms that post only
back to it. Pages hold the owner's jobs, so they are never stored by a cache
unless a route says otherwise (the page previews, which never change).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/dashboard"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_dashboard_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


class SecurityHeaders:
    """Adds `HEADERS` (and `Cache-Control: no-store` unless set) to responses of
    dashboard paths; every other path passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_dashboard_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
