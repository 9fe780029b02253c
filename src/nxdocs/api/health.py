"""Health checks, without auth, as the hosted API answers them."""

from __future__ import annotations

import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/health", tags=["health"])
@router.get("/v1/health", tags=["health"])
async def health() -> dict[str, object]:
    return {"ok": True, "service": "nxdocs", "timestamp": time.time_ns() // 1_000_000}
