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

from nxdocs.auth.owners import default_owner, insert_owner, owner_exists
from nxdocs.auth.principal import Principal
from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import api_keys, org_members, organizations
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
class KeyInfo:
    id: str
    owner_id: str
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None
    org_id: str | None


class KeyStore:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock

    def create(
        self,
        name: str,
        owner_id: str | None = None,
        *,
        new_owner: bool = False,
        org_id: str | None = None,
    ) -> CreatedKey:
        """A key for `owner_id`, for a brand-new owner, or else for the default (first) owner.

        With `org_id`, the key works in that organization only (see `Principal`);
        its user must be a member (LookupError otherwise)."""
        secret = generate_key()
        now = self.clock.now_ms()
        with self.engine.begin() as connection:
            if new_owner:
                owner_id = insert_owner(connection, now)
            elif owner_id is None:
                owner_id = default_owner(connection, now)
            elif not owner_exists(connection, owner_id) or _is_organization(connection, owner_id):
                # An organization's keys belong to its members (`org_id`), so
                # that they stop working when the member leaves.
                raise LookupError(f"no user with id {owner_id}")
            if org_id is not None and not _is_member(connection, org_id, owner_id):
                raise LookupError(f"{owner_id} is not a member of {org_id}")
            key_id = new_id("key")
            connection.execute(
                api_keys.insert().values(
                    id=key_id,
                    owner_id=owner_id,
                    name=name,
                    prefix=secret[:_DISPLAY_PREFIX],
                    key_hash=hash_key(secret),
                    created_at=now,
                    org_id=org_id,
                )
            )
        return CreatedKey(key_id, owner_id, name, secret)

    def list(self) -> list[KeyInfo]:
        with self.reads.connect() as connection:
            rows = connection.execute(
                sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
            ).all()
        return [
            KeyInfo(r.id, r.owner_id, r.name, r.prefix, r.created_at, r.revoked_at, r.org_id)
            for r in rows
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

    def principal_of(self, key: str) -> Principal | None:
        """Who an active key acts as, or None. Looks up by digest, then compares
        digests in constant time, so neither step's timing depends on the secret.
        A key made for an organization its user has left is None too."""
        return self.principal_of_digest(hash_key(key))

    def principal_of_digest(self, digest: str) -> Principal | None:
        """`principal_of` for the key with this digest (a dashboard session holds
        the digest, never the key)."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(api_keys.c.owner_id, api_keys.c.org_id, api_keys.c.key_hash).where(
                    api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
                )
            ).one_or_none()
            if row is None or not secrets.compare_digest(row.key_hash, digest):
                return None
            org_ids = frozenset(
                connection.execute(
                    sa.select(org_members.c.org_id).where(org_members.c.owner_id == row.owner_id)
                ).scalars()
            )
        if row.org_id is not None and row.org_id not in org_ids:
            return None
        return Principal.of_key(str(row.owner_id), row.org_id, org_ids)


def _is_organization(connection: sa.Connection, owner_id: str) -> bool:
    found = connection.execute(
        sa.select(organizations.c.id).where(organizations.c.id == owner_id)
    ).first()
    return found is not None


def _is_member(connection: sa.Connection, org_id: str, owner_id: str) -> bool:
    found = connection.execute(
        sa.select(org_members.c.role).where(
            org_members.c.org_id == org_id, org_members.c.owner_id == owner_id
        )
    ).first()
    return found is not None
