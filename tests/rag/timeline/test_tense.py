"""The order of an undated article's events, read from its sentences' tenses with the spaCy
pipeline (rag/timeline/tense.py): handmade sentences, no embedding model."""

from __future__ import annotations

import pytest

from rag.timeline.tense import BEFORE, NOW, PAST, REMARK, sentence_tiers, story_order

TIERS = [
    # past perfect, and "had" as the main verb: before the reported happening
    ("Iran had beaten Uzbekistan 33-9 in the group stage.", BEFORE),
    ("The team had been beaten twice before the final.", BEFORE),
    ("Iran had impressive victories against South Korea and Chinese Taipei.", BEFORE),
    # what happened
    ("Iran narrowly lost to Japan 16-13 in the quarter-final.", PAST),
    ("The match was stopped twice because of the crowd.", PAST),
    ("Iran has won three of its four matches.", PAST),
    ("Iran did not score in the first half.", PAST),
    ("Goals from Nafari and Dehghan secured the victory.", PAST),
    # what was said about it, after it
    ("Coach Hossein Abdi noted the team could have performed better.", REMARK),
    ("Abdi emphasized the need to focus on securing points.", REMARK),
    ("He praised Indonesia's strong play and acknowledged the tournament's level.", REMARK),
    # what is happening or is to come
    ("The tournament runs until March 2 in Zhaoqing.", NOW),
    ("Fans eagerly await the team's next challenges.", NOW),
    ("Iran will face Japan again in the final.", NOW),
    ("Iran is set to face Pakistan in the semi-final.", NOW),
    ("The team is preparing for the knockout stage.", NOW),
    ("He says the team played well.", NOW),
    # no finite main verb: no tense
    ("Iran Falls to Japan in Thrilling Match", None),
]


@pytest.mark.parametrize(("sentence", "tier"), TIERS, ids=[s for s, _ in TIERS])
def test_each_sentence_s_tense_tier(sentence: str, tier: int | None) -> None:
    assert sentence_tiers([sentence]) == [tier]


def test_past_perfect_before_past_before_present() -> None:
    """The water polo story as an article tells it: the loss first, then the group stage it
    had won, then the tournament going on: told back in the order it happened."""
    told = ["Iran's national team narrowly lost to Japan 16-13.",
            "Iran had impressive victories against South Korea, Chinese Taipei and Uzbekistan.",
            "The tournament runs until March 2.",
            "Fans eagerly await the team's next challenges."]
    assert story_order(told) == [1, 0, 2, 3]


def test_a_happening_before_what_was_said_about_it() -> None:
    told = ["Iran defeated Indonesia 3-0 in the opening match.",
            "Coach Hossein Abdi noted the team could have performed better.",
            "Goals from Nafari, Gholizadeh and Dehghan secured the victory.",
            "He praised Indonesia's strong play.",
            "Iran aims to enhance its scoring in the next match."]
    assert story_order(told) == [0, 2, 1, 3, 4]


def test_the_article_s_order_stands_within_a_tense() -> None:
    told = ["The council voted on the plan.", "Residents protested outside.",
            "The mayor signed the order."]
    assert story_order(told) == [0, 1, 2]
    # Reversed, the article's order is still the order: nothing but tense moves a sentence.
    assert story_order(told[::-1]) == [0, 1, 2]


def test_a_sentence_without_a_tense_stays_after_the_one_before_it() -> None:
    told = ["Iran will play Japan in the final.",
            "A rematch of the 2023 final between the two sides.",  # no verb
            "Iran had beaten Japan in the group stage."]
    # The verbless sentence takes the future's tier: it stays after the final, not before it.
    assert story_order(told) == [2, 0, 1]
    assert story_order(["A day of rain.", "Iran lost."]) == [0, 1]  # first: read as past


def test_without_a_model_the_article_s_order() -> None:
    told = ["Iran lost to Japan.", "Iran had beaten Uzbekistan."]
    assert story_order(told, model=None) == [0, 1]
    assert story_order(told, model="") == [0, 1]
    assert story_order([]) == []
