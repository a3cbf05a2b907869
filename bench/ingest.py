"""Ingest benchmark: our ingest against raw model encoding and a plain LangChain pipeline.

On the first ``--articles`` articles of ../shared/eval/realtimeqa/corpus.jsonl, in one process,
with both models loaded and warmed up before any timing:

  (a) raw ``SentenceTransformer.encode`` of exactly the chunk texts our ingest embeds (title +
      chunk; chunking itself is not timed here),
  (b) our ingest: ``RagSystem.ingest`` into a fresh temporary index (chunking, token counting,
      embedding, SQLite and FAISS writes),
  (c) a plain LangChain pipeline: RecursiveCharacterTextSplitter(1000, 200) +
      HuggingFaceEmbeddings (same model folder) + langchain-community ``FAISS.from_documents``.

It prints chunks/s and articles/s for each and the time ratios b/a (target: at most 1.3) and
b/c. The machine is shared, so compare the ratios, not the absolute rates::

    python bench/ingest.py --articles 100 --rounds 2
    python bench/ingest.py --articles 100 --profile   # cProfile of (b), top 25 by own time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.articles import Article, article_from_record
from rag.config import Config
from rag.ingest import chunk_for
from rag.system import RagSystem

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa/corpus.jsonl"
TARGET = 1.3


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_articles(corpus: Path, n: int) -> list[Article]:
    with open(corpus, encoding="utf-8") as fh:
        return [article_from_record(json.loads(line), origin=f"{corpus}#{i}")
                for i, line in enumerate(islice(fh, n), start=1)]


def our_chunk_texts(articles: list[Article], embedder, config: Config) -> list[str]:  # type: ignore[no-untyped-def]
    """What our ingest embeds: each distinct chunk key once, title included."""
    texts: dict[str, str] = {}
    for article in articles:
        for chunk in chunk_for(article, embedder, config):
            texts.setdefault(chunk.key, chunk.embed_text)
    return list(texts.values())


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100, help="first N articles (100)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run a, b, c this many times round-robin; keep each one's best")
    parser.add_argument("--profile", action="store_true", help="cProfile our ingest (b)")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found")

    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from embeddings import get_embedder
    from embeddings.sentence_transformers import resolve_model_path

    config = Config.from_env()
    articles = load_articles(args.corpus, args.articles)
    n = len(articles)
    log(f"{n} articles, {sum(len(a.text) for a in articles):,} characters; loading models")
    embedder = get_embedder(config.embedding_model)
    model = embedder.model  # type: ignore[attr-defined]
    lc_embeddings = HuggingFaceEmbeddings(
        model=resolve_model_path(config.embedding_model),
        encode_kwargs={"normalize_embeddings": True, "batch_size": config.embed_batch_size})
    warm = ["A short warm-up sentence about the news."] * config.embed_batch_size
    model.encode(warm, batch_size=config.embed_batch_size)
    lc_embeddings.embed_documents(warm)

    texts = our_chunk_texts(articles, embedder, config)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)

    def raw_encode() -> int:
        model.encode(texts, batch_size=config.embed_batch_size, normalize_embeddings=True,
                     convert_to_numpy=True)
        return len(texts)

    def our_ingest() -> int:
        with tempfile.TemporaryDirectory() as tmp:
            system = RagSystem(config.replace(index_dir=Path(tmp) / "index"), embedder=embedder)
            report = system.ingest(articles)
            system.index.close()
        if report.embedded != len(texts):
            raise SystemExit(f"ingest embedded {report.embedded} texts, expected {len(texts)}")
        return report.chunks

    def langchain_pipeline() -> int:
        docs = [Document(page_content=a.text, metadata={"id": a.id, "title": a.title})
                for a in articles]
        splits = splitter.split_documents(docs)
        FAISS.from_documents(splits, lc_embeddings)
        return len(splits)

    # Round-robin, best of --rounds each: the machine is shared, and the minimum is the run
    # least disturbed by other processes.
    stages = {"a": raw_encode, "b": our_ingest, "c": langchain_pipeline}
    best: dict[str, tuple[int, float]] = {}
    profiler = cProfile.Profile() if args.profile else None
    for r in range(args.rounds):
        for key, stage in stages.items():
            log(f"round {r + 1}/{args.rounds}: ({key})")
            if profiler and key == "b":
                profiler.enable()
            chunks, seconds = timed(stage)
            if profiler and key == "b":
                profiler.disable()
            if key not in best or seconds < best[key][1]:
                best[key] = (chunks, seconds)
    t_a, t_b, t_c = (best[k][1] for k in "abc")

    rows = [("(a) raw SentenceTransformer.encode", best["a"][0], t_a),
            ("(b) our ingest (RagSystem.ingest)", best["b"][0], t_b),
            ("(c) LangChain splitter+HF+FAISS", best["c"][0], t_c)]
    print(f"\n{n} articles of {args.corpus.name} (first {args.articles}), model "
          f"{config.embedding_model}, batch {config.embed_batch_size}, best of {args.rounds}, "
          f"chunks of <= {config.chunk_tokens} tokens (ours) / 1000 chars (LangChain)\n")
    print("| pipeline | chunks | seconds | chunks/s | articles/s |")
    print("|---|---:|---:|---:|---:|")
    for name, chunks, seconds in rows:
        print(f"| {name} | {chunks} | {seconds:.1f} | {chunks / seconds:.1f} | "
              f"{n / seconds:.2f} |")
    ratio_ba = t_b / t_a
    print(f"\nb/a (time) = {ratio_ba:.3f}  (target <= {TARGET}: "
          f"{'met' if ratio_ba <= TARGET else 'NOT met'})")
    print(f"b/c (time) = {t_b / t_c:.3f}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
