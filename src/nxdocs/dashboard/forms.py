"""What a dashboard form posted: its fields, sent by the page's script as a JSON object.

The app admits JSON request bodies only (`nxdocs.api.body_limits`, in front
of every route), so the script (`static/dashboard.js`) posts each form's
fields as `{"name": "value", ...}`. A body that is not such an object is no
fields at all: its CSRF token is missing, and the route refuses it. Another
site cannot send this body with a visitor's cookies in any case: a
cross-origin JSON post needs a CORS preflight nxdocs never grants, and the
cookies are SameSite=Strict.

The app's body limit is sized for the API's documents (`--max-request-bytes`,
2 MB by default); a dashboard form is a few short fields, so a body over
`MAX_FORM_BYTES` is refused with 413 (a page, `messages`) before it is parsed.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Depends, Request
from starlette.exceptions import HTTPException

MAX_FIELD_CHARS = 200
MAX_FORM_BYTES = 8192
"""Far more than any of the dashboard's forms sends (a key, a token: under 200 bytes)."""


async def posted_fields(request: Request) -> dict[str, str]:
    """The form's fields; those that are not short strings are left out."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413)
    try:
        posted = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(posted, dict):
        return {}
    return {
        name: value
        for name, value in posted.items()
        if isinstance(value, str) and len(value) <= MAX_FIELD_CHARS
    }


PostedFields = Annotated[dict[str, str], Depends(posted_fields)]
