"""One conformance suite for every index backend: same tests, same expectations.

Each test runs on every vector index over its store: FAISS flat, IVF and HNSW over the SQLite
store (a temporary folder), and pgvector's HNSW over the PostgreSQL store (a fresh schema in the
database of ``$RAG_PG_DSN``, started in CI by .ci/start.d/30-postgres.sh). Expected results come
from exact search in numpy over the same vectors, never from the backend under test.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from synthetic import DIM, exact_top, found, make_write, unit_vectors

from rag.articles import Article
from rag.chunking import Chunk
from rag.errors import IndexMismatchError
from rag.index import copy_index, open_index
from rag.index.base import ArticleWrite, HNSWIndex, SearchFilters

MODEL = "test-model"
NO_SERVER = ("RAG_PG_DSN is not set, so there is no PostgreSQL server to test the pgvector "
             "backend on: `source .ci/start.d/30-postgres.sh` starts one and sets it")


@pytest.fixture(params=["faiss", "faiss-ivf", "faiss-hnsw",
                        pytest.param("pgvector", marks=pytest.mark.pgvector)])
def variant(request) -> str:
    return request.param


@pytest.fixture
def vector_params(variant):
    """The vector index parameters of the variant (None: the backend's default)."""
    # ef_search above the test corpora's size: the graph walk reaches every chunk, so results
    # are exact and comparable with numpy (bench/scale.py measures recall at scale).
    return HNSWIndex(ef_search=500) if variant == "faiss-hnsw" else None


@pytest.fixture
def backend(variant, monkeypatch) -> str:
    """The backend name (for open_index and Config), once per backend and mode."""
    if variant == "faiss-hnsw":
        return "faiss"
    if variant == "faiss-ivf":
        # The FAISS backend's IVF mode (what it switches to at scale) from the first chunk on,
        # scanning every list so that results stay exact: the same bookkeeping as at scale,
        # where recall is measured by bench/scale.py instead.
        from rag.index import faiss_store

        monkeypatch.setattr(faiss_store, "APPROX_MIN_CHUNKS", 1)
        monkeypatch.setattr(faiss_store, "IVF_NPROBE", 1_000_000)
        return "faiss"
    if variant == "pgvector" and not os.environ.get("RAG_PG_DSN"):
        if os.environ.get("CI"):
            pytest.fail(f"in CI the pgvector tests must run: {NO_SERVER}")
        pytest.skip(NO_SERVER)
    return variant


@pytest.fixture
def make_index(backend, vector_params, tmp_path):
    """Opens indexes of the backend under test by name; pgvector schemas are dropped after."""
    run = uuid.uuid4().hex[:8]
    opened, names = [], set()

    def where(name: str):
        return tmp_path / name if backend == "faiss" else f"test_{run}_{name}"

    def make(name: str = "main", model: str = MODEL, dimension: int = DIM):
        names.add(where(name))
        index = open_index(backend, where(name), model=model, dimension=dimension,
                           params=vector_params)
        opened.append(index)
        return index

    make.where = where  # type: ignore[attr-defined]  # what Config.index_dir names
    yield make
    for index in opened:
        index.close()
    if backend == "pgvector":
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:
            for name in names:
                db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE')


CORPUS_META = [
    {"source": "wire", "published_at": "2024-01-01", "url": "https://news.example/1"},
    {"source": "wire", "published_at": "2024-01-03T10:30:00", "origin": "feed.jsonl#2"},
    {"source": "paper", "published_at": "2024-01-03", "author": "A. Writer"},
    {"source": "paper", "published_at": "2024-01-05", "url": "https://news.example/4"},
    {"source": "blog", "published_at": None},
    {"source": None, "published_at": "2024-01-07"},
]


@pytest.fixture
def corpus() -> list[ArticleWrite]:
    return [make_write(i, n_chunks=3 + i % 2, **meta) for i, meta in enumerate(CORPUS_META)]


@pytest.fixture
def filled(make_index, corpus):
    index = make_index()
    index.write(corpus)
    return index


# --- search --------------------------------------------------------------------------------
def test_empty_index_has_nothing(make_index):
    index = make_index()
    stats = index.stats()
    assert (stats.articles, stats.chunks, stats.model, stats.dimension) == (0, 0, MODEL, DIM)
    assert index.search(unit_vectors(1, 0)[0], k=5) == []
    assert index.list_articles() == []
    assert index.article_hashes() == {} and index.article_urls() == {}


def test_search_ranks_like_exact_inner_product(filled, corpus):
    for query in unit_vectors(5, seed=99):
        hits = filled.search(query, k=4)
        assert found(hits) == exact_top(corpus, query, 4)
        expected = [float(query @ filled_vector(corpus, h.article.id, h.chunk.ordinal))
                    for h in hits]
        assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def filled_vector(corpus, article_id: str, ordinal: int) -> np.ndarray:
    w = next(w for w in corpus if w.article.id == article_id)
    return w.vectors[ordinal]


def test_k_larger_than_the_index_returns_every_chunk(filled, corpus):
    total = sum(len(w.chunks) for w in corpus)
    assert len(filled.search(unit_vectors(1, 5)[0], k=total + 10)) == total


def test_hits_carry_the_article_and_the_chunk_text(filled, corpus):
    w = corpus[1]
    hit = filled.search(w.vectors[2], k=1)[0]
    assert hit.article == w.article
    assert hit.chunk == w.chunks[2]
    assert hit.chunk.text == hit.article.text[hit.chunk.start:hit.chunk.end]
    assert hit.score == pytest.approx(1.0, abs=1e-5)


FILTERS = {
    "sources": (SearchFilters(sources=("paper", "blog")),
                lambda a: a.source in ("paper", "blog")),
    "date_from": (SearchFilters(date_from="2024-01-03"),
                  lambda a: a.published_at is not None and a.published_at[:10] >= "2024-01-03"),
    "date_to": (SearchFilters(date_to="2024-01-03"),
                lambda a: a.published_at is not None and a.published_at[:10] <= "2024-01-03"),
    "date_range": (SearchFilters(date_from="2024-01-02", date_to="2024-01-05"),
                   lambda a: a.published_at is not None
                   and "2024-01-02" <= a.published_at[:10] <= "2024-01-05"),
    "article_ids": (SearchFilters(article_ids=("art0", "art5")),
                    lambda a: a.id in ("art0", "art5")),
    "combined": (SearchFilters(sources=("wire", "paper"), date_to="2024-01-03"),
                 lambda a: a.source in ("wire", "paper") and a.published_at is not None
                 and a.published_at[:10] <= "2024-01-03"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_filtered_search_is_exact_search_over_the_matching_articles(filled, corpus, name):
    filters, keep = FILTERS[name]
    for query in unit_vectors(3, seed=7):
        hits = filled.search(query, k=5, filters=filters)
        assert found(hits) == exact_top(corpus, query, 5, keep)
        assert all(keep(h.article) for h in hits)


def test_a_filter_matching_nothing_finds_nothing(filled):
    query = unit_vectors(1, 3)[0]
    assert filled.search(query, k=5, filters=SearchFilters(sources=("nobody",))) == []
    assert filled.search(query, k=5, filters=SearchFilters(date_from="2030-01-01")) == []


# --- writes ----------------------------------------------------------------------------------
def test_upsert_replaces_the_articles_chunks(filled, corpus):
    old = corpus[2]
    new = make_write(2, n_chunks=2, seed=1234, **CORPUS_META[2])
    filled.write([new])
    assert filled.chunks_of("art2") == new.chunks
    assert filled.stats().chunks == sum(len(w.chunks) for w in corpus) - len(old.chunks) + 2
    assert found(filled.search(new.vectors[1], k=1)) == [("art2", 1)]
    assert not any(h.chunk.text in old.article.text
                   for h in filled.search(old.vectors[0], k=30) if h.article.id == "art2")


def test_delete_removes_the_article_everywhere(filled, corpus):
    gone = corpus[0]
    filled.write([], ["art0"])
    assert filled.get_article("art0") is None
    assert filled.chunks_of("art0") == []
    assert "art0" not in filled.article_hashes()
    assert gone.article.url not in filled.article_urls()
    assert "art0" not in [a.id for a, _ in filled.list_articles()]
    assert filled.cached_vectors([c.key for c in gone.chunks]) == {}
    assert all(h.article.id != "art0" for h in filled.search(gone.vectors[0], k=50))
    assert filled.stats().articles == len(corpus) - 1


def test_one_write_upserts_and_deletes_together(filled, corpus):
    filled.write([make_write(10, seed=10)], ["art1", "art3"])
    ids = {a.id for a, _ in filled.list_articles()}
    assert ids == {w.article.id for w in corpus} - {"art1", "art3"} | {"art10"}


def test_a_failed_write_changes_nothing(filled, corpus):
    before = (filled.article_hashes(), filled.stats().chunks)
    query = corpus[4].vectors[0]
    hits_before = found(filled.search(query, k=6))
    duplicate = make_write(11, seed=11)
    with pytest.raises(Exception):  # noqa: B017 - the backends raise their database's error
        filled.write([duplicate, make_write(11, seed=12)], ["art4"])
    assert (filled.article_hashes(), filled.stats().chunks) == before
    assert found(filled.search(query, k=6)) == hits_before
    filled.write([make_write(11, seed=11)])  # and the index still takes writes
    assert filled.get_article("art11") is not None


def test_vectors_of_another_dimension_are_refused(filled):
    bad = make_write(20)
    bad.vectors = np.ones((len(bad.chunks), DIM + 1), dtype=np.float32)
    with pytest.raises(IndexMismatchError):
        filled.write([bad])
    assert filled.get_article("art20") is None


def test_a_vector_shared_by_two_articles_outlives_one_of_them(make_index):
    index = make_index()
    one, two = make_write(30, seed=30, title="Same"), make_write(30, seed=30, title="Same")
    two = ArticleWrite(Article(title="Same", text=two.article.text, id="art31"),
                       [Chunk("art31", c.ordinal, c.start, c.end, c.text, c.title)
                        for c in two.chunks], two.vectors)
    index.write([one, two])
    index.write([], ["art30"])
    cached = index.cached_vectors([c.key for c in one.chunks])
    assert set(cached) == {c.key for c in one.chunks}
    for chunk, vector in zip(one.chunks, one.vectors, strict=True):
        np.testing.assert_allclose(cached[chunk.key], vector, atol=1e-6)


# --- reads -----------------------------------------------------------------------------------
def test_cached_vectors_returns_the_stored_vectors(filled, corpus):
    w = corpus[3]
    cached = filled.cached_vectors([c.key for c in w.chunks] + ["no-such-key"])
    assert set(cached) == {c.key for c in w.chunks}
    for chunk, vector in zip(w.chunks, w.vectors, strict=True):
        assert cached[chunk.key].dtype == np.float32
        np.testing.assert_allclose(cached[chunk.key], vector, atol=1e-6)
    assert filled.cached_vectors([]) == {}


def test_article_hashes_urls_and_get_article(filled, corpus):
    assert filled.article_hashes() == {
        w.article.id: (w.article.content_hash, w.article.origin) for w in corpus}
    assert filled.article_urls() == {
        w.article.url: w.article.id for w in corpus if w.article.url}
    for w in corpus:
        assert filled.get_article(w.article.id) == w.article
    assert filled.get_article("no-such-article") is None


def test_list_articles_newest_first_with_chunk_counts(filled, corpus):
    listed = filled.list_articles()
    assert [(a.id, n) for a, n in listed] == [
        ("art5", 4), ("art3", 4), ("art1", 4), ("art2", 3), ("art0", 3), ("art4", 3)]
    assert listed[0][0] == corpus[5].article


def test_chunks_of_in_order(filled, corpus):
    assert filled.chunks_of("art3") == corpus[3].chunks
    assert filled.chunks_of("no-such-article") == []


def test_stats_count_articles_and_chunks(filled, corpus, backend):
    stats = filled.stats()
    assert stats.articles == len(corpus)
    assert stats.chunks == sum(len(w.chunks) for w in corpus)
    assert stats.backend == backend
    assert stats.size_bytes > 0


def test_all_chunks_and_hits_by_chunk_id(filled, corpus):
    every = filled.all_chunks()
    assert sorted((c.article_id, c.ordinal) for _, c, _ in every) == sorted(
        (w.article.id, c.ordinal) for w in corpus for c in w.chunks)
    assert [i for i, _, _ in every] == sorted(i for i, _, _ in every)
    assert all(c.article_id == a.id and c.text == a.text[c.start:c.end] for _, c, a in every)
    picked = [(every[3][0], 0.9), (every[0][0], 0.5), (-1, 0.4)]
    hits = filled.hits(picked)
    assert [(h.chunk, h.score) for h in hits] == [(every[3][1], 0.9), (every[0][1], 0.5)]
    assert filled.hits([]) == []


def test_generation_changes_with_every_write(filled, corpus):
    first = filled.generation()
    filled.write([], ["art1"])
    second = filled.generation()
    filled.write([make_write(40)])
    assert len({first, second, filled.generation()}) == 3


# --- identity and persistence ------------------------------------------------------------------
def test_reopening_keeps_everything(make_index, corpus):
    index = make_index("kept")
    index.write(corpus)
    query = unit_vectors(1, 42)[0]
    hits = found(index.search(query, k=5))
    index.close()
    again = make_index("kept")
    assert again.stats().chunks == sum(len(w.chunks) for w in corpus)
    assert found(again.search(query, k=5)) == hits


@pytest.mark.parametrize("other", [{"model": "another-model"}, {"dimension": DIM * 2}])
def test_reopening_with_another_model_or_dimension_is_refused(make_index, other):
    make_index("owned").close()
    with pytest.raises(IndexMismatchError, match="test-model"):
        make_index("owned", **other)


def test_indexes_with_different_names_are_independent(make_index, corpus):
    first, second = make_index("first"), make_index("second")
    first.write(corpus[:2])
    second.write(corpus[2:3])
    assert {a.id for a, _ in first.list_articles()} == {"art0", "art1"}
    assert {a.id for a, _ in second.list_articles()} == {"art2"}
    first.write([], ["art0"])
    assert second.stats().articles == 1 and first.stats().articles == 1


# --- the real model on the sample corpus --------------------------------------------------------
@pytest.mark.slow
def test_the_sample_corpus_answers_alike_on_every_backend(backend, make_index, sample_system,
                                                          embedder):
    from rag import Config, RagSystem

    source = sample_system.index
    target = make_index("sample", model=source.model, dimension=source.dimension)
    assert copy_index(source, target, batch=3) == source.stats().articles == 7
    assert target.stats().chunks == source.stats().chunks
    for question in ("Where is the nuclear plant being built?", "Who won the election?",
                     "What happened to interest rates?"):
        vector = embedder.embed_query(question)
        expected = source.search(vector, k=8)
        hits = target.search(vector, k=8)
        assert found(hits) == found(expected)
        assert [h.score for h in hits] == pytest.approx([h.score for h in expected], abs=1e-5)
    target.close()
    system = RagSystem(Config(index_backend=backend, index_dir=make_index.where("sample")),
                       embedder=embedder)
    try:
        answer = system.ask("Where is the nuclear plant being built?")
    finally:
        system.index.close()
    assert "Bushehr" in " ".join(c.quote for c in answer.citations)


def test_every_backend_is_a_news_index_over_its_store(filled, backend):
    from rag.index import NewsIndex

    assert type(filled) is NewsIndex and filled.backend == filled.vectors.backend == backend
    assert (filled.folder is None) == (backend == "pgvector")  # where derived files are kept


def test_verify_finds_nothing_wrong_after_writes(filled, corpus):
    filled.write([corpus[0]], [corpus[1].article.id])
    assert filled.verify() == []


def test_the_vector_index_is_the_kind_asked_for(filled, variant):
    if variant == "pgvector":
        assert type(filled.vectors).__name__ == "PgVectorHnsw"
    else:
        kinds = {"faiss": "flat", "faiss-ivf": "ivf", "faiss-hnsw": "hnsw"}
        assert filled.vectors.kind == kinds[variant]


def test_lead_chunk_ids_are_each_articles_first_chunk_newest_first(filled):
    place = {i: (c.article_id, c.ordinal) for i, c, _ in filled.all_chunks()}
    every = [place[int(i)] for i in filled.lead_chunk_ids(SearchFilters())]
    assert every == [("art5", 0), ("art3", 0), ("art1", 0), ("art2", 0), ("art0", 0),
                     ("art4", 0)]  # the undated article last
    window = SearchFilters(date_from="2024-01-02", date_to="2024-01-05")
    assert [place[int(i)][0] for i in filled.lead_chunk_ids(window)] == ["art3", "art1", "art2"]
    assert list(filled.lead_chunk_ids(SearchFilters(sources=("paper",)))) == [
        i for i in filled.lead_chunk_ids(SearchFilters()) if place[int(i)][0] in ("art3", "art2")]
