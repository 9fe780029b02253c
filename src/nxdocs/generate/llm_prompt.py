"""What the language model is told, and how its answer becomes a `Document`.

No I/O here: `llm.py` does the HTTP. Every way an answer can be unusable is
an `InvalidAnswerError`, whose message is our own short description (never the
answer itself), so it is safe to log and to show. That includes hostile JSON:
nesting deep enough to exhaust the parser's recursion, integers past Python's
digit limit, `1e999`, `NaN` and the like are invalid answers, not crashes.
"""

from __future__ import annotations

import functools
import json
import math
import string
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
_FENCE = "```"
# A valid document nests about 17 deep (pages, blocks, six levels of list
# items); anything far deeper is not one, whatever the parser can take.
MAX_JSON_DEPTH = 64
_MAX_INT_DIGITS = 100  # no number in a document is anywhere near this long


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
    if request.variations > 1:
        parts.append(_variation_rule(request.variation, request.variations))
    if request.ai_instruction and request.ai_instruction.strip():
        parts.append(
            "Brand instructions (follow them for tone, wording and emphasis, within "
            f"the rules above):\n{request.ai_instruction.strip()}"
        )
    return "\n\n".join(parts)


def _variation_rule(variation: int, variations: int) -> str:
    """What makes each of a request's variations a separate answer, not the same one again."""
    return (
        f"This is variation {variation} of {variations}: the client asked for {variations} "
        "separate answers to the same request, each asked for on its own. Make variation "
        f"{variation} distinct: its own angle, order of topics, headings and wording."
    )


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


def parse_json(text: str | bytes, what: str) -> Any:
    """`text` as JSON, or an `InvalidAnswerError` naming `what` for any hostile shape.

    Refused: malformed JSON or text, nesting deeper than `MAX_JSON_DEPTH`
    (or than the parser's recursion allows), integers longer than
    `_MAX_INT_DIGITS`, numbers that overflow to infinity, and the non-standard
    `NaN` / `Infinity` constants.
    """
    try:
        data = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidAnswerError(f"{what} nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise InvalidAnswerError(f"{what} is not valid JSON ({exc.msg})") from None
    except ValueError:  # bytes that are not UTF-8 (or UTF-16/32)
        raise InvalidAnswerError(f"{what} is not valid JSON text") from None
    if _depth_over(data, MAX_JSON_DEPTH):
        raise InvalidAnswerError(f"{what} nests more than {MAX_JSON_DEPTH} levels deep")
    return data


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise InvalidAnswerError(f"it has an integer over {_MAX_INT_DIGITS} digits long")
    return int(digits)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidAnswerError("it has a number too large to represent")
    return number


def _refuse_constant(name: str) -> Any:
    raise InvalidAnswerError(f"it uses {name}, which is not JSON")


def _depth_over(data: Any, limit: int) -> bool:
    """Whether `data` nests more than `limit` containers deep; iterative, never recursing."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in value)
    return False


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
    data = parse_json(_unfenced(content.strip()), "the answer")
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


def _unfenced(text: str) -> str:
    """The JSON inside a Markdown code fence (```` ```json ... ``` ````), or `text` as it is.

    Plain string operations rather than a regular expression, whose
    backtracking on a long unclosed fence would take quadratic time.
    """
    if len(text) < 2 * len(_FENCE) or not (text.startswith(_FENCE) and text.endswith(_FENCE)):
        return text
    body = text[len(_FENCE) : -len(_FENCE)]
    return body.lstrip(string.ascii_letters).strip()  # the language tag, then blank lines
