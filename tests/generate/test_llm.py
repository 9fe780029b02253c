"""LlmGenerator against a real chat-completions server on loopback."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nxdocs.generate import GenerationRequest, LlmGenerator
from nxdocs.generate.errors import GenerationError, TransientGenerationError
from nxdocs.pages import Document
from tests.support.chat_server import API_KEY, MODEL, ChatServer, Reply

MakeLlm = Callable[..., LlmGenerator]
INSTRUCTION = "Write like a friendly coffee roaster; always mention Arabica."


def document_json(pages: int, kind: str = "presentation") -> dict[str, Any]:
    return {
        "type": kind,
        "title": "Coffee",
        "pages": [
            {
                "blocks": [
                    {"type": "heading", "text": f"Part {n}"},
                    {"type": "list", "items": [{"spans": [{"text": "Beans"}]}]},
                ],
                "notes": f"Talk about part {n}.",
            }
            for n in range(1, pages + 1)
        ],
    }


def request(
    page_count: int | None = 3, prompt: str | None = "A deck about coffee"
) -> GenerationRequest:
    return GenerationRequest(
        type="presentation",
        prompt=prompt,
        content=None,
        name=None,
        page_count=page_count,
        ai_instruction=INSTRUCTION,
    )


def test_good_answer_makes_a_document(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply.document(document_json(3)))

    artifact = make_llm().generate(request())

    assert isinstance(artifact.document, Document)
    assert len(artifact.document.pages) == 3
    assert artifact.metadata == {"generator": "llm", "model": MODEL}
    assert artifact.name == "Part 1"
    [sent] = chat.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == MODEL
    assert sent.body["response_format"] == {"type": "json_object"}
    assert isinstance(sent.body["temperature"], float)
    system, user = sent.body["messages"]
    assert system["role"] == "system"
    assert INSTRUCTION in system["content"]
    assert "presentation" in system["content"]
    assert "exactly 3 pages" in system["content"]
    assert user == {"role": "user", "content": "A deck about coffee"}


def test_requested_name_wins(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply.document(document_json(1)))
    named = GenerationRequest(type="document", prompt="coffee", name="Beans 101", page_count=1)

    artifact = make_llm().generate(named)

    assert artifact.name == "Beans 101"
    assert artifact.document.type == "document"  # the request's type, not the model's


def test_fenced_json_is_accepted(chat: ChatServer, make_llm: MakeLlm) -> None:
    fenced = "```json\n" + json.dumps(document_json(2)) + "\n```"
    chat.script(Reply.content(fenced))

    artifact = make_llm().generate(request(page_count=2))

    assert len(artifact.document.pages) == 2


def test_no_page_count_accepts_what_the_model_chose(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply.document(document_json(7)))

    artifact = make_llm().generate(request(page_count=None))

    assert len(artifact.document.pages) == 7
    assert "exactly" not in chat.received[0].body["messages"][0]["content"]


def test_malformed_json_is_retried_then_fails(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(*[Reply.content('{"type": "presentation", "pages": [')] * 3)

    with pytest.raises(GenerationError) as caught:
        make_llm(max_attempts=3).generate(request())

    assert caught.value.code == "GENERATION_FAILED"
    assert not caught.value.retryable
    assert "3 attempt" in caught.value.message
    assert "not valid JSON" in caught.value.message
    assert len(chat.received) == 3
    assert API_KEY not in str(caught.value)


def test_retry_shows_the_model_its_mistake(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply.content("not json at all"), Reply.document(document_json(3)))

    artifact = make_llm().generate(request())

    assert len(artifact.document.pages) == 3
    assert len(chat.received) == 2
    retry = chat.received[1].body["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == "not json at all"
    assert "not valid JSON" in retry[3]["content"]


def test_wrong_page_count_is_retried(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply.document(document_json(2)), Reply.document(document_json(4)))

    with pytest.raises(GenerationError) as caught:
        make_llm(max_attempts=2).generate(request(page_count=5))

    assert caught.value.code == "GENERATION_FAILED"
    assert "4 pages instead of 5" in caught.value.message
    assert len(chat.received) == 2


def test_schema_invalid_answer_is_retried(chat: ChatServer, make_llm: MakeLlm) -> None:
    bad = document_json(3)
    bad["pages"][0]["blocks"] = [{"type": "video", "src": "https://x.test/v.mp4"}]
    bad_envelope = Reply(body=b'{"choices": []}')
    chat.script(Reply.document(bad), bad_envelope, Reply.document(document_json(3)))

    artifact = make_llm(max_attempts=3).generate(request())

    assert len(artifact.document.pages) == 3
    assert len(chat.received) == 3


def test_slow_answer_times_out(chat: ChatServer, make_llm: MakeLlm) -> None:
    chat.script(Reply(hang=True))

    with pytest.raises(GenerationError) as caught:
        make_llm(timeout_seconds=0.3).generate(request())

    assert caught.value.code == "UPSTREAM_TIMEOUT"
    assert not caught.value.retryable
    assert len(chat.received) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_retryable(chat: ChatServer, make_llm: MakeLlm, status: int) -> None:
    chat.script(Reply(status=status, body=b'{"error": "overloaded"}'))

    with pytest.raises(TransientGenerationError) as caught:
        make_llm().generate(request())

    assert caught.value.code == "UPSTREAM_UNAVAILABLE"
    assert len(chat.received) == 1  # the job engine retries, with backoff


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_unreachable_service_is_retryable(make_llm: MakeLlm, closed_port: int) -> None:
    llm = make_llm(base_url=f"http://127.0.0.1:{closed_port}/v1")

    with pytest.raises(TransientGenerationError) as caught:
        llm.generate(request())

    assert caught.value.code == "UPSTREAM_UNAVAILABLE"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_fail_for_good(
    chat: ChatServer, make_llm: MakeLlm, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Real services echo (part of) a bad key back; none of it may leak.
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {API_KEY}"}})
    chat.script(Reply(status=status, body=echo.encode()))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(GenerationError) as caught:
        make_llm().generate(request())

    assert caught.value.code == "GENERATION_FAILED"
    assert not caught.value.retryable
    assert str(status) in caught.value.message
    assert API_KEY not in str(caught.value)
    assert "Incorrect" not in caught.value.message
    assert all(API_KEY not in record.getMessage() for record in caplog.records)


def test_no_log_line_carries_the_key(
    chat: ChatServer, make_llm: MakeLlm, caplog: pytest.LogCaptureFixture
) -> None:
    chat.script(Reply.content(API_KEY), Reply.content("{}"))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(GenerationError) as caught:
        make_llm(max_attempts=2).generate(request())

    assert caplog.records, "the rejected answers should have been logged"
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    assert API_KEY not in str(caught.value)


def test_missing_prompt_fails_without_a_call(chat: ChatServer, make_llm: MakeLlm) -> None:
    with pytest.raises(GenerationError) as caught:
        make_llm().generate(request(prompt="  "))

    assert caught.value.code == "GENERATION_FAILED"
    assert chat.received == []


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        LlmGenerator("http://127.0.0.1:9/v1", MODEL, API_KEY, 1.0, 0)
