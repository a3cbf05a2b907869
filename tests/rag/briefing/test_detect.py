"""Which questions ask for a briefing (the period's news, no topic): both directions, and
RealTime QA's questions are answered as before."""

from __future__ import annotations

import json

import pytest
from support import REPO

from rag.briefing import asks_for_briefing
from rag.timeline import asks_for_timeline

BRIEFING = [
    "What's new?", "what is new today", "What's new this week?", "What's new since yesterday?",
    "What's the news this week?", "What is the latest news?", "What are the top stories today?",
    "Brief me", "Brief me on the news", "Please brief me.", "Can you brief me?", "news roundup",
    "Give me a news briefing for the past 24 hours", "Catch me up on the news",
    "What's new in the world this week?", "Today's headlines", "Top stories this week",
    "My daily briefing", "Hey, what's new since Monday?",
]
NOT_BRIEFING = [
    "What's new with Iran's water polo team?", "What is the news on Ukraine?",
    "Brief me on the Artemis launch", "Who is new at Apple?", "Which new law passed this week?",
    "What new rules did the FAA announce this week?", "What's the news about the rail strike?",
    "Which news outlet broke the story?", "What happened this week in Congress?",
    "Where is the nuclear plant being built?", "What's new in the iPhone 14?",
]


@pytest.mark.parametrize("question", BRIEFING)
def test_briefing_requests_are_told(question: str) -> None:
    assert asks_for_briefing(question)


@pytest.mark.parametrize("question", NOT_BRIEFING)
def test_questions_with_a_topic_are_not(question: str) -> None:
    assert not asks_for_briefing(question)


def test_a_topic_after_whats_new_is_still_a_timeline() -> None:
    assert asks_for_timeline("What's new with Iran's water polo team?")


def test_no_question_of_the_repository_sets_is_a_briefing() -> None:
    questions = []
    for path in (REPO / "eval" / "questions").rglob("*.jsonl"):
        questions += [json.loads(line).get("question", "") for line in
                      path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(questions) > 100
    assert [q for q in questions if q and asks_for_briefing(q)] == []


def test_no_realtimeqa_dev_question_is_a_briefing(realtimeqa_dir) -> None:
    """RealTime QA's questions say "this week" and "new" while asking for one fact."""
    questions = [json.loads(line)["question"] for line in
                 (realtimeqa_dir / "questions.dev.jsonl").read_text().splitlines()]
    assert sum("this week" in q for q in questions) > 20
    assert [q for q in questions if asks_for_briefing(q)] == []
