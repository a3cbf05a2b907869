"""Answer backends, chosen by name; imports are lazy."""

from __future__ import annotations

from typing import get_args

from embeddings.base import Embedder
from rag.answering.base import NO_ANSWER, Answerer
from rag.config import AnswerBackend, Config
from rag.errors import BadInputError

BACKENDS: tuple[str, ...] = get_args(AnswerBackend)


def check_backend(name: str) -> str:
    """``name`` if it is an answer backend, else a BadInputError naming it and the choices
    (cheap: nothing is loaded).

    >>> check_backend("gpt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: unknown answer backend 'gpt'; choose one of extractive, ...
    """
    if name not in BACKENDS:
        raise BadInputError(f"unknown answer backend {name!r}; choose one of "
                            f"{', '.join(BACKENDS)}")
    return name


def get_answerer(name: str, embedder: Embedder, config: Config) -> Answerer:
    """The answer backend called ``name``."""
    if check_backend(name) == "extractive":
        from rag.answering.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(embedder, config)
    from rag.answering.llm import LLMAnswerer, make_chat_model  # openai or llamacpp
    from rag.answering.llm_reader import SentenceReader

    reader = config.llm_reader
    if reader == "auto":
        reader = "sentences" if name == "llamacpp" else "passages"
    kind = SentenceReader if reader == "sentences" else LLMAnswerer
    return kind(make_chat_model(name, config), embedder, config, name=name)


__all__ = ["BACKENDS", "NO_ANSWER", "Answerer", "check_backend", "get_answerer"]
