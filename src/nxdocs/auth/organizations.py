"""Organizations: owners that users belong to, with a role each.

An organization is an owner too (a row in `owners` with its `org_...` id), so
what it owns is scoped, counted against quotas and shared fairly exactly as a
user's work is. Members see and make its work (see `Principal`); roles say who
may manage it and are shown by `GET /v1/organizations`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import cursor_position, older_than
from nxdocs.db.schema import org_members, organizations, owners
from nxdocs.ids import new_id

Role = Literal["OWNER", "ADMIN", "MEMBER"]
ROLES: tuple[Role, ...] = ("OWNER", "ADMIN", "MEMBER")
_SLUG_LENGTH = 48


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    slug: str
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Membership:
    """An organization as one of its members sees it."""

    organization: Organization
    role: Role


class OrganizationStore:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock

    def create(self, name: str, creator_id: str, slug: str | None = None) -> Organization:
        """A new organization with `creator_id` as its OWNER. LookupError if there is
        no such owner; ValueError if `slug` is taken or not a slug."""
        now = self.clock.now_ms()
        org_id = new_id("org", now)
        with self.engine.begin() as connection:
            if not _is_user(connection, creator_id):
                raise LookupError(f"no user with id {creator_id}")
            if slug is not None:
                if slugify(slug) != slug:
                    raise ValueError(f"not a slug (lowercase letters, digits, dashes): {slug}")
                if _slug_taken(connection, slug):
                    raise ValueError(f"the slug {slug} is taken")
            else:
                slug = _free_slug(connection, slugify(name) or "org")
            connection.execute(owners.insert().values(id=org_id, created_at=now, updated_at=now))
            connection.execute(
                organizations.insert().values(
                    id=org_id, name=name, slug=slug, created_at=now, updated_at=now
                )
            )
            connection.execute(
                org_members.insert().values(
                    org_id=org_id, owner_id=creator_id, role="OWNER", created_at=now, updated_at=now
                )
            )
        return Organization(org_id, name, slug, now, now)

    def add_member(self, org_id: str, owner_id: str, role: Role) -> bool:
        """Add a user to the organization, or change their role. False if there is
        no such organization or user."""
        now = self.clock.now_ms()
        with self.engine.begin() as connection:
            if not _exists(connection, org_id) or not _is_user(connection, owner_id):
                return False
            changed = connection.execute(
                org_members.update()
                .where(org_members.c.org_id == org_id, org_members.c.owner_id == owner_id)
                .values(role=role, updated_at=now)
            )
            if changed.rowcount == 0:
                connection.execute(
                    org_members.insert().values(
                        org_id=org_id, owner_id=owner_id, role=role, created_at=now, updated_at=now
                    )
                )
        return True

    def remove_member(self, org_id: str, owner_id: str) -> bool:
        """Take a user out of the organization; its work stays the organization's."""
        with self.engine.begin() as connection:
            removed = connection.execute(
                org_members.delete().where(
                    org_members.c.org_id == org_id, org_members.c.owner_id == owner_id
                )
            )
        return removed.rowcount == 1

    def of_member(
        self, owner_id: str, *, limit: int, after: str | None, only: str | None = None
    ) -> tuple[Sequence[Membership], bool]:
        """The organizations `owner_id` belongs to (or just `only`), newest first, one page."""
        query = (
            sa.select(organizations, org_members.c.role)
            .join(org_members, org_members.c.org_id == organizations.c.id)
            .where(org_members.c.owner_id == owner_id)
        )
        if only is not None:
            query = query.where(organizations.c.id == only)
        with self.reads.connect() as connection:
            if after is not None:
                query = query.where(
                    older_than(
                        organizations, cursor_position(connection, organizations, None, after)
                    )
                )
            rows = connection.execute(
                query.order_by(organizations.c.created_at.desc(), organizations.c.id.desc()).limit(
                    limit + 1
                )
            ).all()
        memberships = [
            Membership(
                Organization(r.id, r.name, r.slug, r.created_at, r.updated_at),
                r.role,
            )
            for r in rows[:limit]
        ]
        return memberships, len(rows) > limit

    def all(self) -> list[tuple[Organization, int]]:
        """Every organization with its number of members, oldest first (for the CLI)."""
        members = (
            sa.select(sa.func.count())
            .where(org_members.c.org_id == organizations.c.id)
            .scalar_subquery()
        )
        with self.reads.connect() as connection:
            rows = connection.execute(
                sa.select(organizations, members.label("members")).order_by(
                    organizations.c.created_at, organizations.c.id
                )
            ).all()
        return [
            (Organization(r.id, r.name, r.slug, r.created_at, r.updated_at), r.members)
            for r in rows
        ]


def slugify(name: str) -> str:
    """Lowercase ASCII letters and digits joined by single dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:_SLUG_LENGTH].strip("-")


def _free_slug(connection: sa.Connection, base: str) -> str:
    slug, number = base, 1
    while _slug_taken(connection, slug):
        number += 1
        slug = f"{base[: _SLUG_LENGTH - 8]}-{number}"
    return slug


def _slug_taken(connection: sa.Connection, slug: str) -> bool:
    found = connection.execute(
        sa.select(organizations.c.id).where(organizations.c.slug == slug)
    ).first()
    return found is not None


def _exists(connection: sa.Connection, org_id: str) -> bool:
    found = connection.execute(
        sa.select(organizations.c.id).where(organizations.c.id == org_id)
    ).first()
    return found is not None


def _is_user(connection: sa.Connection, owner_id: str) -> bool:
    """An owner that is not an organization: organizations have no members of their own."""
    found = connection.execute(sa.select(owners.c.id).where(owners.c.id == owner_id)).first()
    return found is not None and not _exists(connection, owner_id)
