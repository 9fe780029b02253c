"""`GET /v1/me`: the owner behind the key, with the quota's real usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nxdocs.api.deps import Owner, SystemDep
from nxdocs.api.errors import NotFoundError
from nxdocs.api.objects import UserObject
from nxdocs.api.openapi import AUTHED, NOT_FOUND, ok
from nxdocs.clock import format_timestamp
from nxdocs.exports.quota import Quota

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
    quota = Quota.monthly(system.settings.monthly_export_limit, system.clock.now_ms())
    return {
        "id": profile.id,
        "object": "user",
        "email": profile.email,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "image_url": None,
        "quota": {
            # nxdocs does not bill: no money limits, and no bonus credits.
            "monthly_free_cents_limit": 0,
            "monthly_free_cents_used": 0,
            "bonus_credits": 0,
            "document_export_limit": quota.limit,
            "document_export_used": system.exports.count_since(owner, quota.since_ms),
            "reset_date": format_timestamp(quota.resets_at_ms),
        },
        "created_at": format_timestamp(profile.created_at),
        "updated_at": format_timestamp(profile.updated_at),
    }
