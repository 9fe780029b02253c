"""Asset routes: upload (multipart), list, get, link to a brand, delete; and the image download.

An upload is one `multipart/form-data` request: the image in the `file` part,
and the optional fields `type`, `name`, `brand_id` and `org_id`. Its body has
a limit of its own (`BodyLimits`, `upload_body_limit`): the file's limit
(`--asset-max-bytes`) plus `FORM_OVERHEAD_BYTES` for the other parts, and the
file itself is held to its limit once parsed. What the file may be is
`nxdocs.assets.images`'s business.

Each asset shows a signed `url` of its image, made like an export's
`download_url` (`LinkSigner`, `GET /v1/files/{id}/{name}`), so an `<img>` or a
client without the key can fetch it; every read signs a fresh one that lives
`--download-url-seconds`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response, StreamingResponse

from nxdocs.api.body_limits import UPLOAD_ONLY
from nxdocs.api.deps import (
    After,
    AssetId,
    Caller,
    Limit,
    SignerDep,
    SystemDep,
    Visible,
    Workspace,
    workspace_of,
)
from nxdocs.api.errors import (
    GoneError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
    invalid,
)
from nxdocs.api.json_body import StrictJsonRoute
from nxdocs.api.lists import list_object
from nxdocs.api.objects import AssetDeleted, AssetList, AssetObject, ErrorBody
from nxdocs.api.openapi import AUTHED, BAD_QUERY, JSON_BODY, NOT_FOUND, ok
from nxdocs.api.responses import OrjsonResponse
from nxdocs.assets import (
    DEFAULT_UPLOAD_TYPE,
    UPLOAD_TYPES,
    Asset,
    AssetFilters,
    AssetUpdate,
    ImageRefusedError,
    NewAsset,
)
from nxdocs.assets.model import AssetType, UploadType
from nxdocs.auth.principal import Principal
from nxdocs.ids import id_pattern
from nxdocs.settings import Settings
from nxdocs.storage.signing import LinkSigner
from nxdocs.system import System

UPLOAD_PATH = "/v1/assets"
FORM_OVERHEAD_BYTES = 64 * 1024
"""What an upload's body may hold beyond its file: boundaries, part headers, fields."""
_MAX_NAME = 255  # `assets.name`
# No control character, and something besides spaces.
_NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f]*[^\\u0000-\\u0020\\u007f][^\\u0000-\\u001f\\u007f]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASSET_CSP = "default-src 'none'; sandbox"
_NOT_KEPT = "The asset's image is no longer kept."


def upload_body_limit(settings: Settings) -> int:
    """The most bytes an upload's body may have (`BodyLimits` answers 413 beyond)."""
    return settings.asset_max_bytes + FORM_OVERHEAD_BYTES


class _UploadFields(BaseModel):
    """The form's fields besides `file`; validated as `_UPLOAD_SCHEMA` documents them."""

    model_config = ConfigDict(extra="forbid")

    type: UploadType = DEFAULT_UPLOAD_TYPE
    name: Annotated[StrictStr | None, Field(max_length=_MAX_NAME, pattern=_NAME_PATTERN)] = None
    brand_id: Annotated[StrictStr | None, Field(pattern=id_pattern("brand"))] = None
    org_id: Annotated[StrictStr | None, Field(pattern=id_pattern("org"))] = None


_UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The image: png, jpeg or webp, decided by its bytes (not its "
            "content type), at most `--asset-max-bytes` and `--asset-max-pixels`. SVG is "
            "refused. It is stored re-encoded, without its metadata.",
        },
        "type": {
            "type": "string",
            "enum": list(UPLOAD_TYPES),
            "default": DEFAULT_UPLOAD_TYPE,
            "description": "`video` is refused: nxdocs draws no video.",
        },
        "name": {
            "type": "string",
            "maxLength": _MAX_NAME,
            "pattern": _NAME_PATTERN,
            "description": "Default: the file's name.",
        },
        "brand_id": {
            "type": "string",
            "pattern": id_pattern("brand"),
            "description": "Link it to this brand, one of the owner's (another id is a 400).",
        },
        "org_id": {
            "type": "string",
            "pattern": id_pattern("org"),
            "description": "Store it in this organization (the caller must belong to it).",
        },
    },
}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}},
    }
}


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error(
        "The form or the image is invalid (VALIDATION_ERROR): not png, jpeg or webp, cut "
        "short, over the pixel limit, an unknown brand; `details` names the field."
    ),
    404: _error("No such organization among the caller's."),
    413: _error("The body or the file is over the size limit (PAYLOAD_TOO_LARGE)."),
    415: _error("The body is not `multipart/form-data` (UNSUPPORTED_MEDIA_TYPE)."),
}

