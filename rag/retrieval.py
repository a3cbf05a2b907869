"""Retrieval: question -> ranked passages (Hits), and the same as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from embeddings.base import Embedder
from rag.config import Config
from rag.index.base import Hit, IndexBackend, SearchFilters


class Retriever:
    """Dense retrieval over an index, with at most a few passages per article.

    >>> # retriever = Retriever(index, embedder, Config()); retriever.retrieve("who won?")
    """

    def __init__(self, index: IndexBackend, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config

    def retrieve(self, query: str, k: int | None = None,
                 filters: SearchFilters | None = None) -> list[Hit]:
        k = k or self.config.top_k
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        vector = self.embedder.embed_query(query)
        hits = self.index.search(vector, k * 3, filters)
        return diversify(hits, k, self.config.max_passages_per_article)


def diversify(hits: list[Hit], k: int, per_article: int) -> list[Hit]:
    """The best ``k`` hits, keeping at most ``per_article`` from any one article."""
    taken: dict[str, int] = {}
    out = []
    for hit in hits:
        if taken.get(hit.article.id, 0) >= per_article:
            continue
        taken[hit.article.id] = taken.get(hit.article.id, 0) + 1
        out.append(hit)
        if len(out) == k:
            break
    return out


def hit_to_document(hit: Hit) -> Document:
    a, c = hit.article, hit.chunk
    return Document(
        page_content=c.text,
        metadata={"article_id": a.id, "title": a.title, "source": a.source, "url": a.url,
                  "published_at": a.published_at, "author": a.author, "start": c.start,
                  "end": c.end, "ordinal": c.ordinal, "score": hit.score},
    )


class NewsRetriever(BaseRetriever):
    """LangChain face of :class:`Retriever`: ``.invoke(question)`` gives Documents.

    >>> # NewsRetriever(retriever=system.retriever, k=4).invoke("Where is the plant?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Any
    k: int = 6
    filters: SearchFilters | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.retriever.retrieve(query, self.k, self.filters)]
