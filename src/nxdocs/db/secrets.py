"""Secrets the server keeps in its database (`server_secrets`), created on first use.

Kept there so every node of a deployment shares them without configuration.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from nxdocs.db.schema import server_secrets

_SIGNING_KEY = "download_signing_key"


def signing_secret(engine: sa.Engine, configured: str | None) -> bytes:
    """The key download links are signed with: the configured one, else the
    database's, created on first use."""
    if configured:
        return configured.encode()
    select = sa.select(server_secrets.c.value).where(server_secrets.c.name == _SIGNING_KEY)
    with engine.begin() as connection:
        stored = connection.execute(select).scalar_one_or_none()
    if stored is None:
        try:
            with engine.begin() as connection:
                stored = secrets.token_hex(32)
                connection.execute(server_secrets.insert().values(name=_SIGNING_KEY, value=stored))
        except sa.exc.IntegrityError:
            # Another node created it first: use theirs.
            with engine.begin() as connection:
                stored = connection.execute(select).scalar_one()
    return bytes.fromhex(stored)
