"""OpenAPI entries for the routes that are plain Starlette routes (the poll path), and the 503.

Every /v1 operation that reads the database can answer 503 SERVICE_UNAVAILABLE
during an outage (`nxdocs.api.unavailable`); that response is added to each.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorObject(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorObject


class Progress(BaseModel):
    done: int
    total: int


class JobObject(BaseModel):
    """The job object of the contract page, plus nxdocs's additive `progress`."""

    id: str
    object: Literal["job"]
    type: Literal["artifact.create", "export.run"]
    status: Literal["processing", "completed", "failed"]
    result: dict[str, Any] | None
    error: ErrorObject | None
    created_at: str
    updated_at: str
    progress: Progress | None = None


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            _add_job_route(schema)
            _add_unavailable(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_job_route(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (JobObject, ErrorBody):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    schema["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "nxd_... API key"}
    }

    def ref(name: str) -> dict[str, Any]:
        return {
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        }

    schema["paths"]["/v1/jobs/{id}"] = {
        "get": {
            "tags": ["jobs"],
            "summary": "Get job status",
            "operationId": "jobs_get",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "The job status.", **ref("JobObject")},
                "401": {
                    "description": "Authentication required or API key is invalid.",
                    **ref("ErrorBody"),
                },
                "404": {"description": "The requested resource was not found.", **ref("ErrorBody")},
            },
        }
    }


_PUBLIC_WITHOUT_DATABASE = ("/v1/health",)


def _add_unavailable(schema: dict[str, Any]) -> None:
    response = {
        "description": "The database is unreachable for now (SERVICE_UNAVAILABLE); "
        "retry after Retry-After seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for path, item in schema["paths"].items():
        if path.startswith("/v1/") and path not in _PUBLIC_WITHOUT_DATABASE:
            for operation in item.values():
                operation.setdefault("responses", {}).setdefault("503", response)
