"""Embedding models and their loading. Knows nothing of articles.

Backends: ``torch`` (sentence-transformers, fp32) and ``onnx-int8`` (the same model exported to
ONNX and quantized to int8 once, then run by onnxruntime: embeddings/onnx_int8.py).

>>> from embeddings import get_embedder
>>> get_embedder("all-MiniLM-L6-v2").name
'all-MiniLM-L6-v2+onnx-int8'
>>> get_embedder("all-MiniLM-L6-v2", "torch").dimension
384
>>> model_identity("all-MiniLM-L6-v2", "onnx-int8")
'all-MiniLM-L6-v2+onnx-int8'
"""

from __future__ import annotations

import threading

from embeddings.base import Embedder
from embeddings.lazy import LazyEmbedder

_loaded: dict[tuple[str, str, int], Embedder] = {}
_lock = threading.Lock()

BACKENDS = ("torch", "onnx-int8")
# Older name of the torch backend, still accepted.
ALIASES = {"sentence-transformers": "torch"}
# The backend of new indexes when the setting is "auto" (existing ones keep their own): the
# same quality as torch on RealTime QA, half the question time, a quarter of the ingest time
# (docs/embedding-backends.md).
DEFAULT_BACKEND = "onnx-int8"


def canonical_backend(backend: str) -> str:
    """``backend`` by its canonical name; an unknown one is a clear error.

    >>> canonical_backend("sentence-transformers")
    'torch'
    """
    backend = ALIASES.get(backend, backend)
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose one of "
                         f"{', '.join(BACKENDS)}")
    return backend


def model_identity(name: str, backend: str) -> str:
    """The model as an index manifest records it: the name alone for torch (as indexes built
    before there were backends), ``name+backend`` otherwise, since int8 vectors differ a little
    from fp32 ones."""
    backend = canonical_backend(backend)
    return name if backend == "torch" else f"{name}+{backend}"


def get_embedder(name: str = "all-MiniLM-L6-v2", backend: str = DEFAULT_BACKEND, *,
                 threads: int = 0) -> Embedder:
    """The model called ``name`` on ``backend`` (default: ``DEFAULT_BACKEND``), loaded once per
    process and shared.

    ``threads``: intra-op threads (0: leave torch's default; onnxruntime uses the cores this
    process may run on). torch's setting is process-wide.
    """
    backend = canonical_backend(backend)
    if threads < 0:
        raise ValueError(f"threads must be 0 or more. Currently, threads is {threads}")
    key = (backend, name, threads if backend != "torch" else 0)
    with _lock:
        if threads and backend == "torch":
            import torch

            torch.set_num_threads(threads)
        if key not in _loaded:
            if backend == "onnx-int8":
                try:
                    import onnx  # noqa: F401
                    import onnxruntime  # noqa: F401
                except ImportError as exc:
                    raise ImportError("the onnx-int8 embedding backend needs onnxruntime and "
                                      "onnx: run 'pip install onnxruntime onnx'") from exc
                from embeddings.onnx_int8 import OnnxInt8Embedder

                _loaded[key] = OnnxInt8Embedder(name, threads=threads)
            else:
                from embeddings.sentence_transformers import SentenceTransformerEmbedder

                _loaded[key] = SentenceTransformerEmbedder(name)
        return _loaded[key]


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Embedder", "LazyEmbedder", "canonical_backend",
           "get_embedder", "model_identity"]
