"""The language-model generator, over an OpenAI-compatible chat-completions API.

Failures map onto job outcomes: an answer that is not a valid document is
asked for again, up to `max_attempts` in all, then `GENERATION_FAILED`; a
timeout is `UPSTREAM_TIMEOUT`; an unreachable or overloaded service (connection
errors, 5xx, 429) is a `TransientGenerationError`, left to the job engine's backoff
rather than retried here; any other refusal (401, 400, ...) is
`GENERATION_FAILED`. The service's answer is read only up to `max_answer_bytes`
and parsed defensively (`llm_prompt.parse_json`): a body that is too large, too
deep or otherwise hostile is an invalid answer like any other, never an
internal error. The API key lives only in the HTTP client's headers:
no message or log line built here contains it or the upstream body.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import httpx

from nxdocs.generate.errors import GenerationError, TransientGenerationError
from nxdocs.generate.interface import (
    Checkpoint,
    GeneratedArtifact,
    GenerationRequest,
    no_checkpoint,
)
from nxdocs.generate.llm_prompt import (
    InvalidAnswerError,
    Message,
    answer_content,
    correction,
    first_messages,
    parse_json,
    read_document,
)
from nxdocs.generate.naming import artifact_name

logger = logging.getLogger(__name__)

# Some variety in wording, while staying close enough to the schema.
_TEMPERATURE = 0.4
# The largest chat-completions body read. A real answer (a few thousand
# tokens of JSON) is far smaller; this only stops a hostile or broken service.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class LlmGenerator:
    """Asks a chat-completions model for the document as JSON.

    Holds one HTTP client (with its connection pool) for its lifetime; it is
    safe to share between threads. Call `close()`, or use it as a context
    manager, when done.
    """

    # The generator contract fixes this positional order; callers pass names anyway.
    def __init__(  # noqa: PLR0917
        self,
        base_url: str,
        model: str,
        api_key: str,
        timeout_seconds: float,
        max_attempts: int,
        transport: httpx.BaseTransport | None = None,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._max_answer_bytes = max_answer_bytes
        self.model = model
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._timeout_seconds = timeout_seconds
        self._max_attempts = max_attempts
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_seconds), transport=transport
        )

    def close(self) -> None:
        """Close the HTTP client and its connections."""
        self._client.close()

    def __enter__(self) -> LlmGenerator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def generate(
        self, request: GenerationRequest, checkpoint: Checkpoint = no_checkpoint
    ) -> GeneratedArtifact:
        """Ask the model until it gives a valid document, or raise a `GenerationError`;
        `checkpoint()` runs before each call and between the chunks of each answer."""
        if request.prompt is None or not request.prompt.strip():
            raise GenerationError("GENERATION_FAILED", "The language model needs a prompt.")
        opening = first_messages(request, request.prompt)
        messages = opening
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            content: str | None = None
            checkpoint()
            try:
                content = self._complete(messages, checkpoint)
                document = read_document(content, request)
            except InvalidAnswerError as exc:
                problem = str(exc)
                logger.warning(
                    "language model answer rejected (attempt %d of %d): %s",
                    attempt,
                    self._max_attempts,
                    problem,
                )
                # Show the model its own mistake: it fixes that more reliably
                # than it answers the same question afresh.
                messages = opening + (correction(content, problem) if content else [])
                continue
            name = artifact_name(request.name, request.prompt, document.pages)
            metadata = {"generator": "llm", "model": self.model}
            return GeneratedArtifact(document=document, name=name, metadata=metadata)
        raise GenerationError(
            "GENERATION_FAILED",
            f"The language model gave no valid {request.type} in {self._max_attempts} "
            f"attempt(s); the last answer was rejected because {problem}.",
        )

    def _complete(self, messages: list[Message], checkpoint: Checkpoint) -> str:
        """One chat-completions call; the answer's text, or a `GenerationError`."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "temperature": _TEMPERATURE,
        }
        try:
            with self._client.stream("POST", self._url, json=body) as response:
                _check_status(response.status_code)
                raw = self._read_body(response, checkpoint)
        except httpx.TimeoutException as exc:
            raise GenerationError(
                "UPSTREAM_TIMEOUT",
                f"The language model did not answer within {self._timeout_seconds:g} seconds.",
            ) from exc
        except httpx.TransportError as exc:
            raise TransientGenerationError(
                "UPSTREAM_UNAVAILABLE", "The language model service could not be reached."
            ) from exc
        except httpx.DecodingError:
            raise InvalidAnswerError("the service's answer could not be decoded") from None
        return answer_content(parse_json(raw, "the service's answer"))

    def _read_body(self, response: httpx.Response, checkpoint: Checkpoint) -> bytes:
        """The (decoded) body, refused as soon as it grows past `max_answer_bytes`."""
        limit = self._max_answer_bytes
        body = bytearray()
        for chunk in response.iter_bytes():
            checkpoint()
            body += chunk
            if len(body) > limit:
                raise InvalidAnswerError(f"the service's answer is over {limit} bytes")
        return bytes(body)


def _check_status(status: int) -> None:
    """Raise the job outcome for a non-2xx status; the body is never quoted."""
    if httpx.codes.is_success(status):
        return
    if status >= httpx.codes.INTERNAL_SERVER_ERROR or status == httpx.codes.TOO_MANY_REQUESTS:
        raise TransientGenerationError(
            "UPSTREAM_UNAVAILABLE",
            f"The language model service is unavailable (HTTP {status}).",
        )
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        raise GenerationError(
            "GENERATION_FAILED",
            f"The language model service refused the configured API key (HTTP {status}).",
        )
    raise GenerationError(
        "GENERATION_FAILED",
        f"The language model service rejected the request (HTTP {status}).",
    )
