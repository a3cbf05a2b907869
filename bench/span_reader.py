"""The cost of the second reader model: two models' averaged logits against the first alone.

For each question of the typed set, the span reader reads 12 windows of its corpus (three
sentences each under their article's title: the reader's default depth, context and heading)
twice, once with both shipped models and once with the first only, alternating which goes
first so both see the same load. Prints p50/p95 per question and their ratio::

    python bench/span_reader.py --json bench/results/span-reader-models.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import percentile
from eval.data import load_questions
from rag.answering.span_reader import SpanReader
from rag.answering.trained_reader import heading
from rag.sentences import sentence_spans

TYPED = Path(__file__).resolve().parent.parent / "eval/questions/typed"
WINDOWS = 12


def windows_of(corpus: Path) -> list[str]:
    """Three-sentence windows of every article, in order, each headed by its article's title as
    the app's reader reads them (``reader_titles``, the default)."""
    out: list[str] = []
    for line in corpus.read_text().splitlines():
        record = json.loads(line)
        text, head = record["text"], heading(record.get("title"))
        spans = sentence_spans(text)
        out.extend(head + text[spans[i][0]:spans[min(i + 2, len(spans) - 1)][1]]
                   for i in range(0, len(spans), 3))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=TYPED / "corpus.jsonl")
    parser.add_argument("--questions-file", type=Path, default=TYPED / "questions.jsonl")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    both = SpanReader()
    first = copy.copy(both)
    first.sessions = both.sessions[:1]
    readers = {"two models": both, "first only": first}
    windows = windows_of(args.corpus)
    questions = [q.question for q in load_questions(args.questions_file)]
    for reader in readers.values():  # warm up
        reader.read_ranked(questions[0], windows[:WINDOWS])
    times: dict[str, list[float]] = {label: [] for label in readers}
    for i, question in enumerate(questions):
        start = (i * WINDOWS) % max(1, len(windows) - WINDOWS)
        batch = windows[start:start + WINDOWS]
        order = list(readers) if i % 2 == 0 else list(reversed(readers))
        for label in order:
            began = time.perf_counter()
            readers[label].read_ranked(question, batch)
            times[label].append((time.perf_counter() - began) * 1000)
    figures: dict[str, dict[str, float]] = {
        label: {f"p{p} ms": round(percentile(v, p), 1) for p in (50, 95)}
        for label, v in times.items()}
    figures["two / first"] = {k: round(figures["two models"][k] / figures["first only"][k], 2)
                              for k in figures["two models"]}
    for label, row in figures.items():
        print(f"{label:>12}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps({"questions": len(questions), "windows": WINDOWS,
                                         **figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
