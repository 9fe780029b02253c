"""Resource ids: a type prefix and an unguessable random part."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
_RANDOM_CHARS = 24  # 36**24 is about 2**124: unguessable, and ids stay short


def new_id(prefix: str) -> str:
    """`job_`, `doc_`, `exp_`, ... followed by lowercase letters and digits."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))}"
