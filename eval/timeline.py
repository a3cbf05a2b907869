"""``eval timeline``: index the corpus (the harness's cache, as ``eval run``), ask each gold
story's timeline of every system, score it, write results.jsonl, report.json and report.md.

The measures and the gold set are described in docs/evaluation.md ("Timelines").
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.cache import config_json, default_cache_dir, open_eval_index
from eval.data import file_hash
from eval.report import fmt
from eval.runner import versions
from eval.scoring import get_path
from eval.timeline_gold import GoldStory, load_gold
from eval.timeline_metrics import Rouge
from eval.timeline_scoring import score_story, sign_tests, summarize
from eval.timeline_systems import SYSTEMS, TimelineSystem, default_k, make_timeline_system
from rag.config import Config
from rag.errors import BadInputError
from rag.system import RagSystem

# (label, summary path) of the rows of the report's table.
TABLE = (
    ("date F1", "date.f1"), ("date F1 ±2 days", "date_2d.f1"),
    ("ROUGE-1 F (align, ±2 days)", "rouge1.f1"), ("ROUGE-2 F (align, ±2 days)", "rouge2.f1"),
    ("date precision", "date.p"), ("date recall", "date.r"),
    ("date precision ±2 days", "date_2d.p"), ("date recall ±2 days", "date_2d.r"),
    ("ROUGE-1 precision", "rouge1.p"), ("ROUGE-1 recall", "rouge1.r"),
    ("events cited", "cited"), ("events cited and verified", "verified"),
    ("duplicate-event rate (↓)", "duplicate_rate"),
    ("latency p50 ms", "latency_ms.p50"), ("latency p95 ms", "latency_ms.p95"),
    ("events per timeline", "events_per_story"), ("stories", "stories"),
    ("gold events", "gold_events"),
)


def run_timeline_eval(corpus: str | Path, gold: str | Path, out: str | Path, *,
                      systems: Sequence[str] = SYSTEMS, config: Config | None = None,
                      k: int | None = None, cache_dir: str | Path | None = None,
                      seed_index: str | Path | None = None, limit: int | None = None,
                      progress: bool = True) -> dict[str, Any]:
    """Score ``systems`` on the gold stories (the first ``limit``); returns the report (also
    written to ``out``). ``k``: the baseline's lines (default: the ``timeline_events``
    setting, else 10)."""
    corpus, gold, out = Path(corpus), Path(gold), Path(out)
    unknown = [s for s in systems if s not in SYSTEMS]
    if not systems or unknown:
        raise BadInputError(f"unknown timeline system(s) {unknown}; choose from "
                            f"{', '.join(SYSTEMS)}")
    config = config or Config.from_env()
    stories = load_gold(gold)[:limit] if limit else load_gold(gold)
    corpus_hash = file_hash(corpus)
    index = open_eval_index(corpus, corpus_hash, config,
                            Path(cache_dir) if cache_dir else default_cache_dir(),
                            seed=Path(seed_index) if seed_index else None,
                            show_progress=progress)
    check_gold_docs(index.system, stories, corpus)
    makers = [make_timeline_system(name, index.system, k) for name in systems]
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rouge = Rouge()
    rows = [row for maker in makers for row in ask_all(maker, stories, rouge, progress)]
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    stats = index.system.stats()
    report: dict[str, Any] = {
        "systems": {m.name: summarize([r for r in rows if r["system"] == m.name])
                    for m in makers},
        "run": {"corpus": str(corpus), "corpus_sha256": corpus_hash, "gold": str(gold),
                "gold_sha256": file_hash(gold), "stories": len(stories),
                "index_key": index.key, "index_dir": str(index.path),
                "articles": stats.articles, "chunks": stats.chunks,
                "index_build": index.report.summary(), "systems": list(systems),
                "baseline_k": k or default_k(config), "limit": limit,
                "seconds": round(time.perf_counter() - started, 1),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds")},
        "config": {k_: v for k_, v in config_json(config).items() if k_ != "index_dir"},
        "versions": versions(),
    }
    if len(makers) > 1:
        first = makers[0].name
        report["sign_tests"] = {
            f"{first} vs {m.name}": sign_tests([r for r in rows if r["system"] == m.name],
                                               [r for r in rows if r["system"] == first])
            for m in makers[1:]}
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(markdown(report, rows))
    return report


def check_gold_docs(system: RagSystem, stories: Sequence[GoldStory], corpus: Path) -> None:
    """Every doc id the gold cites must be in the index: else the corpus is not the one the
    gold was written from."""
    missing = sorted({d for s in stories for e in s.events for d in e.doc_ids
                      if system.index.get_article(d) is None})
    if missing:
        raise BadInputError(f"{len(missing)} article(s) the gold timelines cite are not in "
                            f"{corpus} (e.g. {', '.join(missing[:3])}): the gold set was "
                            "written from RealTime QA's corpus.jsonl")


def ask_all(maker: TimelineSystem, stories: Sequence[GoldStory], rouge: Rouge,
            progress: bool) -> list[dict[str, Any]]:
    """Every story's timeline from ``maker``, timed and scored. One untimed call first, so the
    first story's time does not include loading models and building BM25."""
    from tqdm import tqdm

    maker.timeline(stories[0])
    rows = []
    for story in tqdm(stories, desc=f"timeline {maker.name}", unit="story", disable=not progress):
        started = time.perf_counter()
        events = maker.timeline(story)
        latency = (time.perf_counter() - started) * 1000
        rows.append({"system": maker.name, "id": story.id, "topic": story.topic,
                     "query": story.query, "since": story.since.isoformat(),
                     "until": story.until.isoformat(), "latency_ms": round(latency, 1),
                     "timeline": events, **score_story(story, events, rouge)})
    return rows


