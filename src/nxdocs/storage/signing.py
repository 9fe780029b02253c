"""Signed, expiring download links: HMAC-SHA256 over the export id and the expiry.

The secret lives in the database (`server_secrets`), created once on first
use, so every API node signs and checks with the same key without any
configuration; `NXDOCS_SIGNING_SECRET` overrides it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from nxdocs.db.schema import server_secrets

_SECRET_NAME = "download_signing_key"  # noqa: S105 (the row's name, not a secret)


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
        query = urlencode({"expires": expires, "signature": self._signature(export_id, expires)})
        path = f"/v1/files/{quote(export_id)}/{quote(file_name)}"
        return SignedLink(f"{self._public_url}{path}?{query}", expires_at_ms)

    def valid(self, export_id: str, expires: str, signature: str) -> bool:
        """Constant-time check that the link was signed by us (expiry is checked apart)."""
        expected = self._signature(export_id, expires)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _signature(self, export_id: str, expires: str) -> str:
        message = f"{export_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def signing_secret(engine: sa.Engine, configured: str | None) -> bytes:
    """The configured secret, else the database's, created on first use."""
    if configured:
        return configured.encode()
    select = sa.select(server_secrets.c.value).where(server_secrets.c.name == _SECRET_NAME)
    with engine.begin() as connection:
        stored = connection.execute(select).scalar_one_or_none()
    if stored is None:
        try:
            with engine.begin() as connection:
                stored = secrets.token_hex(32)
                connection.execute(server_secrets.insert().values(name=_SECRET_NAME, value=stored))
        except sa.exc.IntegrityError:
            # Another node created it first: use theirs.
            with engine.begin() as connection:
                stored = connection.execute(select).scalar_one()
    return bytes.fromhex(stored)
