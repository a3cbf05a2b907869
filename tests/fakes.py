"""Stand-ins for the expensive parts, for unit tests of logic (docs/testing.md says when)."""

from __future__ import annotations

import re
import zlib

import numpy as np

WORD = re.compile(r"\w+")
TOKEN = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """An ``embeddings.Embedder`` without a model: each lowercased word is hashed (crc32, the
    same in every process) into one of ``dimension`` buckets, and the counts are L2-normalized.
    Texts sharing words are close, texts sharing none are near orthogonal; no meaning beyond
    that. Tokens are words and punctuation marks, as ``count_tokens`` counts them.

    >>> e = HashingEmbedder()
    >>> v = e.embed(["The harbour wall held.", "Did the harbour wall hold?", "Rates rose."])
    >>> v.shape, v.dtype.name, round(float(np.linalg.norm(v[2])), 5)
    ((3, 256), 'float32', 1.0)
    >>> bool(v[0] @ v[1] > 0.5 > v[0] @ v[2])
    True
    >>> e.count_tokens(["The harbour wall held."])
    [5]
    """

    name = "hashed-words"
    dimension = 256
    max_tokens = 256

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            # A text without words gets a vector too (bucket 0), so every row has length 1.
            for word in WORD.findall(text.lower()) or [""]:
                vectors[row, zlib.crc32(word.encode("utf-8")) % self.dimension] += 1.0
            vectors[row] /= np.linalg.norm(vectors[row])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(TOKEN.findall(text)) for text in texts]
