"""Hostile answers from the language model service: invalid answers, never crashes.

Deep nesting, numbers past Python's limits, huge or undecodable bodies and
wrong types, in the answer's content or in the HTTP body itself, are each
asked again and then end in `GENERATION_FAILED`; no other exception escapes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import pytest

from nxdocs.generate import GenerationRequest, LlmGenerator
from nxdocs.generate.errors import GenerationError
from nxdocs.generate.llm import MAX_ANSWER_BYTES
from nxdocs.generate.llm_prompt import MAX_JSON_DEPTH
from tests.support.chat_server import ChatServer, Reply

MakeLlm = Callable[..., LlmGenerator]
DEEP = 100_000
REQUEST = GenerationRequest(type="presentation", prompt="A deck about coffee", page_count=2)


def envelope(content_json: str) -> bytes:
    """A chat-completions body whose `choices` value is `content_json`, spliced in raw."""
    return b'{"object": "chat.completion", "choices": ' + content_json.encode() + b"}"


# The answer's text (choices[0].message.content) -> what the refusal says.
HOSTILE_CONTENT = {
    "deep arrays": ("[" * DEEP + "]" * DEEP, "nests too deeply"),
    "deep objects": ('{"a":' * DEEP + "1" + "}" * DEEP, "nests too deeply"),
    "deep, within the parser": (
        '{"title": "x", "pages": ' + "[" * 300 + "]" * 300 + "}",
        f"nests more than {MAX_JSON_DEPTH} levels deep",
    ),
    "huge integer": ('{"title": "x", "pages": ' + "9" * 5000 + "}", "integer over"),
    "long integer": ('{"title": "x", "pages": -' + "1" * 200 + "}", "integer over"),
    "overflowing float": ('{"title": "x", "pages": 1e999}', "too large to represent"),
    "NaN": ('{"title": "x", "pages": NaN}', "NaN, which is not JSON"),
    "Infinity": ('{"title": "x", "pages": -Infinity}', "-Infinity, which is not JSON"),
    "huge string": ('{"title": "' + "x" * 3_000_000 + '", "pages": []}', "does not fit"),
    "lone surrogate": ('{"title": "\\ud800", "pages": []}', "does not fit"),
    "array": ("[]", "not a JSON object"),
    "string": ('"a deck"', "not a JSON object"),
    "null": ("null", "not a JSON object"),
    "pages as text": ('{"title": "x", "pages": "many"}', "does not fit"),
    "blocks as object": ('{"title": "x", "pages": [{"blocks": {"a": 1}}]}', "does not fit"),
    "unclosed fence": ("```" + "json" * 20_000 + " \n" * 20_000, "not valid JSON"),
}

# The whole HTTP body -> what the refusal says.
HOSTILE_BODIES = {
    "deep arrays": (b"[" * DEEP + b"]" * DEEP, "nests too deeply"),
    "deep choices": (envelope("[" * DEEP + "]" * DEEP), "nests too deeply"),
    "deep, within the parser": (envelope("[" * 300 + "]" * 300), "levels deep"),
    "huge integer": (envelope("9" * 5000), "integer over"),
    "overflowing float": (envelope("1e999"), "too large to represent"),
    "NaN": (envelope("NaN"), "not JSON"),
    "not UTF-8": (b'{"choices": "\xff\xfe\xfa"}', "not valid JSON"),
    "choices as text": (envelope('"abc"'), "no choices[0].message.content"),
    "message null": (envelope('[{"message": null}]'), "no choices[0].message.content"),
    "content a number": (envelope('[{"message": {"content": 5}}]'), "is not text"),
    "array": (b"[]", "no choices[0].message.content"),
    "too large": (b'{"a": "' + b"x" * MAX_ANSWER_BYTES + b'"}', "over"),
}


def assert_refused_twice(chat: ChatServer, llm: LlmGenerator, reason: str) -> None:
    with pytest.raises(GenerationError) as caught:
        llm.generate(REQUEST)

    assert caught.value.code == "GENERATION_FAILED"
    assert not caught.value.retryable
    assert "2 attempt" in caught.value.message
    assert reason in caught.value.message
    assert len(chat.received) == 2  # asked again after the first hostile answer


@pytest.mark.parametrize(("text", "reason"), HOSTILE_CONTENT.values(), ids=HOSTILE_CONTENT)
def test_hostile_content_is_an_invalid_answer(
    chat: ChatServer, make_llm: MakeLlm, text: str, reason: str
) -> None:
    chat.script(Reply.content(text), Reply.content(text))

    assert_refused_twice(chat, make_llm(max_attempts=2), reason)


@pytest.mark.parametrize(("body", "reason"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES)
def test_hostile_body_is_an_invalid_answer(
    chat: ChatServer, make_llm: MakeLlm, body: bytes, reason: str
) -> None:
    chat.script(Reply(body=body), Reply(body=body))

    assert_refused_twice(chat, make_llm(max_attempts=2), reason)


def test_compressed_body_is_bounded_once_decompressed(chat: ChatServer, make_llm: MakeLlm) -> None:
    bomb = gzip.compress(b'{"a": "' + b"0" * (2 * MAX_ANSWER_BYTES) + b'"}')
    assert len(bomb) < MAX_ANSWER_BYTES // 100
    reply = Reply(body=bomb, headers=(("Content-Encoding", "gzip"),))
    chat.script(reply, reply)

    assert_refused_twice(chat, make_llm(max_attempts=2), f"over {MAX_ANSWER_BYTES} bytes")


def test_undecodable_body_is_an_invalid_answer(chat: ChatServer, make_llm: MakeLlm) -> None:
    reply = Reply(body=b"not gzip at all", headers=(("Content-Encoding", "gzip"),))
    chat.script(reply, reply)

    assert_refused_twice(chat, make_llm(max_attempts=2), "could not be decoded")


def test_hostile_answer_then_a_good_one_succeeds(chat: ChatServer, make_llm: MakeLlm) -> None:
    good = {
        "type": "presentation",
        "title": "Coffee",
        "pages": [{"blocks": [{"type": "heading", "text": f"Part {n}"}]} for n in (1, 2)],
    }
    chat.script(Reply(body=b"[" * DEEP), Reply.content(json.dumps(good)))

    artifact = make_llm(max_attempts=2).generate(REQUEST)

    assert len(artifact.document.pages) == 2
