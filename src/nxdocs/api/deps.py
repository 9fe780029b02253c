"""What routes need, as typed dependencies: the owner, the system and the API's services.

`create_app` builds one `Services` and keeps it on the app; routes never read
`app.state` themselves, they name what they use in their signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from prometheus_client import CollectorRegistry

from nxdocs.api.errors import NotFoundError
from nxdocs.api.readiness import Readiness
from nxdocs.auth.principal import Principal
from nxdocs.exports.links import DownloadLinks
from nxdocs.ids import ID_PATTERN, id_pattern, is_id
from nxdocs.poll.lookup import JobLookup
from nxdocs.poll.wait_slots import WaitSlots
from nxdocs.poll.waiter import JobWaiter
from nxdocs.poll.waits import JobWaits
from nxdocs.settings import Settings
from nxdocs.storage.signing import LinkSigner
from nxdocs.system import System


@dataclass(frozen=True)
class Services:
    """The collaborators of the routes, built once per app."""

    system: System
    waiter: JobWaiter
    lookup: JobLookup
    waits: JobWaits
    wait_slots: WaitSlots
    signer: LinkSigner
    links: DownloadLinks
    readiness: Readiness
    metrics: CollectorRegistry

    def install(self, app: FastAPI) -> None:
        app.state.services = self


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def current_owner(request: Request) -> str:
    """The user `AuthMiddleware` authenticated; every /v1 route is behind it."""
    owner_id: str = request.scope["state"]["owner_id"]
    return owner_id


def current_principal(request: Request) -> Principal:
    """Who the request's key acts as (see `Principal`)."""
    principal: Principal = request.scope["state"]["principal"]
    return principal


Caller = Annotated[Principal, Depends(current_principal)]
OrgIdQuery = Annotated[
    str | None,
    Query(
        pattern=id_pattern("org"),
        description="An organization the caller belongs to: the list shows its resources.",
    ),
]


def workspace_of(principal: Principal, org_id: str | None) -> str:
    """The owner a create writes as or a list reads (see `Principal.workspace`);
    404 for an organization the key cannot work in, as for one that does not exist."""
    found = principal.workspace(org_id)
    if found is None:
        raise NotFoundError()
    return found


def listed_workspace(principal: Caller, org_id: OrgIdQuery = None) -> str:
    return workspace_of(principal, org_id)


def visible_owners(principal: Caller) -> frozenset[str]:
    return principal.visible


ServicesDep = Annotated[Services, Depends(services)]
T = TypeVar("T")


def _service(pick: Callable[[Services], T]) -> Callable[[Services], T]:
    """A dependency handing a route one of the `Services`."""

    def get(found: ServicesDep) -> T:
        return pick(found)

    return get


_IdInPath = Annotated[str, Path(description="The resource's id, e.g. `doc_...`.")]


def _path_id(prefix: str) -> Callable[[str], str]:
    """A dependency reading the path's `id` of a `prefix` resource: 404 if it has
    another shape, as for an id that does not exist."""

    def checked(id: _IdInPath) -> str:
        if not is_id(id, prefix):
            raise NotFoundError()
        return id

    return checked


Owner = Annotated[str, Depends(current_owner)]
# The owner a list reads: the caller's own space, or the `org_id` it names.
Workspace = Annotated[str, Depends(listed_workspace)]
# The owners whose resources a get by id may show; any other answers 404.
Visible = Annotated[frozenset[str], Depends(visible_owners)]
AssetId = Annotated[str, Depends(_path_id("asset"))]
ArtifactId = Annotated[str, Depends(_path_id("doc"))]
ExportId = Annotated[str, Depends(_path_id("exp"))]
BrandId = Annotated[str, Depends(_path_id("brand"))]
JobId = Annotated[str, Depends(_path_id("job"))]
WebhookEndpointId = Annotated[str, Depends(_path_id("we"))]


def _delivery_id(
    delivery_id: Annotated[str, Path(description="The delivery's id, e.g. `msg_...`.")],
) -> str:
    if not is_id(delivery_id, "msg"):
        raise NotFoundError()
    return delivery_id


DeliveryId = Annotated[str, Depends(_delivery_id)]
SystemDep = Annotated[System, Depends(_service(lambda s: s.system))]
SettingsDep = Annotated[Settings, Depends(_service(lambda s: s.system.settings))]
WaiterDep = Annotated[JobWaiter, Depends(_service(lambda s: s.waiter))]
JobLookupDep = Annotated[JobLookup, Depends(_service(lambda s: s.lookup))]
JobWaitsDep = Annotated[JobWaits, Depends(_service(lambda s: s.waits))]
WaitSlotsDep = Annotated[WaitSlots, Depends(_service(lambda s: s.wait_slots))]
SignerDep = Annotated[LinkSigner, Depends(_service(lambda s: s.signer))]
LinksDep = Annotated[DownloadLinks, Depends(_service(lambda s: s.links))]
ReadinessDep = Annotated[Readiness, Depends(_service(lambda s: s.readiness))]
MetricsDep = Annotated[CollectorRegistry, Depends(_service(lambda s: s.metrics))]
Limit = Annotated[int, Query(ge=1, le=20, description="Items per page, 1-20.")]
After = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, description="Id of the last item of the previous page."),
]
