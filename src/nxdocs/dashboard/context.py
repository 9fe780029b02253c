"""What the dashboard's routes work with, built once by `mount` and kept on the app."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from nxdocs.auth.rate_limiter import RateLimiter
from nxdocs.dashboard.activity import ActivityReader
from nxdocs.dashboard.details import JobDetails
from nxdocs.dashboard.previews import PagePreviews
from nxdocs.dashboard.sessions import SignInTokens
from nxdocs.dashboard.templates import Pages
from nxdocs.exports.links import DownloadLinks
from nxdocs.poll.listing import JobLister
from nxdocs.system import System


@dataclass(frozen=True)
class Dashboard:
    system: System
    sign_in_tokens: SignInTokens
    sign_in_limiter: RateLimiter
    """Sign-in attempts per client address, in this process (see `sign_in`)."""
    pages: Pages
    links: DownloadLinks
    previews: PagePreviews
    jobs: JobLister
    details: JobDetails
    activity: ActivityReader
    secure_cookies: bool
    """Whether cookies carry `Secure`: when the server's public URL is https."""


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found
