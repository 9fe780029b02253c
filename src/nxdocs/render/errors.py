"""How a render fails: a code and a message safe to show.

The renderers know nothing of jobs; the `export.run` handler turns these
into the job's error.
"""

from __future__ import annotations


class RenderError(Exception):
    """The export could not be rendered. `code` is a stable UPPER_SNAKE code and
    `message` a sentence safe to show to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
