"""Reading a title and a list of topics out of a free-text prompt.

Plain heuristics, no language model: a prompt that lists items on lines uses
those lines; otherwise the first sentence up to a colon is the title and the
rest splits on sentence ends, commas, semicolons and "and". The result is
deterministic and always has at least one topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nxdocs.generate.naming import shorten

TOPIC_LIMIT = 60  # characters of a topic name, so headings built from several stay short
MAX_TOPICS = 100  # more than any outline can give a page each

_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\(?\d{1,3}[.)]|[a-z][.)])\s+(?P<item>.+)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_BREAK = re.compile(r"[,;:]|\s+(?:and|&)\s+", re.IGNORECASE)
# How people ask for a deck ("Make a short presentation about ...") is not its subject.
_REQUEST = re.compile(
    r"^(?:(?:please|can you|could you)\s+)?"
    r"(?:(?:create|make|write|generate|build|prepare|draft|give me|i need)\s+)?"
    r"(?:(?:a|an|the|my|our)\s+)?(?:(?:short|brief|quick|simple|detailed)\s+)?"
    r"(?:presentation|deck|slide deck|slides|document|report|doc|outline|overview)\s+"
    r"(?:about|on|of|covering|for|regarding|explaining)\s+",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(
    r"^(?:and|or|also|then|covering|including|such as|like|especially|plus)\s+", re.IGNORECASE
)
_TRIM = " \t\n\"'\u201c\u201d\u2018\u2019()[]{}.,;:!?-\u2013\u2014*#"  # quotes, brackets, dashes


@dataclass(frozen=True)
class PromptOutline:
    """The title and the topics found in a prompt, in the order given."""

    title: str
    topics: tuple[str, ...]


def read_prompt(prompt: str) -> PromptOutline:
    """The title and topics of `prompt`; a prompt with no topic is its own topic."""
    lines = [line for line in prompt.splitlines() if line.strip()]
    items = [match["item"] for line in lines if (match := _LIST_ITEM.match(line))]
    if len(items) >= 2:
        title_text = next((line for line in lines if not _LIST_ITEM.match(line)), items[0])
        phrases = items
    else:
        title_text, phrases = _title_and_phrases(" ".join(lines))
    title = capitalized(_clean(title_text, limit=80) or _clean(prompt, limit=80) or "Untitled")
    topics = _unique(_clean(phrase, limit=TOPIC_LIMIT) for phrase in phrases)
    return PromptOutline(title=title, topics=tuple(topics[:MAX_TOPICS]) or (title,))


def _title_and_phrases(text: str) -> tuple[str, list[str]]:
    """The title, and the clauses that may name topics, of running text.

    With "Title: a, b and c" the part before the colon is only the title;
    without a colon the first clause is both the title and the first topic.
    """
    sentences = _SENTENCE_END.split(text.strip())
    first, rest = sentences[0], sentences[1:]
    if ":" in first:
        title, first = first.split(":", 1)
        clauses = []
    else:
        clauses = _CLAUSE_BREAK.split(first)
        title, first = clauses[0], ""
    for sentence in [first, *rest]:
        clauses.extend(_CLAUSE_BREAK.split(sentence))
    return title, clauses


def _clean(phrase: str, *, limit: int) -> str:
    """`phrase` without request wording, lead-in words and stray punctuation."""
    text = _REQUEST.sub("", " ".join(phrase.split()).strip(_TRIM))
    text = _LEAD_IN.sub("", text).strip(_TRIM)
    if not any(char.isalnum() for char in text):
        return ""
    return shorten(text, limit)


def capitalized(text: str) -> str:
    """`text` with its first letter upper-case (topics keep their case inside sentences)."""
    return text[:1].upper() + text[1:]


def _unique(topics: Iterable[str]) -> list[str]:
    """`topics` without blanks and repeats (ignoring case), first occurrence kept."""
    seen: set[str] = set()
    unique: list[str] = []
    for topic in topics:
        if topic and topic.casefold() not in seen:
            seen.add(topic.casefold())
            unique.append(topic)
    return unique