def table(report: dict[str, Any]) -> str:
    """A Markdown table: one row per measure, one column per system."""
    names = list(report["systems"])
    lines = ["| measure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, path in TABLE:
        values = [get_path(report["systems"][n], path) for n in names]
        lines.append(f"| {label} | " + " | ".join(fmt(v) for v in values) + " |")
    return "\n".join(lines)


def markdown(report: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    run = report["run"]
    parts = [f"# Timeline evaluation: {', '.join(report['systems'])}", "",
             f"- corpus: `{run['corpus']}` ({run['articles']} articles, sha256 "
             f"{run['corpus_sha256'][:12]}); index {run['index_key']} ({run['chunks']} chunks)",
             f"- gold: `{run['gold']}` (stories: {run['stories']}, sha256 "
             f"{run['gold_sha256'][:12]}); baseline lines k = {run['baseline_k']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             "", "## Overall", "", table(report), ""]
    for pair, tests in (report.get("sign_tests") or {}).items():
        parts += [f"## Sign tests: {pair}", "",
                  f"Gold events: {tests['gold_events']}, stories: {tests['stories']} "
                  "(better / worse / ties, two-sided p):", ""]
        for group in ("events", "stories_by_measure"):
            for label, t in tests[group].items():
                unit = "events" if group == "events" else "stories"
                parts.append(f"- {label} ({unit}): +{t['better']} / -{t['worse']} / "
                             f"={t['ties']}, p = {t['p']:.3f}")
        parts.append("")
    parts += ["## By story", "",
              "| system | story | lines | date F1 | ±2 days | R-1 F | R-2 F | verified | "
              "duplicates | ms |", "|---|---|" + "---:|" * 8]
    for r in rows:
        s = r["scores"]
        parts.append(f"| {r['system']} | {r['id']} | {s['events']} | {fmt(s['date_f1'])} | "
                     f"{fmt(s['date_f1_2d'])} | {fmt(s['rouge1_f'])} | {fmt(s['rouge2_f'])} | "
                     f"{s['verified']} | {s['duplicates']} | {fmt(r['latency_ms'])} |")
    parts += ["", "Date F1 and ROUGE are means over stories; cited, verified and duplicate "
              "shares pool every line. ROUGE aligns each line with at most one gold event at "
              "most 2 days away (docs/evaluation.md, \"Timelines\").", ""]
    return "\n".join(parts)
