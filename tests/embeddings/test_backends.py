"""The onnx-int8 embedding backend: same tokens and (nearly) the same vectors as torch, a cached
export that is rebuilt when damaged, indexes that keep to one backend, and `rag reindex`."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from embeddings import canonical_backend, get_embedder, model_identity
from embeddings.base import Embedder
from embeddings.onnx_int8 import (
    META_FILE,
    MODEL_FILE,
    QUERY_FILE,
    ModelSpec,
    cached_export_ok,
    ensure_export,
)
from eval.cache import index_key
from rag import SAMPLE_CORPUS, Config, RagSystem
from rag.collections import FOLDER
from rag.errors import BadInputError, IndexMismatchError, RagError
from rag.reindex import reindex

MODEL = "all-MiniLM-L6-v2"
TEXTS = [
    "Where is the nuclear plant being built?",
    "  Which aircraft does Iran want from Russia?  ",
    "hi",
    "The water polo final ended 16-13 after a late goal by Japan's captain.",
    "Iran's central bank said merchants may settle trade in local currencies, a move meant "
    "to ease pressure from sanctions and to open new markets in Asia and Africa. " * 6,
]


def test_backend_names_and_identities() -> None:
    assert canonical_backend("sentence-transformers") == "torch"
    assert model_identity(MODEL, "torch") == MODEL  # torch indexes built before backends open
    assert model_identity(MODEL, "onnx-int8") == f"{MODEL}+onnx-int8"
    with pytest.raises(ValueError, match="unknown embedding backend 'int4'"):
        get_embedder(MODEL, "int4")
    with pytest.raises(BadInputError, match="embedding_backend must be one of"):
        Config.from_env({"RAG_EMBEDDING_BACKEND": "onnx"})
    assert Config.from_env({"RAG_EMBEDDING_BACKEND": "onnx-int8"}).embedding_backend == \
        "onnx-int8"


def test_eval_cache_key_of_torch_indexes_is_unchanged() -> None:
    """Keys of eval indexes built before backends existed (~/.cache/news-rag/eval) still name
    torch indexes; int8 ones get keys of their own."""
    torch_key = index_key("abc", Config(embedding_backend="torch"))
    before = {"corpus": "abc", "embedding_model": MODEL, "index_backend": "faiss",
              "chunk_tokens": "200", "chunk_overlap_sentences": "1"}
    expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    assert torch_key == expected
    assert index_key("abc", Config(embedding_backend="onnx-int8")) != expected


@pytest.mark.slow
def test_int8_vectors_match_torch(torch_embedder, embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.name == f"{MODEL}+onnx-int8" and embedder.backend == "onnx-int8"
    assert (embedder.dimension, embedder.max_tokens) == (384, 256)
    assert get_embedder(MODEL, "onnx-int8") is embedder
    chunks = [t.read_text() for t in sorted(SAMPLE_CORPUS.glob("*.txt"))]
    texts = TEXTS + chunks
    fp32, int8 = torch_embedder.embed(texts), embedder.embed(texts, batch_size=4)
    assert int8.shape == fp32.shape and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cosines = (fp32 * int8).sum(axis=1)
    # 0.978-0.98 for "hi" batched with longer texts, by the CPU's int8 kernels; per-tensor
    # quantization gave 0.91 (docs/embedding-backends.md).
    assert cosines.min() >= 0.975 and cosines.mean() >= 0.99, cosines
    # Dynamic quantization scales activations per batch, so a text's vector moves a little
    # with its batch mates ("hi" beside 256-token texts: 0.978); alone, it is the same vector.
    single = np.vstack([embedder.embed([t]) for t in TEXTS])
    assert (single * int8[:len(TEXTS)]).sum(axis=1).min() >= 0.97
    assert np.allclose(single[0], embedder.embed([TEXTS[0]]), atol=1e-6)
    q = embedder.embed_query(TEXTS[0])
    assert embedder.embed_query(TEXTS[0]) is q
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_int8_questions_are_embedded_in_fp32(torch_embedder, embedder) -> None:
    """A question goes through the fp32 graph: torch's vector, where the int8 graph's moves by
    about 0.005 in cosine; passages stay int8, so only one side of a comparison is quantized."""
    for text in TEXTS:
        query, reference = embedder.embed_query(text), torch_embedder.embed_query(text)
        assert query.dtype == np.float32 and query.shape == (384,)
        assert np.abs(query - reference).max() < 1e-5, text
        as_passage = embedder.embed([text])[0]
        assert float(as_passage @ reference) < 0.9999, text  # the int8 graph: not the same path
    assert float(embedder.embed_query(TEXTS[3]) @ embedder.embed([TEXTS[3]])[0]) > 0.98


@pytest.mark.slow
def test_int8_tokenizes_as_torch(torch_embedder, embedder) -> None:
    """Token for token: the ids sentence-transformers feeds its model, and the chunker's
    token counts."""
    for batch in (TEXTS[:2], TEXTS):
        torch_ids = torch_embedder.model.preprocess(batch)["input_ids"].numpy()
        ours = embedder.tokenizer([t.strip() for t in batch], padding=True,
                                       truncation="longest_first", max_length=256,
                                       return_tensors="np")["input_ids"]
        assert np.array_equal(torch_ids, ours)
    assert embedder.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)


@pytest.mark.slow
def test_a_damaged_or_missing_export_is_rebuilt(embedder, tmp_path) -> None:
    spec = ModelSpec(MODEL)
    folder = spec.export_dir(tmp_path)
    shutil.copytree(embedder.path.parent, folder)  # the session's export, checked
    assert ensure_export(MODEL, tmp_path) == folder / MODEL_FILE
    good = (folder / MODEL_FILE).read_bytes()
    with open(folder / MODEL_FILE, "r+b") as fh:  # same size, a few bytes flipped
        fh.seek(len(good) // 2)
        fh.write(b"\xff" * 16)
    assert not cached_export_ok(folder)
    path = ensure_export(MODEL, tmp_path)  # exported and quantized again
    assert cached_export_ok(folder) and path.read_bytes() == good  # deterministic
    query_graph = (folder / QUERY_FILE).read_bytes()
    with open(folder / QUERY_FILE, "r+b") as fh:  # the fp32 graph of questions, damaged
        fh.seek(len(query_graph) // 3)
        fh.write(b"\x00" * 16)
    assert not cached_export_ok(folder)
    ensure_export(MODEL, tmp_path)
    assert cached_export_ok(folder) and (folder / QUERY_FILE).read_bytes() == query_graph
    (folder / QUERY_FILE).unlink()
    assert not cached_export_ok(folder)
    ensure_export(MODEL, tmp_path)
    (folder / MODEL_FILE).unlink()
    assert not cached_export_ok(folder)
    (folder / META_FILE).unlink()
    assert not cached_export_ok(folder)
    assert sorted(p.name for p in folder.iterdir()) == [QUERY_FILE]


@pytest.fixture(scope="module")
def torch_index_dir(tmp_path_factory, torch_embedder):
    """The sample corpus indexed on torch, as every index built before int8 was the default."""
    path = tmp_path_factory.mktemp("torch-index")
    system = RagSystem(Config(index_dir=path, embedding_backend="torch"))
    assert system.embedder is torch_embedder
    assert system.ingest_paths([SAMPLE_CORPUS]).added == 7
    system.index.close()
    return path


@pytest.mark.slow
def test_new_indexes_are_int8(sample_index_dir, tmp_path, embedder) -> None:
    system = RagSystem(Config(index_dir=tmp_path / "new"))
    assert (system.embedding_backend, system.embedder) == ("onnx-int8", embedder)
    assert RagSystem(Config(index_dir=sample_index_dir)).stats().model == f"{MODEL}+onnx-int8"


@pytest.mark.slow
def test_an_index_refuses_the_other_backend(torch_index_dir, sample_index_dir,
                                            embedder) -> None:
    with pytest.raises(IndexMismatchError) as exc:
        RagSystem(Config(index_dir=sample_index_dir, embedding_backend="torch"))
    message = str(exc.value)
    assert f"'{MODEL}+onnx-int8'" in message and f"not '{MODEL}'" in message
    assert "RAG_EMBEDDING_BACKEND" in message and "rag reindex" in message
    with pytest.raises(IndexMismatchError, match=r"not 'all-MiniLM-L6-v2\+onnx-int8'"):
        RagSystem(Config(index_dir=torch_index_dir, embedding_backend="onnx-int8"))
    with pytest.raises(IndexMismatchError):  # the int8 model handed in, torch index
        RagSystem(Config(index_dir=torch_index_dir), embedder=embedder)


@pytest.mark.slow
def test_a_torch_index_still_answers_and_names_reindex_once(
        torch_index_dir, sample_index_dir, torch_embedder, embedder, tmp_path, monkeypatch,
        caplog) -> None:
    """``auto`` opens each index with its own backend; an old torch index answers as before,
    and the first open on this machine names `rag reindex` (once, not on every command)."""
    monkeypatch.setenv("NEWS_RAG_MODEL_CACHE", str(tmp_path / "cache"))
    int8 = RagSystem(Config(index_dir=sample_index_dir), create=False)
    assert (int8.embedding_backend, int8.embedder) == ("onnx-int8", embedder)
    assert "Bushehr" in int8.ask("Where is the nuclear plant being built?").text
    assert "rag reindex" not in caplog.text
    torch = RagSystem(Config(index_dir=torch_index_dir), create=False)
    assert (torch.embedding_backend, torch.embedder) == ("torch", torch_embedder)
    assert "Bushehr" in torch.ask("Where is the nuclear plant being built?").text
    notes = [r.getMessage() for r in caplog.records if "rag reindex" in r.getMessage()]
    assert notes == [f"note: the index at {torch_index_dir} was built with the torch embedding "
                     "backend; new indexes use onnx-int8, which answers in about half the time. "
                     f"It keeps working as it is; to switch: rag reindex --index "
                     f"{torch_index_dir} --backend onnx-int8"]
    caplog.clear()
    RagSystem(Config(index_dir=torch_index_dir), create=False)
    RagSystem(Config(index_dir=torch_index_dir, embedding_backend="torch"), create=False)
    assert "rag reindex" not in caplog.text


@pytest.mark.slow
def test_reindex_swaps_in_an_index_of_the_other_backend(torch_index_dir, tmp_path,
                                                        embedder) -> None:
    path = tmp_path / "index"
    shutil.copytree(torch_index_dir, path)
    report = reindex(Config(index_dir=path), backend="onnx-int8")
    assert (report.articles, report.old_model, report.new_model) == (
        7, MODEL, f"{MODEL}+onnx-int8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # nothing left beside it
    system = RagSystem(Config(index_dir=path), create=False)
    assert system.stats().model == f"{MODEL}+onnx-int8" and system.stats().articles == 7
    assert "Bushehr" in system.ask("Where is the nuclear plant being built?").text
    system.index.close()
    with pytest.raises(BadInputError, match="already built with"):
        reindex(Config(index_dir=path), backend="onnx-int8")
    kept = reindex(Config(index_dir=path), backend="torch", keep_old=True).kept
    assert kept is not None and kept.parent == tmp_path
    assert RagSystem(Config(index_dir=path), create=False).stats().model == MODEL


@pytest.mark.slow
def test_a_failed_reindex_leaves_the_old_index(torch_index_dir, tmp_path, monkeypatch) -> None:
    path = tmp_path / "index"
    shutil.copytree(torch_index_dir, path)
    def files() -> list[str]:  # SQLite's -wal/-shm come and go with open connections
        return sorted(p.name for p in path.iterdir() if not p.name.endswith(("-wal", "-shm")))

    before = files()

    def broken(self, *args, **kwargs):
        raise RagError("disk full")

    monkeypatch.setattr(RagSystem, "ingest", broken)
    with pytest.raises(RagError, match="disk full"):
        reindex(Config(index_dir=path), backend="onnx-int8")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    assert files() == before
    stats = RagSystem(Config(index_dir=path), create=False).stats()
    assert (stats.model, stats.articles) == (MODEL, 7)


@pytest.mark.slow
def test_reindex_re_embeds_every_collection_and_keeps_feeds_keys_and_briefings(
        torch_index_dir, tmp_path, embedder) -> None:
    """An index with a named collection, followed feeds, stored briefings and API keys comes out
    of `rag reindex` with every collection on the new model and all of that still there."""
    from rag.articles import Article
    from rag.feeds.stores import index_feed_store
    from rag.keys import open_key_store

    path = tmp_path / "index"
    shutil.copytree(torch_index_dir, path)
    system = RagSystem(Config(index_dir=path), create=False)
    desk = system.create_collection("desk")
    desk.ingest([Article(id="crane", title="Crane collapses at Port Kessel",
                         text="A harbour crane collapsed at Port Kessel on Monday. Dockworkers "
                              "said the crane had been inspected in January.")])
    index_feed_store(system.config).add("https://example.org/default.rss", every_s=1800)
    index_feed_store(desk.config).add("https://example.org/desk.rss", every_s=3600)
    briefing = path / FOLDER / "desk" / "feed-briefings" / "1.json"
    briefing.parent.mkdir()
    briefing.write_text("{}")
    key = open_key_store(system.config).create("ana", "read", ["desk"])[0]
    system.index.close()
    desk.index.close()

    report = reindex(Config(index_dir=path), backend="onnx-int8")

    assert (report.articles, report.old_model, report.new_model) == (
        8, MODEL, f"{MODEL}+onnx-int8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    after = RagSystem(Config(index_dir=path), create=False)
    assert after.collection_names() == ["default", "desk"]
    assert [(s.stats().model, s.stats().articles) for s in (after, after.over("desk"))] == [
        (f"{MODEL}+onnx-int8", 7), (f"{MODEL}+onnx-int8", 1)]
    assert "Port Kessel" in after.over("desk").ask("Where did the crane collapse?").text
    assert [f.url for f in index_feed_store(after.config).feeds()] == [
        "https://example.org/default.rss"]
    assert [(f.url, f.every_s) for f in index_feed_store(after.over("desk").config).feeds()] == [
        ("https://example.org/desk.rss", 3600)]
    assert briefing.read_text() == "{}"
    assert [k.id for k in open_key_store(after.config).listed()] == [key.id]


@pytest.mark.slow
def test_reindex_of_an_index_without_collections_keeps_its_feeds_and_keys(
        torch_index_dir, tmp_path, embedder) -> None:
    """Before, the swap put a folder of the index alone in place: the followed feeds and the API
    keys were deleted with the old folder (a server with keys then asked for none)."""
    from rag.feeds.stores import index_feed_store
    from rag.keys import open_key_store

    path = tmp_path / "index"
    shutil.copytree(torch_index_dir, path)
    config = Config(index_dir=path)
    index_feed_store(config).add("https://example.org/rss", every_s=1800)
    key = open_key_store(config).create("ana", "read", ["default"])[0]
    reindex(config, backend="onnx-int8")
    assert [f.url for f in index_feed_store(config).feeds()] == ["https://example.org/rss"]
    assert [k.id for k in open_key_store(config).listed()] == [key.id]
    assert RagSystem(config, create=False).stats().model == f"{MODEL}+onnx-int8"
