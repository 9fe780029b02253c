"""Health checks, without auth, as the hosted API answers them."""

from __future__ import annotations

import time

from fastapi import APIRouter

from nxdocs.api.objects import Health
from nxdocs.api.openapi import INTERNAL, ok

router = APIRouter(tags=["health"])

_RESPONSES = {200: ok(Health, "The process answers."), **INTERNAL}


@router.get("/health", response_model=None, responses=_RESPONSES)
@router.get("/v1/health", response_model=None, responses=_RESPONSES)
async def health() -> dict[str, object]:
    return {"ok": True, "service": "nxdocs", "timestamp": time.time_ns() // 1_000_000}
