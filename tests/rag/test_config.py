"""Config: defaults, RAG_* environment overrides, every field checked by its rule, one error type
(ConfigError) naming the setting, and the settings grouped by stage."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from support import REPO

from rag.config import STAGES, Config, choices, parse_setting
from rag.errors import BadInputError, ConfigError

# Every field: a value it must refuse, and a value other than the default it must take. A new
# field fails test_the_table_covers_every_field until it is added here (and given a rule).
TABLE: dict[str, tuple[Any, Any]] = {
    "index_dir": ("", "elsewhere"),
    "index_backend": ("sqlite", "pgvector"),
    "collections": (("Sports",), ("sports", "default")),
    "lock_timeout_s": (-1, 0),
    "pg_ef_search": (0, 40),
    "pg_dsn": (None, "postgresql://news@127.0.0.1:5432/news"),
    "chunk_tokens": (0, 100),
    "chunk_overlap_sentences": (-1, 0),
    "embedding_model": ("", "other-model"),
    "embedding_backend": ("onnx", "torch"),
    "embedding_threads": (-1, 2),
    "embed_batch_size": (0, 8),
    "top_k": (0, 3),
    "max_passages_per_article": (0, 1),
    "retrieval_mode": ("sparse", "bm25"),
    "candidates": (0, 50),
    "rrf_k": (-1, 0),
    "dense_weight": (-0.5, 0.0),
    "bm25_weight": (-0.5, 2.0),
    "rerank": ("yes", "sentence"),
    "rerank_depth": (0, 5),
    "rerank_fused_weight": (-1.0, 5.0),
    "rerank_sentences": (-1, 0),
    "cross_encoder": (None, "cross-encoder/ms-marco-MiniLM-L-6-v2"),
    "reference_date": ("last tuesday", "2022-06-17"),
    "date_mode": ("on", "filter"),
    "date_boost": (-1.0, 0.0),
    "as_of_reference": ("no", False),
    "future_grace_days": (-1, 0),
    "recency_half_life_days": (-14.0, 0.0),
    "recency_weight": (-0.5, 0.0),
    "dedupe_threshold": (1.5, 1.0),
    "max_question_chars": (0, 500),
    "max_history_turns": (-1, 0),
    "answer_backend": ("gpt", "openai"),
    "max_answer_sentences": (0, 1),
    "evidence_margin": (-0.1, 0.0),
    "ner_model": (None, ""),
    "short_reader": ("neural", "rules"),
    "reader_windows": (0, 4),
    "reader_titles": (1, False),
    "reader_typed": (1, False),
    "reader_context": (-1, 0),
    "short_answer_threshold": (62, 0.0),  # a percentage where a probability belongs
    "reader_abstain_below": (1.5, 0.5),
    "reader_passages": (0, 6),
    "reader_sentences_per_passage": (-1, 0),
    "reader_max_sentences": (-1, 0),
    "abstain_threshold": (33.8, -0.2),
    "redundancy_threshold": (1.5, 1.0),
    "timeline_depth": (0, 80),
    "timeline_events": (0, 3),
    "timeline_same_event": (1.5, 0.6),
    "briefing_stories": (0, 3),
    "briefing_same_story": (-1.5, 0.5),
    "timeline_headlines": ("yes", True),
    "llm_base_url": ("127.0.0.1:8080/v1", "https://api.openai.com/v1"),
    "llm_model": ("", "gpt-4o-mini"),
    "llm_api_key_env": (None, ""),
    "llm_timeout_s": (0, 0.001),
    "llm_max_retries": (-1, 0),
    "llm_gguf_path": (None, "/models/model.gguf"),
    "llm_model_cache_dir": (None, "/tmp/models"),
    "llm_reader": ("words", "sentences"),
    "llm_reader_sentences": (0, 3),
    "llm_reader_tokens": (0, 100),
    "llm_context_tokens": (0, 4096),
    "llm_temperature": (2.5, 0.7),
    "llm_max_tokens": (0, 1),
    "llm_unsupported": ("drop", "mark"),
    "citation_threshold": (1.5, 0.0),
    "allow_private_urls": ("yes", True),
    "fetch_timeout_s": (0, 1.5),
    "fetch_max_bytes": (0, 1000),
    "fetch_max_redirects": (-1, 0),
    "feed_every": ("10s", "2h"),
    "feeds_dir": (None, "/tmp/feeds"),
    "feeds_background": ("off", False),
    "feeds_tick_s": (0, 0.5),
    "feed_lease_s": (0.5, 5),
}
NAMES = [f.name for f in dataclasses.fields(Config)]


def test_the_table_covers_every_field() -> None:
    assert sorted(TABLE) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_field_refuses_a_bad_value_naming_it_and_takes_a_good_one(name: str) -> None:
    bad, good = TABLE[name]
    with pytest.raises(ConfigError, match=rf"^{name} must be .*; got {re.escape(repr(bad))}$"):
        Config(**{name: bad})
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        dataclasses.replace(Config(), **{name: bad})  # what Config.replace calls
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        Config(**{name: object()})
    config = Config(**{name: good})
    assert getattr(config, name) == (Path(good) if name == "index_dir" else good)
    raw = ",".join(good) if isinstance(good, tuple) else str(good)  # collections: a,b
    assert getattr(Config.from_env({f"RAG_{name.upper()}": raw}), name) == getattr(
        config, name)


@pytest.mark.parametrize("name", [n for n in NAMES if isinstance(getattr(Config(), n), float)])
def test_number_settings_refuse_nan_and_infinity(name: str) -> None:
    for value in (float("nan"), float("inf")):
        with pytest.raises(ConfigError, match=f"^{name} must be a number"):
            Config(**{name: value})


def test_unknown_names_are_the_same_error_everywhere() -> None:
    for make in (lambda: Config(topk=3), lambda: Config().replace(topk=3),
                 lambda: Config.from_env({}, topk=3),
                 lambda: parse_setting("topk", "3", "--config topk=3")):
        with pytest.raises(ConfigError, match=r"unknown setting 'topk': did you mean top_k\?"):
            make()
    with pytest.raises(ConfigError, match="unknown setting 'colour': the settings are "):
        Config(colour="red")


def test_config_error_is_a_user_error_the_cli_and_api_show() -> None:
    assert issubclass(ConfigError, BadInputError)


def test_env_overrides_are_coerced_to_the_field_type() -> None:
    config = Config.from_env({"RAG_TOP_K": "3", "RAG_ABSTAIN_THRESHOLD": "0.5",
                              "RAG_INDEX_DIR": "/tmp/x", "RAG_EMBEDDING_MODEL": "m"})
    assert (config.top_k, config.abstain_threshold) == (3, 0.5)
    assert config.index_dir == Path("/tmp/x") and config.embedding_model == "m"


def test_env_flags_take_the_usual_words_and_refuse_others() -> None:
    for raw, value in (("1", True), ("yes", True), ("On", True), ("0", False), ("off", False),
                       ("", False)):
        assert Config.from_env({"RAG_FEEDS_BACKGROUND": raw}).feeds_background is value
    with pytest.raises(ConfigError, match="RAG_FEEDS_BACKGROUND='maybe': feeds_background must "
                                          "be true or false"):
        Config.from_env({"RAG_FEEDS_BACKGROUND": "maybe"})


def test_env_names_that_are_no_setting_are_left_to_their_readers() -> None:
    assert Config.from_env({"RAG_PORT": "8000", "RAG_API_KEY": "k"}) == Config()


def test_explicit_overrides_beat_env_and_none_is_ignored() -> None:
    config = Config.from_env({"RAG_TOP_K": "3"}, top_k=9, index_dir=None)
    assert config.top_k == 9 and config.index_dir == Config().index_dir
    assert config.replace(top_k=None, chunk_tokens=100).chunk_tokens == 100


@pytest.mark.parametrize(("env", "message"), [
    ({"RAG_TOP_K": "many"}, "RAG_TOP_K='many': top_k must be a whole number >= 1"),
    ({"RAG_ABSTAIN_THRESHOLD": "high"}, "RAG_ABSTAIN_THRESHOLD='high': abstain_threshold"),
    ({"RAG_TOP_K": "0"}, "top_k must be a whole number >= 1; got 0"),
    ({"RAG_CHUNK_OVERLAP_SENTENCES": "-1"}, "chunk_overlap_sentences must be a whole number"),
    ({"RAG_LOCK_TIMEOUT_S": "nan"}, "lock_timeout_s must be a number >= 0; got nan"),
    ({"RAG_REFERENCE_DATE": "2022-13-01"}, "reference_date must be an ISO date"),
    ({"RAG_INDEX_DIR": ""}, "index_dir must be a folder path"),
])
def test_bad_env_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config.from_env(env)


def test_index_dir_string_becomes_path() -> None:
    assert Config(index_dir="some/where").index_dir == Path("some/where")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(choices()))
def test_every_mode_setting_refuses_a_value_outside_its_set(name: str) -> None:
    allowed = choices()[name]
    assert getattr(Config(), name) in allowed
    with pytest.raises(ConfigError, match=f"{name} must be one of {', '.join(allowed)}"):
        Config(**{name: "boots"})
    with pytest.raises(ConfigError, match=r"; got 'boots'$"):
        Config.from_env({f"RAG_{name.upper()}": "boots"})


def test_mode_names_are_the_factories_names() -> None:
    import embeddings
    from rag.answering import BACKENDS as ANSWER_BACKENDS
    from rag.index import BACKENDS as INDEX_BACKENDS

    assert choices()["index_backend"] == INDEX_BACKENDS
    assert choices()["answer_backend"] == ANSWER_BACKENDS
    assert choices()["embedding_backend"] == ("auto", *embeddings.BACKENDS)
    assert {"retrieval_mode", "rerank", "date_mode", "llm_unsupported", "llm_reader",
            "short_reader"} <= set(choices())


def test_each_setting_belongs_to_one_stage_and_the_readme_lists_it_there() -> None:
    declared = [f.name for stage in STAGES for f in dataclasses.fields(stage)]
    assert sorted(declared) == sorted(NAMES)  # each field in exactly one stage
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n\n| setting |", 1)[1]
    table = table.split("\n\n", 1)[0]
    heads = [m.start() for stage in STAGES for m in [re.search(f"`{stage.__name__}`", table)]
             if m] + [len(table)]
    assert len(heads) == len(STAGES) + 1 and heads == sorted(heads), \
        "a row per stage, in pipeline order, names its dataclass"
    for stage, start, end in zip(STAGES, heads, heads[1:], strict=False):
        rows = table[start:end]
        missing = [f.name for f in dataclasses.fields(stage) if f"`{f.name}`" not in rows]
        assert not missing, f"README lists {missing} outside the {stage.__name__} rows"
