"""The interface every answer backend implements."""

from __future__ import annotations

from typing import Protocol

from rag.index.base import Hit
from rag.types import Answer, Passage

NO_ANSWER = "The articles don't say: none of the retrieved passages answers this question."


class Answerer(Protocol):
    """Writes an Answer to ``question`` from retrieved ``hits``, citing them as [n]."""

    name: str

    def answer(self, question: str, hits: list[Hit]) -> Answer: ...


def passages_of(hits: list[Hit]) -> list[Passage]:
    return [
        Passage(article_id=h.article.id, title=h.article.title, text=h.chunk.text, score=h.score,
                start=h.chunk.start, end=h.chunk.end, source=h.article.source, url=h.article.url,
                published_at=h.article.published_at)
        for h in hits
    ]
