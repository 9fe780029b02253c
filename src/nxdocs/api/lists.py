"""The contract's list object, and cursor errors as validation errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from nxdocs.api.errors import invalid
from nxdocs.db.pagination import UnknownCursorError

T = TypeVar("T")


def list_object(
    page: Callable[[], tuple[Sequence[T], bool]], to_api: Callable[[T], Any]
) -> dict[str, Any]:
    """`{"object": "list", "data": [...], "has_more": bool}` for one page."""
    try:
        items, has_more = page()
    except UnknownCursorError:
        raise invalid("after", "No item with this id to continue after.") from None
    return {"object": "list", "data": _api(items, to_api), "has_more": has_more}


def _api(items: Iterable[T], to_api: Callable[[T], Any]) -> list[Any]:
    return [to_api(item) for item in items]
