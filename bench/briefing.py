"""Briefing latency (issue #27, part 2), and one week's stories to read.

Asks ``RagSystem.brief`` over RealTime QA's corpus (the cached eval index ``python -m eval run``
builds, opened read-only) for every week of 2022 from ``--first`` to ``--last`` (Monday to
Sunday, no topic), for the last day of each (``24h``) and for the week on a few topics. Prints
p50/p95/max of each kind and of the stages, then the briefing of ``--show`` (a Monday)::

    python bench/briefing.py --json bench/results/briefing.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import percentile
from eval.cache import cached_index_dir
from rag.config import Config
from rag.errors import RagError
from rag.system import RagSystem

SHARED = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa"
TOPICS = ["Queen Elizabeth", "Ukraine war", "inflation", "Hurricane Ian", "Liz Truss"]


def figures(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for stage in ("retrieve", "answer", "total"):
        values = [r[stage] for r in rows]
        out |= {f"{stage}_p50_ms": round(statistics.median(values), 1),
                f"{stage}_p95_ms": round(percentile(values, 95), 1)}
    out["total_max_ms"] = round(max(r["total"] for r in rows), 1)
    out["articles_mean"] = round(statistics.mean(r["articles"] for r in rows), 1)
    out["stories_mean"] = round(statistics.mean(r["stories"] for r in rows), 2)
    return out


def timed(system: RagSystem, since: str, until: str, topic: str | None = None
          ) -> dict[str, float]:
    started = time.perf_counter()
    answer = system.brief(since, until, topic=topic, as_of=until)
    total = (time.perf_counter() - started) * 1000
    assert answer.briefing is not None
    return {"retrieve": answer.timings_ms["retrieve"], "answer": answer.timings_ms["answer"],
            "total": total, "stories": len(answer.briefing.stories),
            "articles": len({i for s in answer.briefing.stories for i in s.source_ids})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--first", default="2022-06-06", help="the first week's Monday")
    parser.add_argument("--last", default="2022-10-24", help="the last week's Monday")
    parser.add_argument("--show", default="2022-09-05", help="the Monday of the week printed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = Config.from_env()
    try:
        path = cached_index_dir(args.corpus, config)
    except RagError as error:
        parser.error(str(error))
    system = RagSystem(config.replace(index_dir=path), create=False, read_only=True)
    system.brief("7d", as_of=args.last)  # the model, BM25 and the duplicate groups loaded
    mondays = []
    day = date.fromisoformat(args.first)
    while day <= date.fromisoformat(args.last):
        mondays.append(day)
        day += timedelta(days=7)
    load_before = os.getloadavg()
    kinds: dict[str, list[dict[str, float]]] = {"week": [], "day": [], "week_topic": []}
    for monday in mondays:
        sunday = (monday + timedelta(days=6)).isoformat()
        kinds["week"].append(timed(system, monday.isoformat(), sunday))
        kinds["day"].append(timed(system, "24h", sunday))
    for topic in TOPICS:
        for monday in mondays[::4]:
            sunday = (monday + timedelta(days=6)).isoformat()
            kinds["week_topic"].append(timed(system, monday.isoformat(), sunday, topic))
    result = {"weeks": len(mondays), "topics": len(TOPICS), "cores": os.cpu_count(),
              "load_before": [round(x, 2) for x in load_before],
              "load_after": [round(x, 2) for x in os.getloadavg()],
              **{name: figures(rows) for name, rows in kinds.items()}}
    print(json.dumps(result, indent=2))
    shown = date.fromisoformat(args.show)
    until = (shown + timedelta(days=6)).isoformat()
    answer = system.brief(shown.isoformat(), until, as_of=until)
    print(f"\n$ rag brief --since {shown.isoformat()} --until {until}\n")
    print(answer.text)
    for c in answer.citations:
        print(f"[{c.n}] {c.title} ({c.source}, {c.published_at})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
