"""Re-embed an index with another embedding backend or model: built beside it, then swapped.

The new index is written into a hidden folder next to the old one, from the articles the old
one stores (their text, not the files they came from). Only when it is complete is the old folder
renamed aside and the new one renamed into its place, under the old index's write lock and only if
no write reached the old index meanwhile. A failure before the swap leaves the old index as it was
and removes the half-built one. From the shell: ``rag reindex --index news-index --backend
onnx-int8``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from embeddings import canonical_backend, model_identity
from embeddings.lazy import LazyEmbedder
from rag.collections import Collections
from rag.config import Config
from rag.errors import BadInputError, RagError
from rag.ingest import ProgressCallback


@dataclass
class ReindexReport:
    articles: int
    chunks: int
    embedded: int
    seconds: float
    old_model: str
    new_model: str
    kept: Path | None = None

    def summary(self) -> str:
        kept = f"; the old index is kept at {self.kept}" if self.kept else ""
        return (f"re-embedded {self.articles} articles ({self.chunks} chunks, {self.embedded} "
                f"embedded) in {self.seconds:.1f}s: {self.old_model} -> {self.new_model}{kept}")


def reindex(config: Config, *, backend: str | None = None, model: str | None = None,
            keep_old: bool = False, progress: ProgressCallback | None = None,
            show_progress: bool = False) -> ReindexReport:
    """Re-embed every article of the FAISS index at ``config.index_dir`` with ``backend``
    and/or ``model`` (default: the index's own), then swap the new index into its place."""
    from rag.system import RagSystem

    if config.index_backend != "faiss":
        raise BadInputError("reindex re-embeds FAISS index folders; for pgvector, ingest the "
                            "articles into a new index name")
    if backend is None and model is None:
        raise BadInputError("give --backend and/or --model: the embedding to re-embed with")
    named = Collections(config).names()[1:]
    if named:  # they share one model with the default collection, and live in its folder
        raise BadInputError(f"index at {config.index_dir} holds the collections "
                            f"{', '.join(named)} beside its default one: reindex re-embeds an "
                            "index without collections (one model serves them all)")
    started = time.perf_counter()
    path = Path(config.index_dir).resolve()
    source = RagSystem(config.replace(index_dir=path), create=False,
                       embedder=LazyEmbedder(config.embedding_model, config.embedding_backend))
    target_backend = canonical_backend(backend) if backend else source.embedding_backend
    target = config.replace(embedding_model=model or config.embedding_model,
                            embedding_backend=target_backend)
    old_model = source.index.model
    new_model = model_identity(target.embedding_model, target_backend)
    if new_model == old_model:
        source.index.close()
        raise BadInputError(f"index at {path} is already built with {old_model!r}")
    generation = source.index.generation()
    articles = [article for article, _ in source.index.list_articles()]
    staging = path.parent / f".{path.name}.reindex-{uuid.uuid4().hex[:8]}"
    try:
        builder = RagSystem(target.replace(index_dir=staging), create=True)
        report = builder.ingest(articles, commit_every=500, progress=progress,
                                show_progress=show_progress)
        built = builder.stats()
        builder.index.close()
        if report.failures or built.articles != len(articles):
            raise RagError(f"re-embedding stored {built.articles} of {len(articles)} articles "
                           f"({len(report.failures)} failed); the old index is unchanged")
        kept = _swap(source, path, staging, generation, keep_old)
    finally:
        source.index.close()  # sqlite3: closing twice is harmless
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return ReindexReport(len(articles), built.chunks, report.embedded,
                         time.perf_counter() - started, old_model, new_model, kept)


def _swap(source, path: Path, staging: Path, generation: int,  # type: ignore[no-untyped-def]
          keep_old: bool) -> Path | None:
    """Rename the old folder aside and the new one into place, under the old index's write
    lock, unless a write reached the old index since it was read; the old folder is deleted
    (or kept, and returned)."""
    store = getattr(source.index, "store", None)
    lock = store.write_lock() if store is not None else contextlib.nullcontext()
    aside = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
    with lock:
        if source.index.generation() != generation:
            source.index.close()
            raise RagError(f"index at {path} changed while it was re-embedded; run reindex "
                           "again (the old index is unchanged)")
        source.index.close()
        os.rename(path, aside)
        try:
            os.rename(staging, path)
        except OSError:
            os.rename(aside, path)
            raise
    if keep_old:
        return aside
    shutil.rmtree(aside, ignore_errors=True)
    return None
