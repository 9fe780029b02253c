"""Viewer tokens: `<artifact id>.<theme id>.<expires ms>.<signature>`, one URL path segment.

The signature is the download links' own (`nxdocs.storage.signing.LinkSigner`:
HMAC-SHA256 with the key every node shares, `NXDOCS_SIGNING_SECRET` or the one
kept in the database) over the subject `embed:<artifact id>:<theme id>` and the
expiry. A download link signs a bare export id, which never holds a colon, so
neither kind of signature is ever accepted as the other.

The theme travels in the token because the viewer, which has no key, reads the
artifact's pages by id alone (`ArtifactStore.document`); an artifact's theme is
fixed when it is created. A token opens that artifact's pages and nothing else.

Every part is checked for its shape, in ASCII, before the signature is compared,
so text of any other shape (NUL, non-ASCII, megabytes) is refused without
touching the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nxdocs.clock import Clock
from nxdocs.embed.errors import ExpiredLinkError, InvalidLinkError
from nxdocs.render.themes import BUILTIN_THEMES, get_theme
from nxdocs.storage.signing import LinkSigner

VIEWER_PATH = "/v1/embed/view/"
"""Where viewer links point: a public folder of the API (no key, the token instead)."""

MAX_TOKEN_CHARS = 256
_TOKEN = re.compile(r"(doc_[a-z0-9]{1,60})\.(theme_[a-z0-9_]{1,64})\.([0-9]{1,15})\.([0-9a-f]{64})")


@dataclass(frozen=True)
class EmbedLink:
    """A signed viewer link: its URL, the token in it, and when it stops working."""

    url: str
    token: str
    expires_at_ms: int


@dataclass(frozen=True)
class Grant:
    """What a valid token opens: one artifact's pages, drawn with one theme."""

    artifact_id: str
    theme_id: str
    expires_at_ms: int


class EmbedLinks:
    """Signs viewer links that live `link_seconds`, and checks the tokens they carry."""

    def __init__(
        self, signer: LinkSigner, clock: Clock, *, public_url: str, link_seconds: int
    ) -> None:
        self.signer = signer
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.link_ms = link_seconds * 1000

    def issue(self, artifact_id: str, theme_id: str | None) -> EmbedLink:
        """A fresh link to the artifact's pages; a theme that is not built in draws
        with the default one, as exports do."""
        theme = get_theme(theme_id if theme_id in BUILTIN_THEMES else None).id
        expires = str(self.clock.now_ms() + self.link_ms)
        signature = self.signer.sign(_subject(artifact_id, theme), expires)
        token = ".".join((artifact_id, theme, expires, signature))
        return EmbedLink(f"{self.public_url}{VIEWER_PATH}{token}", token, int(expires))

    def verify(self, token: str) -> Grant:
        """What `token` opens. `InvalidLinkError` unless nxdocs signed it exactly as it
        is; `ExpiredLinkError` once its expiry has passed."""
        shaped = len(token) <= MAX_TOKEN_CHARS and token.isascii()
        match = _TOKEN.fullmatch(token) if shaped else None
        if match is None:
            raise InvalidLinkError
        artifact_id, theme, expires, signature = match.groups()
        if not self.signer.valid(_subject(artifact_id, theme), expires, signature):
            raise InvalidLinkError
        if int(expires) < self.clock.now_ms():
            raise ExpiredLinkError
        return Grant(artifact_id, theme, int(expires))


def _subject(artifact_id: str, theme_id: str) -> str:
    return f"embed:{artifact_id}:{theme_id}"
