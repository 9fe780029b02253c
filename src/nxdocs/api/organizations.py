"""`GET /v1/organizations`: the organizations the caller belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nxdocs.api.deps import After, Caller, Limit, SystemDep
from nxdocs.api.lists import list_object
from nxdocs.api.objects import OrganizationList
from nxdocs.api.openapi import AUTHED, BAD_QUERY, ok
from nxdocs.api.quotas import quota_object
from nxdocs.auth.organizations import Membership
from nxdocs.clock import format_timestamp
from nxdocs.system import System

router = APIRouter(prefix="/v1/organizations", tags=["account"], responses=AUTHED)


@router.get(
    "",
    summary="List the caller's organizations, newest first",
    response_model=None,
    responses={200: ok(OrganizationList, "One page of organizations."), **BAD_QUERY},
)
def list_organizations(
    caller: Caller, system: SystemDep, limit: Limit = 20, after: After = None
) -> dict[str, Any]:
    """The key's user's organizations with their role in each; a key made for one
    organization sees that one only."""
    return list_object(
        lambda: system.organizations.of_member(
            caller.user_id, limit=limit, after=after, only=caller.key_org_id
        ),
        lambda membership: _organization(system, membership),
    )


def _organization(system: System, membership: Membership) -> dict[str, Any]:
    org = membership.organization
    return {
        "id": org.id,
        "object": "organization",
        "name": org.name,
        "slug": org.slug,
        "role": membership.role,
        "quota": quota_object(system, org.id),
        "created_at": format_timestamp(org.created_at),
        "updated_at": format_timestamp(org.updated_at),
    }
