"""JSON responses rendered with orjson, and the contract's error body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

from nxdocs.api.errors import ApiError


class OrjsonResponse(JSONResponse):
    """`JSONResponse` rendered by orjson.

    A `JSONResponse` subclass so that FastAPI documents a route's JSON body
    (`responses=`) instead of `{"type": "string"}`; only `render` differs.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return OrjsonResponse(error.body(), status_code=error.status, headers=headers)