router = APIRouter(
    prefix="/v1/assets", tags=["assets"], route_class=StrictJsonRoute, responses=AUTHED
)


@dataclass(frozen=True)
class _Upload:
    fields: _UploadFields
    data: bytes
    file_name: str


@router.post(
    "",
    status_code=201,
    summary="Upload an image asset",
    response_model=None,
    responses={201: ok(AssetObject, "The stored asset."), **_UPLOAD_ERRORS},
    openapi_extra=_UPLOAD_BODY,
)
async def upload_asset(
    request: Request, caller: Caller, system: SystemDep, signer: SignerDep
) -> Response:
    """Use the asset in an artifact's Markdown as `![alt](asset_...)`."""
    upload = await _read_upload(request, system.settings.asset_max_bytes)
    asset = await run_in_threadpool(_store, system, caller, upload)
    return OrjsonResponse(_shown(system, signer, asset), status_code=201)


@router.get(
    "",
    summary="List assets, newest first",
    response_model=None,
    responses={200: ok(AssetList, "One page of assets."), **BAD_QUERY, **NOT_FOUND},
)
def list_assets(
    owner: Workspace,
    system: SystemDep,
    signer: SignerDep,
    limit: Limit = 20,
    after: After = None,
    asset_type: Annotated[
        AssetType | None,
        Query(alias="type", description="Only assets of this type."),
    ] = None,
    brand_id: Annotated[
        str | None, Query(pattern=id_pattern("brand"), description="Only this brand's assets.")
    ] = None,
    unassigned: Annotated[
        bool | None,
        Query(description="true: only assets linked to no brand; false: only linked ones."),
    ] = None,
) -> dict[str, Any]:
    """The caller's own assets, or with `org_id` the organization's."""
    filters = AssetFilters(type=asset_type, brand_id=brand_id, unassigned=unassigned)
    return list_object(
        lambda: system.assets.list(owner, filters, limit=limit, after=after),
        lambda asset: _shown(system, signer, asset),
    )


@router.get(
    "/{id}",
    summary="Get an asset",
    response_model=None,
    responses={200: ok(AssetObject, "The asset."), **NOT_FOUND},
)
def get_asset(
    asset_id: AssetId, visible: Visible, system: SystemDep, signer: SignerDep
) -> dict[str, Any]:
    asset = system.assets.get(visible, asset_id)
    if asset is None:
        raise NotFoundError()
    return _shown(system, signer, asset)


@router.patch(
    "/{id}",
    summary="Link an asset to a brand, or unlink it",
    response_model=None,
    responses={200: ok(AssetObject, "The asset as it is now."), **JSON_BODY, **NOT_FOUND},
)
def update_asset(
    asset_id: AssetId, body: AssetUpdate, visible: Visible, system: SystemDep, signer: SignerDep
) -> dict[str, Any]:
    """`brand_id` must name a brand of the asset's own owner (the user or the
    organization the asset belongs to); null unlinks it."""
    asset = system.assets.get(visible, asset_id)
    if asset is None:
        raise NotFoundError()
    _check_brand(system, asset.owner_id, body.brand_id)
    updated = system.assets.set_brand({asset.owner_id}, asset_id, body.brand_id)
    if updated is None:  # deleted meanwhile
        raise NotFoundError()
    return _shown(system, signer, updated)


