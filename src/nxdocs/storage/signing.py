"""Signed, expiring links: HMAC-SHA256 over a subject (an export id, an embed's
artifact) and the expiry.

The key comes from `nxdocs.db.secrets` (kept in the database, so every API
node signs and checks with the same key without configuration) or from
`NXDOCS_SIGNING_SECRET`; this module only signs and checks.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlencode


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at_ms: int


class LinkSigner:
    def __init__(self, secret: bytes, public_url: str) -> None:
        self._secret = secret
        self._public_url = public_url.rstrip("/")

    def link(self, export_id: str, file_name: str, expires_at_ms: int) -> SignedLink:
        expires = str(expires_at_ms)
        query = urlencode({"expires": expires, "signature": self.sign(export_id, expires)})
        path = f"/v1/files/{quote(export_id)}/{quote(file_name)}"
        return SignedLink(f"{self._public_url}{path}?{query}", expires_at_ms)

    def valid(self, export_id: str, expires: str, signature: str) -> bool:
        """Constant-time check that the link was signed by us (expiry is checked apart)."""
        expected = self.sign(export_id, expires)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def sign(self, subject: str, expires: str) -> str:
        """The hex signature of `subject` until `expires`; subjects of different kinds
        must not collide (an embed's starts with "embed:", which no id contains)."""
        message = f"{subject}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
