"""Timeline measures on tiny hand-made timelines, every expected number worked out by hand in
the comments (content words after stopwords and Porter stemming, as the assertions on tokens
show)."""

from __future__ import annotations

from datetime import date

import pytest

from eval.timeline_gold import GoldEvent, GoldStory
from eval.timeline_metrics import Dated, Rouge, align, align_rouge, date_f1, duplicates
from eval.timeline_scoring import score_story, sign_tests, summarize


def d(day: int, month: int = 9) -> date:
    return date(2022, month, day)


@pytest.fixture(scope="module")
def rouge() -> Rouge:
    return Rouge()


def test_date_f1_exact_and_within_two_days() -> None:
    gold = [d(1), d(10), d(20), d(30)]
    pred = [d(1), d(1), d(11), d(17), d(25)]  # 4 distinct days
    # Exact: only the 1st matches -> P = 1/4, R = 1/4.
    assert date_f1(pred, gold) == pytest.approx((0.25, 0.25, 0.25))
    # ±2: predicted 1 and 11 are near a gold date (17 is 3 from 20, 25 is 5 from 20 and 30)
    # -> P = 2/4; gold 1 and 10 are covered -> R = 2/4.
    assert date_f1(pred, gold, tolerance=2) == pytest.approx((0.5, 0.5, 0.5))
    assert date_f1([], gold) == (0.0, 0.0, 0.0)


GOLD = [Dated(d(27), "Ian hit western Cuba"), Dated(d(28), "Ian struck Florida")]
PRED = [Dated(d(27), "Ian hit Cuba"), Dated(d(29), "Ian struck Florida coast"),
        Dated(d(29), "Florida coast flooded")]


def test_alignment_and_its_rouge(rouge) -> None:
    assert [rouge.tokens(p.text) for p in PRED] == [
        ["ian", "hit", "cuba"], ["ian", "struck", "florida", "coast"],
        ["florida", "coast", "flood"]]
    assert rouge.tokens(GOLD[0].text) == ["ian", "hit", "western", "cuba"]
    # Unigram overlaps: P0-G0 3 (same day), P1-G1 3 (1 day), P2-G1 1 (1 day), P1-G0 1 (2 days):
    # the best one-to-one alignment is P0-G0 and P1-G1; P2 stays unaligned.
    pairs = align(PRED, GOLD, rouge)
    assert pairs == [(0, 0), (1, 1)]
    # ROUGE-1: matched 1*3 + 1/2*3 = 4.5 over 3+4+3 = 10 predicted and 4+3 = 7 gold unigrams.
    r1 = align_rouge(PRED, GOLD, pairs, rouge, 1)
    assert r1 == pytest.approx((0.45, 4.5 / 7, 9 / 17))
    # ROUGE-2: P0-G0 share "ian hit" (1), P1-G1 "ian struck", "struck florida" (2):
    # matched 1 + 1/2*2 = 2 over 2+3+2 = 7 predicted and 3+2 = 5 gold bigrams.
    r2 = align_rouge(PRED, GOLD, pairs, rouge, 2)
    assert r2 == pytest.approx((2 / 7, 2 / 5, 1 / 3))


def test_no_alignment_beyond_two_days(rouge) -> None:
    pred = [Dated(d(2, 10), "Ian hit western Cuba")]  # 5 days after G0, same words
    assert align(pred, GOLD, rouge) == []
    assert align_rouge(pred, GOLD, [], rouge, 1) == (0.0, 0.0, 0.0)


def test_duplicates_by_shared_gold_event_and_by_near_copy(rouge) -> None:
    gold = [Dated(d(28), "Hurricane Ian made landfall in Florida")]
    pred = [Dated(d(28), "Ian made landfall in Florida"),          # A: F with gold 6/7
            Dated(d(28), "Stocks rallied on Wall Street"),         # nothing shared
            Dated(d(29), "Hurricane winds battered Florida towns"),  # B
            Dated(d(1, 10), "Rescue crews searched Sanibel homes"),  # X
            Dated(d(2, 10), "Rescue crews searched homes on Sanibel Island"),  # Y
            Dated(d(9, 10), "Rescue crews searched Sanibel homes")]  # Z: X a week later
    assert rouge.tokens(gold[0].text) == ["hurrican", "ian", "landfal", "florida"]
    assert rouge.tokens(pred[2].text) == ["hurrican", "wind", "batter", "florida", "town"]
    # B shares 2 of its 5 words with the gold (F = 2*2/9 = 0.44 >= 0.2) and reports it, as A
    # does, though A and B share only "florida" (F = 2/8 = 0.25 < 0.5): B repeats A.
    # Y shares 5 words with X (F = 10/11) a day later, near no gold event: Y repeats X.
    # Z is X's text 8 days later: a new line.
    assert duplicates(pred, gold, rouge) == [None, None, 0, None, 3, None]
    assert duplicates(PRED, GOLD, rouge) == [None, None, 1]  # P2 reports G1, as P1 does


