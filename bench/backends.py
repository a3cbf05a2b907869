"""Question latency on both embedding backends, interleaved in one process.

The eval harness runs torch and int8 as two runs, minutes apart, on a machine whose load
changes; this script asks the same RealTime QA questions of the two cached eval indexes
(``python -m eval run`` builds them) one after the other, question by question, alternating
which goes first, so both see the same load. A third system runs int8 with 1 intra-op thread
(the 1 vs N threads comparison). Prints p50/p95 of the retrieve, answer and total times, of the
time each question spent in its embedder (question and sentences: the part the backend
changes), and the int8/torch ratios::

    python bench/backends.py --questions 60 --json bench/results/backends.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embeddings import get_embedder
from eval.cache import default_cache_dir, index_key
from eval.data import file_hash, load_questions
from rag.config import Config
from rag.system import RagSystem

SHARED = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa"


class TimedEmbedder:
    """``inner`` with the seconds spent in its ``embed`` and ``embed_query`` added up."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: list[str], **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed_query(text)
        finally:
            self.seconds += time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--questions-file", type=Path, default=SHARED / "questions.dev.jsonl")
    parser.add_argument("--questions", type=int, default=60, help="first N questions (60)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    corpus_hash = file_hash(args.corpus)
    base = Config.from_env()
    systems: dict[str, RagSystem] = {}
    for label, backend, threads in (("torch", "torch", 0), ("onnx-int8", "onnx-int8", 0),
                                    ("onnx-int8, 1 thread", "onnx-int8", 1)):
        config = base.replace(embedding_backend=backend, embedding_threads=threads)
        path = default_cache_dir() / "indexes" / index_key(corpus_hash, config)
        if not (path / "eval-index.json").is_file():
            parser.error(f"no cached eval index for {backend} at {path}: run `python -m eval "
                         f"run --config embedding_backend={backend} ...` first")
        embedder = TimedEmbedder(get_embedder(config.embedding_model, backend,
                                              threads=threads))
        systems[label] = RagSystem(config.replace(index_dir=path), embedder=embedder,
                                   create=False)
    questions = load_questions(args.questions_file)[:args.questions]
    warm = questions[-1]
    for system in systems.values():  # models, BM25 and caches loaded before any timing
        system.ask(warm.question + " (warm-up)", reference_date=warm.meta.get("question_date"))
    stages = ("retrieve", "answer", "total", "embedding")
    times: dict[str, dict[str, list[float]]] = {
        label: {stage: [] for stage in stages} for label in systems}
    load_before = os.getloadavg()
    labels = list(systems)
    for i, q in enumerate(questions):
        order = labels if i % 2 == 0 else labels[::-1]
        for label in order:
            timed = systems[label].embedder
            timed.seconds = 0.0  # type: ignore[attr-defined]
            answer = systems[label].ask(q.question,
                                        reference_date=q.meta.get("question_date") or None)
            for stage in ("retrieve", "answer", "total"):
                times[label][stage].append(float(answer.timings_ms.get(stage, 0.0)))
            times[label]["embedding"].append(1000 * timed.seconds)  # type: ignore[attr-defined]
    load_after = os.getloadavg()
    print(f"\n{len(questions)} questions of {args.questions_file.name}, interleaved; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after ({time.strftime('%Y-%m-%d %H:%M %Z')})\n")
    print("| system | retrieve p50 | answer p50 | answer p95 | total p50 | total p95 | "
          "embedding p50 | embedding share of total |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    summary: dict[str, dict[str, float]] = {}
    for label, stages in times.items():
        row = {f"{s} p{p}": round(percentile(v, p), 1) for s, v in stages.items()
               for p in (50, 95)}
        row["total mean"] = round(statistics.fmean(stages["total"]), 1)
        row["embedding share"] = round(sum(stages["embedding"]) / sum(stages["total"]), 3)
        summary[label] = row
        print(f"| {label} | {row['retrieve p50']:.0f} | {row['answer p50']:.0f} | "
              f"{row['answer p95']:.0f} | {row['total p50']:.0f} | {row['total p95']:.0f} | "
              f"{row['embedding p50']:.0f} | {row['embedding share']:.2f} |")
    t, q8, q1 = (summary[k] for k in labels)
    print(f"\nint8/torch total p50 = {q8['total p50'] / t['total p50']:.3f}, "
          f"p95 = {q8['total p95'] / t['total p95']:.3f}; answer p50 = "
          f"{q8['answer p50'] / t['answer p50']:.3f}; embedding p50 = "
          f"{q8['embedding p50'] / t['embedding p50']:.3f}")
    print(f"int8 1 thread / {systems['onnx-int8'].embedder.threads} threads total p50 = "  # type: ignore[attr-defined]
          f"{q1['total p50'] / q8['total p50']:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "questions": len(questions), "cpus": os.cpu_count(), "load_before": load_before,
            "load_after": load_after, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "ms": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
