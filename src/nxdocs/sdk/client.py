"""`Client`: the API with blocking calls, on an `httpx.Client`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from nxdocs.sdk.config import build_core
from nxdocs.sdk.core import Core, Emit, Operation, Outcome, Send, Sleep, Step
from nxdocs.sdk.files import finish, part_path
from nxdocs.sdk.resources import Artifacts, Exports, Jobs, WebhookEndpoints
from nxdocs.sdk.retries import RetryPolicy
from nxdocs.sdk.webhooks import Webhooks
from nxdocs.sdk.wire import ApiRequest

T = TypeVar("T")


class Driver:
    """Runs operations with blocking I/O: sends, sleeps, streams downloads to disk."""

    def __init__(self, core: Core, http: httpx.Client) -> None:
        self.core = core
        self.http = http

    def run(self, operation: Operation[T]) -> T:
        outcome: Outcome = None
        while True:
            try:
                step = operation.send(outcome)
            except StopIteration as stop:
                result: T = stop.value
                return result
            outcome = self._do(step)

    def iterate(self, operation: Operation[None]) -> Iterator[Any]:
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
                outcome = self._do(step)

    def _do(self, step: Step) -> Outcome:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Send):
            try:
                return self._send(step.request)
            except httpx.TransportError as exc:
                return exc
        raise TypeError(f"{step!r} is not run by a single call")

    def _send(self, request: ApiRequest) -> httpx.Response:
        built = self.core.wire.build(request)
        if request.target is None:
            return self.http.send(built)
        response = self.http.send(built, stream=True)
        try:
            if not response.is_success:
                response.read()  # the error body, for the exception
                return response
            part = part_path(request.target)
            try:
                with part.open("wb") as file:
                    for chunk in response.iter_bytes():
                        file.write(chunk)
                finish(part, request.target)
            finally:
                part.unlink(missing_ok=True)
        finally:
            response.close()
        return response


class Client:
    """The nxdocs API, blocking.

    `api_key` and `base_url` default to NXDOCS_API_KEY and NXDOCS_BASE_URL
    (then `http://127.0.0.1:8000`); the base URL is the server's root, with
    or without `/v1`. `timeout` is httpx's (seconds, or an `httpx.Timeout`),
    `max_retries` the retries after a 429, a 5xx or a connection error
    (`retry_policy` for the rest), `transport` any `httpx.BaseTransport`.
    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        core = build_core(api_key, base_url, timeout, max_retries, retry_policy)
        self._http = httpx.Client(transport=transport, follow_redirects=False)
        driver = Driver(core, self._http)
        self.base_url = core.wire.base_url
        self.jobs = Jobs(core, driver)
        self.artifacts = Artifacts(core, driver)
        self.exports = Exports(core, driver)
        self.webhook_endpoints = WebhookEndpoints(core, driver)
        self.webhooks = Webhooks()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
