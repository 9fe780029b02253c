"""The viewer page: the artifact's pages as the HTML export draws them, one at a time.

`render_html` makes the page, exactly as for an html export; the viewer adds
its own CSS to the head, and a page bar and a small inline script to the end
of the body. The export's template escapes every piece of content, so its own
`</head>` and `</body>` are the only ones in the file.

What the viewer leaves out: speaker notes (the presenter's, not the
audience's), and images the page model points to by http(s) URL, which show
their alt text as in an export whose image could not be fetched. Uploaded
assets (`asset_...`) are drawn, read from the artifact owner's own assets
and inlined as `data:` images, as the html export does. Nothing is
fetched for a view, neither by nxdocs (no request from the server per view)
nor by the browser (no request that would tell a third party who looks at
what); `data:` images are drawn. The page then needs nothing but itself, and
`viewer_headers` says so: a Content-Security-Policy with no source at all but
inline CSS, `data:` images and fonts, and the one script by its hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib.resources import files

from nxdocs.pages.model import Document
from nxdocs.render.asset_images import AssetSource, is_asset_source
from nxdocs.render.html import PageSize, render_html
from nxdocs.render.themes import Theme

_SHEET_WIDTH = {"A4": "210mm", "Letter": "215.9mm"}
_BAR = (
    '<div class="nxv-stage" id="nxv-stage"><div class="nxv-frame" id="nxv-frame"></div></div>\n'
    '<nav class="nxv-bar" aria-label="Pages">\n'
    '<button type="button" id="nxv-prev" aria-label="Previous page">&#8249;</button>\n'
    '<span id="nxv-counter" aria-live="polite"></span>\n'
    '<button type="button" id="nxv-next" aria-label="Next page">&#8250;</button>\n'
    "</nav>\n"
)


def viewer_page(
    document: Document, theme: Theme, *, page_size: PageSize, assets: AssetSource | None = None
) -> str:
    """The viewer's HTML for `document`, drawn with `theme`; `assets` reads the
    assets its pages name (without it they show their alt text)."""

    def only_assets(src: str, /) -> tuple[bytes, str] | None:
        # An http(s) image is never fetched (its alt text shows); `data:` images
        # are decoded by the renderer without a loader.
        return assets(src) if assets is not None and is_asset_source(src) else None

    exported = render_html(
        _audience_view(document), theme, page_size=page_size, image_loader=only_assets
    )
    head_end = exported.index("</head>")
    body_end = exported.rindex("</body>")
    return "".join(
        (
            exported[:head_end],
            _head(theme, page_size),
            exported[head_end:body_end],
            f"{_BAR}<script>{_script()}</script>\n",
            exported[body_end:],
        )
    )


def viewer_headers() -> dict[str, str]:
    """The headers of every viewer page: it may be framed anywhere, loads nothing,
    runs only its own script, and is neither sniffed, cached, indexed nor referred."""
    policy = (
        "default-src 'none'; "
        f"script-src '{_script_hash()}'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors *"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
        "X-Robots-Tag": "noindex, nofollow",
    }


def _audience_view(document: Document) -> Document:
    pages = [page.model_copy(update={"notes": None}) for page in document.pages]
    return document.model_copy(update={"pages": pages})


def _head(theme: Theme, page_size: PageSize) -> str:
    # A theme's colours are validated `#rrggbb`: safe to write into CSS as they are.
    variables = (
        f":root {{ --nxv-sheet-width: {_SHEET_WIDTH[page_size]}; "
        f"--nxv-paper: {theme.colors.background}; }}\n"
    )
    return (
        '<meta name="robots" content="noindex, nofollow">\n'
        '<link rel="icon" href="data:,">\n'
        '<base target="_blank">\n'
        f"<style>\n{variables}{_asset('viewer.css')}</style>\n"
    )


def _script() -> str:
    return _asset("viewer.js")


@functools.cache
def _script_hash() -> str:
    digest = hashlib.sha256(_script().encode("utf-8")).digest()
    return f"sha256-{base64.b64encode(digest).decode('ascii')}"


@functools.cache
def _asset(name: str) -> str:
    return files("nxdocs.embed").joinpath("static", name).read_text(encoding="utf-8")
