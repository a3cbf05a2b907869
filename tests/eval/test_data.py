"""Question files, corpus hashing, slices, config overrides and cache keys of the harness."""

from __future__ import annotations

import json

import pytest

from eval.cache import index_key
from eval.data import Question, file_hash, load_questions, make_slice
from eval.runner import parse_config
from rag import Config
from rag.errors import BadInputError, ConfigError


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_questions_load_and_label(tmp_path):
    path = _write(tmp_path / "q.jsonl", [
        json.dumps({"id": "1", "question": "Who?", "answers": ["A", "B"],
                    "meta": {"answer_match": "all"}}),
        json.dumps({"id": "2", "question": "Why?", "answers": []}),
        json.dumps({"id": "3", "question": "When?", "answers": ["x"], "unanswerable": True}),
    ])
    q1, q2, q3 = load_questions(path)
    assert (q1.answerable, q1.match, q1.type) == (True, "all", "default")
    assert not q2.answerable and not q3.answerable
    assert Question.from_record(q1.to_record()) == q1


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 1: malformed JSON"),
    (json.dumps({"question": "Who?"}), "missing field 'id'"),
    (json.dumps({"id": "1", "question": "  "}), "needs an id and a question"),
])
def test_bad_question_files_name_the_line(tmp_path, line, message):
    with pytest.raises(BadInputError, match=message):
        load_questions(_write(tmp_path / "q.jsonl", [line]))


def test_repeated_question_id_is_an_error(tmp_path):
    line = json.dumps({"id": "1", "question": "Who?"})
    with pytest.raises(BadInputError, match="appears twice"):
        load_questions(_write(tmp_path / "q.jsonl", [line, line]))


def test_file_hash_changes_with_content(tmp_path):
    (tmp_path / "d").mkdir()
    a = _write(tmp_path / "d" / "a.txt", ["Title", "Body text."])
    before = file_hash(tmp_path / "d")
    assert file_hash(tmp_path / "d") == before
    a.write_text("Title\nOther text.\n")
    assert file_hash(tmp_path / "d") != before
    with pytest.raises(BadInputError):
        file_hash(tmp_path / "missing")


def test_slice_keeps_gold_articles_and_draws_distractors(tmp_path):
    corpus = _write(tmp_path / "c.jsonl", [
        json.dumps({"doc_id": f"d{i}", "title": f"T{i}", "text": f"Text {i}."}) for i in range(10)])
    questions = _write(tmp_path / "q.jsonl", [
        json.dumps({"id": "1", "question": "A?", "answers": ["a"], "gold_doc_ids": ["d3"]}),
        json.dumps({"id": "2", "question": "B?", "answers": ["b"], "gold_doc_ids": []}),
        json.dumps({"id": "3", "question": "C?", "answers": ["c"], "gold_doc_ids": ["d7"]}),
    ])
    c1, q1 = make_slice(corpus, questions, tmp_path / "s1", distractors=3, seed=1)
    ids = [json.loads(line)["doc_id"] for line in c1.read_text().splitlines()]
    assert {"d3", "d7"} <= set(ids) and len(ids) == 5
    assert [q.id for q in load_questions(q1)] == ["1", "3"]
    c2, _ = make_slice(corpus, questions, tmp_path / "s2", distractors=3, seed=1)
    assert c2.read_text() == c1.read_text()  # fixed by the seed
    _, q3 = make_slice(corpus, questions, tmp_path / "s3", n_questions=1, distractors=0)
    assert [q.id for q in load_questions(q3)] == ["1"]


def test_parse_config_types_values_and_rejects_unknown_keys():
    config = parse_config(["top_k=9", "abstain_threshold=0.5"], Config())
    assert (config.top_k, config.abstain_threshold) == (9, 0.5)
    with pytest.raises(ConfigError, match="unknown setting 'no_such_field'"):
        parse_config(["no_such_field=1"], Config())
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_config(["top_k"], Config())


def test_index_key_depends_only_on_corpus_and_index_settings():
    base = index_key("h", Config())
    assert index_key("h", Config(top_k=2, abstain_threshold=0.9)) == base
    assert index_key("other", Config()) != base
    assert index_key("h", Config(chunk_tokens=120)) != base
    assert index_key("h", Config(chunk_overlap_sentences=0)) != base
