"""Assets: images an owner uploads, kept in the blob store, used in artifacts by id.

`images` decides what an upload may be (png, jpeg or webp, by its bytes) and
re-encodes it; `store` keeps the rows and the files; `model` is the asset as
the API shows it.
"""

from nxdocs.assets.images import ImageChecks, ImageRefusedError, StoredImage, checked_image
from nxdocs.assets.model import (
    ASSET_TYPES,
    DEFAULT_UPLOAD_TYPE,
    UPLOAD_TYPES,
    Asset,
    AssetFilters,
    AssetUpdate,
    NewAsset,
)
from nxdocs.assets.store import AssetStore, asset_prefix

__all__ = [
    "ASSET_TYPES",
    "DEFAULT_UPLOAD_TYPE",
    "UPLOAD_TYPES",
    "Asset",
    "AssetFilters",
    "AssetStore",
    "AssetUpdate",
    "ImageChecks",
    "ImageRefusedError",
    "NewAsset",
    "StoredImage",
    "asset_prefix",
    "checked_image",
]
