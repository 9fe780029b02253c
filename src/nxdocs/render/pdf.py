"""The PDF renderer: WeasyPrint lays out the HTML export.

The HTML already embeds every image as a `data:` URI, so the fetcher allows
that scheme only: a stray `url()` or `<img src>` can never make the server
read a local file or reach the network while rendering.
"""

from __future__ import annotations

from weasyprint import HTML, URLFetcher


def render_pdf(html: str) -> bytes:
    """The PDF of an HTML file produced by `render_html`."""
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf
