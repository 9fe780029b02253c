"""`AsyncClient`: the API with `await`, on an `httpx.AsyncClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from nxdocs.sdk.async_resources import Artifacts, Exports, Jobs, WebhookEndpoints
from nxdocs.sdk.config import build_core
from nxdocs.sdk.core import Core, Emit, Operation, Outcome, Send, Sleep, Step
from nxdocs.sdk.files import finish, part_path
from nxdocs.sdk.retries import RetryPolicy
from nxdocs.sdk.webhooks import Webhooks
from nxdocs.sdk.wire import ApiRequest

T = TypeVar("T")


class AsyncDriver:
    """Runs operations with async I/O: sends, sleeps, streams downloads to disk."""

    def __init__(self, core: Core, http: httpx.AsyncClient) -> None:
        self.core = core
        self.http = http

    async def run(self, operation: Operation[T]) -> T:
        outcome: Outcome = None
        while True:
            try:
                step = operation.send(outcome)
            except StopIteration as stop:
                result: T = stop.value
                return result
            outcome = await self._do(step)

    async def iterate(self, operation: Operation[None]) -> AsyncIterator[Any]:
        outcome: Outcome = None
        while True:
            try:
                step = operation.send(outcome)
            except StopIteration:
                return
            if isinstance(step, Emit):
                outcome = None
                yield step.item
            else:
                outcome = await self._do(step)

    async def _do(self, step: Step) -> Outcome:
        if isinstance(step, Sleep):
            await anyio.sleep(step.seconds)
            return None
        if isinstance(step, Send):
            try:
                return await self._send(step.request)
            except httpx.TransportError as exc:
                return exc
        raise TypeError(f"{step!r} is not run by a single call")

    async def _send(self, request: ApiRequest) -> httpx.Response:
        built = self.core.wire.build(request)
        if request.target is None:
            return await self.http.send(built)
        response = await self.http.send(built, stream=True)
        try:
            if not response.is_success:
                await response.aread()  # the error body, for the exception
                return response
            part = part_path(request.target)
            try:
                async with await anyio.open_file(part, "wb") as file:
                    async for chunk in response.aiter_bytes():
                        await file.write(chunk)
                finish(part, request.target)
            finally:
                part.unlink(missing_ok=True)
        finally:
            await response.aclose()
        return response


class AsyncClient:
    """The nxdocs API, with `await`; configured as `Client` is, with an
    `httpx.AsyncBaseTransport` as `transport`. Use it with `async with`, or
    `await client.close()`."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        core = build_core(api_key, base_url, timeout, max_retries, retry_policy)
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False)
        driver = AsyncDriver(core, self._http)
        self.base_url = core.wire.base_url
        self.jobs = Jobs(core, driver)
        self.artifacts = Artifacts(core, driver)
        self.exports = Exports(core, driver)
        self.webhook_endpoints = WebhookEndpoints(core, driver)
        self.webhooks = Webhooks()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
