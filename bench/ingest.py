"""Ingest benchmark: our ingest against raw model encoding, on both embedding backends, and a
plain LangChain pipeline.

On the first ``--articles`` articles of ../shared/eval/realtimeqa/corpus.jsonl, in one process,
with every model loaded and warmed up before any timing:

  (a) raw ``SentenceTransformer.encode`` of exactly the chunk texts our ingest embeds (title +
      chunk; chunking itself is not timed here),
  (b) our ingest with the torch backend: ``RagSystem.ingest`` into a fresh temporary index
      (chunking, token counting, embedding, SQLite and FAISS writes),
  (d) raw int8 encode: the onnx-int8 embedder's ``embed`` of the same texts (onnxruntime,
      ``embedding_threads`` threads: by default the cores this process may run on),
  (e) our ingest with the onnx-int8 backend, as (b),
  (f) raw int8 encode with 1 thread (the 1 vs 2 threads comparison),
  (c) a plain LangChain pipeline: RecursiveCharacterTextSplitter(1000, 200) +
      HuggingFaceEmbeddings (same model folder) + langchain-community ``FAISS.from_documents``
      (``--no-langchain`` skips it).

It prints chunks/s and articles/s for each and every time as a ratio of (a): targets b/a <= 1.3
(our overhead over the model) and e/a <= 0.6 (issue 16: int8 ingest against raw torch). The
machine is shared, so compare the ratios, not the absolute rates; the load average is printed
beside them. ``--json PATH`` also writes the figures::

    python bench/ingest.py --articles 100 --rounds 2
    python bench/ingest.py --articles 100 --rounds 2 --json bench/results/ingest-int8.json
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.articles import Article, article_from_record
from rag.config import Config
from rag.ingest import chunk_for
from rag.system import RagSystem

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa/corpus.jsonl"
TARGET = 1.3
TARGET_INT8 = 0.6


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
    parser.add_argument("--no-langchain", action="store_true", help="skip (c)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
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
    embedder = get_embedder(config.embedding_model, "torch")
    model = embedder.model  # type: ignore[attr-defined]
    int8 = get_embedder(config.embedding_model, "onnx-int8", threads=config.embedding_threads)
    int8_one = get_embedder(config.embedding_model, "onnx-int8", threads=1)
    lc_embeddings = HuggingFaceEmbeddings(
        model=resolve_model_path(config.embedding_model),
        encode_kwargs={"normalize_embeddings": True, "batch_size": config.embed_batch_size})
    warm = ["A short warm-up sentence about the news."] * config.embed_batch_size
    model.encode(warm, batch_size=config.embed_batch_size)
    lc_embeddings.embed_documents(warm)
    int8.embed(warm, batch_size=config.embed_batch_size)
    int8_one.embed(warm, batch_size=config.embed_batch_size)

    texts = our_chunk_texts(articles, embedder, config)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)

    def raw_encode() -> int:
        model.encode(texts, batch_size=config.embed_batch_size, normalize_embeddings=True,
                     convert_to_numpy=True)
        return len(texts)

    def our_ingest(backend_embedder) -> int:  # type: ignore[no-untyped-def]
        with tempfile.TemporaryDirectory() as tmp:
            system = RagSystem(config.replace(index_dir=Path(tmp) / "index"),
                               embedder=backend_embedder)
            report = system.ingest(articles)
            system.index.close()
        if report.embedded != len(texts):
            raise SystemExit(f"ingest embedded {report.embedded} texts, expected {len(texts)}")
        return report.chunks

    def int8_encode(backend_embedder) -> int:  # type: ignore[no-untyped-def]
        backend_embedder.embed(texts, batch_size=config.embed_batch_size)
        return len(texts)

    def langchain_pipeline() -> int:
        docs = [Document(page_content=a.text, metadata={"id": a.id, "title": a.title})
                for a in articles]
        splits = splitter.split_documents(docs)
        FAISS.from_documents(splits, lc_embeddings)
        return len(splits)

    # Round-robin, best of --rounds each: the machine is shared, and the minimum is the run
    # least disturbed by other processes.
    stages = {"a": raw_encode, "b": lambda: our_ingest(embedder),
              "d": lambda: int8_encode(int8), "e": lambda: our_ingest(int8),
              "f": lambda: int8_encode(int8_one)}
    if not args.no_langchain:
        stages["c"] = langchain_pipeline
    load_before = os.getloadavg()
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
    load_after = os.getloadavg()
    names = {"a": "(a) raw SentenceTransformer.encode (torch)",
             "b": "(b) our ingest, torch",
             "d": f"(d) raw int8 encode ({int8.threads} threads)",  # type: ignore[attr-defined]
             "e": "(e) our ingest, onnx-int8",
             "f": "(f) raw int8 encode (1 thread)",
             "c": "(c) LangChain splitter+HF+FAISS"}
    t_a = best["a"][1]
    print(f"\n{n} articles of {args.corpus.name} (first {args.articles}), model "
          f"{config.embedding_model}, batch {config.embed_batch_size}, best of {args.rounds}, "
          f"chunks of <= {config.chunk_tokens} tokens (ours) / 1000 chars (LangChain); "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after\n")
    print("| pipeline | chunks | seconds | chunks/s | articles/s | time / (a) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in stages:
        chunks, seconds = best[key]
        print(f"| {names[key]} | {chunks} | {seconds:.1f} | {chunks / seconds:.1f} | "
              f"{n / seconds:.2f} | {seconds / t_a:.3f} |")
    ratio_ba, ratio_ea = best["b"][1] / t_a, best["e"][1] / t_a
    print(f"\nb/a (time) = {ratio_ba:.3f}  (target <= {TARGET}: "
          f"{'met' if ratio_ba <= TARGET else 'NOT met'})")
    print(f"e/a (time) = {ratio_ea:.3f}  (target <= {TARGET_INT8}: "
          f"{'met' if ratio_ea <= TARGET_INT8 else 'NOT met'})")
    print(f"e/d (time) = {best['e'][1] / best['d'][1]:.3f}  (our int8 ingest over raw int8)")
    print(f"f/d (time) = {best['f'][1] / best['d'][1]:.3f}  (1 thread over "
          f"{int8.threads})")  # type: ignore[attr-defined]
    if "c" in best:
        print(f"b/c (time) = {best['b'][1] / best['c'][1]:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "articles": n, "texts": len(texts), "rounds": args.rounds,
            "batch_size": config.embed_batch_size, "cpus": os.cpu_count(),
            "int8_threads": int8.threads,  # type: ignore[attr-defined]
            "load_before": load_before, "load_after": load_after,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "stages": {names[k]: {"chunks": best[k][0], "seconds": round(best[k][1], 3),
                                  "ratio_to_a": round(best[k][1] / t_a, 3)} for k in stages},
        }, indent=2) + "\n")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
