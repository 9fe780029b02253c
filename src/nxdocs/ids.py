"""Resource ids: a type prefix and an unguessable random part."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
_RANDOM_CHARS = 24  # 36**24 is about 2**124: unguessable, and ids stay short


def new_id(prefix: str) -> str:
    """`job_`, `doc_`, `exp_`, ... followed by lowercase letters and digits."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))}"


ID_PATTERN = r"^[a-z]+_[a-z0-9]{1,60}$"
"""Any id: a prefix, an underscore, and at most 60 lowercase letters and digits."""
_ID_SHAPE = re.compile(ID_PATTERN)


def is_id(value: str, prefix: str) -> bool:
    """True if `value` has the shape of a `prefix` id (`doc_...`).

    Ids from clients are checked before any query, so text of any other
    shape (NUL bytes, lone surrogates, megabytes) never reaches a database.
    """
    return value.startswith(f"{prefix}_") and _ID_SHAPE.fullmatch(value) is not None


def id_pattern(prefix: str) -> str:
    """`ID_PATTERN` for one prefix, for schemas (`^doc_[a-z0-9]{1,60}$`)."""
    return ID_PATTERN.replace("[a-z]+", re.escape(prefix), 1)
