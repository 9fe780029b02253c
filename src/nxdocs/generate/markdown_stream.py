"""Markdown parsed one top-level block at a time, so that a reader can stop early.

`MarkdownIt.parse` reads a whole source in one call: every block, then every
inline run. `TopLevelBlocks` runs the same parser lazily. A rule placed first
in the block chain pauses the tokenizer just before each new top-level block
starts; the block read so far is inline-parsed on its own and handed out as
syntax-tree nodes. A reader that has seen enough (too many pages, say) stops
iterating, and the rest of the source is never parsed.

Reference-style links resolve against the definitions read so far, since
later ones are not known yet; a reader that needs all of them reads again
with an `env` holding the first reading's `references`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

_PAUSE_RULE = "nxdocs_pause"


class MarkdownTooDeepError(ValueError):
    """The Markdown nests deeper than the parser's own `maxNesting` bound."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The Markdown content nests more than {limit} levels deep.")
        self.limit = limit


class _Pause:
    """A block rule that ends the tokenizer's run before its second top-level block."""

    def __init__(self) -> None:
        self.started = False
        self.paused_at: int | None = None

    def restart(self) -> None:
        self.started = False
        self.paused_at = None

    def __call__(self, state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if silent or state.level > 0:
            return False  # inside a list or quote: not a top-level block
        if not self.started:
            self.started = True
            return False  # let the real rules read this run's one block
        self.paused_at = start
        state.line = end  # ends `tokenize`'s loop, as its own nesting guard does
        return True


class TopLevelBlocks:
    """The top-level nodes of `source`, parsed only as far as they are iterated.

    Takes over `parser` (a fresh one, configured by the caller): it adds a
    rule to its block chain. `reached` is the number of source lines read so
    far; iterating once more reads one more top-level block. Inline content
    nested deeper than the parser's `maxNesting` (emphasis is balanced after
    parsing, so markdown-it does not bound it) raises `MarkdownTooDeepError`
    instead of a `RecursionError` further on.
    """

    def __init__(
        self, parser: MarkdownIt, source: str, env: MutableMapping[str, Any] | None = None
    ) -> None:
        self._parser = parser
        self._source = source.replace("\0", "\ufffd")  # as markdown-it's `normalize`
        self._env: MutableMapping[str, Any] = {} if env is None else env
        self._pause = _Pause()
        first = parser.block.ruler.get_all_rules()[0]
        parser.block.ruler.before(first, _PAUSE_RULE, self._pause)
        self.reached = 0

    @property
    def env(self) -> MutableMapping[str, Any]:
        """The parser's environment; `references` holds the link definitions read so far."""
        return self._env

    def __iter__(self) -> Iterator[SyntaxTreeNode]:
        if not self._source:
            return
        state = StateBlock(self._source, self._parser, self._env, [])
        end = state.lineMax
        while self.reached < end:
            self._pause.restart()
            first = len(state.tokens)
            self._parser.block.tokenize(state, self.reached, end)
            paused_at = self._pause.paused_at
            self.reached = end if paused_at is None else paused_at
            tokens = state.tokens[first:]
            self._inline(tokens)
            yield from SyntaxTreeNode(tokens).children

    def _inline(self, tokens: list[Token]) -> None:
        """Inline-parse `tokens` with the parser's own core chain.

        A core state with an empty source makes the chain's `normalize` and
        `block` steps no-ops, so only the inline steps (`inline`,
        `text_join`, ...) run, over these tokens alone.
        """
        core = StateCore("", self._parser, self._env, tokens)
        self._parser.core.process(core)
        limit = self._parser.options.maxNesting
        for token in tokens:
            if any(child.level > limit for child in token.children or ()):
                raise MarkdownTooDeepError(limit)
