"""Debian's Chromium driven by Playwright (Python), and a page whose requests and
console errors are recorded: for the tests that look at pages in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/system-packages.txt); never downloaded


@contextmanager
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/system-packages.txt)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Watched:
    """A page whose every request and console error is recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("console", self._console)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def assert_only(self, origin: str) -> None:
        """Every request went to `origin`, and nothing was blocked or failed."""
        assert self.requests, "the browser made no request at all"
        strangers = [url for url in self.requests if not url.startswith(f"{origin}/")]
        assert strangers == [], strangers
        assert self.errors == []  # a blocked script or resource would be logged here
