"""Ingest with real FAISS: skip unchanged, replace changed, survive bad input. The logic runs on
the fake embedder; the sample corpus re-ingest runs on the real model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag import SAMPLE_CORPUS, Config, RagSystem
from rag.articles import Article
from rag.errors import BadInputError
from rag.ingest import IngestReport

STORIES = {
    "storm": ("Storm floods coastal towns",
              "A strong storm flooded three coastal towns on Tuesday. The harbour wall held."),
    "rates": ("Central bank raises rates",
              "The central bank raised interest rates by half a point. Inflation stays high."),
    "match": ("Local team wins final",
              "The local football team won the cup final 2-1 after extra time on Sunday."),
}


@pytest.fixture
def system(tmp_path: Path, fake_embedder) -> RagSystem:
    return RagSystem(Config(index_dir=tmp_path / "index"), embedder=fake_embedder)


def write_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, (title, text) in STORIES.items():
        (root / f"{name}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return root


def assert_consistent(system: RagSystem) -> None:
    """Every indexed article has chunks whose text is its own text at their offsets, and the
    FAISS index holds exactly those chunks."""
    articles = system.index.list_articles()
    total = 0
    for article, n in articles:
        chunks = system.index.chunks_of(article.id)
        assert len(chunks) == n > 0
        for c in chunks:
            assert c.text == article.text[c.start:c.end]
        total += n
    assert system.stats().chunks == total
    hits = system.retriever.index.search(system.embedder.embed_query("news"), k=1000)
    assert len(hits) == total


def titles(system: RagSystem) -> list[str]:
    return sorted(a.title for a, _ in system.index.list_articles())


def test_ingest_then_reingest_is_a_no_op(system: RagSystem, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "news")
    first = system.ingest_paths([folder])
    assert (first.added, first.updated, first.skipped, first.failed) == (3, 0, 0, 0)
    assert first.embedded == first.chunks >= 3
    assert_consistent(system)
    faiss_bytes = (system.config.index_dir / "vectors.faiss").read_bytes()

    second = system.ingest_paths([folder])
    assert (second.added, second.updated, second.skipped, second.embedded) == (0, 0, 3, 0)
    assert (system.config.index_dir / "vectors.faiss").read_bytes() == faiss_bytes
    assert "skipped 3 unchanged" in second.summary()


def test_edited_file_replaces_its_article(system: RagSystem, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "news")
    system.ingest_paths([folder])
    old_id = next(a.id for a, _ in system.index.list_articles() if a.title.startswith("Storm"))
    (folder / "storm.txt").write_text(
        "Storm floods coastal towns\n\nThe storm flooded five towns; the harbour wall broke.",
        encoding="utf-8")
    report = system.ingest_paths([folder])
    assert (report.added, report.updated, report.skipped) == (0, 1, 2)
    assert system.index.get_article(old_id) is None
    assert system.index.chunks_of(old_id) == []
    assert len(titles(system)) == 3
    [hit] = system.retriever.retrieve("Did the harbour wall break?", k=1)
    assert "wall broke" in hit.chunk.text
    assert_consistent(system)


def test_same_id_or_url_replaces(system: RagSystem, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    records = [
        {"doc_id": "d1", "title": "Bridge opens", "text": "The new bridge opened on Monday."},
        {"title": "Museum reopens", "text": "The museum reopened after repairs.",
         "url": "https://news.example/museum"},
    ]
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    assert system.ingest_paths([feed]).added == 2

    # Same doc_id from another file; same url under a new doc_id.
    update = tmp_path / "update.json"
    update.write_text(json.dumps([
        {"doc_id": "d1", "title": "Bridge opens", "text": "The new bridge opened on Tuesday."},
        {"doc_id": "m2", "title": "Museum reopens", "text": "The museum reopened in May.",
         "url": "https://news.example/museum"},
    ]), encoding="utf-8")
    report = system.ingest_paths([update])
    assert (report.added, report.updated, report.skipped) == (0, 2, 0)
    texts = sorted(a.text for a, _ in system.index.list_articles())
    assert texts == ["The museum reopened in May.", "The new bridge opened on Tuesday."]
    assert system.index.article_urls() == {"https://news.example/museum": "m2"}
    assert_consistent(system)


def test_metadata_change_reuses_vectors(system: RagSystem) -> None:
    title, text = STORIES["rates"]
    system.ingest([Article(title=title, text=text, id="r1", author="A. Writer")])
    report = system.ingest([Article(title=title, text=text, id="r1", author="B. Editor")])
    assert (report.updated, report.embedded) == (1, 0)
    assert system.index.get_article("r1").author == "B. Editor"  # type: ignore[union-attr]


def test_delete(system: RagSystem, tmp_path: Path) -> None:
    system.ingest_paths([write_folder(tmp_path / "news")])
    victim = next(a.id for a, _ in system.index.list_articles() if a.title.startswith("Local"))
    assert system.delete([victim, "no-such-id"]) == 1
    assert titles(system) == ["Central bank raises rates", "Storm floods coastal towns"]
    assert all(h.article.id != victim for h in system.retriever.retrieve("football cup final"))
    assert system.delete([victim]) == 0
    assert_consistent(system)


def test_bad_files_are_skipped_and_the_rest_ingested(system: RagSystem, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "news")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.md").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    (folder / "latin.txt").write_bytes(bytes(range(0x80, 0x100)) * 20)
    (folder / "broken.json").write_text('{"title": "x", "text": ', encoding="utf-8")
    (folder / "mixed.jsonl").write_text(
        json.dumps({"title": "Good line", "text": "A good line of news."}) + "\nnot json\n",
        encoding="utf-8")
    (folder / "hostile.html").write_text(
        "<html><body><script>alert(1)</script><img src=x onerror=alert(2)>"
        "<article><p>The city council approved the new park budget after a long debate on "
        "Thursday evening, the mayor said.</p></article></body></html>", encoding="utf-8")
    report = system.ingest_paths([folder])
    failed = {Path(f.input.split(" line ")[0]).name: f.reason for f in report.failures}
    assert set(failed) == {"empty.txt", "binary.md", "latin.txt", "broken.json", "mixed.jsonl"}
    assert report.added == 5  # three stories, the good JSONL line, the HTML page
    assert_consistent(system)
    for article, _ in system.index.list_articles():
        assert "alert" not in article.text and "<" not in article.text


def test_a_missing_path_is_a_bad_input_naming_it(system: RagSystem, tmp_path: Path) -> None:
    """A typo'd path raises (the README's promise) before anything is ingested; a folder
    that exists but holds nothing readable is still a reported failure."""
    folder = write_folder(tmp_path / "news")
    typo = tmp_path / "nwes" / "storm.txt"
    with pytest.raises(BadInputError, match=f"^no such file or folder: {re.escape(str(typo))}$"):
        system.ingest_paths([folder, typo])
    assert system.stats().articles == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no .txt" in system.ingest_paths([empty]).failures[0].reason


def test_crash_between_batches_keeps_committed_batches(system: RagSystem, tmp_path: Path,
                                                       monkeypatch) -> None:
    articles = [Article(title=f"Story {i}", text=f"Event number {i} happened in town {i}.")
                for i in range(6)]
    real_embed = system.embedder.embed
    calls = {"n": 0}

    def interrupted(texts, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second batch
        return real_embed(texts, **kw)

    monkeypatch.setattr(system.embedder, "embed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        system.ingest(articles, commit_every=2)
    monkeypatch.undo()
    assert system.stats().articles == 2
    system.index.close()

    reopened = RagSystem(system.config, embedder=system.embedder)
    assert_consistent(reopened)
    report = reopened.ingest(articles, commit_every=2)
    assert (report.added, report.skipped, report.embedded) == (4, 2, 4)
    assert reopened.stats().articles == 6


def test_sample_corpus_reingest_skips_everything(writable_sample_system: RagSystem) -> None:
    report: IngestReport = writable_sample_system.ingest_paths([SAMPLE_CORPUS])
    assert (report.added, report.updated, report.skipped, report.embedded) == (0, 0, 7, 0)
    assert_consistent(writable_sample_system)


def test_progress_callback(system: RagSystem) -> None:
    seen: list[tuple[int, int]] = []
    articles = [Article(title=f"T{i}", text=f"Text {i}.") for i in range(3)]
    system.ingest(articles, commit_every=2, progress=lambda d, t, _: seen.append((d, t)))
    assert seen == [(2, 3), (3, 3)]


def test_reopened_index_answers_the_same(system: RagSystem, tmp_path: Path) -> None:
    system.ingest_paths([write_folder(tmp_path / "news")])
    questions = ["Did the harbour wall hold?", "How much did rates rise?", "Who won the final?"]
    before = [[(h.article.id, h.chunk.start, round(h.score, 5))
               for h in system.retriever.retrieve(q, k=3)] for q in questions]
    answers = [system.ask(q).text for q in questions]
    system.index.close()
    reopened = RagSystem(system.config, embedder=system.embedder)
    after = [[(h.article.id, h.chunk.start, round(h.score, 5))
              for h in reopened.retriever.retrieve(q, k=3)] for q in questions]
    assert after == before
    assert [reopened.ask(q).text for q in questions] == answers


def test_edited_file_named_another_way_still_replaces(system: RagSystem, tmp_path: Path,
                                                       monkeypatch) -> None:
    folder = write_folder(tmp_path / "news")
    monkeypatch.chdir(tmp_path)
    system.ingest_paths(["news"])  # relative, as typed after `rag ingest`
    (folder / "rates.txt").write_text("Central bank raises rates\n\nRates rose a full point.",
                                      encoding="utf-8")
    report = system.ingest_paths([folder / ".." / "news" / "rates.txt"])
    assert (report.added, report.updated) == (0, 1)
    assert len(titles(system)) == 3


# --- issue 17: lose nothing -------------------------------------------------------------------
def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


ALPHA = {"doc_id": "a1", "title": "Alpha", "text": "The Alphaville dam burst on Monday."}
BETA = {"doc_id": "b1", "title": "Beta", "text": "The Betatown orchestra played on Tuesday."}
NEW = {"doc_id": "n1", "title": "New", "text": "The Newbury market sold pumpkins."}


def test_prepending_a_jsonl_record_loses_no_article(system: RagSystem, tmp_path: Path) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", [ALPHA, BETA])
    assert system.ingest_paths([feed]).added == 2
    _jsonl(feed, [NEW, ALPHA, BETA])  # `sed -i '1i ...'`: every record moves down a line
    report = system.ingest_paths([feed])
    assert (report.added, report.updated, report.skipped) == (1, 0, 2), report.summary()
    assert sorted(a.id for a, _ in system.index.list_articles()) == ["a1", "b1", "n1"]
    assert_consistent(system)


def test_prepending_a_record_without_id_loses_no_article(system: RagSystem,
                                                         tmp_path: Path) -> None:
    strip = [{k: v for k, v in r.items() if k != "doc_id"} for r in (NEW, ALPHA, BETA)]
    feed = _jsonl(tmp_path / "feed.jsonl", strip[1:])
    assert system.ingest_paths([feed]).added == 2
    _jsonl(feed, strip)
    system.ingest_paths([feed])
    assert titles(system) == ["Alpha", "Beta", "New"]


def test_editing_a_record_with_an_id_in_place_still_replaces_it(system: RagSystem,
                                                                tmp_path: Path) -> None:
    feed = _jsonl(tmp_path / "feed.jsonl", [ALPHA, BETA])
    system.ingest_paths([feed])
    _jsonl(feed, [{**ALPHA, "text": "The Alphaville dam held on Monday."}, BETA])
    report = system.ingest_paths([feed])
    assert (report.updated, report.skipped) == (1, 1)
    assert "held" in system.index.get_article("a1").text


def test_one_deeply_nested_json_file_does_not_stop_the_others(system: RagSystem,
                                                              tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "news")
    (folder / "x.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (folder / "y.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n" + json.dumps(BETA),
                                    encoding="utf-8")
    report = system.ingest_paths([folder])
    assert report.added == 4  # the three stories and Beta
    reasons = {Path(f.input.split(" line ")[0]).name: f.reason for f in report.failures}
    assert set(reasons) == {"x.json", "y.jsonl"}
    assert all("nested too deeply" in r for r in reasons.values())
