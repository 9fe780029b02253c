"""`GET /v1/files/{export_id}/{file_name}`: downloads by signed link, without a key."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from nxdocs.api.deps import SignerDep, SystemDep
from nxdocs.api.errors import ForbiddenError, GoneError, NotFoundError
from nxdocs.ids import is_id

router = APIRouter(prefix="/v1/files", tags=["files"])


@router.get("/{export_id}/{file_name}", summary="Download an export's file (signed link)")
def download(
    export_id: str,
    file_name: str,
    system: SystemDep,
    signer: SignerDep,
    expires: Annotated[str, Query(max_length=20)] = "",
    signature: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    if not is_id(export_id, "exp"):
        raise NotFoundError()
    # isdigit() alone admits "²", and a signature must be ASCII to be compared.
    well_formed = expires.isascii() and expires.isdigit() and signature.isascii()
    if not well_formed or not signer.valid(export_id, expires, signature):
        raise ForbiddenError()
    if int(expires) < system.clock.now_ms():
        raise GoneError()
    export = system.exports.get(export_id)
    if export is None or export.file_name != file_name:
        raise NotFoundError()
    data = system.blobs.read(export.file_key) if export.file_key else None
    if data is None:
        raise GoneError("The file is no longer kept; export the artifact again.")
    disposition = (
        f"attachment; filename=\"{export.file_name}\"; filename*=UTF-8''{quote(export.file_name)}"
    )
    return Response(
        data,
        media_type=export.content_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
    )
