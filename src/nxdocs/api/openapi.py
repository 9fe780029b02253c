"""The OpenAPI document: what each route really answers, errors included.

Routes declare their bodies and errors with `responses=`, from the dicts
below, one per kind of route (`AUTHED`, `NOT_FOUND`, `JSON_BODY`, ...); the
response models are in `nxdocs.api.objects`. `install_openapi` then adds what
no single route knows:

- the poll route `GET /v1/jobs/{id}`, a plain ASGI route (`nxdocs.api.jobs`);
- the bearer key on every /v1 operation behind `AuthMiddleware`;
- 503 SERVICE_UNAVAILABLE on every operation that reads the database
  (`nxdocs.api.unavailable`);
- the request rules enforced outside the body models (`nxdocs.api.json_body`,
  `nxdocs.artifacts.requests`);
- and it drops FastAPI's 422: validation errors are 400 (`nxdocs.api.error_handlers`),
  but on the legacy /v0 routes (`nxdocs.api.legacy_export`).

`tests/api/test_schemathesis.py` fuzzes the app against this document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from nxdocs.api.idempotency import HEADER, KEY_PATTERN, REPLAYED
from nxdocs.api.objects import ErrorBody, JobObject
from nxdocs.render.themes import BUILTIN_THEMES

Responses = dict[int | str, dict[str, Any]]

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        response["headers"] = headers
    return response


def ok(model: Any, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 2xx response whose JSON body is `model`."""
    response: dict[str, Any] = {"model": model, "description": description}
    if headers:
        response["headers"] = headers
    return response


INTERNAL: Responses = {500: _error("A bug (INTERNAL_ERROR); the details are in the log.")}
"""Any route: `CatchAllErrors` turns an unexpected exception into this."""

AUTHED: Responses = {
    401: _error(
        "Authentication required or API key is invalid (UNAUTHORIZED).",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    429: _error("Over the owner's request rate (RATE_LIMITED).", _RETRY_AFTER),
    **INTERNAL,
}
"""Every /v1 route behind the key (`nxdocs.api.auth`)."""

NOT_FOUND: Responses = {404: _error("The requested resource was not found.")}


def conflict(description: str) -> Responses:
    """A route's 409, described for that route."""
    return {409: _error(description)}


BAD_QUERY: Responses = {400: _error("A query parameter is invalid (VALIDATION_ERROR).")}

JSON_BODY: Responses = {
    400: _error("Request validation failed (VALIDATION_ERROR); `details` names the fields."),
    413: _error("The body is over the size limit (PAYLOAD_TOO_LARGE)."),
    415: _error("The body is not `application/json` (UNSUPPORTED_MEDIA_TYPE)."),
}
"""Routes that take a JSON body (`nxdocs.api.body_limits`, `nxdocs.api.json_body`)."""

IDEMPOTENT: Responses = {
    409: _error(
        f"The {HEADER} was first used with a different request (IDEMPOTENCY_KEY_REUSED), "
        "or a request with it has not answered yet (CONFLICT; retry after Retry-After).",
        _RETRY_AFTER,
    )
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": "Makes the request safe to retry: the same key with the same request "
            "(method, path, JSON body) within the key's lifetime (`--idempotency-key-seconds`, "
            "24 hours by default) answers the first response again "
            f"(a 2xx or 404), with `{REPLAYED}: true`, and creates nothing. Other answers "
            "free the key. Keys are per owner.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
        }
    ]
}
"""Routes that create work (`nxdocs.api.idempotency`): `openapi_extra=` and `responses=`."""

_EXPORT_MEDIA_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip",
    "text/html",
    "image/png",  # an asset's image (`nxdocs.api.assets`)
    "image/jpeg",
)
DOWNLOAD: Responses = {
    200: {
        "description": "The export's file, as an attachment; or an asset's image, inline.",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in _EXPORT_MEDIA_TYPES
        },
    },
    400: _error("`expires` or `signature` is too long (VALIDATION_ERROR)."),
    403: _error("The link's signature does not match (FORBIDDEN)."),
    404: _error("No such export, asset or file name."),
    410: _error("The link has expired, or the file is no longer kept (LINK_EXPIRED)."),
    **INTERNAL,
}
"""The signed download: no key, so no 401 or 429."""

