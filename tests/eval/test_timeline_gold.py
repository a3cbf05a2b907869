"""The gold timelines (eval/timelines/gold.jsonl): well formed, every date inside its story's
window, every doc id an article of RealTime QA's corpus (../shared; skipped with a reason where
it is absent, failed in CI)."""

from __future__ import annotations

import json

import pytest

from eval.timeline_gold import GOLD, GoldStory, load_gold
from rag.errors import BadInputError


def test_gold_set_has_at_least_8_stories_of_2022_with_5_to_12_events() -> None:
    stories = load_gold(GOLD)
    assert len(stories) >= 8
    for s in stories:
        assert 5 <= len(s.events) <= 12, s.id
        assert s.since.year == s.until.year == 2022, s.id
        assert (s.until - s.since).days >= 14, f"{s.id} spans less than two weeks"
        assert all(s.since <= e.date <= s.until for e in s.events), s.id
        assert [e.date for e in s.events] == sorted(e.date for e in s.events), s.id
        assert s.topic.strip() and s.query.rstrip().endswith("?"), s.id


def test_every_gold_doc_id_is_in_the_corpus_and_dated_in_2022(realtimeqa_dir) -> None:
    published = {}
    with open(realtimeqa_dir / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            published[row["doc_id"]] = row["published_at"]
    stories = load_gold(GOLD)
    missing = [(s.id, d) for s in stories for e in s.events for d in e.doc_ids
               if d not in published]
    assert missing == []
    # An article reports what happened before it (or on its day) and falls in 2022.
    for s in stories:
        for e in s.events:
            for d in e.doc_ids:
                assert published[d].startswith("2022"), (s.id, d)


@pytest.mark.parametrize(("change", "message"), [
    ({"since": "2022-10-01"}, "outside [2022-10-01, 2022-10-05]"),
    ({"until": "June"}, "'June' is not an ISO date"),
    ({"events": [{"date": "2022-09-28", "text": "x", "doc_ids": []}]}, "doc_ids must be"),
    ({"query": ""}, "missing field 'query'"),
])
def test_a_bad_story_is_refused_naming_the_field(change, message) -> None:
    record = {"id": "ian", "topic": "Ian", "query": "What happened?", "since": "2022-09-23",
              "until": "2022-10-05",
              "events": [{"date": "2022-09-28", "text": "Landfall.", "doc_ids": ["d1"]}]}
    with pytest.raises(BadInputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        GoldStory.from_record({**record, **change})


def test_repeated_story_ids_and_bad_json_are_refused(tmp_path) -> None:
    line = json.dumps({"id": "a", "topic": "t", "query": "q?", "since": "2022-01-01",
                       "until": "2022-01-31", "events": [
                           {"date": "2022-01-02", "text": "x", "doc_ids": ["d"]}]})
    path = tmp_path / "gold.jsonl"
    path.write_text(line + "\n" + line + "\n")
    with pytest.raises(BadInputError, match="story ids repeat"):
        load_gold(path)
    path.write_text("{not json\n")
    with pytest.raises(BadInputError, match=r"gold.jsonl:1: not JSON"):
        load_gold(path)
