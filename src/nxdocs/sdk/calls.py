"""The API's operations, one method each, as the hosted API names them.

Each returns an `Operation` (see `nxdocs.sdk.core`) that `Client` runs with
blocking I/O and `AsyncClient` with `await`; the resources of both are thin
wrappers around these, so what a call sends, how it waits and what it
returns are decided here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from nxdocs.sdk.core import Core, Operation
from nxdocs.sdk.models import (
    Artifact,
    Deleted,
    Export,
    Job,
    WebhookDelivery,
    WebhookEndpoint,
)
from nxdocs.sdk.operations import (
    NOT_GIVEN,
    NotGiven,
    Timestamp,
    create,
    download,
    finished_artifact,
    finished_export,
    given,
    job_filters,
    one,
    paginate,
    path,
    wait_job,
    without_none,
)
from nxdocs.sdk.wire import ApiRequest, query


class JobCalls:
    def __init__(self, core: Core) -> None:
        self.core = core

    def get(self, job_id: str) -> Operation[Job]:
        return one(self.core, Job, ApiRequest("GET", path("jobs", job_id)))

    def wait(
        self, job_id: str, timeout: float | None, on_update: Callable[[Job], None] | None
    ) -> Operation[Job]:
        return wait_job(self.core, job_id, timeout, on_update)

    def list(
        self,
        *,
        status: str | None,
        type: str | None,
        created_after: Timestamp | None,
        created_before: Timestamp | None,
        limit: int | None,
        after: str | None,
        org_id: str | None,
    ) -> Operation[None]:
        filters = job_filters(
            status=status,
            type=type,
            created_after=created_after,
            created_before=created_before,
            limit=limit,
            org_id=org_id,
        )
        return paginate(self.core, Job, path("jobs"), filters, after)

    def cancel(self, job_id: str) -> Operation[Job]:
        return one(self.core, Job, ApiRequest("POST", path("jobs", job_id, "cancel")))


class ArtifactCalls:
    def __init__(self, core: Core) -> None:
        self.core = core

    def create(
        self, fields: dict[str, object], idempotency_key: str | None, timeout: float | None
    ) -> Operation[Artifact]:
        created = yield from create(
            self.core,
            Artifact,
            path("artifacts"),
            without_none(**fields),
            idempotency_key,
            held=True,
        )
        return (yield from finished_artifact(self.core, created, timeout))

    def create_async(
        self, fields: dict[str, object], idempotency_key: str | None
    ) -> Operation[Artifact]:
        url = path("artifacts", "async")
        return create(self.core, Artifact, url, without_none(**fields), idempotency_key)

    def get(self, artifact_id: str) -> Operation[Artifact]:
        return one(self.core, Artifact, ApiRequest("GET", path("artifacts", artifact_id)))

    def list(self, *, limit: int | None, after: str | None, org_id: str | None) -> Operation[None]:
        params = query(limit=limit, org_id=org_id)
        return paginate(self.core, Artifact, path("artifacts"), params, after)

    def delete(self, artifact_id: str) -> Operation[Deleted]:
        return one(self.core, Deleted, ApiRequest("DELETE", path("artifacts", artifact_id)))


class ExportCalls:
    def __init__(self, core: Core) -> None:
        self.core = core

    @staticmethod
    def _fields(artifact_id: str, format: str, pages: Sequence[int] | None) -> dict[str, object]:
        listed = None if pages is None else list(pages)
        return without_none(artifact_id=artifact_id, format=format, pages=listed)

    def create(
        self,
        artifact_id: str,
        format: str,
        pages: Sequence[int] | None,
        idempotency_key: str | None,
        timeout: float | None,
    ) -> Operation[Export]:
        fields = self._fields(artifact_id, format, pages)
        url = path("exports")
        created = yield from create(self.core, Export, url, fields, idempotency_key, held=True)
        return (yield from finished_export(self.core, created, timeout))

    def create_async(
        self,
        artifact_id: str,
        format: str,
        pages: Sequence[int] | None,
        idempotency_key: str | None,
    ) -> Operation[Export]:
        fields = self._fields(artifact_id, format, pages)
        return create(self.core, Export, path("exports", "async"), fields, idempotency_key)

    def get(self, export_id: str) -> Operation[Export]:
        return one(self.core, Export, ApiRequest("GET", path("exports", export_id)))

    def download(self, export_id: str, target: Path, timeout: float | None) -> Operation[Path]:
        return download(self.core, export_id, target, timeout)


class WebhookEndpointCalls:
    def __init__(self, core: Core) -> None:
        self.core = core

    def create(
        self, url: str, events: Sequence[str], description: str | None, org_id: str | None
    ) -> Operation[WebhookEndpoint]:
        fields = without_none(url=url, events=list(events), description=description, org_id=org_id)
        request = ApiRequest("POST", path("webhook_endpoints"), json=fields)
        return one(self.core, WebhookEndpoint, request)

    def list(self, *, limit: int | None, after: str | None, org_id: str | None) -> Operation[None]:
        params = query(limit=limit, org_id=org_id)
        return paginate(self.core, WebhookEndpoint, path("webhook_endpoints"), params, after)

    def get(self, endpoint_id: str) -> Operation[WebhookEndpoint]:
        request = ApiRequest("GET", path("webhook_endpoints", endpoint_id))
        return one(self.core, WebhookEndpoint, request)

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        status: str | NotGiven = NOT_GIVEN,
    ) -> Operation[WebhookEndpoint]:
        listed = events if isinstance(events, NotGiven) else list(events)
        fields = given(url=url, events=listed, description=description, status=status)
        request = ApiRequest("PATCH", path("webhook_endpoints", endpoint_id), json=fields)
        return one(self.core, WebhookEndpoint, request)

    def delete(self, endpoint_id: str) -> Operation[Deleted]:
        request = ApiRequest("DELETE", path("webhook_endpoints", endpoint_id))
        return one(self.core, Deleted, request)

    def rotate_secret(self, endpoint_id: str) -> Operation[WebhookEndpoint]:
        request = ApiRequest("POST", path("webhook_endpoints", endpoint_id, "rotate_secret"))
        return one(self.core, WebhookEndpoint, request)

    def deliveries(
        self, endpoint_id: str, *, status: str | None, limit: int | None, after: str | None
    ) -> Operation[None]:
        url = path("webhook_endpoints", endpoint_id, "deliveries")
        return paginate(self.core, WebhookDelivery, url, query(status=status, limit=limit), after)

    def retry_delivery(self, endpoint_id: str, delivery_id: str) -> Operation[WebhookDelivery]:
        url = path("webhook_endpoints", endpoint_id, "deliveries", delivery_id, "retry")
        return one(self.core, WebhookDelivery, ApiRequest("POST", url))
