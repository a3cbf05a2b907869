"""Query-time vectors remembered per text, so a sentence scored by the reranker is not embedded
again by the answerer (nor the same question three times)."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

from embeddings.base import Embedder

MAX_ENTRIES = 20_000  # ~30 MB of 384-dim vectors


class CachedEmbedder:
    """``embed``/``embed_query`` of ``embedder`` with an LRU of vectors by text, so a text
    embedded once (by the reranker, say) costs nothing the second time (by the answerer)."""

    def __init__(self, embedder: Embedder, max_entries: int = MAX_ENTRIES) -> None:
        self.embedder = embedder
        self.name, self.dimension = embedder.name, embedder.dimension
        self.backend = getattr(embedder, "backend", None)
        self.max_tokens = embedder.max_tokens
        self.max_entries = max_entries
        self._vectors: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (False, t) not in self._vectors))
        if missing:
            fresh = self.embedder.embed(missing, batch_size=batch_size,
                                        show_progress=show_progress)
            self._remember([(False, t) for t in missing], list(fresh))
        with self._lock:
            out = [self._vectors[(False, t)] for t in texts]
            for t in texts:
                self._vectors.move_to_end((False, t))
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get((True, text))
        if vector is None:
            vector = self.embedder.embed_query(text)
            self._remember([(True, text)], [vector])
        return vector

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.embedder.count_tokens(texts)

    def _remember(self, keys: list[tuple[bool, str]], vectors: list[np.ndarray]) -> None:
        with self._lock:
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cached(embedder: Embedder) -> CachedEmbedder:
    """The process-wide cache in front of ``embedder`` (itself, if it already is one)."""
    if isinstance(embedder, CachedEmbedder):
        return embedder
    with _caches_lock:
        cache = _caches.get(embedder)
        if cache is None:
            cache = _caches[embedder] = CachedEmbedder(embedder)
        return cache
