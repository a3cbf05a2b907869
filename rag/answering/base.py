"""The interface every answer backend implements."""

from __future__ import annotations

from typing import Protocol

from rag.index.base import Hit
from rag.types import Answer, Citation, Passage

NO_ANSWER = "The articles don't say: none of the retrieved passages answers this question."


class Answerer(Protocol):
    """Writes an Answer to ``question`` from retrieved ``hits``, citing them as [n]."""

    name: str

    def answer(self, question: str, hits: list[Hit]) -> Answer: ...


def reading_depth(answerer: Answerer, k: int) -> int:
    """How many passages to retrieve for ``answerer`` when ``k`` are shown: a reader may look
    deeper than what it shows (``depth(k)``); by default it reads what is shown."""
    depth = getattr(answerer, "depth", None)
    return max(k, depth(k)) if callable(depth) else k


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
