"""``eval run``: index the corpus (cached), ask every question, score, write the report.

Resumable: each scored question is appended to results.jsonl at once, and a rerun into the same
folder skips the ids already there (refusing if the run's settings changed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.baselines import make_system
from eval.cache import config_json, default_cache_dir, open_eval_index
from eval.data import Question, dated_between, file_hash, load_corpus, load_questions
from eval.report import read_rows, write_report
from eval.scoring import score_question, summarize
from rag.config import Config, parse_setting
from rag.errors import BadInputError, ConfigError


def parse_config(pairs: list[str], base: Config | None = None) -> Config:
    """``["top_k=8", ...]`` over ``base`` (default: ``Config.from_env()``), typed per field; an
    unknown or bad setting is a ``ConfigError`` naming it.

    >>> parse_config(["top_k=8"], Config()).top_k
    8
    """
    base = base or Config.from_env()
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--config {pair!r}: expected KEY=VALUE, e.g. top_k=8")
        name = key.strip().lower().replace("-", "_")
        changes[name] = parse_setting(name, value, f"--config {pair!r}")
    return base.replace(**changes)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("news-rag", "sentence-transformers", "faiss-cpu", "langchain-core", "bm25s",
                "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def run_eval(corpus: str | Path, questions: str | Path, out: str | Path, *,
             config: Config | None = None, system: str = "ours", limit: int | None = None,
             cache_dir: str | Path | None = None, seed_index: str | Path | None = None,
             langchain_max_chunks: int = 8000, progress: bool = True,
             plots: bool = True, since: str | None = None,
             before: str | None = None) -> dict[str, Any]:
    """Evaluate ``system`` on the questions (those dated from ``since`` and before ``before``,
    when given); returns the report (also written to ``out``)."""
    corpus, questions, out = Path(corpus), Path(questions), Path(out)
    config = config or Config.from_env()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    qs = dated_between(load_questions(questions), since, before)
    qs = qs[:limit] if limit else qs
    identity = {"system": system, "corpus": str(corpus), "corpus_sha256": file_hash(corpus),
                "questions": str(questions), "questions_sha256": file_hash(questions),
                "config": {k: v for k, v in config_json(config).items() if k != "index_dir"}}
    out.mkdir(parents=True, exist_ok=True)
    run_file, results = out / "run.json", out / "results.jsonl"
    if run_file.is_file():
        before = json.loads(run_file.read_text())
        changed = [k for k in identity if before.get(k) != identity[k]]
        if changed:
            raise BadInputError(f"{out} holds a run with other {', '.join(changed)}: "
                                "use another --out folder (or delete that one)")
    else:
        results.unlink(missing_ok=True)
    kept = read_rows(results)
    if results.is_file():  # rewrite without a line an interrupted run left cut short
        _write_rows(results, kept)
    done = {r["id"] for r in kept}
    todo = [q for q in qs if q.id not in done]
    info = dict(json.loads(run_file.read_text())) if run_file.is_file() else dict(identity)
    started = time.perf_counter()
    if todo or "index_key" not in info:
        info.update(_ask_all(todo, corpus, identity, config, system, cache_dir, seed_index,
                             results, langchain_max_chunks, progress))
        run_file.write_text(json.dumps(info, indent=2) + "\n")
    ids = {q.id for q in qs}
    rows = [r for r in read_rows(results) if r["id"] in ids]
    report = summarize(rows)
    report["run"] = {k: v for k, v in info.items() if k != "config"}
    report["run"].update(limit=limit, since=since, before=before,
                         seconds=round(time.perf_counter() - started, 1),
                         finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    report["config"] = identity["config"]
    report["versions"] = versions()
    write_report(out, report, plots=plots)
    return report


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    os.replace(tmp, path)


def _ask_all(todo: list[Question], corpus: Path, identity: dict[str, Any], config: Config,
             system_name: str, cache_dir: Path, seed_index: str | Path | None, results: Path,
             langchain_max_chunks: int, progress: bool) -> dict[str, Any]:
    from tqdm import tqdm

    info: dict[str, Any] = {}
    system = None
    if system_name != "langchain":  # the LangChain baseline has its own store
        index = open_eval_index(corpus, identity["corpus_sha256"], config, cache_dir,
                                seed=Path(seed_index) if seed_index else None,
                                show_progress=progress)
        system, stats = index.system, index.system.stats()
        info = {"index_key": index.key, "index_dir": str(index.path), "articles": stats.articles,
                "chunks": stats.chunks, "index_build": index.report.summary()}
    articles = load_corpus(corpus) if system_name == "langchain" else None
    evaluated = make_system(system_name, system, articles=articles, config=config,
                            cache_dir=cache_dir, corpus_hash=identity["corpus_sha256"],
                            langchain_max_chunks=langchain_max_chunks)
    info = info or getattr(evaluated, "info", {})
    with open(results, "a", encoding="utf-8") as fh:
        for q in tqdm(todo, desc=f"eval {system_name}", unit="q", disable=not progress):
            output = evaluated.run(q.question, q.meta.get("question_date") or None)
            row = score_question(q, output.answer.to_json(), output.ranked, output.copies)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return info
