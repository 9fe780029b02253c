"""`GET /v1/me`: the owner behind the key, with the quota's real usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nxdocs.api.deps import Owner, SystemDep
from nxdocs.api.errors import NotFoundError
from nxdocs.api.objects import UserObject
from nxdocs.api.openapi import AUTHED, NOT_FOUND, ok
from nxdocs.api.quotas import quota_object
from nxdocs.clock import format_timestamp

router = APIRouter(prefix="/v1", tags=["account"], responses=AUTHED)


@router.get(
    "/me",
    summary="The current user and quota",
    response_model=None,
    responses={200: ok(UserObject, "The owner of the key."), **NOT_FOUND},
)
def me(owner: Owner, system: SystemDep) -> dict[str, Any]:
    profile = system.owners.get(owner)
    if profile is None:
        raise NotFoundError()
    return {
        "id": profile.id,
        "object": "user",
        "email": profile.email,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "image_url": None,
        "quota": quota_object(system, owner),
        "created_at": format_timestamp(profile.created_at),
        "updated_at": format_timestamp(profile.updated_at),
    }