@router.delete(
    "/{id}",
    summary="Delete an asset",
    response_model=None,
    responses={200: ok(AssetDeleted, "Deleted."), **NOT_FOUND},
)
def delete_asset(asset_id: AssetId, visible: Visible, system: SystemDep) -> dict[str, Any]:
    """The asset and its image are gone: its links answer 410, and artifacts that
    use it draw its alt text in their next exports."""
    if not system.assets.delete(visible, asset_id):
        raise NotFoundError()
    return {"id": asset_id, "object": "asset", "deleted": True}


def asset_file(system: System, asset_id: str, file_name: str) -> Response:
    """The image behind a signed link (`nxdocs.api.files` has checked the signature
    and the expiry), streamed: inline, since it is a plain re-encoded picture."""
    asset = system.assets.find(asset_id)
    if asset is None:
        # A valid signature is only ever made for an asset that existed.
        raise GoneError("The asset was deleted.")
    if asset.file_name != file_name:
        raise NotFoundError()
    blob = system.blobs.open(asset.file_key)
    if blob is None:
        raise GoneError(_NOT_KEPT)
    disposition = f"inline; filename=\"{file_name}\"; filename*=UTF-8''{quote(file_name)}"
    headers = {
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
        "Content-Length": str(blob.size),
        "Content-Security-Policy": _ASSET_CSP,
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        blob, media_type=asset.content_type, headers=headers, background=BackgroundTask(blob.close)
    )


def _shown(system: System, signer: LinkSigner, asset: Asset) -> dict[str, Any]:
    """The asset object, with a freshly signed link to its image."""
    expires = system.clock.now_ms() + system.settings.download_url_seconds * 1000
    return asset.to_api(signer.link(asset.id, asset.file_name, expires).url)


def _check_brand(system: System, owner_id: str, brand_id: str | None) -> None:
    if brand_id is not None and system.brands.get({owner_id}, brand_id) is None:
        raise invalid("brand_id", "No brand with this id belongs to the asset's owner.")


def _store(system: System, caller: Principal, upload: _Upload) -> Asset:
    fields = upload.fields
    owner_id = workspace_of(caller, fields.org_id)
    _check_brand(system, owner_id, fields.brand_id)
    name = fields.name if fields.name is not None else upload.file_name
    try:
        return system.assets.upload(
            NewAsset(owner_id, fields.type, name, fields.brand_id), upload.data
        )
    except ImageRefusedError as exc:
        raise invalid("file", str(exc)) from None


async def _read_upload(request: Request, max_bytes: int) -> _Upload:
    """The form's file and fields, checked; the file read up to its limit only."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaTypeError(UPLOAD_ONLY)
    try:
        form = await request.form(max_files=1, max_fields=len(_UPLOAD_SCHEMA["properties"]))
    except HTTPException as exc:
        raise invalid("body", f"The body is not a readable multipart form: {exc.detail}") from None
    try:
        file = _the_file(form)
        fields = _fields(form)
        data = await file.read(max_bytes + 1)
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"The file is over the limit of {max_bytes:,} bytes.")
    return _Upload(fields, data, _name_of(file.filename))


def _the_file(form: FormData) -> UploadFile:
    parts = form.getlist("file")
    if not parts:
        raise invalid("file", "Field required: the image, as a file part.")
    file = parts[0]
    if len(parts) > 1 or not isinstance(file, UploadFile):
        raise invalid("file", "Send the image as exactly one file part (with a filename).")
    return file


def _fields(form: FormData) -> _UploadFields:
    values: dict[str, str] = {}
    problems = []
    for key in dict.fromkeys(form.keys()):
        if key == "file":
            continue
        found = form.getlist(key)
        if len(found) > 1 or not isinstance(found[0], str):
            problems.append({"field": key, "message": "Give it once, as a plain form field."})
        elif key == "type" and found[0] == "video":
            problems.append(
                {"field": key, "message": "Video uploads are not supported: nxdocs draws no video."}
            )
        else:
            values[key] = found[0]
    if problems:
        raise ValidationFailedError(details=problems)
    try:
        return _UploadFields.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


def _name_of(file_name: str | None) -> str:
    """The asset's default name: the file's own, without folders or control characters."""
    base = re.split(r"[/\\]", file_name or "")[-1]
    cleaned = _CONTROL.sub("", base).strip()[:_MAX_NAME]
    return cleaned or "image"
