"""The embed viewer: signed, read-only links to one artifact's pages, and the page they open.

`EmbedLinks` signs and checks viewer tokens (with the download links' `LinkSigner`);
`viewer_page` draws a document as the HTML export does, plus page navigation;
`iframe_html` is the snippet a client pastes into its own page.
"""

from nxdocs.embed.errors import EmbedLinkError, ExpiredLinkError, InvalidLinkError
from nxdocs.embed.links import VIEWER_PATH, EmbedLink, EmbedLinks, Grant
from nxdocs.embed.snippet import iframe_html
from nxdocs.embed.viewer import viewer_headers, viewer_page

__all__ = [
    "VIEWER_PATH",
    "EmbedLink",
    "EmbedLinkError",
    "EmbedLinks",
    "ExpiredLinkError",
    "Grant",
    "InvalidLinkError",
    "iframe_html",
    "viewer_headers",
    "viewer_page",
]
