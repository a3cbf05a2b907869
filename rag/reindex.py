"""Re-embed an index with another embedding backend or model: built beside it, then swapped.

The new index is written into a hidden folder next to the old one, from the articles the old
one stores (their text, not the files they came from), each named collection into its own
folder inside it (they share one model). Only when it is complete are the old folders' other
contents (the followed feeds, their stored briefings, the API keys: whatever is not the index's
own) moved into the new ones, the old folder renamed aside and the new one renamed into its
place, under every collection's write lock and only if no write reached the old index
meanwhile. A failure before the swap leaves the old index as it was and removes the half-built
one. From the shell: ``rag reindex --index news-index --backend onnx-int8``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from embeddings import canonical_backend, model_identity
from embeddings.lazy import LazyEmbedder
from rag.collections import DEFAULT, FOLDER, Collections
from rag.config import Config
from rag.errors import BadInputError, RagError
from rag.ingest import ProgressCallback

# What an index folder's own files are (rebuilt by the re-embedding): everything else in it
# (feeds.sqlite, feed-briefings/, keys.sqlite...) is carried over to the new folder.
INDEX_OWNED = ("manifest.json", "store.sqlite*", "vectors.faiss*", "bm25*", "write.lock", "*.tmp",
               FOLDER)


def carried(folder: Path) -> list[str]:
    """The entries of index folder ``folder`` that are not the index's own: what a re-embedding
    keeps.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("store.sqlite", "store.sqlite-wal", "feeds.sqlite", "keys.sqlite"):
    ...     _ = (folder / name).write_text("")
    >>> carried(folder)
    ['feeds.sqlite', 'keys.sqlite']
    """
    return sorted(entry.name for entry in folder.iterdir()
                  if not any(fnmatch.fnmatch(entry.name, owned) for owned in INDEX_OWNED))


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
    started = time.perf_counter()
    path = Path(config.index_dir).resolve()
    config = config.replace(index_dir=path, collections=(DEFAULT,))
    named = Collections(config).names()[1:]
    source = RagSystem(config, create=False,
                       embedder=LazyEmbedder(config.embedding_model, config.embedding_backend))
    target_backend = canonical_backend(backend) if backend else source.embedding_backend
    target = config.replace(embedding_model=model or config.embedding_model,
                            embedding_backend=target_backend)
    old_model = source.index.model
    new_model = model_identity(target.embedding_model, target_backend)
    if new_model == old_model:
        source.index.close()
        raise BadInputError(f"index at {path} is already built with {old_model!r}")
    sources = {DEFAULT: source, **{name: source.over(name) for name in named}}
    generations = {name: s.index.generation() for name, s in sources.items()}
    staging = path.parent / f".{path.name}.reindex-{uuid.uuid4().hex[:8]}"
    articles = chunks = embedded = 0
    try:
        builder = RagSystem(target.replace(index_dir=staging), create=True)
        for name, old in sources.items():
            if name != DEFAULT:
                builder.create_collection(name)
            stored = [article for article, _ in old.index.list_articles()]
            into = builder.over(name)
            report = into.ingest(stored, commit_every=500, progress=progress,
                                 show_progress=show_progress)
            built = into.stats()
            if report.failures or built.articles != len(stored):
                raise RagError(f"re-embedding {name!r} stored {built.articles} of {len(stored)} "
                               f"articles ({len(report.failures)} failed); the old index is "
                               "unchanged")
            articles, chunks = articles + len(stored), chunks + built.chunks
            embedded += report.embedded
        for name in sources:
            builder.over(name).index.close()
        kept = _swap(sources, generations, path, staging, keep_old)
    finally:
        for system in sources.values():
            system.index.close()  # sqlite3: closing twice is harmless
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return ReindexReport(articles, chunks, embedded, time.perf_counter() - started, old_model,
                         new_model, kept)


def _swap(sources: dict, generations: dict[str, int], path: Path,  # type: ignore[type-arg]
          staging: Path, keep_old: bool) -> Path | None:
    """Move what is not the index's own (feeds, briefings, keys) from each old collection folder
    into its new one, then rename the old folder aside and the new one into place: under every
    collection's write lock, unless a write reached one since it was read (then nothing moves).
    The old folder is deleted (or kept, and returned)."""
    aside = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
    folders = {name: (path if name == DEFAULT else path / FOLDER / name,
                      staging if name == DEFAULT else staging / FOLDER / name)
               for name in sources}
    moved: list[tuple[Path, Path]] = []
    with contextlib.ExitStack() as locks:
        for system in sources.values():
            store = getattr(system.index, "store", None)
            if store is not None:
                locks.enter_context(store.write_lock())
        for name, system in sources.items():
            if system.index.generation() != generations[name]:
                raise RagError(f"index at {path} changed while it was re-embedded; run reindex "
                               "again (the old index is unchanged)")
        for system in sources.values():
            system.index.close()
        try:
            for old, new in folders.values():
                for entry in carried(old):
                    os.rename(old / entry, new / entry)
                    moved.append((old / entry, new / entry))
            os.rename(path, aside)
        except OSError:
            for old, new in reversed(moved):
                os.rename(new, old)
            raise
        try:
            os.rename(staging, path)
        except OSError:
            os.rename(aside, path)
            for old, new in reversed(moved):
                os.rename(new, old)
            raise
    if keep_old:
        return aside
    shutil.rmtree(aside, ignore_errors=True)
    return None
