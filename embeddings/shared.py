"""What every local embedder does the same way: a small LRU of query vectors, token counts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

QUERY_CACHE_SIZE = 4096


class LocalEmbedderBase:
    """Base of the local embedders: ``embed_query`` through an LRU of ``QUERY_CACHE_SIZE``
    query vectors (a chat asks the same things again), ``count_tokens`` with ``tokenizer``.
    Subclasses call ``super().__init__()`` and set ``tokenizer`` and ``embed``."""

    tokenizer: Any

    def __init__(self) -> None:
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self.query_vector(text)
        with self._lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def query_vector(self, text: str) -> np.ndarray:
        """The vector of one question, not cached: ``embed([text])[0]`` unless a backend
        embeds questions another way."""
        return self.embed([text])[0]

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False,
                                 return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in encoded["input_ids"]]