EMBED_VIEWER: Responses = {
    200: {
        "description": "The viewer page: the artifact's pages, one at a time.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    400: _error("The token is too long (VALIDATION_ERROR)."),
    403: _error(
        "Not a token nxdocs signed: malformed, tampered or for another artifact (FORBIDDEN)."
    ),
    404: _error("The path names no token."),
    410: _error("The link has expired, or its artifact was deleted (LINK_EXPIRED)."),
    **INTERNAL,
}
"""The embed viewer (`nxdocs.api.embed`): a signed token instead of the key."""

_UNAVAILABLE = {
    "description": "The database is unreachable for now (SERVICE_UNAVAILABLE); "
    "retry after Retry-After seconds.",
    "headers": _RETRY_AFTER,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
_WITHOUT_DATABASE = ("/health", "/v1/health", "/metrics", "/readyz")
_LEGACY = "/v0/"
"""The legacy routes: behind the key like /v1, with FastAPI's own 422."""
_UNSTORABLE_TEXT = "^[^\\x00\\ud800-\\udfff]*$"
"""No NUL and no lone surrogate: what `nxdocs.api.json_body` allows in a body's strings."""


def install_openapi(app: FastAPI, public_prefixes: Iterable[str]) -> None:
    """Serve the document described above; `public_prefixes` are the /v1 paths without a key."""
    public = tuple(public_prefixes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_job_route(schema)
            _drop_422(schema)
            _add_security(schema, public)
            _add_unavailable(schema)
            _document_request_rules(schema["components"]["schemas"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_job_route(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    # JobObject is an Annotated union, which type checkers read differently across
    # pydantic releases; the cast keeps the call checked the same under all of them.
    job_schema = TypeAdapter[Any](cast(Any, JobObject)).json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(job_schema.pop("$defs", {}))
    components["JobObject"] = {
        **job_schema,
        "description": "The job object of the contract page, plus nxdocs's additive `progress`.",
    }

    errors = {**AUTHED, **NOT_FOUND, **BAD_QUERY}
    schema["paths"]["/v1/jobs/{id}"] = {
        "get": {
            "tags": ["jobs"],
            "summary": "Get job status",
            "description": "While the job is processing the response carries `Retry-After`. "
            "With `wait`, a processing job is answered as soon as it finishes, or when the "
            "wait is over, with the same body; 429 when the caller (or the server) has too "
            "many waits open.",
            "operationId": "jobs_get",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "Job ID",
                    "schema": {"type": "string"},
                },
                {
                    "name": "wait",
                    "in": "query",
                    "required": False,
                    "description": "Seconds to wait for a processing job to finish (long-poll), "
                    "0-60 with up to 3 decimals; 0 or absent answers at once.",
                    "schema": {
                        "type": "string",
                        # Exactly what `wait_seconds` accepts: 0-60.
                        "pattern": "^(60(\\.0{1,3})?|[0-5]?[0-9](\\.[0-9]{1,3})?)$",
                    },
                },
            ],
            "responses": {
                "200": _json("JobObject", "The job status.", _RETRY_AFTER),
                **{
                    str(status): _json("ErrorBody", error["description"], error.get("headers"))
                    for status, error in errors.items()
                },
            },
        }
    }


def _json(component: str, description: str, headers: dict[str, Any] | None) -> dict[str, Any]:
    """A response entry written by hand, for the route FastAPI does not see."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _drop_422(schema: dict[str, Any]) -> None:
    """FastAPI documents 422 for every route with parameters; nxdocs answers 400 instead,
    but on the legacy /v0 routes, which answer FastAPI's own 422 (`nxdocs.api.legacy_export`)."""
    legacy = False
    for path, item in schema["paths"].items():
        for operation in item.values():
            if path.startswith(_LEGACY) and "422" in operation["responses"]:
                legacy = True
            else:
                operation["responses"].pop("422", None)
    if not legacy:
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)


def _add_security(schema: dict[str, Any], public: tuple[str, ...]) -> None:
    schema["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "nxd_... API key"}
    }
    for path, item in schema["paths"].items():
        if path.startswith(("/v1/", _LEGACY)) and not path.startswith(public):
            for operation in item.values():
                operation["security"] = [{"bearer": []}]


def _add_unavailable(schema: dict[str, Any]) -> None:
    for path, item in schema["paths"].items():
        if path not in _WITHOUT_DATABASE:
            for operation in item.values():
                operation["responses"].setdefault("503", _UNAVAILABLE)


def _document_request_rules(components: dict[str, Any]) -> None:
    """What the request models cannot say about themselves.

    Every string of a JSON body is checked for NUL and lone surrogates
    (`nxdocs.api.json_body`); an artifact needs a prompt or content that is not
    blank, and a built-in theme (`nxdocs.artifacts.requests.new_artifact`)."""
    for name in ("ArtifactCreate", "ExportCreate"):
        model = components[name]
        model["description"] = (
            model.get("description", "") + "\n\nNo string in the body, unknown fields "
            "included, may hold a NUL character or a lone surrogate (400)."
        ).strip()
        for field in model["properties"].values():
            _forbid_unstorable(field)
    artifact = components["ArtifactCreate"]
    not_blank = {"type": "string", "pattern": "\\S"}
    artifact["anyOf"] = [
        {"required": ["prompt"], "properties": {"prompt": not_blank}},
        {"required": ["content"], "properties": {"content": not_blank}},
    ]
    artifact["properties"]["theme_id"] = {
        "anyOf": [{"type": "string", "enum": sorted(BUILTIN_THEMES)}, {"type": "null"}],
        "title": "Theme Id",
        "description": "A built-in theme; see GET /v1/themes.",
    }
    artifact["properties"]["brand_id"]["description"] = (
        "One of the owner's brands; see GET /v1/brands. Another id is a 400."
    )
    export = components["ExportCreate"]
    export["properties"]["pages"]["description"] = (
        "1-indexed page numbers, each at most once; all pages when absent. "
        "A page past the artifact's end is a 400 (or PAGES_OUT_OF_RANGE on the job)."
    )
    for variant in export["properties"]["pages"].get("anyOf", []):
        if variant.get("type") == "array":
            variant["uniqueItems"] = True


def _forbid_unstorable(field: dict[str, Any]) -> None:
    for variant in field.get("anyOf", [field]):
        if variant.get("type") == "string" and "pattern" not in variant and "enum" not in variant:
            variant["pattern"] = _UNSTORABLE_TEXT
