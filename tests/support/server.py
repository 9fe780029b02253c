"""A real uvicorn server on a loopback port, in a thread, for API tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from tests.support.contract import check_response
from tests.support.waiting import wait_until


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked.

    uvicorn looks at `should_exit` every 0.1 s, then always pauses 0.1 s for
    connections to close before it waits for them; the suite starts and stops
    about a thousand servers, so those pauses add minutes. Here the loop looks
    every 5 ms and the shutdown waits only as long as connections and tasks
    remain, then runs the app's lifespan shutdown as uvicorn does. Servers of
    real processes (`nxdocs serve` in the acceptance tests) are uvicorn's own.
    """

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.005)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        while self.server_state.connections or self.server_state.tasks:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: ASGIApp, port: int | None = None) -> Iterator[str]:
    """Serve `app` (lifespan included) until the block ends; yields the base URL.

    `port` defaults to a free one; give it when the app must know its own
    address (download links name it)."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = PromptServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), interval=0.002)
    if not server.started:
        raise RuntimeError("the test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@contextmanager
def checked_client(app: ASGIApp) -> Iterator[httpx.Client]:
    """A client of `app` served by a real uvicorn; every response is contract-checked."""
    with (
        serving(app) as base_url,
        httpx.Client(
            base_url=base_url, event_hooks={"response": [check_response]}, timeout=30
        ) as http,
    ):
        yield http
