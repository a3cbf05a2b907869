"""Answer backends, chosen by name; imports are lazy."""

from __future__ import annotations

from typing import get_args

from embeddings.base import Embedder
from rag.answering.base import NO_ANSWER, Answerer
from rag.config import AnswerBackend, Config

BACKENDS: tuple[str, ...] = get_args(AnswerBackend)


def get_answerer(name: str, embedder: Embedder, config: Config) -> Answerer:
    """The answer backend called ``name``."""
    if name == "extractive":
        from rag.answering.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(embedder, config)
    if name in ("openai", "llamacpp"):
        from rag.answering.llm import LLMAnswerer, make_chat_model
        from rag.answering.llm_reader import SentenceReader

        reader = config.llm_reader
        if reader == "auto":
            reader = "sentences" if name == "llamacpp" else "passages"
        kind = SentenceReader if reader == "sentences" else LLMAnswerer
        return kind(make_chat_model(name, config), embedder, config, name=name)
    raise ValueError(f"unknown answer backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "NO_ANSWER", "Answerer", "get_answerer"]
