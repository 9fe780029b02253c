"""Owners: the accounts that keys, artifacts, exports and jobs belong to."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import owners
from nxdocs.ids import new_id


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    created_at: int
    updated_at: int


class OwnerStore:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock

    def get(self, owner_id: str) -> Owner | None:
        with self.reads.connect() as connection:
            row = connection.execute(sa.select(owners).where(owners.c.id == owner_id)).one_or_none()
        return None if row is None else Owner(**row._mapping)

    def exists(self, owner_id: str) -> bool:
        with self.reads.connect() as connection:
            return owner_exists(connection, owner_id)

    def update(self, owner_id: str, **profile: str | None) -> bool:
        """Set email, first_name or last_name; the others stay as they are."""
        changes = {name: value for name, value in profile.items() if value is not None}
        with self.engine.begin() as connection:
            updated = connection.execute(
                owners.update()
                .where(owners.c.id == owner_id)
                .values(**changes, updated_at=self.clock.now_ms())
            )
        return updated.rowcount == 1


def owner_exists(connection: sa.Connection, owner_id: str) -> bool:
    found = connection.execute(sa.select(owners.c.id).where(owners.c.id == owner_id)).first()
    return found is not None


def insert_owner(connection: sa.Connection, now: int) -> str:
    owner_id = new_id("user")
    connection.execute(owners.insert().values(id=owner_id, created_at=now, updated_at=now))
    return owner_id


def default_owner(connection: sa.Connection, now: int) -> str:
    """The first owner, created if there is none yet (a fresh single-user install)."""
    first = connection.execute(
        sa.select(owners.c.id).order_by(owners.c.created_at, owners.c.id).limit(1)
    ).scalar_one_or_none()
    return str(first) if first is not None else insert_owner(connection, now)
