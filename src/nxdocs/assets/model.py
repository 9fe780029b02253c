"""The asset as the API shows it, what an upload creates, and the list's filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from nxdocs.clock import format_timestamp
from nxdocs.ids import id_pattern

AssetType = Literal["icon", "illustration", "photo", "video"]
ASSET_TYPES: tuple[str, ...] = get_args(AssetType)
"""The hosted API's asset types: what the list filters on."""
UploadType = Literal["icon", "illustration", "photo"]
UPLOAD_TYPES: tuple[str, ...] = get_args(UploadType)
"""What an upload may be: nxdocs draws no video, so it takes none."""
DEFAULT_UPLOAD_TYPE: UploadType = "photo"


class AssetUpdate(BaseModel):
    """`PATCH /v1/assets/{id}`: link the asset to a brand, or unlink it with null."""

    model_config = ConfigDict(extra="forbid")

    brand_id: Annotated[
        StrictStr | None,
        Field(
            pattern=id_pattern("brand"),
            description="A brand of the asset's owner (see GET /v1/brands), or null for none. "
            "Another id is a 400.",
        ),
    ]


@dataclass(frozen=True)
class NewAsset:
    """What an upload asks for, checked: the owner it is stored for (a user or an
    organization) and the fields the client chose."""

    owner_id: str
    type: str
    name: str
    brand_id: str | None


@dataclass(frozen=True)
class AssetFilters:
    """`GET /v1/assets` filters; None is no filter. `unassigned` True: no brand;
    False: some brand."""

    type: str | None = None
    brand_id: str | None = None
    unassigned: bool | None = None


@dataclass(frozen=True)
class Asset:
    """An asset row."""

    id: str
    owner_id: str
    type: str
    name: str
    content_type: str
    width: int
    height: int
    size: int
    file_key: str
    brand_id: str | None
    created_at: int
    updated_at: int

    @property
    def file_name(self) -> str:
        """The name its download link ends in (the last part of its key)."""
        return self.file_key.rsplit("/", 1)[-1]

    def to_api(self, url: str | None) -> dict[str, Any]:
        """The asset object; `url` is a signed link to its image (see `nxdocs.api.assets`)."""
        return {
            "id": self.id,
            "object": "asset",
            "type": self.type,
            "name": self.name,
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "brand_id": self.brand_id,
            "url": url,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }
