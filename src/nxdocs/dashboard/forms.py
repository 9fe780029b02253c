"""What a dashboard form posted: its fields, sent by the page's script as a JSON object.

The app admits JSON request bodies only (`nxdocs.api.body_limits`, in front
of every route), so the script (`static/dashboard.js`) posts each form's
fields as `{"name": "value", ...}`. A body that is not such an object is no
fields at all: its CSRF token is missing, and the route refuses it. Another
site cannot send this body with a visitor's cookies in any case: a
cross-origin JSON post needs a CORS preflight nxdocs never grants, and the
cookies are SameSite=Strict.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Depends, Request

MAX_FIELD_CHARS = 200


async def posted_fields(request: Request) -> dict[str, str]:
    """The form's fields; those that are not short strings are left out."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {
        name: value
        for name, value in body.items()
        if isinstance(value, str) and len(value) <= MAX_FIELD_CHARS
    }


PostedFields = Annotated[dict[str, str], Depends(posted_fields)]
