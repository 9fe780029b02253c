"""A TCP relay to a real server, opened late: a database that "comes up" on a port
after a process has started, without touching the shared PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def relay(port: int, target: tuple[str, int]) -> Iterator[None]:
    """Accept on 127.0.0.1:`port` and pipe every connection to `target` until the block ends."""
    listener = socket.create_server(("127.0.0.1", port))
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield
    finally:
        stop.set()
        acceptor.join()
        listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass  # the other side closed: so does this one
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):  # already shut by the pipe the other way
                end.shutdown(socket.SHUT_RDWR)
        source.close()  # each socket is the source of one pipe: closed once
