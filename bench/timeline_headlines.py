"""Timeline headlines with an LLM backend (issue #27): how many events get one, how many of
the model's headlines the support check keeps, and the time the model call adds.

Asks ``RagSystem.timeline`` for the gold stories (eval/timelines/gold.jsonl) over RealTime QA's
corpus (the cached eval index, opened read-only) with ``timeline_headlines`` on and the
``llamacpp`` backend (Qwen2.5-Coder-1.5B in process), after one untimed warm-up ask::

    python bench/timeline_headlines.py --json bench/results/timeline_headlines.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import percentile
from eval.cache import cached_index_dir
from eval.timeline_gold import GOLD, load_gold
from rag.config import Config
from rag.errors import RagError
from rag.system import RagSystem

SHARED = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa"


def story_row(system: RagSystem, story) -> dict:  # type: ignore[no-untyped-def]
    """One gold story's timeline with headlines: its events, headlines kept and removed, the
    model call's time."""
    answer = system.timeline(story.topic, story.since.isoformat(), story.until.isoformat(),
                             as_of=story.until.isoformat())
    events = answer.timeline.events
    return {"id": story.id, "events": len(events),
            "kept": sum(e.headline is not None for e in events),
            "removed": len(answer.unsupported),
            "headlines_ms": round(answer.timings_ms.get("headlines", 0.0), 1),
            "total_ms": round(answer.timings_ms["total"], 1),
            "lines": [[e.headline, e.text] for e in events], "removed_lines": answer.unsupported,
            "notes": answer.notes}


def figures(rows: list[dict]) -> dict:  # type: ignore[type-arg]
    events = sum(r["events"] for r in rows)
    kept = sum(r["kept"] for r in rows)
    written = kept + sum(r["removed"] for r in rows)
    added = [r["headlines_ms"] for r in rows]
    return {"stories": len(rows), "events": events, "headlines_written": written,
            "headlines_kept": kept,
            "share_of_events_with_headline": round(kept / events, 3) if events else None,
            "share_of_headlines_kept": round(kept / written, 3) if written else None,
            "added_p50_ms": round(statistics.median(added), 1),
            "added_p95_ms": round(percentile(added, 95), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--limit", type=int, help="the first N gold stories only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = Config.from_env(answer_backend="llamacpp", timeline_headlines=True)
    try:
        path = cached_index_dir(args.corpus, config)
    except RagError as error:
        parser.error(str(error))
    system = RagSystem(config.replace(index_dir=path), create=False, read_only=True)
    stories = load_gold(GOLD)[: args.limit] if args.limit else load_gold(GOLD)
    system.timeline("warm-up", as_of="2022-11-30")  # the models, BM25 and dateparser loaded
    load_before = os.getloadavg()
    rows = []
    for story in stories:
        rows.append(story_row(system, story))
        print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr)
    result = {"cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
              "load_after": [round(x, 2) for x in os.getloadavg()], **figures(rows),
              "by_story": rows}
    print(json.dumps({k: v for k, v in result.items() if k != "by_story"}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
