"""An Embedder that loads its model on first use, for commands that only read or delete."""

from __future__ import annotations

import numpy as np

from embeddings.base import Embedder


class LazyEmbedder:
    """Stands for ``get_embedder(name)`` but loads the model only when something is embedded;
    its dimension comes from the model's config files when they say it plainly.

    >>> e = LazyEmbedder("all-MiniLM-L6-v2")
    >>> e.dimension, e.loaded
    (384, False)
    """

    def __init__(self, name: str, backend: str = "auto", *, threads: int = 0) -> None:
        self.model_name = name
        # "auto": the backend of the index it is used with (RagSystem sets it when it opens one).
        self.backend = backend
        self.threads = threads
        self._model: Embedder | None = None
        self._dimension: int | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        from embeddings import DEFAULT_BACKEND, model_identity

        return model_identity(self.model_name,
                              DEFAULT_BACKEND if self.backend == "auto" else self.backend)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Embedder:
        if self._model is None:
            from embeddings import DEFAULT_BACKEND, get_embedder

            backend = DEFAULT_BACKEND if self.backend == "auto" else self.backend
            self._model = get_embedder(self.model_name, backend, threads=self.threads)
        return self._model

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            from embeddings.sentence_transformers import configured_dimension

            self._dimension = configured_dimension(self.model_name) or self.model.dimension
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return int(getattr(self.model, "max_tokens", 256))

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        return self.model.embed(texts, batch_size=batch_size, show_progress=show_progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.embed_query(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.model.count_tokens(texts)
