"""Evaluation indexes, cached by corpus hash and the settings that shape an index.

A cached index is reused across runs; a new one may take its vectors from another index folder
(``seed``) built with the same model, so no chunk text is ever embedded twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import DEFAULT_BACKEND, get_embedder
from embeddings.base import Embedder
from rag.config import Config
from rag.errors import BadInputError, IndexNotFoundError
from rag.ingest import IngestReport
from rag.system import RagSystem

# Settings that change what is stored in an index (a new field that does belongs here too).
# Not ``dedupe_threshold``: it shapes the BM25 build and its near-duplicate groups, which the
# index folder keys by (generation, threshold) itself, so one cached index serves every threshold
# (rag.retrieval.bm25).
INDEX_FIELDS = ("embedding_model", "index_backend", "chunk_tokens", "chunk_overlap_sentences")
# ... and the embedding backend, keyed only when not torch: keys of torch indexes built before
# there were backends stay as they were.
CACHE_ENV = "NEWS_RAG_EVAL_CACHE"


def config_json(config: Config) -> dict[str, Any]:
    """The config as JSON values (paths as strings, tuples as lists), so that it compares
    equal to itself read back from a run's run.json.

    >>> config_json(Config())["collections"]
    ['default']
    """
    return {f.name: _json_value(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _json_value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    return list(value) if isinstance(value, tuple) else value


def default_cache_dir() -> Path:
    """``$NEWS_RAG_EVAL_CACHE``, else ~/.cache/news-rag/eval."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "news-rag" / "eval")


def index_key(corpus_hash: str, config: Config) -> str:
    """Names the cached index of a corpus under the settings that shape it.

    >>> index_key("abc", Config()) == index_key("abc", Config(top_k=3))
    True
    >>> index_key("abc", Config()) == index_key("abc", Config(chunk_tokens=100))
    False
    >>> index_key("abc", Config()) == index_key("abc", Config(dedupe_threshold=0.5))
    True
    >>> index_key("abc", Config(embedding_backend="torch")) == index_key(
    ...     "abc", Config(embedding_backend="onnx-int8"))
    False
    """
    settings = {name: str(getattr(config, name)) for name in INDEX_FIELDS}
    backend = eval_backend(config)
    if backend != "torch":
        settings["embedding_backend"] = backend
    payload = json.dumps({"corpus": corpus_hash, **settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def cached_index_dir(corpus: Path, config: Config, cache_dir: Path | None = None) -> Path:
    """The folder of ``corpus``'s evaluation index under ``config``, built earlier by
    ``python -m eval run``; for the benchmarks that read it. Not built yet: IndexNotFoundError
    naming the folder and the command that builds it (a missing corpus: BadInputError).

    >>> import tempfile
    >>> corpus = Path(tempfile.mkdtemp()) / "corpus.jsonl"
    >>> _ = corpus.write_text('{"title": "t", "text": "x"}')
    >>> cached_index_dir(corpus, Config(), cache_dir=corpus.parent)
    Traceback (most recent call last):
    rag.errors.IndexNotFoundError: no cached eval index of ...
    """
    from eval.data import file_hash

    path = (cache_dir or default_cache_dir()) / "indexes" / index_key(file_hash(corpus), config)
    if not (path / "eval-index.json").is_file():
        raise IndexNotFoundError(f"no cached eval index of {corpus} at {path}: run `python -m "
                                 f"eval run --corpus {corpus} ...` with the same settings first")
    return path


def eval_backend(config: Config) -> str:
    """The embedding backend of an evaluation index: the configured one, or for ``auto`` the
    default of new indexes."""
    return DEFAULT_BACKEND if config.embedding_backend == "auto" else config.embedding_backend


class SeededEmbedder:
    """An Embedder that first looks texts up among the stored vectors of another index folder.

    Chunk keys are the sha1 of the embedded text, so a hit is the very vector the model would
    give; only texts the seed lacks are embedded. The seed's SQLite store is opened read-only
    (another process may still be writing it).
    """

    def __init__(self, embedder: Embedder, seed_dir: Path) -> None:
        self.inner = embedder
        self.name, self.dimension, self.max_tokens = (embedder.name, embedder.dimension,
                                                      embedder.max_tokens)
        self.backend = getattr(embedder, "backend", None)
        store = Path(seed_dir) / "store.sqlite"
        if not store.is_file():
            raise BadInputError(f"seed index {seed_dir} has no store.sqlite")
        self.db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, check_same_thread=False)
        row = self.db.execute("SELECT value FROM meta WHERE key='model'").fetchone()
        if not row or row[0] != embedder.name:
            raise BadInputError(f"seed index {seed_dir} was built with model "
                                f"{row[0] if row else None!r}, not {embedder.name!r}")
        self.reused = 0

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            rows = self.db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})",
                batch)
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return found

    def embed(self, texts: list[str], *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        found = self._lookup(keys)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = []
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
            else:
                missing.append(i)
        if missing:
            out[missing] = self.inner.embed([texts[i] for i in missing], batch_size=batch_size,
                                            show_progress=show_progress)
        self.reused += len(texts) - len(missing)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def close(self) -> None:
        self.db.close()


@dataclass
class EvalIndex:
    system: RagSystem
    key: str
    path: Path
    report: IngestReport


def open_eval_index(corpus: Path, corpus_hash: str, config: Config, cache_dir: Path,
                    seed: Path | None = None, show_progress: bool = False) -> EvalIndex:
    """The index of ``corpus`` under ``config``: built once, then reused (ingest skips what is
    already there, so an interrupted build resumes). ``seed``: an index folder built with the same
    model whose stored vectors are reused instead of embedding again.
    """
    from eval.data import load_corpus

    key = index_key(corpus_hash, config)
    path = Path(cache_dir) / "indexes" / key
    config = config.replace(index_dir=path)
    embedder = get_embedder(config.embedding_model, eval_backend(config),
                            threads=config.embedding_threads)
    articles = load_corpus(corpus)
    if seed is not None:
        seeded = SeededEmbedder(embedder, Path(seed))
        builder = RagSystem(config, embedder=seeded)
        report = builder.ingest(articles, commit_every=200, show_progress=show_progress)
        builder.index.close()
        seeded.close()
        # The ingest counts every vector it asked for; most came from the seed, not the model.
        report.embedded -= seeded.reused
    system = RagSystem(config, embedder=embedder)
    if seed is None:
        report = system.ingest(articles, commit_every=200, show_progress=show_progress)
    (path / "eval-index.json").write_text(json.dumps(
        {"corpus": str(corpus), "corpus_sha256": corpus_hash,
         **{f: str(getattr(config, f)) for f in INDEX_FIELDS},
         "embedding_backend": eval_backend(config)}, indent=2))
    return EvalIndex(system, key, path, report)
