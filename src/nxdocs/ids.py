"""Resource ids: a type prefix, the creation time, and an unguessable random part.

An id is `prefix_` + 9 base-36 digits of the creation time in milliseconds +
16 random characters. The time makes an id a list cursor on its own: a page
can continue after an item that has since been deleted (`id_time_ms`). Ids
made before ids carried a time are 24 random characters; they are still
valid everywhere, they just carry no time.
"""

from __future__ import annotations

import re
import secrets
import string
import time

_ALPHABET = string.ascii_lowercase + string.digits
_TIME_CHARS = 9  # 36**9 ms is over 3,000 years after 1970
_RANDOM_CHARS = 16  # 36**16 is about 2**82: unguessable
_TIMED_LENGTH = _TIME_CHARS + _RANDOM_CHARS
_BYTE_TO_CHARACTER = bytes(ord(_ALPHABET[byte % 36]) for byte in range(256))


def new_id(prefix: str, at_ms: int | None = None) -> str:
    """`job_`, `doc_`, `exp_`, ... made at `at_ms` (now by default): the resource's
    `created_at`, so that the id and the row agree as list cursors."""
    when = time.time_ns() // 1_000_000 if at_ms is None else at_ms
    # One read of 16 random bytes, each mapped to a character by a table: a
    # twentieth of the cost of 16 `secrets.choice` calls (ids are made on every
    # enqueue's hot path). 256 is not a multiple of 36, so 4 characters are
    # 8/7 as likely as the others: 82.69 bits of entropy instead of 82.72.
    random_part = secrets.token_bytes(_RANDOM_CHARS).translate(_BYTE_TO_CHARACTER).decode()
    return f"{prefix}_{_base36(when, _TIME_CHARS)}{random_part}"


def id_time_ms(value: str) -> int | None:
    """The creation time an id carries, or None for an id made before ids had one."""
    _, _, body = value.partition("_")
    if len(body) != _TIMED_LENGTH or not body.isascii() or not body.isalnum():
        return None
    return int(body[:_TIME_CHARS], 36)


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits.append(_ALPHABET[(digit + 26) % 36])  # 0-9 are the alphabet's last ten
    return "".join(reversed(digits))


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
