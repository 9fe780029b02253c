"""The viewer in a real browser: Debian's Chromium, driven by Playwright, against a served app.

The page must draw the deck, move between pages (buttons, keys, the page
counter), fit a phone's width, work inside an iframe of another site, and
never ask anything of any origin but nxdocs's own: the deck has an external
image, which must not be fetched. A tampered token is refused in the browser
too. Screenshots go under the test's tmp_path; their paths are printed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.embed.conftest import DECK_PAGES, embed_of, ready_deck
from tests.support.api import Caller, ServedApi
from tests.support.browser import Watched, chromium

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def watched(browser: Browser, **context: Any) -> Watched:
    return Watched(browser.new_context(**context).new_page())


def shot(page: Page, path: Path) -> None:
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000
    print(f"screenshot: {path}")


def test_the_viewer_draws_and_pages_through_the_deck(
    api: ServedApi, alice: Caller, browser: Browser, tmp_path: Path
) -> None:
    embed = embed_of(alice, ready_deck(alice)["id"])
    view = watched(browser, viewport={"width": 1280, "height": 800})
    page = view.page

    response = page.goto(embed["embed_url"])

    assert response is not None
    assert response.status == 200
    counter = page.locator("#nxv-counter")
    expect(counter).to_have_text(f"1 / {DECK_PAGES}")
    slide = page.locator('section.page[data-page="1"]')
    expect(slide).to_be_visible()
    expect(slide).to_contain_text("Launch plan")
    expect(page.locator('section.page[data-page="2"]')).to_be_hidden()
    expect(page.locator("#nxv-prev")).to_be_disabled()
    shot(page, tmp_path / "viewer-desktop-1.png")

    page.locator("#nxv-next").click()
    expect(counter).to_have_text(f"2 / {DECK_PAGES}")
    second = page.locator('section.page[data-page="2"]')
    expect(second).to_be_visible()
    expect(second).to_contain_text("Goals")
    expect(second.locator(".image-missing")).to_have_attribute("aria-label", "x")
    expect(slide).to_be_hidden()
    assert page.url.endswith("#page=2")
    shot(page, tmp_path / "viewer-desktop-2.png")

    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"3 / {DECK_PAGES}")
    expect(page.locator('section.page[data-page="3"] img')).to_be_visible()  # the data: image
    expect(page.locator("#nxv-next")).to_be_disabled()
    page.keyboard.press("ArrowRight")  # past the end: stays
    expect(counter).to_have_text(f"3 / {DECK_PAGES}")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"2 / {DECK_PAGES}")
    page.keyboard.press("Home")
    expect(counter).to_have_text(f"1 / {DECK_PAGES}")
    page.keyboard.press("End")
    expect(counter).to_have_text(f"3 / {DECK_PAGES}")

    # The slide is scaled to fill the frame, and fits inside it.
    box = page.locator('section.page[data-page="3"]').bounding_box()
    assert box is not None
    assert box["width"] <= 1280
    assert box["height"] <= 800
    assert box["width"] > 1000
    view.assert_only(api.base_url)


def test_the_viewer_fits_a_phone(
    api: ServedApi, alice: Caller, browser: Browser, tmp_path: Path
) -> None:
    embed = embed_of(alice, ready_deck(alice)["id"])
    view = watched(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = view.page

    page.goto(embed["embed_url"] + "#page=2")

    counter = page.locator("#nxv-counter")
    expect(counter).to_have_text(f"2 / {DECK_PAGES}")
    slide = page.locator('section.page[data-page="2"]')
    expect(slide).to_be_visible()
    box = slide.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]  # scaled to the width, not cut off
    assert box["width"] > PHONE["width"] / 2
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # no sideways scrolling
    shot(page, tmp_path / "viewer-phone.png")

    page.locator("#nxv-next").tap()
    expect(counter).to_have_text(f"3 / {DECK_PAGES}")
    view.assert_only(api.base_url)


def test_a_document_sheet_reflows_on_a_phone_and_scrolls_down(
    api: ServedApi, alice: Caller, browser: Browser, tmp_path: Path
) -> None:
    text = "A paragraph long enough to wrap over several lines on a phone. " * 150
    created = alice.ready_artifact(
        {"type": "document", "content": f"# One\n\n{text}\n\n# Two\n\n{text}"}
    )
    embed = embed_of(alice, created["id"])
    view = watched(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    page = view.page

    page.goto(embed["embed_url"])

    expect(page.locator("#nxv-counter")).to_have_text("1 / 2")
    sheet = page.locator('section.page[data-page="1"]').bounding_box()
    assert sheet is not None
    assert sheet["x"] >= 0
    assert sheet["x"] + sheet["width"] <= PHONE["width"]
    assert sheet["height"] > PHONE["height"]  # a long sheet scrolls, at the phone's width
    font = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('section.page p')).fontSize)"
    )
    assert font >= 14  # reflowed at its own size (11pt), not shrunk to fit
    assert page.locator('section.page[data-page="1"]').evaluate("e => e.style.transform") == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, tmp_path / "viewer-phone-document.png")
    page.locator("#nxv-next").tap()
    expect(page.locator("#nxv-counter")).to_have_text("2 / 2")
    view.assert_only(api.base_url)


@contextmanager
def host_page(body: str) -> Iterator[str]:
    """Another site on loopback (another port, so another origin) serving `body`; its URL.

    Loopback, since Chromium refuses a public site's frame of a loopback address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/blog.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_viewer_works_inside_an_iframe_of_another_site(
    api: ServedApi, alice: Caller, browser: Browser, tmp_path: Path
) -> None:
    embed = embed_of(alice, ready_deck(alice)["id"])
    view = watched(browser, viewport={"width": 1100, "height": 800})
    page = view.page
    blog = f"<!DOCTYPE html><html><body><h1>My blog</h1>{embed['iframe_html']}</body></html>"

    with host_page(blog) as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        counter = frame.locator("#nxv-counter")
        expect(counter).to_have_text(f"1 / {DECK_PAGES}")
        frame.locator("#nxv-next").click()
        expect(counter).to_have_text(f"2 / {DECK_PAGES}")
        shot(page, tmp_path / "viewer-in-iframe.png")

    assert view.requests[0] == url
    view.requests.pop(0)  # the blog's own page; everything after it is the viewer's
    view.assert_only(api.base_url)


def test_a_tampered_token_is_refused_in_the_browser(
    api: ServedApi, alice: Caller, browser: Browser
) -> None:
    url = embed_of(alice, ready_deck(alice)["id"])["embed_url"]
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    view = watched(browser)
    page = view.page

    response = page.goto(tampered)

    assert response is not None
    assert response.status == 403
    assert "FORBIDDEN" in page.content()
    expect(page.locator("section.page")).to_have_count(0)
    assert [url for url in view.requests if not url.startswith(f"{api.base_url}/")] == []
