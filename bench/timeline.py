"""Timeline latency (issue #27: p95 <= 3 s per timeline on 2 cores, no LLM).

Asks ``RagSystem.timeline`` for 30 stories of 2022 over RealTime QA's corpus (the cached eval
index ``python -m eval run`` builds, opened read-only), each twice: the first ask of a topic
embeds its sentences, the second finds them in the process's sentence-vector cache. Prints
p50/p95/max of each pass and of the stages::

    python bench/timeline.py --json bench/results/timeline.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import percentile
from eval.cache import cached_index_dir
from rag.config import Config
from rag.errors import RagError
from rag.system import RagSystem

SHARED = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa"
TOPICS = ["Queen Elizabeth", "Artemis I launch", "Hurricane Ian", "monkeypox", "UK heat wave",
          "Liz Truss", "Elon Musk Twitter", "Roe v. Wade", "Ukraine war", "inflation",
          "Federal Reserve interest rates", "gas prices", "Boris Johnson", "Sri Lanka crisis",
          "January 6 committee", "Nancy Pelosi Taiwan", "student loan forgiveness",
          "Serena Williams", "Kanye West", "Alex Jones trial", "James Webb telescope",
          "Covid vaccine", "World Cup Qatar", "midterm elections", "Pakistan floods",
          "Shinzo Abe", "Uvalde shooting", "baby formula shortage", "Depp Heard trial",
          "Mar-a-Lago search"]


def figures(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for stage in ("retrieve", "answer", "total"):
        values = [r[stage] for r in rows]
        out |= {f"{stage}_p50_ms": round(statistics.median(values), 1),
                f"{stage}_p95_ms": round(percentile(values, 95), 1)}
    out["total_max_ms"] = round(max(r["total"] for r in rows), 1)
    out["events_mean"] = round(statistics.mean(r["events"] for r in rows), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--since", default="2022-01-01")
    parser.add_argument("--until", default="2022-11-30")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = Config.from_env()
    try:
        path = cached_index_dir(args.corpus, config)
    except RagError as error:
        parser.error(str(error))
    system = RagSystem(config.replace(index_dir=path), create=False, read_only=True)
    system.timeline("warm-up", as_of=args.until)  # the model, BM25 and dateparser loaded
    load_before = os.getloadavg()
    passes: dict[str, list[dict[str, float]]] = {"first": [], "again": []}
    for name in passes:
        for topic in TOPICS:
            started = time.perf_counter()
            answer = system.timeline(topic, args.since, args.until, as_of=args.until)
            total = (time.perf_counter() - started) * 1000
            passes[name].append({"retrieve": answer.timings_ms["retrieve"],
                                 "answer": answer.timings_ms["answer"], "total": total,
                                 "events": len(answer.timeline.events)})
    result = {"topics": len(TOPICS), "cores": os.cpu_count(),
              "load_before": [round(x, 2) for x in load_before],
              "load_after": [round(x, 2) for x in os.getloadavg()],
              **{name: figures(rows) for name, rows in passes.items()}}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
