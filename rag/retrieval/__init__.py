"""Retrieval: question -> ranked passages (Hits), and the same as a LangChain retriever.

Stages: dense (FAISS) + BM25 (bm25s) candidates, reciprocal rank fusion, sentence-level rerank,
news priors (time-phrase boost/filter, the corpus as of the reference day, recency),
near-duplicate collapse, at most a few passages per article.
"""

from __future__ import annotations

from rag.retrieval.filters import make_filters
from rag.retrieval.langchain import NewsRetriever, hit_to_document
from rag.retrieval.recency import boost_range, boost_recent, drop_future
from rag.retrieval.retriever import Retriever, diversify

__all__ = ["NewsRetriever", "Retriever", "boost_range", "boost_recent", "diversify",
           "drop_future", "hit_to_document", "make_filters"]
