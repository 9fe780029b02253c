"""Webhook endpoints and their deliveries: create, list, get, update, delete, rotate
the secret, list deliveries, resend one (`nxdocs.webhooks`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.responses import Response

from nxdocs.api.deps import (
    After,
    Caller,
    DeliveryId,
    Limit,
    SettingsDep,
    SystemDep,
    Visible,
    WebhookEndpointId,
    Workspace,
    workspace_of,
)
from nxdocs.api.errors import ConflictError, NotFoundError, RateLimitedError, invalid
from nxdocs.api.json_body import StrictJsonRoute
from nxdocs.api.lists import list_object
from nxdocs.api.objects import (
    WebhookDeliveryList,
    WebhookDeliveryObject,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointWithSecret,
    WebhookEvent,
)
from nxdocs.api.openapi import AUTHED, BAD_QUERY, JSON_BODY, NOT_FOUND, conflict, ok
from nxdocs.api.responses import OrjsonResponse
from nxdocs.ids import id_pattern
from nxdocs.net.pinned_transport import AddressPolicy, resolve_host
from nxdocs.settings import Settings
from nxdocs.webhooks.deliveries import EndpointDisabledError
from nxdocs.webhooks.endpoints import TooManyEndpointsError
from nxdocs.webhooks.model import Delivery, Endpoint
from nxdocs.webhooks.urls import MAX_URL_LENGTH, EndpointUrlError, check_url

router = APIRouter(
    prefix="/v1/webhook_endpoints",
    tags=["webhooks"],
    route_class=StrictJsonRoute,
    responses=AUTHED,
)

_Url = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="An http(s) URL whose host resolves to public addresses only.",
    ),
]
_Events = Annotated[
    list[WebhookEvent],
    Field(
        min_length=1, max_length=10, description="The events to send: job.completed, job.failed."
    ),
]
_Description = Annotated[StrictStr | None, Field(max_length=500)]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: _Url
    events: _Events
    description: _Description = None
    org_id: Annotated[
        StrictStr | None,
        Field(
            pattern=id_pattern("org"),
            description="Create it in this organization: it receives the organization's events.",
        ),
    ] = None


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: _Url | None = None
    events: _Events | None = None
    description: _Description = None
    status: Annotated[
        Literal["enabled", "disabled"] | None,
        Field(description="`enabled` re-enables a disabled endpoint and clears its failures."),
    ] = None


_WITH_SECRET = ok(WebhookEndpointWithSecret, "The endpoint, with its signing secret (shown once).")


@router.post(
    "",
    status_code=201,
    summary="Create a webhook endpoint",
    response_model=None,
    responses={201: _WITH_SECRET, **JSON_BODY, **NOT_FOUND},
)
def create_endpoint(
    body: EndpointCreate, caller: Caller, system: SystemDep, settings: SettingsDep
) -> Response:
    owner_id = workspace_of(caller, body.org_id)
    _check(body.url, settings)
    try:
        endpoint, secret = system.webhook_endpoints.create(
            owner_id, body.url, body.events, body.description
        )
    except TooManyEndpointsError as exc:
        raise RateLimitedError(f"An owner may have {exc.limit} webhook endpoints.") from None
    return OrjsonResponse(endpoint.to_api(secret), status_code=201)


@router.get(
    "",
    summary="List webhook endpoints, newest first",
    response_model=None,
    responses={200: ok(WebhookEndpointList, "One page of endpoints."), **BAD_QUERY, **NOT_FOUND},
)
def list_endpoints(
    owner: Workspace, system: SystemDep, limit: Limit = 10, after: After = None
) -> dict[str, Any]:
    """The caller's own endpoints, or with `org_id` the organization's."""
    return list_object(
        lambda: system.webhook_endpoints.page(owner, limit=limit, after=after),
        Endpoint.to_api,
    )


@router.get(
    "/{id}",
    summary="Get a webhook endpoint",
    response_model=None,
    responses={200: ok(WebhookEndpointObject, "The endpoint."), **NOT_FOUND},
)
def get_endpoint(
    endpoint_id: WebhookEndpointId, visible: Visible, system: SystemDep
) -> dict[str, Any]:
    return _endpoint(system.webhook_endpoints.get(visible, endpoint_id)).to_api()


@router.patch(
    "/{id}",
    summary="Update a webhook endpoint",
    response_model=None,
    responses={
        200: ok(WebhookEndpointObject, "The endpoint as it is now."),
        **JSON_BODY,
        **NOT_FOUND,
    },
)
def update_endpoint(
    endpoint_id: WebhookEndpointId,
    body: EndpointUpdate,
    visible: Visible,
    system: SystemDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Fields left out are kept; `description: null` clears it."""
    if body.url is not None:
        _check(body.url, settings)
    enabled = None if body.status is None else body.status == "enabled"
    updated = system.webhook_endpoints.update(
        visible,
        endpoint_id,
        url=body.url,
        events=body.events,
        description=body.description,
        enabled=enabled,
        fields=body.model_fields_set,
    )
    return _endpoint(updated).to_api()


