"""API keys: random `nxd_` secrets, stored only as SHA-256 digests.

A key is 40 random characters (about 238 bits), so a fast hash is enough: no
dictionary or brute-force attack on the digest is feasible, and lookups stay
one indexed read. (Slow password hashes defend low-entropy secrets; these are
not.)
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import api_keys, owners
from nxdocs.ids import new_id

KEY_PREFIX = "nxd_"
_KEY_CHARS = string.ascii_letters + string.digits
_KEY_LENGTH = 40
KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}[A-Za-z0-9]{{{_KEY_LENGTH}}}$")
_DISPLAY_PREFIX = len(KEY_PREFIX) + 6


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_KEY_CHARS) for _ in range(_KEY_LENGTH))


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `secret` is shown once and never stored."""

    id: str
    owner_id: str
    name: str
    secret: str


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class KeyInfo:
    id: str
    owner_id: str
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None


class KeyStore:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock

    def create(
        self, name: str, owner_id: str | None = None, *, new_owner: bool = False
    ) -> CreatedKey:
        """A key for `owner_id`, for a brand-new owner, or else for the default (first) owner."""
        secret = generate_key()
        now = self.clock.now_ms()
        with self.engine.begin() as connection:
            if new_owner:
                owner_id = self._insert_owner(connection, now)
            elif owner_id is None:
                owner_id = self._default_owner(connection, now)
            elif not self._owner_exists(connection, owner_id):
                raise LookupError(f"no owner with id {owner_id}")
            key_id = new_id("key")
            connection.execute(
                api_keys.insert().values(
                    id=key_id,
                    owner_id=owner_id,
                    name=name,
                    prefix=secret[:_DISPLAY_PREFIX],
                    key_hash=hash_key(secret),
                    created_at=now,
                )
            )
        return CreatedKey(key_id, owner_id, name, secret)

    def list(self) -> list[KeyInfo]:
        with self.reads.connect() as connection:
            rows = connection.execute(
                sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
            ).all()
        return [
            KeyInfo(r.id, r.owner_id, r.name, r.prefix, r.created_at, r.revoked_at) for r in rows
        ]

    def revoke(self, key_id: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now_ms())
            )
        return result.rowcount == 1

    def count(self) -> int:
        with self.reads.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()
            )

    def owner_of(self, key: str) -> str | None:
        """The owner of an active key, or None. Looks up by digest, then compares
        digests in constant time, so neither step's timing depends on the secret."""
        digest = hash_key(key)
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(api_keys.c.owner_id, api_keys.c.key_hash).where(
                    api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
                )
            ).one_or_none()
        if row is None or not secrets.compare_digest(row.key_hash, digest):
            return None
        return str(row.owner_id)

    def _default_owner(self, connection: sa.Connection, now: int) -> str:
        first = connection.execute(
            sa.select(owners.c.id).order_by(owners.c.created_at, owners.c.id).limit(1)
        ).scalar_one_or_none()
        return str(first) if first is not None else self._insert_owner(connection, now)

    def _insert_owner(self, connection: sa.Connection, now: int) -> str:
        owner_id = new_id("user")
        connection.execute(owners.insert().values(id=owner_id, created_at=now, updated_at=now))
        return owner_id

    def owner(self, owner_id: str) -> Owner | None:
        with self.reads.connect() as connection:
            row = connection.execute(sa.select(owners).where(owners.c.id == owner_id)).one_or_none()
        return None if row is None else Owner(**row._mapping)

    def update_owner(self, owner_id: str, **profile: str | None) -> bool:
        """Set email, first_name or last_name; the others stay as they are."""
        changes = {name: value for name, value in profile.items() if value is not None}
        with self.engine.begin() as connection:
            updated = connection.execute(
                owners.update()
                .where(owners.c.id == owner_id)
                .values(**changes, updated_at=self.clock.now_ms())
            )
        return updated.rowcount == 1

    def owner_exists(self, owner_id: str) -> bool:
        with self.reads.connect() as connection:
            return self._owner_exists(connection, owner_id)

    def _owner_exists(self, connection: sa.Connection, owner_id: str) -> bool:
        found = connection.execute(sa.select(owners.c.id).where(owners.c.id == owner_id)).first()
        return found is not None
