"""What the language model is told, and how its answer becomes a `Document`.

No I/O here: `llm.py` does the HTTP. Every way an answer can be unusable is
an `InvalidAnswerError`, whose message is our own short description (never the
answer itself), so it is safe to log and to show.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import ValidationError

from nxdocs.generate.error_summary import describe
from nxdocs.generate.interface import GenerationRequest
from nxdocs.pages import Document, DocumentType

Message = dict[str, str]

_LAYOUT: dict[DocumentType, str] = {
    "presentation": "Keep slides short: a heading and a few bullets, with what the speaker "
    'says in "notes".',
    "document": "Write flowing sections: a heading, then paragraphs, lists or tables.",
}
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(?P<body>.*?)\n?```$", re.DOTALL)


class InvalidAnswerError(Exception):
    """The model answered, but not with a usable document: worth asking again."""


@functools.cache
def _schema() -> str:
    return json.dumps(Document.model_json_schema(), separators=(",", ":"))


def system_prompt(request: GenerationRequest) -> str:
    """The rules: the JSON schema, the type, the page count and the brand's guidance."""
    if request.page_count is None:
        count = "Choose the number of pages the subject needs, usually 5 to 10."
    else:
        count = f"Write exactly {request.page_count} pages."
    parts = [
        f"You write a NextDocs {request.type}: pages made of typed blocks.",
        "Answer with one JSON object and nothing else. It must validate against "
        f"this JSON Schema:\n{_schema()}",
        f'Set "type" to "{request.type}" and "title" to a short title. {count}',
        f"Give every page at least one block. {_LAYOUT[request.type]}",
        "Only use an image when you know a real https URL for it; otherwise leave it out.",
    ]
    if request.ai_instruction and request.ai_instruction.strip():
        parts.append(
            "Brand instructions (follow them for tone, wording and emphasis, within "
            f"the rules above):\n{request.ai_instruction.strip()}"
        )
    return "\n\n".join(parts)


def first_messages(request: GenerationRequest, prompt: str) -> list[Message]:
    """The conversation of a first attempt: the rules, then the client's prompt."""
    return [
        {"role": "system", "content": system_prompt(request)},
        {"role": "user", "content": prompt},
    ]


def correction(answer: str, problem: str) -> list[Message]:
    """The messages that show the model its last answer and what was wrong with it."""
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": f"That answer was not usable: {problem}. "
            "Answer again with only the corrected JSON object.",
        },
    ]


def answer_content(payload: Any) -> str:
    """`choices[0].message.content` of a chat-completions answer."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise InvalidAnswerError("the answer has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise InvalidAnswerError("the answer's message content is not text")
    return content


def read_document(content: str, request: GenerationRequest) -> Document:
    """The document in the model's answer, checked against the schema and page count.

    The `type` is the request's, whatever the model wrote: it is ours to
    decide, and not worth another attempt.
    """
    text = content.strip()
    fenced = _FENCE.match(text)
    try:
        data = json.loads(fenced["body"] if fenced else text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswerError(f"the answer is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InvalidAnswerError("the answer is not a JSON object")
    try:
        document = Document.model_validate({**data, "type": request.type})
    except ValidationError as exc:
        raise InvalidAnswerError(
            f"the document does not fit the schema ({describe(exc)})"
        ) from None
    wanted = request.page_count
    if wanted is not None and len(document.pages) != wanted:
        raise InvalidAnswerError(f"it has {len(document.pages)} pages instead of {wanted}")
    return document
