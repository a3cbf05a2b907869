"""The systems a run can evaluate: ours (ask()), and baselines in the same harness.

- ``ours``: ``RagSystem.ask`` exactly as users call it.
- ``dense``: FAISS inner product over our chunks only (no other retrieval signal).
- ``bm25``: bm25s over the same chunks (title + text, English stemming and stopwords).
- ``langchain``: the plain LangChain pipeline: RecursiveCharacterTextSplitter 1000/200,
  HuggingFaceEmbeddings with the same local model, langchain-community FAISS, top-k chunks.

Every baseline answers with our extractive answerer over its own top-k passages, so answer and
citation scores compare retrieval alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eval.metrics import dedupe
from rag.answering import get_answerer
from rag.answering.base import Answerer, passages_of
from rag.articles import Article
from rag.chunking import Chunk
from rag.config import Config
from rag.errors import BadInputError
from rag.index.base import Hit
from rag.retrieval import diversify
from rag.system import RagSystem
from rag.types import Answer

SYSTEMS = ("ours", "dense", "bm25", "langchain")
Search = Callable[[str, int], list[Hit]]


@dataclass
class SystemOutput:
    """An answer (with timings_ms retrieve/answer/total) and the ranked article ids, with the
    near-duplicate copies collapsed into each (``copies``; only ours collapses)."""

    answer: Answer
    ranked: list[str]
    copies: dict[str, list[str]] = field(default_factory=dict)


class EvalSystem(Protocol):
    name: str

    def run(self, question: str, reference_date: str | None = None) -> SystemOutput:
        """Answer ``question``; ``reference_date`` is the day it was asked (for "this week")."""
        ...


class OursSystem:
    """``RagSystem.ask``; the article ranking comes from a deeper call of the same retriever."""

    name = "ours"

    def __init__(self, system: RagSystem, depth: int = 10) -> None:
        self.system = system
        self.depth = depth

    def run(self, question: str, reference_date: str | None = None) -> SystemOutput:
        answer = self.system.ask(question, reference_date=reference_date)
        per_article = self.system.config.max_passages_per_article
        hits = self.system.retriever.retrieve(question, self.depth * per_article,
                                              reference=reference_date)
        copies = {h.article.id: [d.id for d in h.duplicates] for h in hits if h.duplicates}
        return SystemOutput(answer, dedupe(h.article.id for h in hits)[:self.depth], copies)


class BaselineSystem:
    """A search function's top-k passages, answered by our extractive answerer."""

    def __init__(self, name: str, search: Search, answerer: Answerer, top_k: int,
                 depth: int = 10) -> None:
        self.name = name
        self.search = search
        self.answerer = answerer
        self.top_k = top_k
        self.depth = depth
        self.info: dict[str, object] = {}  # what a run records about its index

    def run(self, question: str, reference_date: str | None = None) -> SystemOutput:
        """Baselines know nothing of dates: ``reference_date`` is ignored."""
        started = time.perf_counter()
        # One search deep enough for the article ranking; its first top_k are the passages.
        hits = self.search(question, max(self.top_k, self.depth * 3))
        retrieved = time.perf_counter()
        reading = self.answerer.answer(question, hits[:self.top_k])
        done = time.perf_counter()
        answer = Answer.of(question, reading, passages=passages_of(hits[:self.top_k]),
                           timings_ms={"retrieve": (retrieved - started) * 1000,
                                       "answer": (done - retrieved) * 1000,
                                       "total": (done - started) * 1000})
        return SystemOutput(answer, dedupe(h.article.id for h in hits)[:self.depth])


def dense_search(system: RagSystem) -> Search:
    """Dense-only retrieval over our index, with our per-article cap."""
    per_article = system.config.max_passages_per_article

    def search(question: str, k: int) -> list[Hit]:
        vector = system.embedder.embed_query(question)
        return diversify(system.index.search(vector, k * 3), k, per_article)

    return search


