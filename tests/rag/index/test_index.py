"""The FAISS + SQLite index: round trips, replacement, filters, mismatches and crash safety.

These use real FAISS with small random vectors; the model is not needed to test storage.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from rag.articles import Article
from rag.chunking import Chunk
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.index import ArticleWrite, NewsIndex, SearchFilters, open_index

DIM = 8
MODEL = "test-model"


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def article_write(name: str, n_chunks: int = 2, seed: int = 0, **meta: str) -> ArticleWrite:
    sentences = [f"{name} sentence number {i}." for i in range(n_chunks)]
    article = Article(title=name.title(), text=" ".join(sentences), id=name, **meta)
    chunks, pos = [], 0
    for i, s in enumerate(sentences):
        start = article.text.index(s, pos)
        chunks.append(Chunk(article.id, i, start, start + len(s), s, article.title))
        pos = start + len(s)
    vectors = np.vstack([unit(seed * 100 + i) for i in range(n_chunks)])
    return ArticleWrite(article, chunks, vectors)


def open_test(path: Path, model: str = MODEL, dim: int = DIM) -> NewsIndex:
    return open_index("faiss", path, model=model, dimension=dim)


def folder_of(index: NewsIndex) -> Path:
    """The index folder of a FAISS index."""
    return Path(index.store.where)


def snapshot(index: NewsIndex, probes: int = 5) -> list[list[tuple[str, int, float]]]:
    return [[(h.article.id, h.chunk.ordinal, round(h.score, 5))
             for h in index.search(unit(10_000 + p), k=10)] for p in range(probes)]


@pytest.fixture
def filled(tmp_path: Path) -> NewsIndex:
    index = open_test(tmp_path / "idx")
    index.write([article_write("alpha", 3, seed=1, source="A", published_at="2024-01-01"),
                 article_write("beta", 2, seed=2, source="B", published_at="2024-02-01"),
                 article_write("gamma", 2, seed=3, source="A", published_at="2024-03-01")])
    return index


def test_search_returns_exact_chunks(filled: NewsIndex) -> None:
    target = article_write("beta", 2, seed=2)
    [hit] = filled.search(target.vectors[1], k=1)
    assert (hit.article.id, hit.chunk.ordinal) == ("beta", 1)
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.chunk.text == hit.article.text[hit.chunk.start:hit.chunk.end]
    assert len(filled.search(unit(5), k=100)) == 7


def test_round_trip_after_close_and_reopen(filled: NewsIndex) -> None:
    before, stats = snapshot(filled), filled.stats()
    filled.close()
    files = sorted(p.name for p in folder_of(filled).iterdir())
    assert {"store.sqlite", "vectors.faiss", "manifest.json"} <= set(files)
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".tmp"))]
    manifest = json.loads((folder_of(filled) / "manifest.json").read_text())
    assert (manifest["model"], manifest["dimension"], manifest["backend"]) == (MODEL, DIM, "faiss")
    again = open_test(folder_of(filled))
    assert snapshot(again) == before
    after = again.stats()
    assert (after.articles, after.chunks) == (stats.articles, stats.chunks) == (3, 7)


def test_replace_same_id_leaves_no_stale_chunks(filled: NewsIndex) -> None:
    old_vectors = article_write("alpha", 3, seed=1).vectors
    filled.write([article_write("alpha", 1, seed=7)])
    assert len(filled.chunks_of("alpha")) == 1
    assert filled.stats().chunks == 5
    top = filled.search(old_vectors[2], k=10)
    assert [h for h in top if h.article.id == "alpha" and h.chunk.ordinal > 0] == []
    # Vectors only the old chunks used are gone from the cache too.
    old_keys = [c.key for c in article_write("alpha", 3, seed=1).chunks[1:]]
    assert filled.cached_vectors(old_keys) == {}
    reopened = open_test(folder_of(filled))
    assert reopened.stats().chunks == 5


def test_delete(filled: NewsIndex) -> None:
    filled.write([], ["beta"])
    assert filled.get_article("beta") is None
    assert filled.chunks_of("beta") == []
    assert all(h.article.id != "beta" for h in filled.search(unit(1), k=100))
    assert filled.stats().chunks == 5
    assert "beta" not in filled.article_hashes()


def test_filters(filled: NewsIndex) -> None:
    def ids(f: SearchFilters) -> set[str]:
        return {h.article.id for h in filled.search(unit(3), k=100, filters=f)}

    assert ids(SearchFilters(sources=("A",))) == {"alpha", "gamma"}
    assert ids(SearchFilters(date_from="2024-01-15", date_to="2024-02-28")) == {"beta"}
    assert ids(SearchFilters(article_ids=("gamma",))) == {"gamma"}
    assert ids(SearchFilters(sources=("nowhere",))) == set()


def test_lookups(filled: NewsIndex) -> None:
    filled.write([article_write("delta", 1, seed=4, url="https://x.example/d")])
    assert filled.article_urls() == {"https://x.example/d": "delta"}
    hashes = filled.article_hashes()
    assert hashes["delta"][0] == filled.get_article("delta").content_hash  # type: ignore[union-attr]
    listed = {a.id: n for a, n in filled.list_articles()}
    assert listed == {"alpha": 3, "beta": 2, "gamma": 2, "delta": 1}


def test_a_refused_index_closes_its_connection(filled: NewsIndex, monkeypatch) -> None:
    import sqlite3

    from rag.index import store

    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        opened.append(real_connect(*args, **kwargs))
        return opened[-1]

    filled.close()
    monkeypatch.setattr(store.sqlite3, "connect", connect)
    with pytest.raises(IndexMismatchError):
        open_test(folder_of(filled), model="other-model")
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def test_model_or_dimension_mismatch_is_a_clear_error(filled: NewsIndex) -> None:
    path = folder_of(filled)
    filled.close()
    with pytest.raises(IndexMismatchError) as exc:
        open_test(path, model="other-model")
    message = str(exc.value)
    assert "test-model" in message and "other-model" in message and str(path) in message
    with pytest.raises(IndexMismatchError, match=f"{DIM} dims"):
        open_test(path, dim=DIM * 2)
    with pytest.raises(IndexMismatchError, match="dims"):
        open_test(path).write([ArticleWrite(
            Article(title="t", text="x.", id="bad"), [Chunk("bad", 0, 0, 2, "x.", "t")],
            np.ones((1, DIM + 1), dtype=np.float32))])


# --- crash safety ------------------------------------------------------------------------

def test_crash_after_commit_before_faiss_file(filled: NewsIndex, monkeypatch) -> None:
    from rag.index.faiss_store import FaissVectors

    def crash(self, generation) -> None:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt("killed while writing vectors.faiss")

    monkeypatch.setattr(FaissVectors, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        filled.write([article_write("delta", 2, seed=4)], ["beta"])
    monkeypatch.undo()
    # SQLite committed the write; the FAISS file on disk is the old one. Reopening rebuilds it.
    again = open_test(folder_of(filled))
    assert sorted(again.article_hashes()) == ["alpha", "delta", "gamma"]
    found = {h.article.id for h in again.search(unit(1), k=100)}
    assert found == {"alpha", "delta", "gamma"}
    [hit] = again.search(article_write("delta", 2, seed=4).vectors[0], k=1)
    assert hit.article.id == "delta"


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "stale-manifest",
                                    "no-manifest"])
def test_damaged_derived_files_are_rebuilt(filled: NewsIndex, damage: str) -> None:
    manifest = folder_of(filled) / "manifest.json"
    old_manifest = manifest.read_text()
    filled.write([article_write("delta", 2, seed=4)])
    expected = snapshot(filled)
    filled.close()
    faiss_file = folder_of(filled) / "vectors.faiss"
    if damage == "delete":
        faiss_file.unlink()
    elif damage == "truncate":
        faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    elif damage == "garbage":
        faiss_file.write_bytes(b"not a faiss index at all")
    elif damage == "stale-manifest":
        manifest.write_text(old_manifest)
    else:
        manifest.unlink()
    again = open_test(folder_of(filled))
    assert snapshot(again) == expected
    assert json.loads(manifest.read_text())["generation"] == json.loads(
        old_manifest)["generation"] + 1


def test_stale_faiss_file_with_current_manifest_is_rebuilt(filled: NewsIndex) -> None:
    """A FAISS file left from an older state must not be trusted over SQLite."""
    old_faiss = (folder_of(filled) / "vectors.faiss").read_bytes()
    filled.write([article_write("delta", 2, seed=4)], ["alpha"])
    expected = snapshot(filled)
    filled.close()
    (folder_of(filled) / "vectors.faiss").write_bytes(old_faiss)
    assert snapshot(open_test(folder_of(filled))) == expected


def test_exception_mid_transaction_keeps_previous_state(filled: NewsIndex, monkeypatch) -> None:
    before = snapshot(filled)
    from rag.index.store import SqliteStore

    real_insert = SqliteStore._insert

    def failing_insert(self, upserts):  # type: ignore[no-untyped-def]
        real_insert(self, upserts[:1])  # the first article is in, then the disk fails
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SqliteStore, "_insert", failing_insert)
    with pytest.raises(sqlite3.OperationalError):
        filled.write([article_write("delta", 2, seed=4), article_write("epsilon", 1, seed=5)],
                     ["beta"])
    monkeypatch.undo()
    assert snapshot(filled) == before
    assert sorted(filled.article_hashes()) == ["alpha", "beta", "gamma"]
    filled.close()
    again = open_test(folder_of(filled))
    assert snapshot(again) == before
    again.write([article_write("delta", 2, seed=4)])  # and it is still writable
    assert again.stats().articles == 4


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown index backend 'nope'"):
        open_index("nope", ".", model="m", dimension=2)


def test_the_backends_are_composed_not_subclassed(tmp_path: Path) -> None:
    """Every backend is a NewsIndex of a store and a vector index: no module subclasses it."""
    import importlib
    import inspect
    import pkgutil

    import rag.index

    for info in pkgutil.iter_modules(rag.index.__path__):
        module = importlib.import_module(f"rag.index.{info.name}")
        subclasses = [name for name, obj in vars(module).items()
                      if inspect.isclass(obj) and issubclass(obj, NewsIndex)
                      and obj is not NewsIndex]
        assert subclasses == [], f"rag.index.{info.name}"
    index = open_test(tmp_path / "idx")
    assert type(index) is NewsIndex and index.folder == tmp_path / "idx"  # BM25 builds go there


# --- issue 17: two processes, missing and damaged stores ---------------------------------------
def test_a_stale_handle_never_saves_its_index_over_another_commit(tmp_path: Path) -> None:
    """Two handles on one folder stand for two processes (the app and `rag ingest`)."""
    app = open_test(tmp_path / "idx")
    app.write([article_write("alpha", 1, seed=1), article_write("beta", 1, seed=2)])
    cli = open_test(tmp_path / "idx")
    replaced = article_write("beta", 1, seed=7)  # SQLite reuses beta's chunk id
    cli.write([replaced])
    # The app sees the commit at once: beta's chunk is found by its new vector.
    [hit] = app.search(replaced.vectors[0], k=1)
    assert hit.article.id == "beta" and hit.score == pytest.approx(1.0, abs=1e-5)
    app.write([article_write("gamma", 1, seed=3)])  # used to save the stale beta vector
    assert app.verify() == []
    again = open_test(tmp_path / "idx")
    assert again.verify() == []
    [hit] = again.search(replaced.vectors[0], k=1)
    assert hit.article.id == "beta" and hit.score == pytest.approx(1.0, abs=1e-5)


def test_verify_names_a_vector_that_is_not_sqlites(tmp_path: Path) -> None:
    index = open_test(tmp_path / "idx")
    index.write([article_write("alpha", 1, seed=1)])
    with sqlite3.connect(tmp_path / "idx" / "store.sqlite") as db:
        db.execute("UPDATE vectors SET vector=?", (unit(99).tobytes(),))
    assert any("another vector" in p for p in index.verify())


def test_a_missing_index_is_named_not_created(tmp_path: Path) -> None:
    from rag.errors import IndexNotFoundError

    typo = tmp_path / "typo"
    with pytest.raises(IndexNotFoundError, match=f"no index at {typo}"):
        open_index("faiss", typo, model=MODEL, dimension=DIM, create=False)
    assert not typo.exists()
    open_index("faiss", typo, model=MODEL, dimension=DIM)  # creating one is still the default
    open_index("faiss", typo, model=MODEL, dimension=DIM, create=False)


def test_a_lost_store_is_named_and_the_other_files_are_kept(filled: NewsIndex) -> None:
    from rag.errors import IndexDamagedError

    folder = folder_of(filled)
    filled.close()
    before = (folder / "vectors.faiss").read_bytes()
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
    for create in (True, False):
        with pytest.raises(IndexDamagedError, match=r"store\.sqlite .*is missing"):
            open_index("faiss", folder, model=MODEL, dimension=DIM, create=create)
    assert (folder / "vectors.faiss").read_bytes() == before
    assert not (folder / "store.sqlite").exists()


def test_a_garbage_store_or_a_file_as_index_is_named(tmp_path: Path) -> None:
    from rag.errors import BadInputError, IndexDamagedError

    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "store.sqlite").write_bytes(b"this is not a database " * 100)
    with pytest.raises(IndexDamagedError, match="not a readable SQLite database"):
        open_index("faiss", folder, model=MODEL, dimension=DIM)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello", encoding="utf-8")
    with pytest.raises(BadInputError, match="is a file, not an index folder"):
        open_index("faiss", a_file, model=MODEL, dimension=DIM)


def test_temp_files_are_unique_per_writer(tmp_path: Path, monkeypatch) -> None:
    """Two writers of one file never share a temp name (one would rename the other's away)."""
    from rag.files import atomic_write

    seen: list[Path] = []
    for _ in range(2):
        atomic_write(tmp_path / "manifest.json",
                     lambda tmp: (seen.append(tmp), tmp.write_text("{}")))
    assert len(set(seen)) == 2 and not list(tmp_path.glob("*.tmp"))


def test_a_faiss_file_saved_stale_before_the_fix_is_repaired_on_open(tmp_path: Path) -> None:
    """Issue 17 item 2 left indexes whose FAISS file had the right ids and generation but a
    deleted article's vector under a reused chunk id; opening one rebuilds it from SQLite."""
    import faiss

    index = open_test(tmp_path / "idx")
    index.write([article_write("alpha", 1, seed=1), article_write("beta", 1, seed=2)])
    index.close()
    stale = faiss.read_index(str(tmp_path / "idx" / "vectors.faiss"))
    ids = faiss.vector_to_array(stale.id_map)
    wrong = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    wrong.add_with_ids(np.vstack([unit(1), unit(99)]), ids)  # beta's id, another vector
    faiss.write_index(wrong, str(tmp_path / "idx" / "vectors.faiss"))
    reopened = open_test(tmp_path / "idx")
    assert reopened.verify() == []
    assert reopened.search(unit(2), k=1)[0].article.id == "beta"


# --- issue 24 item 5: read-only and busy indexes, a full disk ----------------------------------
@contextmanager
def another_writer(folder: Path) -> Iterator[None]:
    """Another writer mid-write: its write lock and an open SQLite write transaction (a second
    lock object and connection conflict with this one's as another process's would)."""
    from filelock import FileLock

    lock = FileLock(folder / "write.lock")
    lock.acquire()
    db = sqlite3.connect(folder / "store.sqlite", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE meta SET value='writing' WHERE key='format'")
        yield
    finally:
        db.close()  # rolls the transaction back
        lock.release()


def files_of(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}


def test_a_read_only_index_is_read_and_writes_nothing(filled: NewsIndex, caplog) -> None:
    from rag.errors import IndexReadOnlyError

    expected, folder = snapshot(filled), folder_of(filled)
    filled.close()
    (folder / "vectors.faiss").unlink()  # stale derived data: a reader must rebuild it
    (folder / "write.lock").unlink()
    (folder / "write.lock").mkdir()  # any attempt at the write lock would fail
    before = files_of(folder)
    reader = open_index("faiss", folder, model=MODEL, dimension=DIM, read_only=True)
    assert reader.read_only and snapshot(reader) == expected
    assert "rebuilt in memory, not saved (opened read-only)" in caplog.text
    with pytest.raises(IndexReadOnlyError, match=f"index at {folder} is read-only"):
        reader.write([article_write("delta", 1, seed=4)])
    assert reader.verify() == ["disk: no FAISS index"]
    reader.close()
    after = files_of(folder)
    # SQLite's reader makes its shared-memory and (empty) WAL files; nothing else is written.
    assert after.pop("store.sqlite-wal", b"") == b""
    after.pop("store.sqlite-shm", None)
    assert after == before
    with pytest.raises(IndexNotFoundError, match="no index at"):
        open_index("faiss", folder.parent / "typo", model=MODEL, dimension=DIM, read_only=True)
    assert not (folder.parent / "typo").exists()


def test_an_index_whose_lock_cannot_be_made_is_read_and_refuses_writes(
        filled: NewsIndex) -> None:
    """Readers never touch the write lock; a writer that cannot make it says so."""
    from rag.errors import IndexReadOnlyError

    expected, folder = snapshot(filled), folder_of(filled)
    filled.close()
    (folder / "write.lock").unlink()
    (folder / "write.lock").mkdir()
    index = open_test(folder)
    assert not index.read_only and snapshot(index) == expected
    with pytest.raises(IndexReadOnlyError, match=r"write\.lock: Is a directory"):
        index.write([article_write("delta", 1, seed=4)])
    assert snapshot(index) == expected


def test_a_writer_mid_write_blocks_no_reader_and_a_second_writer_gives_up(
        filled: NewsIndex) -> None:
    from rag.errors import IndexBusyError

    expected, folder = snapshot(filled), folder_of(filled)
    filled.close()
    (folder / "vectors.faiss").unlink()
    with another_writer(folder):
        reader = open_index("faiss", folder, model=MODEL, dimension=DIM, lock_timeout_s=0.5)
        assert snapshot(reader) == expected  # rebuilt in memory: the lock is not free
        assert not (folder / "vectors.faiss").exists()
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match=f"index at {folder} is busy.*"
                                                 "RAG_LOCK_TIMEOUT_S"):
            reader.write([article_write("delta", 1, seed=4)])
        assert time.monotonic() - started < 30  # 0.5 s, and generous slack
    reader.write([article_write("delta", 1, seed=4)])  # the writer is gone: it goes through
    assert reader.stats().articles == 4 and reader.verify() == []


def test_a_full_disk_is_named_and_the_last_commit_stays(filled: NewsIndex) -> None:
    from rag.errors import DiskFullError

    expected = snapshot(filled)
    db = filled.store._db  # type: ignore[attr-defined]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's SQLITE_FULL, as on a full disk
    with pytest.raises(DiskFullError, match=f"no disk space left for the index at "
                                            f"{folder_of(filled)}: the write was rolled back"):
        filled.write([article_write("delta", 300, seed=4)], ["beta"])
    assert snapshot(filled) == expected and filled.verify() == []
    filled.close()
    again = open_test(folder_of(filled))
    assert snapshot(again) == expected and again.stats().articles == 3
    again.write([article_write("delta", 300, seed=4)])  # with room again it is writable
    assert again.stats().articles == 4


def test_a_vector_file_the_disk_cannot_take_is_logged_and_rebuilt(filled: NewsIndex,
                                                                   monkeypatch, caplog) -> None:
    """The store committed; only the derived file is missing: no error, and nothing lost."""
    import faiss

    def full(index, path):  # type: ignore[no-untyped-def]
        raise RuntimeError("write error in vectors.faiss (No space left on device)")

    monkeypatch.setattr(faiss, "write_index", full)
    filled.write([article_write("delta", 2, seed=4)])
    monkeypatch.undo()
    assert "the vector index could not be saved" in caplog.text
    expected = snapshot(filled)
    assert not list(folder_of(filled).glob("*.tmp"))
    filled.close()
    again = open_test(folder_of(filled))
    assert snapshot(again) == expected and again.verify() == []
