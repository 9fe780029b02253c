"""The dashboard's CSRF tokens: the signed one of the sign-in form, and the session's.

A session is a row on the server (`nxdocs.auth.sessions`): the cookie holds
its random secret, and the row the session's CSRF token, which every form of
the session must send back (`csrf_matches`).

A sign-in token (`<nonce>.<signature>`) protects the sign-in form itself,
before any session exists: the form carries it and a cookie carries it, and
both must agree (so no other site can sign a browser in with that site's
key). It is stateless: signed with HMAC-SHA256 under a key derived from the
server's signing secret (the one download links use) for this purpose only,
so no signature made here is ever valid elsewhere, nor one made elsewhere
here, and every node accepts a form another one served.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_PURPOSE = b"nxdocs dashboard sessions v1"
"""What the signing key is derived for: the name from when sessions were signed too,
kept so that a sign-in form served before an upgrade still posts after it."""
_SIGN_IN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{64})")
_MAX_TOKEN_CHARS = 256


class SignInTokens:
    """Issues and checks sign-in form tokens; `secret` is the server's signing
    secret, from which this derives a key of its own."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()

    def issue(self) -> str:
        """A fresh token for one sign-in form (and the cookie beside it)."""
        nonce = secrets.token_hex(16)
        return f"{nonce}.{self._sign(nonce)}"

    def matches(self, cookie: str | None, form: str) -> bool:
        """Whether the sign-in form sent back the token its cookie holds, and we signed it."""
        if cookie is None or len(cookie) > _MAX_TOKEN_CHARS or not cookie.isascii():
            return False  # refused before a regex sees it
        match = _SIGN_IN.fullmatch(cookie)
        if match is None or not hmac.compare_digest(cookie.encode(), form.encode()):
            return False
        nonce, signature = match.groups()
        return hmac.compare_digest(self._sign(nonce).encode(), signature.encode())

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, f"sign-in\n{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, sent: str) -> bool:
    """Whether a form sent its session's CSRF token (compared in constant time)."""
    return sent.isascii() and hmac.compare_digest(expected.encode(), sent.encode())
