"""Config: defaults, RAG_* environment overrides, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config, choices
from rag.errors import BadInputError


def test_env_overrides_are_coerced_to_the_field_type() -> None:
    config = Config.from_env({"RAG_TOP_K": "3", "RAG_ABSTAIN_THRESHOLD": "0.5",
                              "RAG_INDEX_DIR": "/tmp/x", "RAG_EMBEDDING_MODEL": "m"})
    assert (config.top_k, config.abstain_threshold) == (3, 0.5)
    assert config.index_dir == Path("/tmp/x") and config.embedding_model == "m"


def test_explicit_overrides_beat_env_and_none_is_ignored() -> None:
    config = Config.from_env({"RAG_TOP_K": "3"}, top_k=9, index_dir=None)
    assert config.top_k == 9 and config.index_dir == Config().index_dir
    assert config.replace(top_k=None, chunk_tokens=100).chunk_tokens == 100


@pytest.mark.parametrize(("env", "message"), [
    ({"RAG_TOP_K": "many"}, "RAG_TOP_K='many' is not a valid int"),
    ({"RAG_ABSTAIN_THRESHOLD": "high"}, "RAG_ABSTAIN_THRESHOLD"),
    ({"RAG_TOP_K": "0"}, "top_k must be greater than 0"),
    ({"RAG_CHUNK_OVERLAP_SENTENCES": "-1"}, "chunk_overlap_sentences"),
    ({"RAG_READER_MAX_SENTENCES": "-5"}, "reader_max_sentences must be 0 or more"),
    ({"RAG_LOCK_TIMEOUT_S": "-1"}, "lock_timeout_s must be 0 or more"),
    ({"RAG_LOCK_TIMEOUT_S": "nan"}, "lock_timeout_s must be 0 or more"),
])
def test_bad_values_are_user_errors_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        Config.from_env(env)


def test_index_dir_string_becomes_path() -> None:
    assert Config(index_dir="some/where").index_dir == Path("some/where")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(choices()))
def test_every_mode_setting_refuses_a_value_outside_its_set(name: str) -> None:
    allowed = choices()[name]
    assert getattr(Config(), name) in allowed
    with pytest.raises(BadInputError, match=f"{name} must be one of {', '.join(allowed)}"):
        Config(**{name: "boots"})
    with pytest.raises(BadInputError, match=r"Currently, .* is 'boots'"):
        Config.from_env({f"RAG_{name.upper()}": "boots"})


def test_mode_settings_cover_the_known_ones() -> None:
    assert {"retrieval_mode", "rerank", "date_mode", "answer_backend", "index_backend",
            "llm_unsupported", "llm_reader"} <= set(choices())
