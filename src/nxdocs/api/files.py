"""`GET /v1/files/{export_id}/{file_name}`: downloads by signed link, without a key.

The file is streamed from the blob store in chunks, never read whole, so the
link works on every node, whichever store holds the files. Every
download says `X-Content-Type-Options: nosniff`; the html file also carries a
Content-Security-Policy that lets it draw itself (inline CSS, `data:` images
and fonts, as `nxdocs.render.html` makes it) and nothing else: no script, no
request anywhere, no form, no embedding, and a sandbox.

The same route serves an asset's image (`/v1/files/asset_.../<name>`, signed
the same way; `nxdocs.api.assets.asset_file`). Ids carry their type, so a
signature made for one kind of file never opens the other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from nxdocs.api.assets import asset_file
from nxdocs.api.deps import SignerDep, SystemDep
from nxdocs.api.errors import ForbiddenError, GoneError, NotFoundError
from nxdocs.api.openapi import DOWNLOAD
from nxdocs.ids import is_id
from nxdocs.storage.disposition import attachment_disposition

router = APIRouter(prefix="/v1/files", tags=["files"])

HTML_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
)
_NOT_KEPT = "The file is no longer kept; export the artifact again."


@router.get(
    "/{export_id}/{file_name}",
    summary="Download an export's file (signed link)",
    response_class=Response,
    responses=DOWNLOAD,
)
def download(
    export_id: str,
    file_name: str,
    system: SystemDep,
    signer: SignerDep,
    expires: Annotated[str, Query(max_length=20)] = "",
    signature: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    is_asset = is_id(export_id, "asset")
    if not (is_asset or is_id(export_id, "exp")):
        raise NotFoundError()
    # isdigit() alone admits "²", and a signature must be ASCII to be compared.
    well_formed = expires.isascii() and expires.isdigit() and signature.isascii()
    if not well_formed or not signer.valid(export_id, expires, signature):
        raise ForbiddenError()
    if int(expires) < system.clock.now_ms():
        raise GoneError()
    if is_asset:
        return asset_file(system, export_id, file_name)
    export = system.exports.get(export_id)
    if export is None:
        # Only a completed export is ever signed for, and export rows are never
        # removed: their artifact's deletion tombstones them, and `get` hides
        # tombstones. A valid, unexpired signature for an export we cannot show
        # was therefore issued for one that has since been deleted: 410, not 404.
        raise GoneError("The export was deleted with its artifact.")
    if export.file_name != file_name:
        raise NotFoundError()
    blob = system.blobs.open(export.file_key) if export.file_key else None
    if blob is None:
        # Purged, or a file the store will not read (a symlink, no permission).
        raise GoneError(_NOT_KEPT)
    headers = {
        "Content-Disposition": attachment_disposition(export.file_name),
        "Cache-Control": "private, no-store",
        "Content-Length": str(blob.size),
        "X-Content-Type-Options": "nosniff",
    }
    if export.format == "html":
        headers["Content-Security-Policy"] = HTML_CONTENT_SECURITY_POLICY
    return StreamingResponse(
        blob,
        media_type=export.content_type,
        headers=headers,
        # Closes the file even when the client leaves before the end.
        background=BackgroundTask(blob.close),
    )