class BM25Search:
    """bm25s over every chunk of our index (what is embedded: title + passage)."""

    def __init__(self, system: RagSystem) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.per_article = system.config.max_passages_per_article
        self.items: list[tuple[Chunk, Article]] = []
        for article, _ in system.index.list_articles():
            self.items.extend((c, article) for c in system.index.chunks_of(article.id))
        tokens = bm25s.tokenize([c.embed_text for c, _ in self.items], stopwords="en",
                                stemmer=self.stemmer, show_progress=False)
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokens, show_progress=False)

    def __call__(self, question: str, k: int) -> list[Hit]:
        query = self._bm25s.tokenize([question], stopwords="en", stemmer=self.stemmer,
                                     return_ids=False, show_progress=False)
        if not query[0] or not self.items:
            return []
        docs, scores = self.bm25.retrieve(query, k=min(k * 3, len(self.items)),
                                          show_progress=False)
        hits = [Hit(self.items[int(d)][0], self.items[int(d)][1], float(s))
                for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return diversify(hits, k, self.per_article)


class LangChainSearch:
    """The plain LangChain pipeline; its FAISS store is built once per corpus and cached.

    Building embeds every 1000-character chunk, so it refuses corpora above ``max_chunks``
    (use a slice, see ``python -m eval slice``) instead of occupying the CPU for long.
    """

    def __init__(self, articles: list[Article], model_path: str, cache_dir: Path,
                 corpus_hash: str, max_chunks: int = 8000) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        self.articles = {a.id: a for a in articles}
        key = hashlib.sha256(f"{corpus_hash}|{model_path}|1000/200".encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / "langchain" / key
        embeddings = HuggingFaceEmbeddings(model_name=model_path, model_kwargs={"device": "cpu"})
        if (self.path / "index.faiss").is_file():
            # The docstore is pickled by save_local; we only ever load the one we wrote.
            self.store = FAISS.load_local(str(self.path), embeddings,
                                          allow_dangerous_deserialization=True)
            return
        docs = self._split(articles)
        if len(docs) > max_chunks:
            raise BadInputError(
                f"the LangChain baseline would embed {len(docs):,} chunks (more than "
                f"--langchain-max-chunks {max_chunks:,}); run it on a slice of the corpus")
        self.store = FAISS.from_documents(docs, embeddings)
        tmp = self.path.with_name(f"{key}.tmp-{os.getpid()}")
        self.store.save_local(str(tmp))
        shutil.rmtree(self.path, ignore_errors=True)
        os.replace(tmp, self.path)

    @staticmethod
    def _split(articles: list[Article]) -> list:
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                                  add_start_index=True)
        return splitter.split_documents(
            [Document(page_content=a.text, metadata={"article_id": a.id}) for a in articles])

    def __call__(self, question: str, k: int) -> list[Hit]:
        hits = []
        for i, (doc, distance) in enumerate(self.store.similarity_search_with_score(question, k)):
            article = self.articles[doc.metadata["article_id"]]
            start = int(doc.metadata["start_index"])
            chunk = Chunk(article.id, i, start, start + len(doc.page_content), doc.page_content,
                          article.title)
            # Squared L2 between unit vectors -> cosine similarity.
            hits.append(Hit(chunk, article, 1.0 - float(distance) / 2))
        return hits


def make_system(name: str, system: RagSystem | None = None, *,
                articles: list[Article] | None = None, config: Config | None = None,
                cache_dir: Path | None = None, corpus_hash: str = "",
                langchain_max_chunks: int = 8000) -> EvalSystem:
    """The evaluated system called ``name`` (one of SYSTEMS).

    ``ours``, ``dense`` and ``bm25`` run over ``system``'s index; ``langchain`` builds its own
    store from ``articles`` and needs only the ``config``.
    """
    if name not in SYSTEMS:
        raise BadInputError(f"unknown system {name!r}; choose one of {', '.join(SYSTEMS)}")
    if name == "langchain":
        from embeddings import get_embedder
        from embeddings.sentence_transformers import resolve_model_path

        config = config or (system.config if system else Config())
        if articles is None or cache_dir is None:
            raise ValueError("the langchain baseline needs the corpus articles and a cache dir")
        search = LangChainSearch(articles, resolve_model_path(config.embedding_model),
                                 cache_dir, corpus_hash, langchain_max_chunks)
        embedder = system.embedder if system else get_embedder(config.embedding_model)
        evaluated = BaselineSystem(name, search, get_answerer("extractive", embedder, config),
                                   config.top_k)
        evaluated.info = {"index_key": search.path.name, "index_dir": str(search.path),
                          "articles": len(articles), "chunks": search.store.index.ntotal,
                          "index_build": "LangChain FAISS store, chunks of 1000/200 chars"}
        return evaluated
    if system is None:
        raise ValueError(f"system {name!r} needs a RagSystem")
    if name == "ours":
        return OursSystem(system)
    answerer = get_answerer("extractive", system.embedder, system.config)
    search = dense_search(system) if name == "dense" else BM25Search(system)
    return BaselineSystem(name, search, answerer, system.config.top_k)
