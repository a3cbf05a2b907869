"""Embedding models and their loading. Knows nothing of articles.

>>> from embeddings import get_embedder
>>> get_embedder("all-MiniLM-L6-v2").dimension
384
"""

from __future__ import annotations

import threading

from embeddings.base import Embedder
from embeddings.lazy import LazyEmbedder

_loaded: dict[tuple[str, str], Embedder] = {}
_lock = threading.Lock()

BACKENDS = ("sentence-transformers",)


def get_embedder(name: str = "all-MiniLM-L6-v2",
                 backend: str = "sentence-transformers") -> Embedder:
    """The model called ``name``, loaded once per process and shared."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose one of {BACKENDS}")
    key = (backend, name)
    with _lock:
        if key not in _loaded:
            from embeddings.sentence_transformers import SentenceTransformerEmbedder

            _loaded[key] = SentenceTransformerEmbedder(name)
        return _loaded[key]


__all__ = ["Embedder", "LazyEmbedder", "get_embedder"]
