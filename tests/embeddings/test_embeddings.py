"""The packaged embedding model: offline, normalized, batched, token counting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import LazyEmbedder, get_embedder
from embeddings.base import Embedder
from embeddings.sentence_transformers import configured_dimension, resolve_model_path

pytestmark = pytest.mark.slow


def test_packaged_model_loads_offline_and_is_shared(embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert (embedder.dimension, embedder.max_tokens) == (384, 256)
    assert get_embedder("all-MiniLM-L6-v2") is embedder


def test_vectors_are_normalized_and_batched_like_single(torch_embedder) -> None:
    """torch's vectors do not depend on their batch mates (int8's move a little:
    tests/embeddings/test_backends.py)."""
    texts = ["Iran and Russia discussed aviation.", "The water polo final ended 16-13.",
             "Central bank policy."]
    batch = torch_embedder.embed(texts, batch_size=2)
    assert batch.shape == (3, 384) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = np.vstack([torch_embedder.embed([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-5)
    assert torch_embedder.embed([]).shape == (0, 384)


def test_similar_texts_score_higher(embedder) -> None:
    q = embedder.embed_query("Which aircraft does Iran want from Russia?")
    near, far = embedder.embed(["Iran is interested in Russia's aviation equipment.",
                                "Japan beat Iran at water polo."])
    assert float(q @ near) > float(q @ far) + 0.1
    assert embedder.embed_query("Which aircraft does Iran want from Russia?") is q  # cached


def test_count_tokens_matches_the_tokenizer(embedder) -> None:
    assert embedder.count_tokens([]) == []
    short, long = embedder.count_tokens(["Hello world", "word " * 300])
    assert short == 2 and long == 300


def test_unknown_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises((ValueError, OSError), match="no-such-model"):
        get_embedder(str(tmp_path / "no-such-model"))
    assert (Path(resolve_model_path("all-MiniLM-L6-v2")) / "config.json").is_file()
    with pytest.raises(ValueError, match="unknown embedding backend"):
        get_embedder("all-MiniLM-L6-v2", backend="nope")


def test_dimension_is_read_from_the_model_folder_without_loading(embedder, tmp_path) -> None:
    assert configured_dimension("all-MiniLM-L6-v2") == embedder.dimension == 384
    assert configured_dimension(str(tmp_path)) is None  # no modules.json: load to find out
    lazy = LazyEmbedder("all-MiniLM-L6-v2")
    assert lazy.dimension == 384 and not lazy.loaded
    vector = lazy.embed_query("Iran and Russia discussed aviation.")
    assert lazy.loaded and lazy.model is embedder  # the process's one shared model
    assert np.allclose(vector, embedder.embed_query("Iran and Russia discussed aviation."))

