"""Which questions ask for a timeline (rag/timeline/detect.py), in both directions, and the
topic left once the asking words are taken off."""

from __future__ import annotations

import json

import pytest
from support import REPO

from rag.timeline import asks_for_timeline, topic_of
from ui import EXAMPLE_QUESTIONS

TIMELINE = [
    "What happened with Iran's water polo team?",
    "What happened with Iran's water polo team since June?",
    "what happened in Ukraine this week",
    "What has happened to Twitter since Musk bought it?",
    "What happened at the Oscars?",
    "What happened?",
    "Give me a timeline of the Artemis I launch",
    "Timeline of the heat wave in Europe",
    "Iran water polo timeline",
    "Can you give me a timeline of the strike?",
    "What's the latest on the Artemis I launch?",
    "What is the latest news about the heat wave?",
    "What are the latest developments in the Ukraine war?",
    "Developments in the rail strike over the past month",
    "How has the heat wave in Europe unfolded?",
    "How did the rail strike play out?",
    "What's new with the rail strike?",
    "What is going on with inflation lately?",
    "News on the harbour tunnel since September",
    "Summarize the rail strike over the past few weeks",
    "Catch me up on the harbour tunnel",
    "What has been happening in Sri Lanka this month?",
]
NOT_TIMELINE = [
    "When did the storm hit Florida?",
    "When did X happen?",
    "What happened to the score?",  # one thing, not a story: debatable, so not a timeline
    "What happened to the money?",
    "Which airline's pilots picketed this week?",
    "Which country is now bankrupt, according to a statement this week?",
    "Broadway's biggest stars were recognized this week at which awards show?",
    "What percentage of adults are behind on a bill, according to the latest census data?",
    "What is the name of the new daily news podcast?",
    "Who won the water polo match between Iran and Japan?",
    "How many people died in the earthquake this week?",
    "Why did the Fed raise rates since June?",
    "Did anything happen with the strike this week?",
    "Which company delayed its timeline for the launch?",
    "Where is the nuclear plant being built?",
    "The Federal Reserve raised its rate by three-quarters of a point. This was the highest "
    "hike since:",
]


@pytest.mark.parametrize("question", TIMELINE)
def test_timeline_questions_are_told(question: str) -> None:
    assert asks_for_timeline(question)


@pytest.mark.parametrize("question", NOT_TIMELINE)
def test_factoid_questions_are_not(question: str) -> None:
    assert not asks_for_timeline(question)


def test_no_question_of_the_repository_sets_is_a_timeline() -> None:
    """The questions eval scores (the sample set, the typed set) and the page's examples are
    answered as before."""
    questions = list(EXAMPLE_QUESTIONS)
    for path in (REPO / "eval" / "questions").rglob("*.jsonl"):
        questions += [json.loads(line).get("question", "") for line in
                      path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(questions) > 100
    assert [q for q in questions if q and asks_for_timeline(q)] == []


def test_no_realtimeqa_dev_question_is_a_timeline(realtimeqa_dir) -> None:
    """RealTime QA's questions say "this week" and "since" while asking for one fact."""
    questions = [json.loads(line)["question"] for line in
                 (realtimeqa_dir / "questions.dev.jsonl").read_text().splitlines()]
    assert sum("this week" in q for q in questions) > 20
    assert [q for q in questions if asks_for_timeline(q)] == []


@pytest.mark.parametrize(("question", "phrase", "topic"), [
    ("What happened with Iran's water polo team since June?", "since June",
     "Iran's water polo team"),
    ("What happened with Iran's water polo team?", None, "Iran's water polo team"),
    ("Give me a timeline of the Artemis I launch", None, "the Artemis I launch"),
    ("What's the latest on the rail strike?", None, "the rail strike"),
    ("What are the latest developments in the Ukraine war?", None, "the Ukraine war"),
    ("How has the heat wave in Europe unfolded this week?", "this week",
     "the heat wave in Europe"),
    ("News on the harbour tunnel since September", "since September", "the harbour tunnel"),
    ("Norrvik harbour tunnel", None, "Norrvik harbour tunnel"),
    ("What happened?", None, "What happened?"),  # nothing left: the question itself
])
def test_the_topic_is_the_question_without_its_asking_words(question: str, phrase: str | None,
                                                           topic: str) -> None:
    assert topic_of(question, phrase) == topic
