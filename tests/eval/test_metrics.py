"""Metric functions of eval/metrics.py on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from eval import metrics as m

RANKED = ["a", "b", "c", "d"]


@pytest.mark.parametrize(("gold", "k", "expected"), [
    ({"a"}, 1, 1.0), ({"b"}, 1, 0.0), ({"b"}, 2, 1.0), ({"z"}, 10, 0.0), ({"d", "z"}, 4, 1.0),
])
def test_hit_at_k(gold, k, expected):
    assert m.hit_at_k(RANKED, gold, k) == expected


def test_reciprocal_rank_uses_first_gold_within_k():
    assert m.reciprocal_rank(RANKED, {"c", "d"}, 10) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(RANKED, {"d"}, 3) == 0.0
    assert m.first_hit_rank(RANKED, {"b"}) == 2
    assert m.first_hit_rank(RANKED, {"z"}) is None


def test_ndcg_binary_relevance():
    # gold at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at_k(RANKED, {"b", "d"}, 10) == pytest.approx(dcg / ideal)
    assert m.ndcg_at_k(RANKED, {"a"}, 10) == 1.0
    assert m.ndcg_at_k(RANKED, {"z"}, 10) == 0.0


def test_recall_at_k():
    assert m.recall_at_k(RANKED, {"a", "c", "z"}, 2) == pytest.approx(1 / 3)
    assert m.recall_at_k(RANKED, {"a", "c", "z"}, 10) == pytest.approx(2 / 3)


@pytest.mark.parametrize(("text", "expected"), [
    ("The Bushehr plant.", "bushehr plant"),
    ("  An   apple, a PEAR!  ", "apple pear"),
    ("three-quarters of a point", "3 quarters of point"),
    ("Twenty-one jets [2]", "21 jets"),
    ("It cost $1,000 or 3.5%", "it cost 1000 dollars or 3.5 percent"),
    ("“Iran’s” — plan", "iran s plan"),
])
def test_normalize_answer(text, expected):
    assert m.normalize_answer(text) == expected


def test_contains_answer_any_all_and_whole_words():
    assert m.contains_answer("The plant is in Bushehr, Iran [1]", ["bushehr"])
    assert m.contains_answer("won by three goals", ["3 goals"])
    assert not m.contains_answer("in 19945", ["1994"])
    assert m.contains_answer("Nafari and Dehghan scored", ["Nafari", "Dehghan"], "all")
    assert not m.contains_answer("Nafari scored", ["Nafari", "Dehghan"], "all")
    assert m.contains_answer("Nafari scored", ["Nafari", "Dehghan"], "any")
    assert not m.contains_answer("anything", [])


def test_token_f1_and_exact_match():
    # prediction "the bushehr nuclear plant" -> [bushehr, nuclear, plant]; gold [bushehr]
    # precision 1/3, recall 1 -> F1 = 0.5
    assert m.token_f1("the Bushehr nuclear plant", ["Bushehr"]) == pytest.approx(0.5)
    assert m.token_f1("Bushehr", ["Tehran", "Bushehr"]) == 1.0
    assert m.token_f1("nothing", ["Bushehr"]) == 0.0
    assert m.exact_match("The Bushehr.", ["bushehr"])
    assert not m.exact_match("Bushehr plant", ["bushehr"])


def test_citation_precision_and_support():
    assert m.citation_precision(["a", "b", "a", "c"], {"a"}) == 0.5
    assert m.citation_precision([], {"a"}) is None
    assert m.citation_precision(["a"], set()) is None
    quotes = ["The plant is in Bushehr.", "Talks went on.", "Bushehr again."]
    assert m.citation_support(quotes, ["Bushehr"]) == pytest.approx(2 / 3)
    assert m.citation_support([], ["Bushehr"]) is None


def test_percentile_interpolates_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert m.percentile(values, 50) == 25.0
    assert m.percentile(values, 95) == pytest.approx(38.5)
    assert m.percentile([], 50) is None


def test_mean_skips_none():
    assert m.mean([1.0, None, 0.0, True]) == pytest.approx(2 / 3)
    assert m.mean([None]) is None


def test_best_threshold_maximizes_balanced_accuracy():
    # answerable 0.6 0.7 0.8, unanswerable 0.2 0.3 0.65: t=0.45 keeps all answerable and
    # abstains on 2 of 3 unanswerable -> (1 + 2/3) / 2.
    t, acc = m.best_threshold([0.6, 0.7, 0.8], [0.2, 0.3, 0.65])
    assert t == pytest.approx(0.45)
    assert acc == pytest.approx(5 / 6)
    t, acc = m.best_threshold([0.9], [0.1])
    assert 0.1 < t <= 0.9 and acc == 1.0
    with pytest.raises(ValueError):
        m.best_threshold([], [0.1])


@pytest.mark.parametrize(("short", "answers", "right"), [
    ("Hossein Abdi", ["Hossein Abdi"], True),  # exact
    ("coach Hossein Abdi", ["Hossein Abdi"], True),  # 3 words holding 2: F1 0.8
    ("The Bushehr nuclear plant", ["Bushehr"], True),  # 3 words holding 1 (articles dropped)
    ("Bushehr nuclear power plant", ["Bushehr"], False),  # 4 words holding 1: F1 0.4
    ("Abdi", ["Hossein Abdi"], False),  # a part of the answer is not the answer
    ("13", ["16-13"], False),
    ("16–13", ["16-13"], True),  # the dash's kind does not matter
    ("$4.2 million", ["4.2 million dollars"], True),
    ("Japan", ["Iran", "Japan"], True),  # any listed variant
    ("", ["Japan"], False),
    ("Japan", [], False),
])
def test_short_right_holds_a_gold_answer_with_at_most_three_times_its_words(short, answers,
                                                                           right):
    assert m.short_right(short, answers) is right


def test_short_right_with_every_part_required():
    assert m.short_right("Nafari and Dehghan", ["Nafari", "Dehghan"], "all")
    assert not m.short_right("Nafari", ["Nafari", "Dehghan"], "all")
    # 7 words against 2 answer words: more than three times as many.
    assert not m.short_right("Nafari, Dehghan, Gholizadeh, Abdi and Karimi scored",
                             ["Nafari", "Dehghan"], "all")


def test_precision_coverage_points_and_area_by_hand():
    # 5 answerable questions, 4 shown: scores 0.9 (right), 0.6 (wrong), 0.6 (right), None
    # (right). Thresholds 0.9, 0.6, then all: coverage 1/5, 3/5, 4/5; precision 1, 2/3, 3/4.
    shown = [(0.6, False), (None, True), (0.9, True), (0.6, True)]
    points = m.precision_coverage(shown, 5)
    assert [(p.threshold, p.coverage) for p in points] == [(0.9, 0.2), (0.6, 0.6), (None, 0.8)]
    assert [p.precision for p in points] == pytest.approx([1.0, 2 / 3, 0.75])
    # 1 x 0.2 + 2/3 x 0.4 + 3/4 x 0.2
    assert m.area_under_curve(points) == pytest.approx(0.2 + 0.8 / 3 + 0.15)
    # The same answers with the right ones ranked first cover more area; all tied, less.
    oracle = m.precision_coverage([(0.9, True), (0.8, True), (0.7, True), (0.1, False)], 5)
    assert m.area_under_curve(oracle) == pytest.approx(0.2 + 0.2 + 0.2 + 0.75 * 0.2)
    tied = m.precision_coverage([(0.5, r) for _, r in shown], 5)
    assert m.area_under_curve(tied) == pytest.approx(0.75 * 0.8)
    assert m.precision_coverage([], 5) == [] and m.area_under_curve([]) == 0.0
    with pytest.raises(ValueError):
        m.precision_coverage(shown, 3)
