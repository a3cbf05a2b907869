"""The FAISS backend's switch to an IVF index above APPROX_MIN_CHUNKS (thresholds lowered here).

The conformance suite runs every shared test on the IVF mode too ("faiss-ivf"); these tests
check the switch itself, that the IVF file is reloaded rather than retrained, and that filtered
search stays exact while unfiltered search scans only IVF_NPROBE lists.
"""

from __future__ import annotations

import faiss
import pytest
from synthetic import DIM, exact_top, found, make_write, unit_vectors

from rag.index import NewsIndex, faiss_store, open_index
from rag.index.base import SearchFilters


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(faiss_store, "APPROX_MIN_CHUNKS", 400)
    monkeypatch.setattr(faiss_store, "IVF_NPROBE", 1)


def writes(first: int, n: int):
    return [make_write(i, 10, seed=i, source="even" if i % 2 == 0 else "odd")
            for i in range(first, first + n)]


def is_ivf(index: NewsIndex) -> bool:
    return faiss.try_extract_index_ivf(index.vectors.index) is not None


def test_the_index_turns_ivf_at_the_threshold_and_stays_so(small_threshold, tmp_path):
    index = open_index("faiss", tmp_path, model="m", dimension=DIM)
    corpus = writes(0, 30)
    index.write(corpus)
    assert not is_ivf(index)  # 300 chunks: exact
    more = writes(30, 20)
    index.write(more)
    corpus += more
    assert is_ivf(index) and index.vectors.index.ntotal == 500
    ivf = faiss.extract_index_ivf(index.vectors.index)
    assert ivf.nlist > 1 and ivf.nprobe == 1
    for w in corpus[::7]:  # a stored vector finds itself even scanning one list
        assert found(index.search(w.vectors[0], 1)) == [(w.article.id, 0)]
    index.write([], [w.article.id for w in corpus[:5]])
    assert index.vectors.index.ntotal == 450
    assert all(h.article.id not in {w.article.id for w in corpus[:5]}
               for h in index.search(corpus[0].vectors[0], 50))
    index.close()

    mtime = (tmp_path / "vectors.faiss").stat().st_mtime_ns
    again = open_index("faiss", tmp_path, model="m", dimension=DIM)
    assert is_ivf(again) and again.vectors.index.ntotal == 450
    assert (tmp_path / "vectors.faiss").stat().st_mtime_ns == mtime  # loaded, not retrained


def test_a_rebuild_from_sqlite_makes_an_ivf_index_when_big(small_threshold, tmp_path):
    index = open_index("faiss", tmp_path, model="m", dimension=DIM)
    index.write(writes(0, 45))
    index.close()
    (tmp_path / "vectors.faiss").write_bytes(b"corrupt")
    again = open_index("faiss", tmp_path, model="m", dimension=DIM)
    assert is_ivf(again) and again.vectors.index.ntotal == 450


def test_filtered_search_on_ivf_is_exact(small_threshold, tmp_path):
    index = open_index("faiss", tmp_path, model="m", dimension=DIM)
    corpus = writes(0, 60)
    index.write(corpus)
    assert is_ivf(index)
    for query in unit_vectors(5, seed=3):
        hits = index.search(query, 8, SearchFilters(sources=("odd",)))
        assert found(hits) == exact_top(corpus, query, 8, lambda a: a.source == "odd")
