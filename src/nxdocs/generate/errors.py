"""How a generation fails: a code and a message safe to show, and whether a retry can help.

The generators know nothing of jobs; the `artifact.create` handler turns
these into the job's error.
"""

from __future__ import annotations


class GenerationError(Exception):
    """The input cannot be generated from, or the model's answers never fit: not retried.

    `code` is a stable UPPER_SNAKE code (e.g. `GENERATION_FAILED`) and
    `message` a sentence safe to show to the client.
    """

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientGenerationError(GenerationError):
    """A failure that trying again later may cure (a timeout, a 5xx, a 429)."""

    retryable = True
