"""Brands: an owner's named style (a theme) and guidance for generation (`ai_instruction`)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from nxdocs.clock import Clock, format_timestamp
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import newest_first
from nxdocs.db.schema import brands
from nxdocs.ids import new_id
from nxdocs.render.themes import get_theme


@dataclass(frozen=True)
class Brand:
    id: str
    owner_id: str
    name: str
    ai_instruction: str | None
    theme_id: str | None
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        theme = get_theme(self.theme_id) if self.theme_id else None
        return {
            "id": self.id,
            "object": "brand",
            "name": self.name,
            "ai_instruction": self.ai_instruction,
            "theme_id": self.theme_id,
            "theme": theme.to_api() if theme else None,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }


class BrandStore:
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock

    def create(
        self, owner_id: str, name: str, ai_instruction: str | None, theme_id: str | None
    ) -> Brand:
        """A new brand; `theme_id` must name a theme (`get_theme` raises otherwise)."""
        if theme_id is not None:
            get_theme(theme_id)
        now = self.clock.now_ms()
        brand = Brand(new_id("brand", now), owner_id, name, ai_instruction, theme_id, now, now)
        with self.engine.begin() as connection:
            connection.execute(brands.insert().values(**brand.__dict__))
        return brand

    def get(self, visible: Set[str], brand_id: str) -> Brand | None:
        """The brand if one of the `visible` owners owns it (see `Principal`)."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(brands).where(brands.c.id == brand_id, brands.c.owner_id.in_(visible))
            ).one_or_none()
        return None if row is None else Brand(**row._mapping)

    def list(self, owner_id: str, *, limit: int, after: str | None) -> tuple[Sequence[Brand], bool]:
        with self.reads.connect() as connection:
            rows, has_more = newest_first(connection, brands, owner_id, limit=limit, after=after)
        return [Brand(**row._mapping) for row in rows], has_more