@router.delete(
    "/{id}",
    summary="Delete a webhook endpoint",
    response_model=None,
    responses={200: ok(WebhookEndpointDeleted, "Deleted, with its deliveries."), **NOT_FOUND},
)
def delete_endpoint(
    endpoint_id: WebhookEndpointId, visible: Visible, system: SystemDep
) -> dict[str, Any]:
    if not system.webhook_endpoints.delete(visible, endpoint_id):
        raise NotFoundError()
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


@router.post(
    "/{id}/rotate_secret",
    summary="Rotate a webhook endpoint's signing secret",
    response_model=None,
    responses={200: _WITH_SECRET, **NOT_FOUND},
)
def rotate_secret(
    endpoint_id: WebhookEndpointId, visible: Visible, system: SystemDep, settings: SettingsDep
) -> dict[str, Any]:
    """A new secret, shown once; deliveries are signed with the old one too for
    `--webhook-secret-overlap-seconds` (24 hours by default), so receivers can
    switch without missing an event."""
    rotated = system.webhook_endpoints.rotate_secret(
        visible, endpoint_id, settings.webhook_secret_overlap_seconds
    )
    if rotated is None:
        raise NotFoundError()
    endpoint, secret = rotated
    return endpoint.to_api(secret)


@router.get(
    "/{id}/deliveries",
    summary="List an endpoint's deliveries, newest first",
    response_model=None,
    responses={
        200: ok(WebhookDeliveryList, "One page of deliveries, each with its latest attempts."),
        **BAD_QUERY,
        **NOT_FOUND,
    },
)
def list_deliveries(
    endpoint_id: WebhookEndpointId,
    visible: Visible,
    system: SystemDep,
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None,
        Query(description="Only deliveries with this status."),
    ] = None,
    limit: Limit = 10,
    after: Annotated[
        str | None,
        Query(pattern=id_pattern("msg"), description="Id of the last item of the previous page."),
    ] = None,
) -> dict[str, Any]:
    _endpoint(system.webhook_endpoints.get(visible, endpoint_id))
    return list_object(
        lambda: system.deliveries.page(endpoint_id, limit=limit, after=after, state=status),
        Delivery.to_api,
    )


@router.get(
    "/{id}/deliveries/{delivery_id}",
    summary="Get a delivery",
    response_model=None,
    responses={200: ok(WebhookDeliveryObject, "The delivery."), **NOT_FOUND},
)
def get_delivery(
    endpoint_id: WebhookEndpointId, delivery_id: DeliveryId, visible: Visible, system: SystemDep
) -> dict[str, Any]:
    _endpoint(system.webhook_endpoints.get(visible, endpoint_id))
    return _delivery(system.deliveries.get(endpoint_id, delivery_id)).to_api()


@router.post(
    "/{id}/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Send a delivery again",
    response_model=None,
    responses={
        202: ok(WebhookDeliveryObject, "Queued to be sent at once."),
        **NOT_FOUND,
        **conflict("The endpoint is disabled (CONFLICT): enable it first."),
    },
)
def retry_delivery(
    endpoint_id: WebhookEndpointId, delivery_id: DeliveryId, visible: Visible, system: SystemDep
) -> Response:
    """A delivery that ended (delivered or failed) gets one more attempt; one that
    waits for its next retry is sent at once."""
    _endpoint(system.webhook_endpoints.get(visible, endpoint_id))
    try:
        delivery = system.deliveries.retry(
            endpoint_id, delivery_id, notify=system.notifier.deliveries_due
        )
    except EndpointDisabledError:
        raise ConflictError("The endpoint is disabled; enable it first.") from None
    return OrjsonResponse(_delivery(delivery).to_api(), status_code=202)


def _check(url: str, settings: Settings) -> None:
    try:
        check_url(url, AddressPolicy(settings.webhook_networks()), resolve_host)
    except EndpointUrlError as exc:
        raise invalid("url", str(exc)) from None


def _endpoint(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        raise NotFoundError()
    return endpoint


def _delivery(delivery: Delivery | None) -> Delivery:
    if delivery is None:
        raise NotFoundError()
    return delivery
