"""A fast local webhook receiver for the webhook benchmark, in its own process.

    python -m bench.webhook_receiver PORT

HTTP/1.1 with keep-alive on plain asyncio streams (no framework: a delivery
costs it a few tens of microseconds, so it never holds the senders back). It
answers every `POST` with `204` and notes, per delivery, `time.time()` once
the body is in, the `webhook-id` header, the path (one per endpoint) and the
body; bodies are parsed only when the records are asked for. Control routes,
for the benchmark:

- `GET /count`: deliveries received (distinct path and `webhook-id`: a
  message has one id for all its endpoints), as a number;
- `GET /records`: `{"records": [[webhook_id, received, path, type,
  timestamp, job_id, updated_at], ...], "duplicates": n}`, one record per
  distinct delivery (its first receipt); it also empties the records.
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson

_NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class Records:
    def __init__(self) -> None:
        # One message goes to each endpoint with the same id: keyed by (path, id).
        self.first: dict[tuple[bytes, bytes], tuple[float, bytes]] = {}
        self.duplicates = 0

    def add(self, webhook_id: bytes, received: float, path: bytes, body: bytes) -> None:
        key = (path, webhook_id)
        if key in self.first:
            self.duplicates += 1
        else:
            self.first[key] = (received, body)

    def take(self) -> bytes:
        rows = []
        for (path, webhook_id), (received, body) in self.first.items():
            event = orjson.loads(body)
            data = event["data"]
            rows.append(
                [
                    webhook_id.decode(),
                    received,
                    path.decode(),
                    event["type"],
                    event["timestamp"],
                    data["id"],
                    data["updated_at"],
                ]
            )
        answer = orjson.dumps({"records": rows, "duplicates": self.duplicates})
        self.first, self.duplicates = {}, 0
        return answer


def _answer(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def serve(port: int) -> None:
    records = Records()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.split(b"\r\n")
                method, path = lines[0].split(b" ", 2)[:2]
                length = 0
                webhook_id = b""
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        webhook_id = value.strip()
                body = await reader.readexactly(length) if length else b""
                if method == b"POST":
                    records.add(webhook_id, time.time(), path, body)
                    writer.write(_NO_CONTENT)
                elif path == b"/count":
                    writer.write(_answer(str(len(records.first)).encode()))
                elif path == b"/records":
                    writer.write(_answer(records.take()))
                else:
                    writer.write(_answer(b"null"))
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
