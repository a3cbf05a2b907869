"""``python -m eval timeline`` end to end on a tiny corpus, with the hashing stand-in for the
model (tests/fakes.py): report files, the baseline's lines, the cached index reused, ours
beside the baseline with sign tests (a stand-in ``RagSystem.timeline``), clear errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fakes import HashingEmbedder
from typer.testing import CliRunner

import eval.cache
from eval.cli import app
from rag.system import RagSystem

ARTICLES = [
    ("w1", "2022-03-01", "Storm damages Lowport harbour wall",
     "A winter storm damaged the Lowport harbour wall on Monday. Waves broke through two "
     "sections of the old stone wall and flooded the quay."),
    ("w2", "2022-03-04", "Lowport council votes to repair the harbour wall",
     "The Lowport council voted on Thursday to repair the harbour wall. The repair of the wall "
     "will cost two million pounds, the council said."),
    ("w3", "2022-03-10", "Repair work begins on Lowport harbour wall",
     "Builders began repair work on the Lowport harbour wall on Thursday. The harbour stays "
     "closed to boats while the wall is rebuilt."),
    ("w4", "2022-03-20", "Lowport harbour reopens after wall repairs",
     "The Lowport harbour reopened on Sunday after the wall repairs ended. Fishing boats "
     "returned to the quay behind the new harbour wall."),
    ("x1", "2022-02-01", "Lowport plans a harbour festival",
     "Lowport will hold a harbour festival in the summer. The harbour wall will be lit."),
    ("x2", "2022-03-05", "Central bank raises interest rates",
     "The central bank raised interest rates by a quarter point on Saturday."),
    ("x3", "2022-03-12", "Lowport football club wins the cup",
     "Lowport football club won the county cup on Saturday."),
]
EVENTS = [("2022-02-28", "A storm broke through the Lowport harbour wall.", ["w1"]),
          ("2022-03-03", "The council voted to repair the harbour wall.", ["w2"]),
          ("2022-03-10", "Builders began repairing the harbour wall.", ["w3"]),
          ("2022-03-20", "The harbour reopened after the repairs.", ["w4"])]


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A corpus and a gold file of one story; the harness builds indexes with the stand-in."""
    monkeypatch.setattr(eval.cache, "get_embedder", lambda *a, **k: HashingEmbedder())
    corpus, gold = tmp_path / "corpus.jsonl", tmp_path / "gold.jsonl"
    corpus.write_text("".join(json.dumps({"doc_id": i, "title": t, "published_at": day,
                                          "source": "lowport.example", "text": text}) + "\n"
                              for i, day, t, text in ARTICLES))
    gold.write_text(json.dumps({
        "id": "lowport-wall", "topic": "Lowport harbour wall",
        "query": "What happened to the Lowport harbour wall?", "since": "2022-02-28",
        "until": "2022-03-20", "events": [{"date": day, "text": text, "doc_ids": ids}
                                          for day, text, ids in EVENTS]}) + "\n")
    return SimpleNamespace(corpus=corpus, gold=gold, cache=tmp_path / "cache", tmp=tmp_path)


def _run(files, out, *extra: str):
    return CliRunner().invoke(app, ["timeline", "--corpus", str(files.corpus), "--gold",
                                    str(files.gold), "--out", str(out), "--cache-dir",
                                    str(files.cache), *extra])


def test_the_baseline_is_scored_and_the_cached_index_reused(files) -> None:
    out = files.tmp / "runs" / "base"
    result = _run(files, out, "--baseline", "retrieval", "--k", "4")
    assert result.exit_code == 0, result.output
    assert "| date F1 ±2 days |" in result.output
    report = json.loads((out / "report.json").read_text())
    assert list(report["systems"]) == ["retrieval"] and "sign_tests" not in report
    assert report["run"]["index_build"].startswith("added 7,")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["lowport-wall"]
    lines = rows[0]["timeline"]
    # k lines, oldest first, inside the window (the February festival is left out), each its
    # article's publication day and a sentence quoted from it.
    assert 1 <= len(lines) <= 4
    days = [e["day"] for e in lines]
    assert days == sorted(days) and all("2022-02-28" <= day <= "2022-03-20" for day in days)
    texts = {i: text for i, _, _, text in ARTICLES}
    for e in lines:
        assert e["date_source"] == "published" and e["citation"]["verified"] is True
        assert e["text"] in texts[e["citation"]["article_id"]]
    summary = report["systems"]["retrieval"]
    assert summary["stories"] == 1 and summary["verified"] == 1.0
    assert summary["date_2d"]["f1"] is not None and summary["latency_ms"]["p95"] > 0
    assert "| retrieval | lowport-wall |" in (out / "report.md").read_text()
    # Run again: the index comes from the cache, nothing embedded.
    again = _run(files, files.tmp / "runs" / "again", "--baseline", "retrieval", "--k", "4")
    assert again.exit_code == 0, again.output
    report2 = json.loads((files.tmp / "runs" / "again" / "report.json").read_text())
    assert report2["run"]["index_key"] == report["run"]["index_key"]
    assert report2["run"]["index_build"].startswith("added 0, updated 0, skipped 7")


def test_ours_beside_the_baseline_with_sign_tests(files, monkeypatch) -> None:
    asked = []

    def timeline(self, topic, since=None, until=None, *, as_of=None):
        asked.append((topic, since, until, as_of))
        events = [{"day": day, "date_source": "stated", "text": text, "sources": 1,
                   "source_ids": ids, "citation": {"article_id": ids[0], "quote": text,
                                                   "verified": True}}
                  for day, text, ids in EVENTS]
        return SimpleNamespace(to_json=lambda: {"timeline": {"topic": topic, "since": since,
                                                             "until": until, "events": events}})

    monkeypatch.setattr(RagSystem, "timeline", timeline, raising=False)
    out = files.tmp / "runs" / "both"
    result = _run(files, out, "--k", "4")
    assert result.exit_code == 0, result.output
    assert asked[-1] == ("Lowport harbour wall", "2022-02-28", "2022-03-20", "2022-03-20")
    report = json.loads((out / "report.json").read_text())
    assert list(report["systems"]) == ["ours", "retrieval"]
    ours = report["systems"]["ours"]
    assert ours["date"]["f1"] == 1.0 and ours["rouge1"]["f1"] == pytest.approx(1.0)
    assert ours["duplicate_rate"] == 0.0 and ours["verified"] == 1.0
    tests = report["sign_tests"]["ours vs retrieval"]
    assert tests["gold_events"] == 4 and set(tests["events"]) == {"covered ±2 days",
                                                                   "ROUGE-1 recall"}
    md = (out / "report.md").read_text()
    assert "| measure | ours | retrieval |" in md and "## Sign tests: ours vs retrieval" in md


def test_without_rag_timeline_ours_is_refused_with_a_clear_error(files, monkeypatch) -> None:
    monkeypatch.delattr(RagSystem, "timeline", raising=False)
    result = _run(files, files.tmp / "runs" / "ours")
    assert result.exit_code == 1
    assert "no RagSystem.timeline" in result.output and "--baseline retrieval" in result.output


def test_bad_input_is_named(files) -> None:
    result = _run(files, files.tmp / "runs" / "x", "--baseline", "bm25")
    assert result.exit_code == 1 and "--baseline must be retrieval, not 'bm25'" in result.output
    files.gold.write_text(files.gold.read_text().replace('"w4"', '"nope"'))
    result = _run(files, files.tmp / "runs" / "y", "--baseline", "retrieval")
    assert result.exit_code == 1
    assert "1 article(s) the gold timelines cite are not in" in result.output
