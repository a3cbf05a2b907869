"""Per-question rows, their summary (the report.json keys), Markdown tables and flips."""

from __future__ import annotations

import pytest

from eval.data import Question
from eval.metrics import sign_test
from eval.report import flip_counts, flips, table
from eval.scoring import get_path, score_question, summarize

STABLE_KEYS = ["retrieval.hit@1", "retrieval.hit@5", "retrieval.hit@10", "retrieval.mrr@10",
               "retrieval.ndcg@10", "answer.contains", "answer.f1", "citation.precision",
               "citation.support", "abstention.correct", "abstention.false",
               "latency_ms.total.p50", "latency_ms.total.p95", "n_questions"]


def _answer(text, cited=(), abstained=False, total=100.0):
    return {"answer": text, "abstained": abstained,
            "citations": [{"n": i + 1, "article_id": a, "quote": q}
                          for i, (a, q) in enumerate(cited)],
            "timings_ms": {"retrieve": total / 2, "answer": total / 2, "total": total}}


@pytest.fixture
def rows():
    q1 = Question("1", "Where?", ("Bushehr",), ("a",), "factoid")
    q2 = Question("2", "Who?", ("Abdi",), ("b",), "paraphrase")
    q3 = Question("3", "Metro?", (), (), "unanswerable")
    return [
        score_question(q1, _answer("It is in Bushehr. [1] Talks. [2]",
                                   [("a", "It is in Bushehr."), ("c", "Talks.")], total=100),
                       ["a", "c"]),
        score_question(q2, _answer("No.", abstained=True, total=300), ["c", "d", "b"]),
        score_question(q3, _answer("No.", abstained=True, total=200), ["c"]),
    ]


def test_score_question_row(rows):
    first = rows[0]
    assert first["hit_rank"] == 1 and first["scores"]["hit@1"] == 1.0
    assert first["scores"]["contains"] is True
    assert first["scores"]["citation_precision"] == 0.5
    assert first["scores"]["citation_support"] == 0.5
    second = rows[1]
    assert second["hit_rank"] == 3 and second["scores"]["mrr@10"] == pytest.approx(1 / 3)
    assert second["scores"]["contains"] is False  # abstained on an answerable question
    assert "hit@1" not in rows[2]["scores"]  # no gold articles, no retrieval scores


def test_summary_has_the_stable_keys_and_hand_computed_values(rows):
    report = summarize(rows)
    for key in STABLE_KEYS:
        assert get_path(report, key) is not None, key
    assert report["n_questions"] == 3
    assert get_path(report, "retrieval.hit@1") == 0.5
    assert get_path(report, "retrieval.hit@5") == 1.0
    assert get_path(report, "retrieval.mrr@10") == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert get_path(report, "answer.contains") == 0.5
    assert get_path(report, "abstention.correct") == 1.0
    assert get_path(report, "abstention.false") == 0.5
    assert get_path(report, "latency_ms.total.p50") == 200.0
    assert report["retrieval"]["curve"]["2"] == 0.5 and report["retrieval"]["curve"]["3"] == 1.0
    assert set(report["by_type"]) == {"factoid", "paraphrase", "unanswerable"}
    assert report["by_type"]["factoid"]["answer"]["contains"] == 1.0


def test_table_and_flips(rows):
    report = summarize(rows)
    md = table([report, report], ["A", "B"])
    assert md.splitlines()[0] == "| metric | A | B |"
    assert "| hit@1 | 0.5 | 0.5 |" in md
    changed = dict(rows[0], scores={**rows[0]["scores"], "contains": False})
    lines = flips({"1": rows[0]}, {"1": changed})
    assert lines == ["- -contains `1`: Where?"]
    assert flips({"1": rows[0]}, {"1": rows[0]}) == []
    counts = flip_counts({"1": rows[0]}, {"1": changed})
    assert counts[0] == "- contains: +0 / -1 questions, sign test p = 1.000"


def test_sign_test_against_hand_computed_binomial_tails():
    # 1 vs 4 flips: P(X <= 1) = (1 + 5) / 32 per tail, doubled.
    assert sign_test(1, 4) == pytest.approx(12 / 32)
    assert sign_test(0, 8) == pytest.approx(2 / 256)
    assert sign_test(3, 3) == 1.0


def test_a_collapsed_gold_copy_counts_as_a_hit_and_a_gold_citation():
    """Ours shows one of a wire story's copies; the gold copy rides along (``also_in``)."""
    q = Question("1", "Where?", ("Bushehr",), ("gold",), "factoid")
    answer = _answer("It is in Bushehr. [1]", [("copy", "It is in Bushehr.")])
    answer["citations"][0]["also_in"] = [{"article_id": "gold"}]
    row = score_question(q, answer, ["other", "copy"], {"copy": ["gold"]})
    assert row["hit_rank"] == 2 and row["ranked"] == ["other", "copy"]
    assert row["scores"]["citation_precision"] == 1.0
    plain = score_question(q, _answer("It is in Bushehr. [1]", [("copy", "x")]), ["other", "copy"])
    assert plain["hit_rank"] is None and plain["scores"]["citation_precision"] == 0.0
