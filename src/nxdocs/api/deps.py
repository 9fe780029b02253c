"""What every route needs from the request: the owner and the system."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from nxdocs.system import System


def current_owner(request: Request) -> str:
    """The owner `AuthMiddleware` authenticated; every /v1 route is behind it."""
    owner_id: str = request.scope["state"]["owner_id"]
    return owner_id


def current_system(request: Request) -> System:
    system: System = request.app.state.system
    return system


Owner = Annotated[str, Depends(current_owner)]
SystemDep = Annotated[System, Depends(current_system)]
Limit = Annotated[int, Query(ge=1, le=20, description="Items per page, 1-20.")]
After = Annotated[
    str | None, Query(max_length=64, description="Id of the last item of the previous page.")
]
