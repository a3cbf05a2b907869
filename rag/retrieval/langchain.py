"""The retriever as a LangChain BaseRetriever: ``.invoke(question)`` gives Documents."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.index.base import Hit, SearchFilters


def hit_to_document(hit: Hit) -> Document:
    a, c = hit.article, hit.chunk
    return Document(
        page_content=c.text,
        metadata={"article_id": a.id, "title": a.title, "source": a.source, "url": a.url,
                  "published_at": a.published_at, "author": a.author, "start": c.start,
                  "end": c.end, "ordinal": c.ordinal, "score": hit.score,
                  "also_in": [{"article_id": d.id, "source": d.source, "url": d.url}
                              for d in hit.duplicates]},
    )


class NewsRetriever(BaseRetriever):
    """LangChain face of :class:`~rag.retrieval.Retriever`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Any
    k: int = 6
    filters: SearchFilters | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None) -> list[Document]:
        """``k`` given to ``invoke(query, k=3)`` overrides the retriever's own."""
        hits = self.retriever.retrieve(query, k or self.k, self.filters)
        return [hit_to_document(h) for h in hits]
