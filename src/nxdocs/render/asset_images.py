"""`AssetImageLoader`: image sources that name an uploaded asset, read instead of fetched.

A page's image may name an asset (`asset_...`, see `nxdocs.pages.model`)
rather than a URL. Those are read through an `AssetSource` that the caller
hands in (the export handler's reads the owner's assets from the blob store),
so the renderers never touch a database or a store, and an asset never causes
a request to anywhere. Every other source goes to the loader it wraps.

An asset the source does not give (another owner's, a deleted one, an
unreadable file) is "no image", drawn as its alt text like a broken URL.
Assets count against a tally of their own, with the export's `ImageBudget`
limits (distinct images, bytes read, seconds), apart from the fetches: a
document of many large assets cannot make one export hold unbounded memory,
and uploading assets does not use up a budget meant for slow networks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nxdocs.ids import is_id
from nxdocs.render.image_budget import Clock, ImageBudget, ImageSpending
from nxdocs.render.images import ConcurrentImageLoader, ImageLoader

AssetSource = Callable[[str], tuple[bytes, str] | None]
"""An asset's bytes and content type by its id; None when there is none to use."""


def is_asset_source(src: str) -> bool:
    """Whether an image source names an asset rather than a URL."""
    return is_id(src, "asset")


class AssetImageLoader:
    """An `ImageLoader`: assets from `assets`, any other source from `fallback`.

    Concurrent exactly as far as `fallback` is (`ConcurrentImageLoader`);
    `assets` must then be safe to call from that many threads.
    """

    def __init__(
        self,
        assets: AssetSource,
        fallback: ImageLoader,
        budget: ImageBudget,
        clock: Clock = time.monotonic,
    ) -> None:
        self._assets = assets
        self._fallback = fallback
        self._spending = ImageSpending(budget, clock)

    @property
    def max_concurrent(self) -> int:
        if isinstance(self._fallback, ConcurrentImageLoader):
            return self._fallback.max_concurrent
        return 1

    def __call__(self, src: str, /) -> tuple[bytes, str] | None:
        if not is_asset_source(src):
            return self._fallback(src)
        if not self._spending.start_image():
            return None
        found = self._assets(src)
        if found is None or not self._spending.take_bytes(len(found[0])):
            return None
        return found
