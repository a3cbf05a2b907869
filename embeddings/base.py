"""The one interface every embedding model implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors.

    ``name`` identifies the model in an index manifest; ``max_tokens`` is its sequence limit,
    and ``count_tokens`` lets the chunker size passages in the model's own tokens.
    """

    name: str
    dimension: int
    max_tokens: int

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...
