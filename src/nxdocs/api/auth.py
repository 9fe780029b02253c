"""Authentication for every /v1 route, and the legacy /v0 ones.

`AuthMiddleware` makes auth the default and being public the exception: a
route added later under /v1 or /v0 cannot forget to check the key. Who the key acts
as is put in `scope["state"]["principal"]` for the routes to scope their reads
by, and its user's id in `scope["state"]["owner_id"]` (rate limits and
Idempotency-Keys are the user's).
"""

from __future__ import annotations

from collections.abc import Collection

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from nxdocs.api.errors import RateLimitedError, UnauthorizedError
from nxdocs.api.responses import error_response
from nxdocs.auth.cache import KeyCache
from nxdocs.auth.principal import Principal
from nxdocs.auth.rate_limiter import RateLimiter

_BEARER = b"bearer "
# The API versions behind the key: each the exact path and every path under it.
_GUARDED = ("/v1", "/v0")
_GUARDED_FOLDERS = tuple(f"{root}/" for root in _GUARDED)

UNAUTHORIZED = error_response(UnauthorizedError(), {"WWW-Authenticate": "Bearer"})


class Authenticator:
    """Who a request's bearer key acts as, and whether its user's rate allows it now."""

    def __init__(self, keys: KeyCache[Principal], limiter: RateLimiter) -> None:
        self.keys = keys
        self.limiter = limiter

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> Principal | None:
        """The key's principal; or None after answering 401 or 429 itself."""
        principal = await self._principal(scope)
        if principal is None:
            await UNAUTHORIZED(scope, receive, send)
            return None
        wait = self.limiter.retry_after(principal.user_id)
        if wait:
            response = error_response(RateLimitedError(), {"Retry-After": str(wait)})
            await response(scope, receive, send)
            return None
        return principal

    async def _principal(self, scope: Scope) -> Principal | None:
        key = _bearer_token(scope)
        if key is None:
            return None
        hit, principal = self.keys.cached(key)
        if hit:
            return principal
        return await anyio.to_thread.run_sync(self.keys.load, key)


class AuthMiddleware:
    """`public_prefixes` names what needs no key: an entry ending in "/" is a
    folder (every path under it is public), any other entry one exact path
    (so "/v1/health" does not make "/v1/healthz" or "/v1/health/x" public)."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, public_prefixes: Collection[str]
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.public_paths = frozenset(path for path in public_prefixes if not path.endswith("/"))
        self.public_folders = tuple(path for path in public_prefixes if path.endswith("/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_auth(scope["path"]):
            await self.app(scope, receive, send)
            return
        principal = await self.authenticator.admit(scope, receive, send)
        if principal is None:
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["owner_id"] = principal.user_id
        await self.app(scope, receive, send)

    def _needs_auth(self, path: str) -> bool:
        if not (path in _GUARDED or path.startswith(_GUARDED_FOLDERS)):
            return False
        return path not in self.public_paths and not path.startswith(self.public_folders)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[: len(_BEARER)].lower() != _BEARER:
                return None
            token: bytes = value[len(_BEARER) :].strip()
            return token.decode("latin-1")
    return None
