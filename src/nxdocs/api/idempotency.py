"""`Idempotency-Key` on the routes that create work, with Stripe's semantics.

A client that sends `POST /v1/artifacts[/async]` or `POST /v1/exports[/async]`
with an `Idempotency-Key` header (1-255 printable ASCII characters) may send
it again, after a timeout or a lost connection, without making a second job:

- the same key with the same request (method, path, and the body with its
  JSON keys sorted) replays the first response: its status and its body,
  byte for byte, with `Idempotent-Replayed: true`;
- the same key with another request is 409 `IDEMPOTENCY_KEY_REUSED`;
- the same key while its first request has not answered is 409 `CONFLICT`
  with `Retry-After: 1`.

Keys are scoped like the API key that sends them (its user's, or for a key
made for an organization, the organization's), and live `idempotency_key_seconds` (24 h). What is
saved for replay: a 2xx, or a 404 (the route ran and decided). After any
other answer (400, 409, 413, 415, 429, 5xx) or an exception the key is
released, so the client can fix the request, or wait, and retry with the same
key; Stripe saves no result for requests that failed validation or met a
concurrent one either. The one exception: a request that fails after its
create committed (a 503 while it waited) leaves its key bound to what it made,
and the retry answers with that resource.

Why a middleware, with a small hook in the routes. The HTTP side (the
header, the body's fingerprint, the replay, the two 409s, and the choice
between saving and releasing) is one ASGI layer, installed inside
`AuthMiddleware` (it needs the owner) and `BodyLimits` (413 and 415 come
first, and the body is already read whole). Being outside FastAPI, it sees
exactly the bytes and the status that went out, whichever handler made them,
so a replay cannot drift from the original, and a route cannot answer
without the key being saved or released. Two things only a route can do go
through the `KeyHold` it gets as a dependency (`IdempotencyKeyDep`): its store
records the new resource on the key inside the create transaction
(`on_created`), and when the key is taken over from a request that died
after creating, the route answers with that resource (`created`) instead of
creating another, in its own words (202, or the sync route's 201/202).

A request holds its key until `sync_wait_seconds` plus a margin have passed
(`nxdocs.idempotency.store`); one that is still unanswered then is taken
for dead, and the next request with the key takes it over.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import Depends, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.api.body_limits import replay_body
from nxdocs.api.errors import ApiError, ConflictError, IdempotencyKeyReusedError, invalid
from nxdocs.api.responses import error_response
from nxdocs.auth.principal import Principal
from nxdocs.idempotency.model import Created, Held, InProgress, Replay, Reused
from nxdocs.idempotency.store import IdempotencyStore, OnCreated
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_PATTERN = "^[ -~]{1,255}$"
"""1-255 printable ASCII characters (0x20-0x7E)."""
CREATE_PATHS = frozenset(
    {"/v1/artifacts", "/v1/artifacts/async", "/v1/exports", "/v1/exports/async"}
)
"""The routes that create work (POST only)."""
REPLAYED = "Idempotent-Replayed"

_NAME = HEADER.lower().encode()
_KEY = re.compile(KEY_PATTERN.encode())
_STATE = "idempotency"
_IN_PROGRESS = "A request with this Idempotency-Key is in progress; retry later."


@dataclass(frozen=True)
class KeyHold:
    """What a create route needs of the key its request holds.

    `on_created`: for the resource store's create, which runs it in its
    transaction. `created`: what an earlier holder of the key created before
    it died; the route answers with it and creates nothing.
    """

    on_created: OnCreated | None
    created: Created | None


NO_KEY = KeyHold(None, None)
"""A request without the header."""


def _key_hold(request: Request) -> KeyHold:
    hold = request.scope.get("state", {}).get(_STATE)
    return hold if isinstance(hold, KeyHold) else NO_KEY


IdempotencyKeyDep = Annotated[KeyHold, Depends(_key_hold)]


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, the path and the body: parsed JSON dumped with sorted
    keys (so key order and spacing do not matter), else the raw bytes."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        # Length-prefixed, so no two different requests join to the same bytes.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def parse_key(values: list[bytes]) -> str:
    """The header's key; `ValidationFailedError` naming the header if it is not one."""
    if len(values) != 1:
        raise invalid(HEADER, "Send one Idempotency-Key header.")
    if not _KEY.fullmatch(values[0]):
        raise invalid(HEADER, "An Idempotency-Key is 1-255 printable ASCII characters.")
    return values[0].decode("ascii")


