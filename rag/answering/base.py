"""The interface every answer backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from rag.index.base import Hit
from rag.types import Answer, Citation, Passage

NO_ANSWER = "The articles don't say: none of the retrieved passages answers this question."


class Answerer(Protocol):
    """Writes an Answer to ``question`` from retrieved ``hits``, citing them as [n].

    Abilities are declared, not probed: ``can_stream`` (``stream`` yields text deltas, then the
    Answer), ``can_condense`` (``condense`` rewrites a follow-up with the answerer's model);
    ``depth(k)`` is how many passages it reads when ``k`` are shown.
    """

    name: str
    can_stream: bool
    can_condense: bool

    def answer(self, question: str, hits: list[Hit]) -> Answer: ...

    def depth(self, k: int) -> int: ...

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]: ...

    def condense(self, question: str, history: list[str] | None) -> str: ...


class BaseAnswerer:
    """The abilities' defaults: no streaming, no model to condense with, reads what it shows.

    >>> class Echo(BaseAnswerer):
    ...     def answer(self, question, hits):
    ...         return Answer(question, NO_ANSWER, abstained=True)
    >>> Echo().can_stream, Echo().depth(5)
    (False, 5)
    """

    name = "base"
    can_stream = False
    can_condense = False

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        raise NotImplementedError

    def depth(self, k: int) -> int:
        return k

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        raise NotImplementedError(f"{self.name} does not stream (can_stream is False)")

    def condense(self, question: str, history: list[str] | None) -> str:
        raise NotImplementedError(f"{self.name} has no model to condense with")


def reading_depth(answerer: Answerer, k: int) -> int:
    """How many passages to retrieve for ``answerer`` when ``k`` are shown: a reader may look
    deeper than what it shows."""
    return max(k, answerer.depth(k))


def shown_passages(hits: list[Hit], k: int, citations: list[Citation]) -> list[Passage]:
    """The first ``k`` hits as Passages, plus any deeper hit that a citation quotes."""
    def cited(hit: Hit) -> bool:
        return any(c.article_id == hit.article.id and hit.chunk.start <= c.start < hit.chunk.end
                   for c in citations)

    return passages_of(hits[:k] + [h for h in hits[k:] if cited(h)])


def passages_of(hits: list[Hit]) -> list[Passage]:
    return [
        Passage(article_id=h.article.id, title=h.article.title, text=h.chunk.text, score=h.score,
                start=h.chunk.start, end=h.chunk.end, source=h.article.source, url=h.article.url,
                published_at=h.article.published_at)
        for h in hits
    ]
