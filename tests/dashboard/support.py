"""A person at the dashboard, played by httpx: cookies kept, redirects shown, forms posted.

Each visitor connects from a loopback address of its own (all of 127.0.0.0/8
reaches this host), as people come from addresses of their own: the server
limits sign-in attempts per client address, and visitors of one module's
server must not share an allowance.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import httpx

_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
_ADDRESSES = itertools.count()


def loopback_address() -> str:
    """A loopback address no other visitor of this process has had (127.0.0.1 excepted)."""
    n = next(_ADDRESSES)
    return f"127.{n // 62_500 % 250 + 1}.{n // 250 % 250 + 1}.{n % 250 + 2}"


def csrf_of(html: str) -> str:
    """The CSRF token of the page's first form."""
    match = _CSRF.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


@dataclass
class Visitor:
    """One browser's worth of cookies; every response it got is kept in `seen`."""

    http: httpx.Client
    seen: list[httpx.Response] = field(default_factory=list)

    @classmethod
    def of(cls, base_url: str, address: str | None = None) -> Visitor:
        """A visitor connecting from `address`, by default a fresh loopback address."""
        transport = httpx.HTTPTransport(local_address=address or loopback_address())
        visitor = cls(httpx.Client(base_url=base_url, timeout=30, transport=transport))
        visitor.http.event_hooks["response"] = [visitor.seen.append]
        return visitor

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        response.read()
        return response

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        """Post a form as the page's script does: its fields as one JSON object."""
        response = self.http.post(path, json=form)
        response.read()
        return response

    def sign_in(self, key: str) -> httpx.Response:
        """Open the form and post the key with its token; the answer must be a session."""
        form = self.get("/dashboard/sign-in")
        assert form.status_code == 200, form.text
        response = self.post("/dashboard/sign-in", {"key": key, "csrf": csrf_of(form.text)})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/dashboard"
        return response

    def page(self, path: str) -> str:
        """`GET path`, which must answer 200 (signed in); the HTML."""
        response = self.get(path)
        assert response.status_code == 200, (response.status_code, response.headers)
        return response.text

    def csrf(self) -> str:
        """The session's CSRF token, as the pages carry it."""
        return csrf_of(self.page("/dashboard"))

    def close(self) -> None:
        self.http.close()
