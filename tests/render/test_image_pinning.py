"""`HttpImageLoader` connects to the address it checked, and to no other.

Real servers on loopback addresses, real sockets and real TLS. The one stand-in
is at the DNS seam: a scripted resolver, so a name can answer one address to
the check and another afterwards (rebinding). 127.0.0.2 stands for "the public
internet": the loader admits it through `allowed_networks`, while 127.0.0.1
stays refused as loopback, so nothing needs a real public host.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from nxdocs.render import HttpImageLoader

from .image_server import ImageServer, Reply, image_server, self_signed_certificate
from .samples import png_bytes

IMAGE = png_bytes((50, 40))
PUBLIC = "127.0.0.2"  # the stand-in for a public address
ALLOWED = [f"{PUBLIC}/32"]


class ScriptedDns:
    """Answers each name from a script: one answer per lookup, the last repeating."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        script = self._answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def public() -> Iterator[ImageServer]:
    with image_server(PUBLIC) as server:
        server.routes["/image.png"] = Reply(body=IMAGE)
        server.routes["/other.png"] = Reply(body=IMAGE)
        yield server


@pytest.fixture
def victim(public: ImageServer) -> Iterator[ImageServer]:
    """A loopback server on the public one's port: where a rebound connection would land."""
    with image_server("127.0.0.1", public.port) as server:
        server.routes["/image.png"] = Reply(body=b"secret")
        server.routes["/other.png"] = Reply(body=b"secret")
        yield server


def test_a_rebinding_name_never_reaches_loopback(public: ImageServer, victim: ImageServer) -> None:
    # "localhost": had the connection resolved the name again, by the system
    # resolver or by ours, it would have landed on the victim.
    dns = ScriptedDns({"localhost": [[PUBLIC], ["127.0.0.1"]]})
    with HttpImageLoader(timeout=5, allowed_networks=ALLOWED, resolver=dns) as loader:
        assert loader(public.url("/image.png", "localhost")) == (IMAGE, "image/png")
        assert loader(public.url("/other.png", "localhost")) == (IMAGE, "image/png")
    assert dns.lookups == ["localhost"]
    assert public.paths() == ["/image.png", "/other.png"]
    assert victim.requests == []


def test_a_name_answering_loopback_is_refused(public: ImageServer, victim: ImageServer) -> None:
    dns = ScriptedDns({"images.test": [["127.0.0.1"], [PUBLIC]]})
    with HttpImageLoader(timeout=5, allowed_networks=ALLOWED, resolver=dns) as loader:
        assert loader(victim.url("/image.png", "images.test")) is None
        assert loader(victim.url("/other.png", "images.test")) is None  # refusal is kept too
    assert dns.lookups == ["images.test"]
    assert victim.requests == []
    assert public.requests == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    public: ImageServer, victim: ImageServer
) -> None:
    dns = ScriptedDns({"images.test": [[PUBLIC, "127.0.0.1"]]})
    with HttpImageLoader(timeout=5, allowed_networks=ALLOWED, resolver=dns) as loader:
        assert loader(public.url("/image.png", "images.test")) is None
    assert public.requests == victim.requests == []


@pytest.mark.parametrize("target", ["127.0.0.1", "inside.test", "localhost"])
def test_a_redirect_to_a_private_address_is_refused(
    public: ImageServer, victim: ImageServer, target: str
) -> None:
    public.routes["/hop"] = Reply(302, headers={"Location": victim.url("/image.png", target)})
    dns = ScriptedDns({"images.test": [[PUBLIC]], "inside.test": [["127.0.0.1"]]})
    with HttpImageLoader(timeout=5, allowed_networks=ALLOWED, resolver=dns) as loader:
        assert loader(public.url("/hop", "images.test")) is None
    assert public.paths() == ["/hop"]
    assert victim.requests == []


def test_a_redirect_to_an_allowed_host_is_pinned_too(
    public: ImageServer, victim: ImageServer
) -> None:
    public.routes["/hop"] = Reply(302, headers={"Location": public.url("/image.png", "cdn.test")})
    dns = ScriptedDns({"images.test": [[PUBLIC]], "cdn.test": [[PUBLIC], ["127.0.0.1"]]})
    with HttpImageLoader(timeout=5, allowed_networks=ALLOWED, resolver=dns) as loader:
        assert loader(public.url("/hop", "images.test")) == (IMAGE, "image/png")
        assert loader(public.url("/image.png", "cdn.test")) == (IMAGE, "image/png")
    assert [seen.host for seen in public.requests] == [
        f"images.test:{public.port}",
        f"cdn.test:{public.port}",
        f"cdn.test:{public.port}",
    ]
    assert victim.requests == []


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "0.0.0.0", "127.1"])
def test_disguised_loopback_addresses_are_refused(victim: ImageServer, host: str) -> None:
    with HttpImageLoader(timeout=5) as loader:
        assert loader(victim.url("/image.png", host)) is None
    assert victim.requests == []


def test_the_pinned_connection_keeps_the_host_header() -> None:
    dns = ScriptedDns({"images.test": [["127.0.0.1"]]})
    with (
        image_server() as server,
        HttpImageLoader(timeout=5, allow_private_hosts=True, resolver=dns) as loader,
    ):
        server.routes["/image.png"] = Reply(body=IMAGE)
        assert loader(server.url("/image.png", "images.test")) == (IMAGE, "image/png")
        assert server.requests[0].host == f"images.test:{server.port}"


def test_tls_checks_the_certificate_against_the_host_name(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, "images.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    dns = ScriptedDns({"images.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    with (
        image_server(tls=server_tls) as server,
        HttpImageLoader(
            timeout=5, allow_private_hosts=True, resolver=dns, ssl_context=trusting
        ) as loader,
    ):
        server.routes["/image.png"] = Reply(body=IMAGE)
        assert loader(server.url("/image.png", "images.test", "https")) == (IMAGE, "image/png")
        # The certificate names images.test only: not the address, not another name.
        assert loader(server.url("/image.png", "other.test", "https")) is None
        assert loader(server.url("/image.png", "127.0.0.1", "https")) is None
    assert server.server_names[0] == "images.test"
    assert [seen.host for seen in server.requests] == [f"images.test:{server.port}"]
