"""Retrieval: RRF fusion order, diversity, reranking, BM25 persisted and updated with the index."""

from __future__ import annotations

import errno
import json

import pytest

from rag import Config, RagSystem
from rag.articles import Article
from rag.chunking import Chunk
from rag.index.base import Hit, SearchFilters
from rag.retrieval import Retriever, diversify, make_filters
from rag.retrieval.bm25 import POINTER
from rag.retrieval.fusion import best_of, reciprocal_rank_fusion
from rag.retrieval.rerank import get_reranker, rerank_top


def _hit(article_id: str, ordinal: int = 0, score: float = 0.0) -> Hit:
    a = Article(title=f"T {article_id}", text="Some text here.", id=article_id)
    return Hit(Chunk(a.id, ordinal, 0, 15, a.text, a.title), a, score)


def _ids(hits: list[Hit]) -> list[str]:
    return [h.article.id for h in hits]


# --- fusion, diversity, rerank order (logic) ------------------------------------------------
def test_rrf_ranks_agreement_first_and_scores_are_fused():
    dense = [_hit("a"), _hit("b"), _hit("c")]
    bm25 = [_hit("b"), _hit("d"), _hit("a")]
    fused = reciprocal_rank_fusion([(dense, 1.0), (bm25, 1.0)], k=60)
    # b: 1/62 + 1/61; a: 1/61 + 1/63; d: 1/62; c: 1/63
    assert _ids(fused) == ["b", "a", "d", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[-1].score == pytest.approx(1 / 63)


def test_rrf_weights_and_k_change_the_order():
    dense = [_hit("a"), _hit("b")]
    bm25 = [_hit("b"), _hit("a")]
    assert _ids(reciprocal_rank_fusion([(dense, 2.0), (bm25, 1.0)])) == ["a", "b"]
    assert _ids(reciprocal_rank_fusion([(dense, 1.0), (bm25, 2.0)])) == ["b", "a"]
    # Same article, different chunks, are different passages.
    fused = reciprocal_rank_fusion([([_hit("a", 0), _hit("a", 1)], 1.0)], k=0)
    assert [h.chunk.ordinal for h in fused] == [0, 1] and fused[0].score == 1.0
    with pytest.raises(ValueError, match="rrf k"):
        reciprocal_rank_fusion([(dense, 1.0)], k=-1)


def test_best_of_keeps_each_hit_once_with_its_best_score():
    whole = [_hit("a", score=0.9), _hit("b", score=0.5)]
    period = [_hit("c", score=0.7), _hit("b", score=0.8)]
    merged = best_of(whole, period)
    assert _ids(merged) == ["a", "b", "c"]
    assert [h.score for h in merged] == [0.9, 0.8, 0.7]


def test_diversify_caps_passages_per_article():
    hits = [_hit("a", 0), _hit("a", 1), _hit("a", 2), _hit("b"), _hit("c")]
    assert _ids(diversify(hits, 4, per_article=2)) == ["a", "a", "b", "c"]
    assert _ids(diversify(hits, 2, per_article=1)) == ["a", "b"]


def test_rerank_top_reorders_only_the_head():
    class Reverse:
        def rerank(self, question, hits):
            return list(reversed(hits))

    hits = [_hit(x) for x in "abcd"]
    assert _ids(rerank_top(Reverse(), "q", hits, depth=3)) == ["c", "b", "a", "d"]
    assert _ids(rerank_top(None, "q", hits, depth=3)) == list("abcd")


def test_unknown_names_are_refused(fake_embedder):
    with pytest.raises(ValueError, match="unknown reranker"):
        get_reranker("magic", fake_embedder, Config())


def test_cross_encoder_needs_a_model_and_names_a_bad_one(fake_embedder, tmp_path):
    from rag.errors import RagError

    with pytest.raises(RagError, match="cross_encoder"):
        get_reranker("cross-encoder", fake_embedder, Config())
    with pytest.raises(RagError, match="cannot load cross-encoder"):
        get_reranker("cross-encoder", fake_embedder,
                     Config(cross_encoder=str(tmp_path / "none")))


# --- real index ----------------------------------------------------------------------------
QUESTION = "Where is the nuclear plant being built?"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_bushehr_article(sample_system, mode):
    retriever = sample_system.retriever
    original = retriever.config
    try:
        retriever.config = original.replace(retrieval_mode=mode, rerank="none")
        hits = retriever.retrieve(QUESTION, 3)
    finally:
        retriever.config = original
    assert hits and "Bushehr" in hits[0].article.text


@pytest.mark.slow
def test_sentence_rerank_puts_the_answering_passage_first(sample_system):
    retriever = sample_system.retriever
    original = retriever.config
    try:
        retriever.config = original.replace(rerank="sentence")
        hits = retriever.retrieve(QUESTION, 4)
    finally:
        retriever.config = original
    assert "Bushehr" in hits[0].chunk.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def scored_sample(sample_system, embedder):
    """The first 6 candidate passages for QUESTION, a scorer, and all their sentences scored."""
    from rag.answering.extractive import ExtractiveAnswerer

    candidates = sample_system.retriever.candidates(QUESTION, None)[:6]
    scorer = ExtractiveAnswerer(embedder, Config())
    return candidates, scorer, scorer.score_sentences(QUESTION, candidates)


@pytest.mark.slow
def test_sentence_rerank_can_embed_only_the_best_worded_sentences(sample_system, embedder):
    from rag.retrieval.rerank import SentenceReranker

    candidates, scorer, every = scored_sample(sample_system, embedder)
    few = scorer.score_sentences(QUESTION, candidates, per_passage=1)
    assert len(few) <= len(candidates) < len(every)
    reranked = SentenceReranker(embedder, Config(rerank_sentences=1)).rerank(QUESTION, candidates)
    assert "Bushehr" in reranked[0].chunk.text


@pytest.mark.slow
def test_the_reader_embeds_at_most_its_cap_keeping_the_best_worded(sample_system, embedder):
    from rag.answering.extractive import ExtractiveAnswerer
    from rag.scoring import lexical_overlap
    from rag.text import content_terms

    candidates, scorer, every = scored_sample(sample_system, embedder)
    capped = scorer.score_sentences(QUESTION, candidates, most=5)
    assert len(capped) == 5 < len(every)
    terms = set(content_terms(QUESTION))
    kept = sorted((lexical_overlap(terms, s.text) for s in capped), reverse=True)
    assert kept == sorted((lexical_overlap(terms, s.text) for s in every), reverse=True)[:5]
    assert "Bushehr" in capped[0].text
    configured = ExtractiveAnswerer(
        embedder, Config(reader_sentences_per_passage=0, reader_max_sentences=5))
    assert [s.text for s in configured.score(QUESTION, candidates)] == [s.text for s in capped]


def test_the_scorer_scores_only_the_sentences_kept(fake_sample_system, fake_embedder):
    """``keep`` (a timeline's whole sentences) filters before the per-passage cut: a passage
    whose best-worded sentence is refused gives its next one."""
    from rag.scoring import SentenceScorer

    candidates = fake_sample_system.retriever.candidates(QUESTION, None)[:6]
    scorer = SentenceScorer(fake_embedder)
    every = scorer.score_sentences(QUESTION, candidates)
    refused = {s.text for s in every if "Bushehr" in s.text}
    assert refused
    kept = scorer.score_sentences(QUESTION, candidates,
                                  keep=lambda text, start, end: "Bushehr" not in text[start:end])
    assert {s.text for s in kept} == {s.text for s in every} - refused
    one = scorer.score_sentences(QUESTION, candidates, per_passage=1,
                                 keep=lambda text, start, end: "Bushehr" not in text[start:end])
    assert one and not refused & {s.text for s in one}


def current_build(folder) -> dict:
    """The pointer entry of the one BM25 build in ``folder`` (one settings key in use)."""
    [entry] = json.loads((folder / POINTER).read_text()).values()
    return entry


def _article(title: str, text: str, **meta) -> Article:
    return Article(title=title, text=text, **meta)


def test_bm25_follows_ingest_and_delete_without_rebuilding_per_query(writable_fake_sample_system):
    system = writable_fake_sample_system
    store = system.retriever.lexical
    folder = system.config.index_dir
    word = "zyxquorbium"
    report = system.ingest([_article("A new element", f"Chemists named the element {word} "
                                     "after a long debate in the laboratory.")])
    assert report.added == 1
    generation = system.index.generation()
    assert current_build(folder)["generation"] == generation
    found = store.search(word, 5)
    assert [h.article.title for h in found] == ["A new element"]
    built = store._build
    store.search("nuclear plant", 5)
    assert store._build is built  # no rebuild when nothing was written

    # A second process opening the folder loads the persisted build instead of rebuilding it.
    other = RagSystem(system.config, embedder=system.embedder)
    assert other.retriever.lexical.search(word, 5)[0].article.title == "A new element"
    assert other.retriever.lexical.last_build_seconds == 0.0

    assert system.delete([found[0].article.id]) == 1
    assert store.search(word, 5) == []
    assert len(list(folder.glob("bm25s-*/"))) == 1  # the old build was cleaned up


def test_stale_bm25_build_is_rebuilt_on_open(writable_fake_sample_system):
    system = writable_fake_sample_system
    folder = system.config.index_dir
    system.retriever.refresh()
    stale = {key: {**entry, "generation": -5}
             for key, entry in json.loads((folder / POINTER).read_text()).items()}
    (folder / POINTER).write_text(json.dumps(stale))
    reopened = RagSystem(system.config, embedder=system.embedder)
    assert reopened.retriever.lexical.search("Bushehr", 3)
    assert reopened.retriever.lexical.last_build_seconds > 0
    assert current_build(folder)["generation"] == reopened.index.generation()


def test_source_and_date_filters_apply_to_dense_and_bm25(writable_fake_sample_system):
    system = writable_fake_sample_system
    text = "The harbour bridge reopened to traffic after repairs to its cables, officials said."
    system.ingest([
        _article("Bridge reopens", text, source="north.example", published_at="2022-06-01"),
        _article("Bridge reopens again", text + " Crowds cheered.", source="south.example",
                 published_at="2022-07-15"),
    ])
    question = "When did the harbour bridge reopen?"
    for mode in ("dense", "bm25", "hybrid"):
        system.retriever.config = system.config.replace(retrieval_mode=mode)
        south = system.retriever.retrieve(question, 5, make_filters("south.example"))
        assert {h.article.source for h in south} == {"south.example"}, mode
        june = system.retriever.retrieve(question, 5, make_filters(since="2022-06-01",
                                                                   until="2022-06-30"))
        assert {h.article.title for h in june} == {"Bridge reopens"}, mode
        assert system.retriever.retrieve(question, 5, SearchFilters(sources=("nowhere",))) == []


@pytest.mark.slow
def test_cli_ask_filters_by_source_and_dates(writable_sample_system):
    from typer.testing import CliRunner

    from rag_cli.main import app

    system = writable_sample_system
    text = "The ferry service to the island resumed on Monday after the storm, operators said."
    system.ingest([
        _article("Ferry resumes", text, source="coast.example", published_at="2022-06-01"),
        _article("Ferry back", text + " Queues formed.", source="inland.example",
                 published_at="2022-08-01"),
    ])
    folder = str(system.config.index_dir)
    question = "When did the ferry service resume?"
    runner = CliRunner()
    for args, title in ((["--source", "inland.example"], "Ferry back"),
                        (["--until", "2022-06-30"], "Ferry resumes"),
                        (["--since", "2022-07-01"], "Ferry back")):
        result = runner.invoke(app, ["ask", question, "--index", folder, "--json", *args])
        assert result.exit_code == 0, result.output
        passages = json.loads(result.output)["passages"]
        assert passages and {p["title"] for p in passages} == {title}, args
    # As of mid-July the August story does not exist yet (undated articles stay).
    result = runner.invoke(app, ["ask", question, "--index", folder, "--json",
                                 "--as-of", "2022-07-15"])
    titles = [p["title"] for p in json.loads(result.output)["passages"]]
    assert titles[0] == "Ferry resumes" and "Ferry back" not in titles
    bad = runner.invoke(app, ["ask", question, "--index", folder, "--since", "soon"])
    assert bad.exit_code == 1 and "--since date 'soon'" in bad.output
    bad = runner.invoke(app, ["ask", question, "--index", folder, "--as-of", "soon"])
    assert bad.exit_code == 1 and "reference date 'soon' is not a date" in bad.output


def test_a_malformed_bm25_build_is_rebuilt_not_an_error(writable_fake_sample_system):
    """Issue 17: a damaged docs.json made every question fail with KeyError."""
    system = writable_fake_sample_system
    folder = system.config.index_dir
    system.retriever.refresh()
    build_dir = folder / current_build(folder)["dir"]
    for damage in ('{"chunk_ids": [1, 2]}', "[1, 2, 3]", '{"chunk_ids": "x"}', "{"):
        (build_dir / "docs.json").write_text(damage)
        reopened = RagSystem(system.config, embedder=system.embedder)
        assert "Bushehr" in reopened.ask("Where is the nuclear plant being built?").text
        build_dir = folder / current_build(folder)["dir"]


def test_a_killed_bm25_writer_leaves_no_temp_folder_behind(writable_fake_sample_system):
    system = writable_fake_sample_system
    folder = system.config.index_dir
    left = folder / "bm25s-0123abcd-3.999999.tmp"  # what a writer killed mid-save leaves
    left.mkdir()
    (left / "docs.json").write_text("{}")
    system.ingest([_article("Tide", "The spring tide flooded the lower car park on Friday.")])
    assert not list(folder.glob("bm25s-*.tmp"))
    assert len(list(folder.glob("bm25s-*/"))) == 1


def test_a_bm25_build_the_disk_cannot_take_is_kept_in_memory(writable_fake_sample_system,
                                                             monkeypatch, caplog):
    """A full disk after the index committed (issue 24): the write stands, BM25 answers from
    memory with log lines, and a later open saves the build."""
    import bm25s

    from rag.retrieval.bm25 import Bm25Store

    system = writable_fake_sample_system
    real_cache = Bm25Store._cache

    def full_cache(self):  # type: ignore[no-untyped-def]
        db = real_cache(self)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's "database or disk is full"
        return db

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Bm25Store, "_cache", full_cache)
    monkeypatch.setattr(bm25s.BM25, "save", full_disk)
    word = "quasmorite"
    text = " ".join(f"Survey {i} of the {word} seam reached level {i * 7} near shaft {i}."
                    for i in range(300))
    system.ingest([_article("A new mineral", text)])
    assert "BM25 cache in" in caplog.text and "the BM25 build could not be saved" in caplog.text
    assert system.retriever.lexical.search(word, 1)[0].article.title == "A new mineral"
    monkeypatch.undo()
    reopened = RagSystem(system.config, embedder=system.embedder)
    assert reopened.retriever.lexical.search(word, 1)[0].article.title == "A new mineral"
    assert current_build(system.config.index_dir)["generation"] == system.index.generation()


@pytest.mark.slow
def test_a_changed_rerank_setting_gets_a_new_reranker(sample_system):
    """Rerankers are cached by every setting, not by name: a new weight reranks anew."""
    retriever = Retriever(sample_system.index, sample_system.embedder,
                          Config(rerank="sentence", rerank_fused_weight=0.0))
    question = "Where is the nuclear plant being built?"
    before = retriever.reranker()
    assert retriever.reranker() is before  # cached while the config holds
    scores = [h.score for h in retriever.retrieve(question, 4)]
    retriever.config = retriever.config.replace(rerank_fused_weight=5.0)
    after = retriever.reranker()
    assert after is not before and after.fused_weight == 5.0
    assert [h.score for h in retriever.retrieve(question, 4)] != scores
