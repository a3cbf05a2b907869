"""Per-question rows, their summary (the report.json keys), Markdown tables and flips."""

from __future__ import annotations

import json

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


def _short_row(qid, short, score, answers=("Japan",), qtype="who"):
    answerable = bool(answers)
    q = Question(qid, "Who won?", tuple(answers), (), qtype, unanswerable=not answerable)
    answer = _answer("Japan won 16-13. [1]", [("a", "Japan won 16-13.")])
    answer.update(short_answer=short, short_answer_score=score)
    return score_question(q, answer, ["a"])


@pytest.fixture
def short_rows():
    """4 answerable: right at 0.9, wrong at 0.7, right at 0.5, none shown; 2 unanswerable:
    one shown at 0.8, one silent."""
    return [_short_row("r1", "Japan", 0.9), _short_row("w1", "Iran", 0.7),
            _short_row("r2", "Japan", 0.5), _short_row("n1", None, None),
            _short_row("u1", "Oman", 0.8, answers=(), qtype="when"),
            _short_row("u2", None, None, answers=(), qtype="when")]


def test_right_or_silent_summary_by_hand(short_rows):
    assert short_rows[0]["short_answer_score"] == 0.9
    assert short_rows[0]["scores"]["short_right"] is True
    assert short_rows[1]["scores"]["short_right"] is False
    assert short_rows[3]["scores"]["short_right"] is None  # nothing shown
    assert "short_right" not in short_rows[4]["scores"]  # unanswerable
    short = summarize(short_rows)["short"]
    assert short["coverage"] == 0.75 and short["precision"] == round(2 / 3, 4)
    assert short["right"] == 0.5 and short["wrong"] == 0.25
    assert short["unanswerable_shown"] == 0.5 and short["n_shown"] == 3
    assert short["curve"] == [
        {"threshold": 0.9, "coverage": 0.25, "precision": 1.0, "unanswerable_shown": 0.0},
        {"threshold": 0.7, "coverage": 0.5, "precision": 0.5, "unanswerable_shown": 0.5},
        {"threshold": 0.5, "coverage": 0.75, "precision": 0.6667, "unanswerable_shown": 0.5}]
    assert short["aupc"] == round(0.25 + 0.5 * 0.25 + 2 / 3 * 0.25, 4)
    by_type = summarize(short_rows)["by_type"]
    assert by_type["when"]["short"]["unanswerable_shown"] == 0.5
    assert by_type["when"]["short"]["coverage"] is None  # no answerable question of the kind
    md = table([summarize(short_rows)], ["A"])
    assert "| short right among shown (precision) | 0.667 |" in md
    assert "| short shown, unanswerable (↓) | 0.5 |" in md


def test_a_system_without_short_answers_has_null_short_metrics(rows):
    short = summarize(rows)["short"]
    assert set(short) >= {"precision", "coverage", "unanswerable_shown", "aupc", "curve"}
    assert all(v is None for v in short.values())


def test_short_flips_and_sign_tests(short_rows):
    base = {r["id"]: r for r in short_rows}
    # After: r2 silent (right lost), w1 silent (wrong lost), u1 silent.
    after = {**base, "r2": _short_row("r2", None, None), "w1": _short_row("w1", None, None),
             "u1": _short_row("u1", None, None, answers=(), qtype="when")}
    counts = flip_counts(base, after)
    assert "- short right: +0 / -1 questions, sign test p = 1.000" in counts
    assert "- short wrong (↓): +0 / -1 questions, sign test p = 1.000" in counts
    assert "- short shown, unanswerable (↓): +0 / -1 questions, sign test p = 1.000" in counts
    assert "- -short right `r2`: Who won?" in flips(base, after)


def test_the_precision_coverage_plot_is_written(tmp_path, short_rows):
    from eval.report import compare, write_plots

    report = summarize(short_rows)
    report["run"] = {"system": "ours"}
    write_plots(tmp_path, report, short_rows)
    assert (tmp_path / "precision_coverage.png").stat().st_size > 1000
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(report))
        (tmp_path / name / "results.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in short_rows))
    out = compare([tmp_path / "a", tmp_path / "b"], short_plot=tmp_path / "both.png")
    assert "| short precision-coverage area |" in out
    assert (tmp_path / "both.png").stat().st_size > 1000
