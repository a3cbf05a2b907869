"""``eval coverage``: the answer followed from the corpus to the LLM's pool. Date logic on
hand-made articles; the whole path on the sample corpus with the real model and FAISS."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eval.cli import app
from eval.coverage import ROWS, CorpusByDate, Coverage
from rag import SAMPLE_CORPUS
from rag.articles import Article

QUESTIONS = SAMPLE_CORPUS.parent.parent / "eval" / "questions" / "sample.jsonl"
# Each of these rows holds the next: the answer cannot reappear further down the pipeline.
CHAIN = ["corpus", "passages", "sentences", "best@48", "best@20", "best@10"]


def _article(text: str, date: str | None) -> Article:
    return Article(id=text[:8], title="t", text=text, published_at=date)


def test_corpus_counts_only_articles_published_by_the_question_date():
    corpus = CorpusByDate([_article("Hossein Abdi coaches the team.", "2022-06-10"),
                           _article("The final ended 16-13 in Tehran.", "2022-06-20")])
    assert corpus.contains(["Hossein Abdi"], "any", "2022/06/17")
    assert not corpus.contains(["16-13"], "any", "2022/06/17")
    assert corpus.contains(["16-13"], "any", "2022-06-20")
    assert corpus.contains(["16-13"], "any", None)  # no date: the whole corpus
    assert not corpus.contains(["Abdi", "16-13"], "all", "2022-06-17")
    assert corpus.contains(["Abdi", "16-13"], "all", "2022-06-30")
    assert not corpus.contains(["Tehr"], "any", None)  # whole words, as `contains` matches
    assert not corpus.contains(["", "  "], "any", None)


def test_an_answer_never_spans_two_articles():
    corpus = CorpusByDate([_article("The coach is Hossein", "2022-06-10"),
                           _article("Abdi Khan said.", "2022-06-11")])
    assert not corpus.contains(["Hossein Abdi"], "any", None)
    assert corpus.contains(["Abdi Khan"], "any", None)


def test_undated_articles_always_count():
    corpus = CorpusByDate([_article("Sardar Azmoun scored twice.", None)])
    assert corpus.contains(["Sardar Azmoun"], "any", "2000-01-01")


def test_shares_and_table_follow_the_rows_order():
    cov = Coverage()
    cov.add("a", {"corpus": True, "passages": True, "llm_pool": False}, 7)
    cov.add("b", {"corpus": True, "passages": False, "llm_pool": False}, 5)
    assert cov.shares() == {"corpus": 1.0, "passages": 0.5, "llm_pool": 0.0}
    assert cov.to_json()["llm_pool_mean_sentences"] == 6.0
    lines = cov.table().splitlines()
    assert [ln.split("`")[1] for ln in lines if "`" in ln] == ["corpus", "passages", "llm_pool"]
    assert Coverage().shares() == {}


@pytest.mark.slow
def test_coverage_command_on_the_sample(tmp_path, eval_cache_dir, sample_index_dir):
    out = tmp_path / "coverage.json"
    result = CliRunner().invoke(app, [
        "coverage", "--corpus", str(SAMPLE_CORPUS), "--questions", str(QUESTIONS),
        "--limit", "6", "--out", str(out), "--cache-dir", str(eval_cache_dir),
        "--seed-index", str(sample_index_dir)])
    assert result.exit_code == 0, result.output
    assert "| the passages the readers read" in result.output
    data = json.loads(out.read_text())
    assert data["n"] == 6 and len(data["questions"]) == 6
    assert set(data["coverage"]) == set(ROWS)
    for row in data["questions"]:
        flags = [row[k] for k in CHAIN]
        assert flags == sorted(flags, reverse=True), row  # once lost, never found again
        assert 1 <= row["llm_pool_sentences"] <= 10
    by_id = {r["id"]: r for r in data["questions"]}
    # The sample's nuclear-plant question: its answer reaches the LLM's pool.
    assert by_id["s01"]["llm_pool"] and by_id["s01"]["articles@1"]
    assert data["coverage"]["corpus"] == 1.0  # every sample answer is in the sample corpus


def test_coverage_command_names_a_missing_corpus(tmp_path):
    result = CliRunner().invoke(app, [
        "coverage", "--corpus", str(tmp_path / "nope.jsonl"), "--questions", str(QUESTIONS)])
    assert result.exit_code != 0
    assert "nope.jsonl" in result.output
