"""The per-export image budget: count, bytes, seconds and concurrency.

The tally is checked on its own with a hand-moved clock; then each limit in
a real render against a real local server, where an image past the budget
is drawn as its alt text.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from nxdocs.pages.model import Document, ImageBlock, Page
from nxdocs.render import HttpImageLoader, ImageBudget, render_html, render_pptx
from nxdocs.render.image_budget import ImageSpending
from nxdocs.render.themes import Theme
from tests.support.waiting import wait_until

from .image_server import ImageServer, Reply, image_server
from .samples import png_bytes

IMAGE = png_bytes((50, 40))
EMBEDDED = 'src="data:image/png;base64,'


class HandClock:
    """Monotonic seconds that move only when told; safe across threads."""

    def __init__(self) -> None:
        self._now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with image_server() as server:
        for number in range(1, 7):
            server.routes[f"/{number}.png"] = Reply(body=IMAGE)
        yield server


def _document(server: ImageServer, paths: list[str]) -> Document:
    blocks = [ImageBlock(src=server.url(path), alt=f"alt for {path}") for path in paths]
    return Document(type="presentation", title="Images", pages=[Page(blocks=blocks)])


def _missing(html: str) -> list[str]:
    """The alt texts drawn in place of images, in document order."""
    marker = '<div class="image-missing" role="img" aria-label="'
    return [part.split('"', 1)[0] for part in html.split(marker)[1:]]


def _loader(budget: ImageBudget, clock: Callable[[], float] = time.monotonic) -> HttpImageLoader:
    return HttpImageLoader(timeout=5, budget=budget, allow_private_hosts=True, clock=clock)


# The tally


def test_the_tally_counts_images() -> None:
    spending = ImageSpending(ImageBudget(max_images=2), HandClock())
    assert [spending.start_image() for _ in range(3)] == [True, True, False]
    assert spending.spent


def test_the_tally_counts_bytes_and_refuses_what_cannot_fit() -> None:
    spending = ImageSpending(ImageBudget(max_total_bytes=100), HandClock())
    assert spending.start_image()
    assert spending.take_bytes(60)
    assert spending.fits(40)
    assert not spending.fits(41)
    assert spending.spent
    assert not spending.start_image()  # no new image once spent...
    assert spending.take_bytes(40)  # ...but one under way may finish within the total
    assert not spending.take_bytes(1)


def test_the_seconds_start_at_the_first_image() -> None:
    clock = HandClock()
    spending = ImageSpending(ImageBudget(max_total_seconds=10), clock)
    clock.advance(100)  # a loader built early loses nothing
    assert spending.start_image()
    clock.advance(9)
    assert spending.seconds_left() == pytest.approx(1)
    clock.advance(1)
    assert spending.seconds_left() == 0
    assert not spending.start_image()


@pytest.mark.parametrize(
    "limits",
    [{"max_images": -1}, {"max_total_bytes": -1}, {"max_total_seconds": -1}, {"max_concurrent": 0}],
)
def test_a_budget_rejects_impossible_limits(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="image"):
        ImageBudget(**limits)  # type: ignore[arg-type]


# Each limit in a real render


def test_past_the_count_images_become_their_alt_text(server: ImageServer, theme: Theme) -> None:
    document = _document(server, ["/1.png", "/2.png", "/3.png", "/4.png"])
    with _loader(ImageBudget(max_images=2)) as loader:
        html = render_html(document, theme, image_loader=loader)
    assert html.count(EMBEDDED) == 2
    assert len(_missing(html)) == 2
    assert len(server.requests) == 2  # the refused ones were never asked for


def test_past_the_count_a_pptx_draws_the_alt_text(server: ImageServer, theme: Theme) -> None:
    document = _document(server, ["/1.png", "/2.png", "/3.png"])
    with _loader(ImageBudget(max_images=1, max_concurrent=1)) as loader:
        deck = Presentation(io.BytesIO(render_pptx(document, theme, loader)))
    shapes = list(deck.slides[0].shapes)
    pictures = [shape for shape in shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    texts = [shape.text_frame.text for shape in shapes if shape.has_text_frame]
    assert len(pictures) == 1
    assert "alt for /2.png" in texts
    assert "alt for /3.png" in texts
    assert server.paths() == ["/1.png"]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_past_the_bytes_images_become_their_alt_text(
    server: ImageServer, theme: Theme, declared: bool
) -> None:
    server.routes["/3.png"] = Reply(body=IMAGE, declare_length=declared)
    document = _document(server, ["/1.png", "/2.png", "/3.png", "/4.png"])
    budget = ImageBudget(max_total_bytes=len(IMAGE) * 5 // 2, max_concurrent=1)
    with _loader(budget) as loader:
        html = render_html(document, theme, image_loader=loader)
    assert html.count(EMBEDDED) == 2
    assert _missing(html) == ["alt for /3.png", "alt for /4.png"]
    assert server.paths() == ["/1.png", "/2.png", "/3.png"]


def test_past_the_seconds_images_become_their_alt_text(server: ImageServer, theme: Theme) -> None:
    clock = HandClock()
    # The first image takes (by the test's clock) longer than the whole budget.
    server.routes["/1.png"] = Reply(body=IMAGE, before=lambda: clock.advance(61))
    document = _document(server, ["/1.png", "/2.png", "/3.png"])
    budget = ImageBudget(max_total_seconds=60, max_concurrent=1)
    with _loader(budget, clock=clock) as loader:
        html = render_html(document, theme, image_loader=loader)
    assert _missing(html) == ["alt for /1.png", "alt for /2.png", "alt for /3.png"]
    assert server.paths() == ["/1.png"]


def test_the_seconds_cut_a_stalled_server_short(server: ImageServer) -> None:
    """A server that never answers costs the budget's seconds, not the fetch timeout's."""
    release = threading.Event()
    server.routes["/1.png"] = Reply(body=IMAGE, before=lambda: release.wait(120))
    budget = ImageBudget(max_total_seconds=0.2)
    try:
        with HttpImageLoader(timeout=600, budget=budget, allow_private_hosts=True) as loader:
            started = time.monotonic()
            assert loader(server.url("/1.png")) is None
            # 0.2 s of budget against a 600 s timeout: only a stall would come near.
            assert time.monotonic() - started < 60
            assert loader(server.url("/2.png")) is None
    finally:
        release.set()
    assert server.paths() == ["/1.png"]


def test_fetches_run_concurrently_but_no_more_than_allowed(
    server: ImageServer, theme: Theme
) -> None:
    release = threading.Event()
    for number in range(1, 7):
        server.routes[f"/{number}.png"] = Reply(body=IMAGE, before=lambda: release.wait(60))
    document = _document(server, [f"/{number}.png" for number in range(1, 7)])
    rendered: list[str] = []
    with _loader(ImageBudget(max_concurrent=2)) as loader:
        render = threading.Thread(
            target=lambda: rendered.append(render_html(document, theme, image_loader=loader))
        )
        render.start()
        try:
            wait_until(lambda: server.in_flight == 2)
        finally:
            release.set()
            render.join(timeout=60)
    assert server.max_in_flight == 2
    assert rendered[0].count(EMBEDDED) == 6
