"""Short, safe descriptions of why generated pages are not valid."""

from __future__ import annotations

from pydantic import ValidationError

_SHOWN_ERRORS = 3


def describe(exc: ValidationError) -> str:
    """The first few validation errors as `where: what`, without the input.

    `str(exc)` would echo the offending values (possibly a whole upstream
    answer) into a public error message; this keeps only locations and reasons.
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [_one(exc.title, error["loc"], error["msg"]) for error in errors[:_SHOWN_ERRORS]]
    more = len(errors) - _SHOWN_ERRORS
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _one(model: str, loc: tuple[int | str, ...], msg: str) -> str:
    where = ".".join(str(part) for part in loc)
    return f"{model}.{where}: {msg}" if where else f"{model}: {msg}"
