"""Themes (built in) and the owner's brands."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nxdocs.api.deps import After, BrandId, Limit, SystemDep, Visible, Workspace
from nxdocs.api.errors import NotFoundError
from nxdocs.api.lists import list_object
from nxdocs.api.objects import BrandList, BrandObject, ThemeList
from nxdocs.api.openapi import AUTHED, BAD_QUERY, NOT_FOUND, ok
from nxdocs.brands import Brand
from nxdocs.render.themes import BUILTIN_THEMES

router = APIRouter(prefix="/v1", tags=["styling"], responses=AUTHED)


@router.get(
    "/themes",
    summary="List themes",
    response_model=None,
    responses={200: ok(ThemeList, "The built-in themes.")},
)
def list_themes() -> dict[str, Any]:
    themes = [theme.to_api() for theme in BUILTIN_THEMES.values()]
    return {"object": "list", "data": themes, "has_more": False}


@router.get(
    "/brands",
    summary="List brands, newest first",
    response_model=None,
    responses={200: ok(BrandList, "One page of brands."), **BAD_QUERY, **NOT_FOUND},
)
def list_brands(
    owner: Workspace, system: SystemDep, limit: Limit = 20, after: After = None
) -> dict[str, Any]:
    """The caller's own brands, or with `org_id` the organization's."""
    return list_object(lambda: system.brands.list(owner, limit=limit, after=after), Brand.to_api)


@router.get(
    "/brands/{id}",
    summary="Get a brand",
    response_model=None,
    responses={200: ok(BrandObject, "The brand."), **NOT_FOUND},
)
def get_brand(brand_id: BrandId, visible: Visible, system: SystemDep) -> dict[str, Any]:
    brand = system.brands.get(visible, brand_id)
    if brand is None:
        raise NotFoundError()
    return brand.to_api()
