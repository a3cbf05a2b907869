"""Answers read back from their JSON contract (rag/answer_json.py): every kind of answer
round-trips, and JSON that is not an Answer's is refused naming the field."""

from __future__ import annotations

import json

import pytest
from support import REPO

from rag import Config, RagSystem
from rag.answer_json import answer_from_json
from rag.types import Answer, Citation, Passage, SourceRef


@pytest.fixture(scope="module")
def week(tmp_path_factory, fake_embedder) -> RagSystem:
    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("week"),
                              reference_date="2022-09-11"), embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    return system


def round_trip(answer) -> None:
    data = json.loads(json.dumps(answer.to_json()))
    again = answer_from_json(data, answer.question)
    assert again.to_json() == answer.to_json()
    assert again.question == answer.question


def test_answers_briefings_and_timelines_round_trip(week: RagSystem, fake_sample_system) -> None:
    briefing = week.brief("7d")
    assert briefing.briefing.stories
    round_trip(briefing)
    round_trip(week.ask("What happened with the Lakeside ferry strike?", timeline=True))
    round_trip(fake_sample_system.ask("Where is the nuclear plant being built?"))
    round_trip(week.ask("Who won the cup final?"))
    copy = SourceRef("b", "Copy", "Wire", "https://wire.example/b", "2022-09-10")
    cited = Citation(1, "a", "Ferry", "The strike ended.", 0, 17, "Post", None, None, False,
                     (copy,))
    round_trip(Answer(question="q", text="The strike ended. [1]", short_answer="ended",
                      short_answer_score=0.25, citations=[cited], notes=["n"],
                      unsupported=["u"], draft="d", fallback="f", backend="llm",
                      timings_ms={"total": 3.0}))


def test_an_undated_timeline_round_trips_and_a_bad_one_is_refused(fake_sample_system) -> None:
    undated = fake_sample_system.ask("What happened with Iran's water polo team?")
    assert undated.timeline.undated and undated.timeline.note
    assert any(e.stated for e in undated.timeline.events)
    round_trip(undated)
    data = undated.to_json()
    data["timeline"]["events"][0]["day"] = "2025-02-27"  # a day with "undated"
    with pytest.raises(ValueError, match="an undated event has no day"):
        answer_from_json(data, "q")
    data["timeline"]["events"][0].update(day=None, date_source="stated")
    with pytest.raises(ValueError, match="an event's day is an ISO date"):
        answer_from_json(data, "q")


def test_a_timeline_stored_before_undated_events_still_reads() -> None:
    """JSON written before the ``note`` and ``stated`` keys existed reads as it did."""
    cited = Citation(1, "a", "Tunnel", "The tunnel closed.", 0, 18)
    data = {"answer": "- 2022-08-29 (stated): The tunnel closed. [1] (1 source)",
            "short_answer": None, "short_answer_score": None, "abstained": False,
            "citations": [cited.to_json()], "passages": [], "timings_ms": {},
            "backend": "extractive", "notes": [], "unsupported": [], "draft": None,
            "fallback": None, "briefing": None,
            "timeline": {"topic": "the tunnel", "since": None, "until": None, "events": [
                {"day": "2022-08-29", "date_source": "stated", "text": cited.quote,
                 "sources": 1, "source_ids": ["a"], "citation": cited.to_json()}]}}
    answer = answer_from_json(data, "q")
    assert answer.timeline.note is None and answer.timeline.events[0].stated is None
    assert answer.to_json()["timeline"] == data["timeline"]


def test_a_named_collection_survives_the_round_trip() -> None:
    """A stored briefing of a named collection's feed still names that collection."""
    cited = Citation(1, "a", "Ferry", "The strike ended.", 0, 17, collection="desk")
    passage = Passage("a", "Ferry", "The strike ended.", 0.5, 0, 17, collection="desk")
    answer = Answer(question="q", text="The strike ended. [1]", citations=[cited],
                    passages=[passage])
    again = answer_from_json(json.loads(json.dumps(answer.to_json())), "q")
    assert again.citations[0].collection == again.passages[0].collection == "desk"
    round_trip(answer)


@pytest.mark.parametrize(("change", "named"), [
    (lambda d: d.update(answer=None), "answer: expected str"),
    (lambda d: d.update(abstained="no"), "abstained: expected bool"),
    (lambda d: d["citations"][0].update(start="0"), "start: expected int"),
    (lambda d: d["citations"][0].update(n=True), "n: expected int"),
    (lambda d: d["briefing"]["stories"][0].update(day="Friday"), "an ISO date"),
    (lambda d: d["briefing"].update(stories={}), "stories: expected list"),
    (lambda d: d["passages"].append("text"), "a passage is not a JSON object"),
    (lambda d: d["timings_ms"].update(total="fast"), "timings_ms.total: expected number"),
])
def test_json_that_is_not_an_answers_is_refused_by_name(week: RagSystem, change, named) -> None:
    data = week.brief("7d").to_json()
    change(data)
    with pytest.raises(ValueError, match=named):
        answer_from_json(data, "q")
