"""Viewer tokens, the iframe snippet and the viewer page, without a server or a database."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from nxdocs.embed import (
    VIEWER_PATH,
    EmbedLinks,
    ExpiredLinkError,
    InvalidLinkError,
    iframe_html,
    viewer_headers,
    viewer_page,
)
from nxdocs.pages import Document
from nxdocs.render.themes import get_theme
from nxdocs.storage.signing import LinkSigner
from tests.support.clock import ManualClock

ARTIFACT = "doc_0abcdefgh1234567890abcdef"
OTHER = "doc_0abcdefgh1234567890zzzzzz"
BASE = "http://nx.test:8000"
HOUR = 3600


def links(clock: ManualClock, secret: bytes = b"k" * 32) -> EmbedLinks:
    return EmbedLinks(LinkSigner(secret, BASE), clock, public_url=BASE + "/", link_seconds=HOUR)


def test_a_link_opens_its_artifact_until_it_expires() -> None:
    clock = ManualClock(1_700_000_000_000)
    signed = links(clock).issue(ARTIFACT, "theme_midnight")

    assert signed.url == f"{BASE}{VIEWER_PATH}{signed.token}"
    assert signed.expires_at_ms == 1_700_000_000_000 + HOUR * 1000
    artifact_id, theme, expires, signature = signed.token.split(".")
    assert (artifact_id, theme, expires) == (ARTIFACT, "theme_midnight", str(signed.expires_at_ms))
    assert re.fullmatch(r"[0-9a-f]{64}", signature)

    clock.advance(HOUR)  # the last millisecond it lives
    grant = links(clock).verify(signed.token)
    assert (grant.artifact_id, grant.theme_id) == (ARTIFACT, "theme_midnight")
    clock.advance(0.001)
    with pytest.raises(ExpiredLinkError):
        links(clock).verify(signed.token)


def test_an_unknown_or_missing_theme_draws_with_the_default() -> None:
    clock = ManualClock()
    for theme in (None, "theme_gone", "<script>"):
        assert links(clock).issue(ARTIFACT, theme).token.split(".")[1] == "theme_classic"


def _swap(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def test_every_part_is_covered_by_the_signature() -> None:
    clock = ManualClock()
    token = links(clock).issue(ARTIFACT, "theme_ocean").token
    signature = token.split(".")[3]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    forged = [
        _swap(token, 0, OTHER),  # another artifact
        _swap(token, 1, "theme_sunset"),
        _swap(token, 2, str(int(token.split(".")[2]) + 1)),  # a later expiry
        _swap(token, 3, flipped),
        _swap(token, 3, signature.upper()),
    ]
    for tampered in forged:
        with pytest.raises(InvalidLinkError):
            links(clock).verify(tampered)
    with pytest.raises(InvalidLinkError):  # another key: a rotated secret voids every link
        links(clock, b"x" * 32).verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "\x00",
        "doc_a\x00.theme_classic.1.aa",
        "dóc_abc.theme_classic.1." + "a" * 64,
        "doc_abc.theme_classic.\u00b2." + "a" * 64,  # isdigit() would take "²"
        "doc_abc.theme_classic.1." + "a" * 63 + "\u0430",  # Cyrillic a
        "doc_abc.theme_classic.1." + "a" * 64 + ".x",
        "doc_abc.theme_classic.1." + "a" * 64 + "\n",
        "exp_abc.theme_classic.1." + "a" * 64,
        "doc_abc.theme_classic.1." + "a" * 64 * 100,
        "\ud800",
    ],
)
def test_a_token_of_another_shape_is_invalid(token: str) -> None:
    with pytest.raises(InvalidLinkError):
        links(ManualClock()).verify(token)


def test_a_download_signature_never_opens_the_viewer() -> None:
    """The same signer signs downloads over a bare id: no such signature is a token's."""
    clock = ManualClock()
    signer = LinkSigner(b"k" * 32, BASE)
    expires = clock.now_ms() + 60_000
    download = signer.link(ARTIFACT, "deck.pdf", expires)
    [signature] = parse_qs(urlsplit(download.url).query)["signature"]
    with pytest.raises(InvalidLinkError):
        links(clock).verify(f"{ARTIFACT}.theme_classic.{expires}.{signature}")
    token = links(clock).issue(ARTIFACT, None)
    _, _, expires_text, token_signature = token.token.split(".")
    assert not signer.valid(ARTIFACT, expires_text, token_signature)


def test_the_iframe_escapes_the_title_and_the_url() -> None:
    snippet = iframe_html(
        f"{BASE}/v1/embed/view/t?a=1&b=2", "\"><script>x</script> & 'q'", "document"
    )

    assert snippet.startswith('<iframe src="http://nx.test:8000/v1/embed/view/t?a=1&amp;b=2" ')
    assert 'title="&quot;&gt;&lt;script&gt;x&lt;/script&gt; &amp; &#x27;q&#x27;"' in snippet
    assert "<script>" not in snippet
    assert snippet.endswith("></iframe>")
    assert 'width="800" height="1000"' in snippet


PAGES = Document.model_validate(
    {
        "type": "presentation",
        "title": "Deck </head></body>",
        "pages": [
            {"blocks": [{"type": "title", "text": "One </body>"}], "notes": "secret notes"},
            {
                "blocks": [
                    {"type": "heading", "text": "Two"},
                    {"type": "image", "src": "https://example.com/a.png", "alt": "alt text"},
                ]
            },
        ],
    }
)


def test_the_page_is_the_html_export_plus_the_viewer() -> None:
    page = viewer_page(PAGES, get_theme("theme_midnight"), page_size="Letter")

    assert page.count("</head>") == page.count("</body>") == 1
    assert page.index('id="nxv-stage"') > page.rindex('data-page="2"')  # after the pages
    assert "One &lt;/body&gt;" in page
    assert "secret notes" not in page
    assert "example.com" not in page  # no <img> of it: its alt text shows instead
    assert 'aria-label="alt text"' in page
    assert "--nxv-sheet-width: 215.9mm" in page
    assert "--nxv-paper: #0f172a" in page


def test_the_policy_allows_exactly_the_pages_own_script() -> None:
    page = viewer_page(PAGES, get_theme(None), page_size="A4")
    [script] = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()

    policy = viewer_headers()["Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}';" in policy
    assert policy.startswith("default-src 'none';")
    assert "frame-ancestors *" in policy
    assert "connect-src" not in policy
    assert "http" not in policy
