"""Request bodies parsed strictly: what is not clean JSON text is a validation error.

FastAPI turns a `json.JSONDecodeError` from `Request.json()` into a validation
error on `body`, and any other parse failure into a bare 400. So every way a
body can fail to parse (a charset other than UTF-8, bytes that are not UTF-8,
nesting deep enough to exhaust the parser's recursion, integers longer than
Python converts, NaN or Infinity) is raised here as a `JSONDecodeError` with a
message of our own, and the route's `Request` is swapped for one that parses
this way (FastAPI's documented custom request class).

Parsed bodies are then checked once for strings no database stores: a NUL
character (PostgreSQL refuses it in text) or a lone surrogate (not encodable
as UTF-8). The error names the field where the string was found, for every
body model at once.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The body's JSON value; `json.JSONDecodeError` with a plain message otherwise."""
    charset = _charset(content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise json.JSONDecodeError("The body must be encoded as UTF-8", "", 0)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("The body is not valid UTF-8", "", exc.start) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_number)
    except json.JSONDecodeError as exc:
        raise json.JSONDecodeError(exc.msg, "", exc.pos) from None
    except RecursionError:
        raise json.JSONDecodeError("The body is nested too deeply", "", 0) from None
    except ValueError:  # an integer past sys.get_int_max_str_digits()
        raise json.JSONDecodeError("The body holds a number JSON cannot carry", "", 0) from None


Location = tuple[str | int, ...]


def unstorable_location(value: Any) -> Location | None:
    """Where in `value` the first string with a NUL or a lone surrogate is, or None.

    `("pages", 0)`; the location of the object for a key. Walked with a stack
    of its own, not by recursion: however deep the parser let the body nest,
    the walk cannot run out of Python's frames.
    """
    pending: list[tuple[Location, Any]] = [((), value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return where
        elif isinstance(item, dict):
            if any(_UNSTORABLE.search(key) for key in item):
                return where
            # Reversed onto the stack, so the body is searched in its own order.
            pending.extend(((*where, key), child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend(
                ((*where, index), child) for index, child in reversed(list(enumerate(item)))
            )
    return None


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body(), self.headers.get("content-type"))
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose body is parsed by `parse_json` and checked for unstorable strings."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            strict = StrictJsonRequest(request.scope, request.receive)
            if await strict.body():
                await _check_strings(strict)
            return await handler(strict)

        return strict_handler


async def _check_strings(request: StrictJsonRequest) -> None:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return  # FastAPI parses it again and answers with the error
    where = unstorable_location(body)
    if where is None:
        return
    raise RequestValidationError(
        [
            {
                "type": "string_unstorable",
                "loc": ("body", *where),
                "msg": "Text must not contain NUL characters or lone surrogates",
                "input": None,
            }
        ]
    )


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if charset is None:
        return None
    return charset.lower() if isinstance(charset, str) else "unreadable"


def _number(text: str) -> float | int:
    # JSON has one number type: `2.0` is the integer 2 (as JSON Schema's "integer"
    # says), which strict integer fields would otherwise refuse.
    value = float(text)
    if not math.isfinite(value):  # 1e400: as far from a JSON number as Infinity
        raise json.JSONDecodeError("A number in the body is too large", "", 0)
    return int(value) if value.is_integer() else value


def _refuse_constant(name: str) -> Any:
    # Python's parser accepts these; JSON does not, and no field wants them.
    raise json.JSONDecodeError(f"{name} is not a JSON number", "", 0)
