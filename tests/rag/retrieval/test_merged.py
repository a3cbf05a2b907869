"""Several collections' indexes read as one (rag/retrieval/merged.py): dense hits merged by score,
chunk ids kept apart, a briefing's lead passages newest first across indexes, and one collection
through the merge ranking exactly as the plain retriever does."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_write, unit_vectors

from rag.index import open_index
from rag.index.base import SearchFilters
from rag.retrieval.merged import ID_BITS, MergedIndex, MergedRetriever

DIM = 16  # synthetic.unit_vectors


@pytest.fixture
def two(tmp_path):
    """Two collections' indexes: `a` holds stories 0-2, `b` stories 10-11 (dated)."""
    a = open_index("faiss", tmp_path / "a", model="m", dimension=DIM, collection="a")
    b = open_index("faiss", tmp_path / "b", model="m", dimension=DIM, collection="b")
    a.write([make_write(i, 2, seed=i, published_at=f"2025-03-0{i + 1}") for i in range(3)])
    b.write([make_write(10, 2, seed=10, published_at="2025-03-02"),
             make_write(11, 2, seed=11)])  # undated
    yield a, b
    a.close()
    b.close()


def test_dense_hits_are_merged_by_score_each_with_its_collection(two):
    a, b = two
    query = unit_vectors(1, 99)[0]
    merged = MergedIndex([a, b]).search(query, 5)
    everything = sorted(a.search(query, 10) + b.search(query, 10), key=lambda h: -h.score)
    assert [(h.collection, h.article.id, h.chunk.ordinal) for h in merged] == [
        (h.collection, h.article.id, h.chunk.ordinal) for h in everything[:5]]
    assert [h.score for h in merged] == sorted((h.score for h in merged), reverse=True)


def test_merged_chunk_ids_find_their_hits_in_order(two):
    a, b = two
    merged = MergedIndex([a, b])
    leads = merged.lead_chunk_ids(SearchFilters())
    hits = merged.hits([(int(i), float(n)) for n, i in enumerate(leads)])
    # Newest article first across both indexes, undated last; ties keep the index order.
    assert [(h.collection, h.article.id) for h in hits] == [
        ("a", "art2"), ("a", "art1"), ("b", "art10"), ("a", "art0"), ("b", "art11")]
    assert [h.score for h in hits] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(h.chunk.ordinal == 0 for h in hits)
    unknown = (1 << ID_BITS) | 99999
    assert merged.hits([(unknown, 1.0), (int(leads[0]), 2.0)])[0].score == 2.0
    assert len(merged.hits([(unknown, 1.0), (5 << ID_BITS, 1.0)])) == 0


def test_articles_and_stored_vectors_are_read_from_whichever_index_holds_them(two):
    a, b = two
    merged = MergedIndex([a, b])
    assert merged.get_article("art10").title == "Story 10"
    assert merged.get_article("nowhere") is None
    keys = [c.key for c in a.chunks_of("art0")] + [c.key for c in b.chunks_of("art11")]
    assert sorted(merged.cached_vectors(keys)) == sorted(keys)
    stats = merged.stats()
    assert (stats.articles, stats.chunks, stats.extra) == (5, 10, {"collections": "a, b"})


def test_one_collection_through_the_merge_ranks_as_the_plain_retriever(fake_sample_system):
    """Merging one ranking is that ranking: the merged path adds nothing of its own."""
    plain = fake_sample_system.retriever
    merged = MergedRetriever([plain])
    for question in ("Where is the nuclear plant being built?", "water polo final score",
                     "central bank merchants trade", "beach handball Pakistan"):
        assert merged.retrieve(question, 8) == plain.retrieve(question, 8)
        assert merged.candidates(question, None) == plain.candidates(question, None)


def test_a_merge_needs_a_collection():
    with pytest.raises(ValueError):
        MergedIndex([])
    with pytest.raises(ValueError):
        MergedRetriever([])


def test_vectors_of_another_dimension_are_refused(two):
    with pytest.raises(Exception, match="dims"):
        MergedIndex(list(two)).search(np.ones(DIM + 1, dtype=np.float32), 3)