def test_duplicates_leave_out_the_topic_words(rouge) -> None:
    gold = [Dated(d(27), "Hurricane Ian struck western Cuba")]
    pred = [Dated(d(27), "Hurricane Ian closed in on Florida"),
            Dated(d(28), "Warm oceans fed Hurricane Ian")]
    # With the topic words, each line shares "hurrican ian" with the gold event: F = 4/9 and
    # 2*2/10 = 0.4, both >= 0.2, so both seem to report it. Without them nothing is shared.
    assert duplicates(pred, gold, rouge) == [None, 0]
    topic = rouge.excluding(rouge.tokens("Hurricane Ian"))
    assert topic.tokens(pred[1].text) == ["warm", "ocean", "fed"]
    assert duplicates(pred, gold, topic) == [None, None]


STORY = GoldStory("ian", "Hurricane Ian", "What happened with Ian?", d(20), d(10, 10),
                  tuple(GoldEvent(g.day, g.text, ("doc",)) for g in GOLD))


def _event(day: str | None, text: str, verified: bool | None = True) -> dict:
    citation = None if verified is None else {"article_id": "a", "quote": text,
                                              "verified": verified}
    return {"day": day, "date_source": "published", "text": text, "sources": 1,
            "source_ids": ["a"], "citation": citation}


def test_score_story_counts_citations_undated_lines_and_duplicates(rouge) -> None:
    events = [_event("2022-09-27", "Ian hit Cuba"),
              _event("2022-09-29", "Ian struck Florida coast", verified=False),
              _event("2022-09-29", "Florida coast flooded", verified=None),
              _event(None, "Undated line")]
    row = score_story(STORY, events, rouge)
    s = row["scores"]
    # Cited: all but the third (no citation); verified: the first and the undated one.
    assert (s["events"], s["undated"], s["cited"], s["verified"]) == (4, 1, 3, 2)
    assert s["verified_share"] == 0.5
    assert s["duplicates"] == 1 and s["duplicate_rate"] == pytest.approx(1 / 3)
    # Dated lines 27, 29, 29 -> days {27, 29}; gold {27, 28}: exact P = R = 1/2.
    assert (s["date_p"], s["date_r"], s["date_f1_2d"]) == (0.5, 0.5, 1.0)
    assert s["rouge1_f"] == pytest.approx(9 / 17) and s["rouge2_f"] == pytest.approx(1 / 3)
    assert [line["aligned_to"] for line in row["lines"]] == [0, 1, None]
    assert [line["duplicate_of"] for line in row["lines"]] == [None, None, 1]
    # Per gold event: covered within 2 days, and the recall of its words: G0 3/4 of 4 on the
    # same day; G1 3 of 3 words a day off -> 1/2.
    assert [g["rouge1_recall"] for g in row["gold"]] == pytest.approx([0.75, 0.5])
    assert all(g["covered_2d"] for g in row["gold"])


def test_summary_and_sign_tests(rouge) -> None:
    good = score_story(STORY, [_event("2022-09-27", "Ian hit Cuba"),
                               _event("2022-09-28", "Ian struck Florida")], rouge)
    poor = score_story(STORY, [_event("2022-09-21", "Ian formed")], rouge)
    ours = [{"system": "ours", "id": "ian", "latency_ms": 100.0, **good}]
    base = [{"system": "retrieval", "id": "ian", "latency_ms": 300.0, **poor}]
    summary = summarize(ours)
    assert summary["date"]["f1"] == 1.0 and summary["verified"] == 1.0
    assert summary["latency_ms"]["p50"] == 100.0 and summary["duplicate_rate"] == 0.0
    tests = sign_tests(base, ours)
    # Both gold events are covered by ours only (the baseline's one line is 6 days early):
    # 2 of 2 flips, two-sided p = 2 * 0.5^2.
    assert tests["events"]["covered ±2 days"] == {"better": 2, "worse": 0, "ties": 0, "p": 0.5}
    by = tests["stories_by_measure"]
    assert by["date F1"]["better"] == 1 and by["latency ms"]["better"] == 1
    assert by["duplicate-event rate"] == {"better": 0, "worse": 0, "ties": 1, "p": 1.0}