def in_progress() -> Response:
    """409 CONFLICT: a request with the key has not answered yet."""
    return error_response(ConflictError(_IN_PROGRESS), {"Retry-After": "1"})


def _saved(status: int) -> bool:
    """Answers the route decided, which the key replays: 2xx and 404."""
    return 200 <= status < 300 or status == 404


class IdempotentCreates:
    """The ASGI layer described above, for POST to `paths`."""

    def __init__(
        self, app: ASGIApp, store: IdempotencyStore, paths: Collection[str] = CREATE_PATHS
    ) -> None:
        self.app = app
        self.store = store
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        values = self._header_values(scope)
        if not values:
            await self.app(scope, receive, send)
            return
        try:
            key = parse_key(values)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        # Scoped like the key: a key made for an organization never replays
        # what its user's personal key made with the same Idempotency-Key.
        principal: Principal = scope["state"]["principal"]
        owner_id = principal.key_org_id or principal.user_id
        body = await _read_body(receive)
        claim = await anyio.to_thread.run_sync(
            self.store.claim, owner_id, key, fingerprint(scope["method"], scope["path"], body)
        )
        if isinstance(claim, Held):
            await self._run(scope, send, body, (owner_id, key, claim))
            return
        await _answer(claim)(scope, replay_body(body), send)

    def _header_values(self, scope: Scope) -> list[bytes]:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return []
        return [value for name, value in scope["headers"] if name == _NAME]

    async def _run(
        self, scope: Scope, send: Send, body: bytes, holding: tuple[str, str, Held]
    ) -> None:
        """Run the route holding the key; save its answer or release the key, then answer."""
        owner_id, key, held = holding
        scope["state"][_STATE] = KeyHold(
            self.store.recorder(owner_id, key, held.token), held.created
        )
        response = _Buffered()
        try:
            await self.app(scope, replay_body(body), response.send)
        except Exception:
            await self._release_after_error(owner_id, key, held.token)
            raise
        status = response.status
        if status is not None and _saved(status):
            await anyio.to_thread.run_sync(
                self.store.save, owner_id, key, held.token, status, response.body
            )
        else:
            await anyio.to_thread.run_sync(self.store.release, owner_id, key, held.token)
        await response.forward(send)

    async def _release_after_error(self, owner_id: str, key: str, token: int) -> None:
        try:
            await anyio.to_thread.run_sync(self.store.release, owner_id, key, token)
        except Exception as exc:
            # The route's own error is what the client hears about; the key is
            # taken over once its lock runs out.
            log.warning("an Idempotency-Key stays held after an error: %s", exception_summary(exc))


def _answer(claim: Replay | Reused | InProgress) -> Response:
    if isinstance(claim, Replay):
        return Response(
            claim.body,
            status_code=claim.status,
            media_type="application/json",
            headers={REPLAYED: "true"},
        )
    if isinstance(claim, Reused):
        return error_response(IdempotencyKeyReusedError())
    return in_progress()


async def _read_body(receive: Receive) -> bytes:
    """The whole body (`BodyLimits` has already bounded it)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class _Buffered:
    """A route's response, held back until the key has saved it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def status(self) -> int | None:
        return None if self.start is None else int(self.start["status"])

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def forward(self, send: Send) -> None:
        if self.start is None:
            return  # the route sent nothing; the server answers 500
        await send(self.start)
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
