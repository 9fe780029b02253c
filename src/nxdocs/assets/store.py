"""Asset rows and their files.

An asset's file is a blob under `assets/<asset id>/`, written before its row
and removed after it: a reader that finds the row finds the file, unless the
asset is being deleted at that moment (an export then draws its alt text, a
download link answers 410). A process that dies between the two steps leaves
a file without a row, which nothing reads and which costs only disk space.

Reads by id take the owners the caller may see (`Principal.visible`); an
asset of any other owner is as absent as one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from typing import Any

import sqlalchemy as sa

from nxdocs.assets.images import ImageChecks, StoredImage
from nxdocs.assets.model import Asset, AssetFilters, NewAsset
from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import cursor_position, older_than
from nxdocs.db.schema import assets
from nxdocs.ids import is_id, new_id
from nxdocs.storage.blobs import BlobStore

_IMAGE_SUFFIX = re.compile(r"\.(png|jpe?g|webp|gif|svg)$", re.IGNORECASE)


def asset_prefix(asset_id: str) -> str:
    """The blob folder of one asset's file."""
    return f"assets/{asset_id}/"


class AssetStore:
    """`images` checks what an upload may be (`upload`); `create` takes a checked image."""

    def __init__(
        self, engine: sa.Engine, clock: Clock, blobs: BlobStore, images: ImageChecks
    ) -> None:
        self.engine = engine
        self.reads = read_only(engine)
        self.clock = clock
        self.blobs = blobs
        self.images = images

    def upload(self, new: NewAsset, data: bytes) -> Asset:
        """Check and re-encode the uploaded bytes, then store them (`ImageRefusedError`
        if they are not an image nxdocs takes)."""
        return self.create(new, self.images(data))

    def create(self, new: NewAsset, image: StoredImage) -> Asset:
        """Store the file, then the row; the file goes again if the row fails."""
        now = self.clock.now_ms()
        asset_id = new_id("asset", now)
        key = f"{asset_prefix(asset_id)}{file_stem(new.name)}.{image.extension}"
        asset = Asset(
            id=asset_id,
            owner_id=new.owner_id,
            type=new.type,
            name=new.name,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            size=len(image.data),
            file_key=key,
            brand_id=new.brand_id,
            created_at=now,
            updated_at=now,
        )
        self.blobs.put(key, image.data)
        try:
            with self.engine.begin() as connection:
                connection.execute(assets.insert().values(**asset.__dict__))
        except BaseException:
            self.blobs.delete_prefix(asset_prefix(asset_id))
            raise
        return asset

    def get(self, visible: Set[str], asset_id: str) -> Asset | None:
        """The asset if one of the `visible` owners owns it."""
        return self._one(assets.c.id == asset_id, assets.c.owner_id.in_(visible))

    def find(self, asset_id: str) -> Asset | None:
        """The asset, whoever owns it: for a download link, which carries its own proof."""
        return self._one(assets.c.id == asset_id)

    def list(
        self, owner_id: str, filters: AssetFilters, *, limit: int, after: str | None
    ) -> tuple[Sequence[Asset], bool]:
        """One page of the owner's assets, newest first, as `newest_first` pages.

        The filters are tested on the rows the owner's (created_at, id) index
        yields in order; a page stops at `limit` matches."""
        query = sa.select(assets).where(assets.c.owner_id == owner_id)
        if filters.type is not None:
            query = query.where(assets.c.type == filters.type)
        if filters.brand_id is not None:
            query = query.where(assets.c.brand_id == filters.brand_id)
        if filters.unassigned is True:
            query = query.where(assets.c.brand_id.is_(None))
        elif filters.unassigned is False:
            query = query.where(assets.c.brand_id.is_not(None))
        with self.reads.connect() as connection:
            if after is not None:
                position = cursor_position(connection, assets, owner_id, after)
                query = query.where(older_than(assets, position))
            query = query.order_by(assets.c.created_at.desc(), assets.c.id.desc())
            rows = connection.execute(query.limit(limit + 1)).all()
        return [_asset(row) for row in rows[:limit]], len(rows) > limit

    def set_brand(self, visible: Set[str], asset_id: str, brand_id: str | None) -> Asset | None:
        """Link the asset to a brand (None: to none); None if there is no such asset."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                assets.update()
                .where(assets.c.id == asset_id, assets.c.owner_id.in_(visible))
                .values(brand_id=brand_id, updated_at=self.clock.now_ms())
            ).rowcount
        return self.get(visible, asset_id) if changed else None

    def delete(self, visible: Set[str], asset_id: str) -> bool:
        """Remove the row, then the file; False if there was no such asset."""
        with self.engine.begin() as connection:
            deleted = connection.execute(
                assets.delete().where(assets.c.id == asset_id, assets.c.owner_id.in_(visible))
            ).rowcount
        if deleted:
            self.blobs.delete_prefix(asset_prefix(asset_id))
        return bool(deleted)

    def image(self, owner_id: str, asset_id: str) -> tuple[bytes, str] | None:
        """The bytes and content type of `owner_id`'s asset, for a renderer; None if
        the owner has no such asset or its file cannot be read."""
        if not is_id(asset_id, "asset"):
            return None
        asset = self.get({owner_id}, asset_id)
        if asset is None:
            return None
        data = self.blobs.read(asset.file_key)
        return None if data is None else (data, asset.content_type)

    def _one(self, *conditions: sa.ColumnElement[bool]) -> Asset | None:
        with self.reads.connect() as connection:
            row = connection.execute(sa.select(assets).where(*conditions)).one_or_none()
        return None if row is None else _asset(row)


def _asset(row: sa.Row[Any]) -> Asset:
    return Asset(**row._mapping)


def file_stem(name: str) -> str:
    """A safe, portable file name (without extension) from the asset's name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", _IMAGE_SUFFIX.sub("", name)).strip("-._")
    return stem[:80] or "asset"
