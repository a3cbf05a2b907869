"""The interface every answer backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from rag.index.base import Hit
from rag.types import Citation, Headlines, Passage, Reading

NO_ANSWER = "The articles don't say: none of the retrieved passages answers this question."


class Answerer(ABC):
    """Reads retrieved ``hits`` and writes a :class:`~rag.types.Reading` answering
    ``question``, citing them as [n].

    Abilities are declared with their defaults here, never probed for: a backend that has one
    sets the flag and overrides the method. ``can_stream``: ``stream`` yields text deltas as a
    model writes, then the Reading. ``can_condense``: ``condense`` rewrites a follow-up with the
    answerer's model. ``can_headline``: ``headlines`` writes a timeline's event headlines with
    it (``timeline_headlines``). ``depth(k)``: how many passages it reads when ``k`` are shown.

    >>> class Echo(Answerer):
    ...     def answer(self, question, hits):
    ...         return Reading(NO_ANSWER, backend=self.name, abstained=True)
    >>> Echo().can_stream, Echo().can_condense, Echo().can_headline, Echo().depth(5)
    (False, False, False, 5)
    """

    name = "base"
    can_stream = False
    can_condense = False
    can_headline = False

    @abstractmethod
    def answer(self, question: str, hits: list[Hit]) -> Reading: ...

    def depth(self, k: int) -> int:
        return k

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Reading]:
        raise NotImplementedError(f"{self.name} does not stream (can_stream is False)")

    def condense(self, question: str, history: list[str] | None) -> str:
        raise NotImplementedError(f"{self.name} has no model to condense with")

    def headlines(self, topic: str, sentences: list[str]) -> Headlines:
        """Headlines for a timeline's events about ``topic``, one per event's sentence."""
        raise NotImplementedError(f"{self.name} has no model to write headlines with")


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
                published_at=h.article.published_at, collection=h.collection)
        for h in hits
    ]
