"""Load -> chunk -> embed -> index, embedding only what the index does not already hold."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from embeddings.base import Embedder
from rag.articles import Article, LoadFailure
from rag.chunking import Chunk, chunk_article
from rag.config import Config
from rag.index.base import ArticleWrite
from rag.index.composed import NewsIndex

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    """What an ingest did: counts of articles by outcome, and the inputs that failed."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    failures: list[LoadFailure] = field(default_factory=list)
    notes: list[LoadFailure] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, skipped {self.skipped} unchanged, "
                f"failed {self.failed}; {self.chunks} chunks ({self.embedded} embedded) "
                f"in {self.seconds:.1f}s")


def ingest_articles(index: NewsIndex, embedder: Embedder, config: Config,
                    articles: Iterable[Article], *, commit_every: int = 0,
                    progress: ProgressCallback | None = None,
                    show_progress: bool = False) -> IngestReport:
    """Add new articles, replace changed ones, skip unchanged ones.

    An article replaces an indexed one with the same id, url or origin (file, or record of a
    JSON file) when its content differs, but never one that is itself among ``articles``: a
    record that moved (a line inserted above it) is kept, not overwritten by its new neighbour.
    Each batch of ``commit_every`` articles (all at once when 0) is written atomically.
    """
    started = time.perf_counter()
    report = IngestReport()
    latest: dict[str, Article] = {}
    for article in articles:
        latest[article.id] = article
    existing = index.article_hashes()
    by_origin = {origin: aid for aid, (_, origin) in existing.items() if origin}
    by_url = index.article_urls()

    todo: list[tuple[Article, list[str]]] = []  # article, ids it replaces
    for article in latest.values():
        previous = existing.get(article.id)
        if previous is not None and previous[0] == article.content_hash:
            report.skipped += 1
            continue
        replaces = {aid for aid in (by_origin.get(article.origin or ""),
                                    by_url.get(article.url or "")) if aid and aid not in latest}
        if previous is not None or replaces:
            report.updated += 1
        else:
            report.added += 1
        todo.append((article, sorted(replaces)))

    step = commit_every or max(1, len(todo))
    done = 0
    for i in range(0, len(todo), step):
        batch = todo[i:i + step]
        writes = _embed_batch(batch, index, embedder, config, report, show_progress)
        deletes = sorted({aid for _, replaced in batch for aid in replaced})
        index.write(writes, deletes)
        done += len(batch)
        if progress:
            progress(done, len(todo), batch[-1][0].title)
    report.seconds = time.perf_counter() - started
    return report


def chunk_for(article: Article, embedder: Embedder, config: Config) -> list[Chunk]:
    max_tokens = min(config.chunk_tokens, embedder.max_tokens - 2)
    return chunk_article(article, embedder.count_tokens, max_tokens,
                         config.chunk_overlap_sentences)


def _embed_batch(batch: list[tuple[Article, list[str]]], index: NewsIndex,
                 embedder: Embedder, config: Config, report: IngestReport,
                 show_progress: bool) -> list[ArticleWrite]:
    chunked = [(article, chunk_for(article, embedder, config)) for article, _ in batch]
    keys = [c.key for _, chunks in chunked for c in chunks]
    vectors = index.cached_vectors(keys)
    missing: dict[str, str] = {}
    for _, chunks in chunked:
        for c in chunks:
            if c.key not in vectors:
                missing.setdefault(c.key, c.embed_text)
    if missing:
        fresh = embedder.embed(list(missing.values()), batch_size=config.embed_batch_size,
                               show_progress=show_progress)
        vectors.update(zip(missing.keys(), fresh, strict=True))
    report.embedded += len(missing)
    writes = []
    for article, chunks in chunked:
        report.chunks += len(chunks)
        matrix = (np.vstack([vectors[c.key] for c in chunks]) if chunks
                  else np.zeros((0, embedder.dimension), dtype=np.float32))
        writes.append(ArticleWrite(article, chunks, matrix))
    return writes
