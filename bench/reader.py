"""The cost of answers of the asked kind (``reader_typed``), interleaved in one process.

Asks the same questions of two systems over one cached eval index, the default and the same
with ``reader_typed=false``, question by question, alternating which goes first so both see
the same load. Prints p50/p95 of the answer and total times and their typed/plain ratios::

    python bench/reader.py --json bench/results/reader-typed.json

The index is the one ``python -m eval run`` caches for the corpus (the repo's typed set by
default).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import percentile
from eval.cache import cached_index_dir
from eval.data import load_questions
from rag.config import Config
from rag.errors import RagError
from rag.system import RagSystem

TYPED = Path(__file__).resolve().parent.parent / "eval/questions/typed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=TYPED / "corpus.jsonl")
    parser.add_argument("--questions-file", type=Path, default=TYPED / "questions.jsonl")
    parser.add_argument("--questions", type=int, default=0, help="first N questions (0: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    base = Config.from_env()
    try:
        path = cached_index_dir(args.corpus, base)
    except RagError as error:
        parser.error(str(error))
    # The embedder is the index's own (its manifest names the backend), loaded once and shared.
    systems = {label: RagSystem(base.replace(index_dir=path, reader_typed=typed), create=False)
               for label, typed in (("typed", True), ("plain", False))}
    questions = load_questions(args.questions_file)
    questions = questions[:args.questions] if args.questions else questions
    for system in systems.values():  # load the reader, the NER model and the index once
        system.ask(questions[0].question)
    times: dict[str, dict[str, list[float]]] = {k: {"answer": [], "total": []} for k in systems}
    for i, q in enumerate(questions):
        order = list(systems) if i % 2 == 0 else list(reversed(systems))
        for label in order:
            answer = systems[label].ask(q.question)
            times[label]["answer"].append(answer.timings_ms.get("answer", 0.0))
            times[label]["total"].append(answer.timings_ms.get("total", 0.0))
    figures: dict[str, dict[str, float]] = {}
    for label, stages in times.items():
        figures[label] = {f"{stage} p{p}": round(percentile(v, p), 1)
                          for stage, v in stages.items() for p in (50, 95)}
    figures["typed / plain"] = {k: round(figures["typed"][k] / figures["plain"][k], 2)
                                for k in figures["typed"]}
    for label, row in figures.items():
        print(f"{label:>14}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps({"questions": len(questions), **figures}, indent=1)
                             + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
