"""Dashboard sessions: signed tokens that name an API key by its digest, never the key.

A session token is `<key digest>.<csrf token>.<expires ms>.<signature>`,
ASCII, one cookie value. The digest is the SHA-256 the key store already keeps
(`nxdocs.auth.keys.hash_key`), so every request can look the key up again and
a revoked key's sessions stop at once; the cookie never holds the key itself,
which the browser could leak and which would open the whole API. The CSRF
token is random per session and is what every form of the session must send
back.

A sign-in token (`<nonce>.<signature>`) protects the sign-in form itself,
before any session exists: the form carries it and a cookie carries it, and
both must agree.

Signatures are HMAC-SHA256 under a key derived from the server's signing
secret (the one download links use) for this purpose only, so no signature
made here is ever valid elsewhere, nor one made elsewhere here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TypeGuard

from nxdocs.clock import Clock

SESSION_SECONDS = 8 * 3600
"""How long a sign-in lasts; signing in again starts a new session."""

_PURPOSE = b"nxdocs dashboard sessions v1"
_SESSION = re.compile(r"([0-9a-f]{64})\.([0-9a-f]{32})\.([0-9]{1,15})\.([0-9a-f]{64})")
_SIGN_IN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{64})")
_MAX_TOKEN_CHARS = 256


@dataclass(frozen=True)
class SessionToken:
    """What a valid session cookie says: whose key, the session's CSRF token, its end."""

    key_digest: str
    csrf: str
    expires_at_ms: int


class SessionCodec:
    """Issues and checks session and sign-in tokens; `secret` is the server's
    signing secret, from which this codec derives a key of its own."""

    def __init__(self, secret: bytes, clock: Clock) -> None:
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
        self._clock = clock

    def issue(self, key_digest: str) -> tuple[str, SessionToken]:
        """A new session for the key with this digest: (cookie value, what it says)."""
        session = SessionToken(
            key_digest, secrets.token_hex(16), self._clock.now_ms() + SESSION_SECONDS * 1000
        )
        body = f"{session.key_digest}.{session.csrf}.{session.expires_at_ms}"
        return f"{body}.{self._sign('session', body)}", session

    def read(self, token: str | None) -> SessionToken | None:
        """The session `token` names, if this server signed it and it has not expired."""
        match = _SESSION.fullmatch(token) if _shaped(token) else None
        if match is None:
            return None
        digest, csrf, expires, signature = match.groups()
        if not self._valid("session", f"{digest}.{csrf}.{expires}", signature):
            return None
        if int(expires) <= self._clock.now_ms():
            return None
        return SessionToken(digest, csrf, int(expires))

    def sign_in_token(self) -> str:
        """A fresh token for one sign-in form (and the cookie beside it)."""
        nonce = secrets.token_hex(16)
        return f"{nonce}.{self._sign('sign-in', nonce)}"

    def sign_in_matches(self, cookie: str | None, form: str) -> bool:
        """Whether the sign-in form sent back the token its cookie holds, and we signed it."""
        if not _shaped(cookie):
            return False
        match = _SIGN_IN.fullmatch(cookie)
        if match is None or not hmac.compare_digest(cookie.encode(), form.encode()):
            return False
        nonce, signature = match.groups()
        return self._valid("sign-in", nonce, signature)

    def _sign(self, kind: str, body: str) -> str:
        return hmac.new(self._key, f"{kind}\n{body}".encode(), hashlib.sha256).hexdigest()

    def _valid(self, kind: str, body: str, signature: str) -> bool:
        return hmac.compare_digest(self._sign(kind, body).encode(), signature.encode())


def csrf_matches(session: SessionToken, sent: str) -> bool:
    """Whether a form sent its session's CSRF token (compared in constant time)."""
    return sent.isascii() and hmac.compare_digest(session.csrf.encode(), sent.encode())


def _shaped(token: str | None) -> TypeGuard[str]:
    """Text worth matching: short ASCII (anything else is refused before a regex sees it)."""
    return token is not None and len(token) <= _MAX_TOKEN_CHARS and token.isascii()
