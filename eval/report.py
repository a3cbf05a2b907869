"""report.json, report.md and PNG plots of a run; side-by-side comparison of runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.cache import INDEX_FIELDS, config_json
from eval.metrics import sign_test
from eval.scoring import get_path
from rag.config import Config

# (label, report.json path) of the rows of every table a person reads.
MAIN_METRICS = (
    ("hit@1", "retrieval.hit@1"), ("hit@5", "retrieval.hit@5"), ("hit@10", "retrieval.hit@10"),
    ("MRR@10", "retrieval.mrr@10"), ("nDCG@10", "retrieval.ndcg@10"),
    ("recall@10", "retrieval.recall@10"), ("answer contains", "answer.contains"),
    ("answer F1", "answer.f1"), ("exact match", "answer.exact"),
    ("short answer exact", "answer.short_exact"), ("short answer F1", "answer.short_f1"),
    ("short shown, answerable (coverage)", "short.coverage"),
    ("short right among shown (precision)", "short.precision"),
    ("short right, answerable", "short.right"), ("short wrong, answerable (↓)", "short.wrong"),
    ("short shown, unanswerable (↓)", "short.unanswerable_shown"),
    ("short precision-coverage area", "short.aupc"),
    ("citation precision", "citation.precision"), ("citation support", "citation.support"),
    ("abstained, unanswerable (↑)", "abstention.correct"),
    ("abstained, answerable (↓)", "abstention.false"),
    ("retrieve p50 ms", "latency_ms.retrieve.p50"), ("retrieve p95 ms", "latency_ms.retrieve.p95"),
    ("answer p50 ms", "latency_ms.answer.p50"), ("answer p95 ms", "latency_ms.answer.p95"),
    ("total p50 ms", "latency_ms.total.p50"), ("total p95 ms", "latency_ms.total.p95"),
    ("questions", "n_questions"), ("with gold articles", "retrieval.n"),
    ("answerable", "answer.n"), ("unanswerable", "abstention.n_unanswerable"),
)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def table(reports: list[dict[str, Any]], names: list[str]) -> str:
    """A Markdown table: one row per metric, one column per report."""
    lines = ["| metric | " + " | ".join(names) + " |",
             "|---|" + "---:|" * len(names)]
    for label, path in MAIN_METRICS:
        values = [get_path(r, path) for r in reports]
        if all(v is None for v in values):
            continue
        lines.append(f"| {label} | " + " | ".join(fmt(v) for v in values) + " |")
    return "\n".join(lines)


def write_report(out: Path, report: dict[str, Any], plots: bool = True) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(markdown(report))
    if plots:
        write_plots(out, report, read_rows(out / "results.jsonl"))


def markdown(report: dict[str, Any]) -> str:
    run = report["run"]
    defaults = config_json(Config())
    parts = [f"# Evaluation: {run['system']}", "",
             f"- corpus: `{run['corpus']}` ({run['articles']} articles, sha256 "
             f"{run['corpus_sha256'][:12]})",
             f"- questions: `{run['questions']}` ({report['n_questions']} scored, sha256 "
             f"{run['questions_sha256'][:12]})",
             f"- index: {run['index_key']} ({run['chunks']} chunks); config (index settings "
             "and changes from the defaults): " + ", ".join(
                 f"{k}={v}" for k, v in report["config"].items()
                 if k in INDEX_FIELDS or v != defaults.get(k)),
             "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             "", "## Overall", "", table([report], [run["system"]]), ""]
    by_type = report.get("by_type", {})
    if len(by_type) > 1:
        names = list(by_type)
        parts += ["## By question type", "", table([by_type[n] for n in names], names), ""]
    parts += ["Retrieval metrics count questions with gold articles; answer metrics the "
              "answerable ones; citation precision those with gold articles and citations. "
              "Answer contains, F1 and exact match read the whole answer shown (short answer "
              "and cited sentences); short answer exact and F1 read the short answer alone "
              "(none counts as wrong). A short answer is right when it holds a gold answer "
              "with at most three times its words (docs/evaluation.md); precision counts the "
              "answerable questions shown one, coverage all answerable ones.", ""]
    return "\n".join(parts)


def write_plots(out: Path, report: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report["retrieval"]["curve"]
    if any(v is not None for v in curve.values()):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot([int(k) for k in curve], [v or 0 for v in curve.values()], marker="o")
        ax.set(xlabel="k (articles)", ylabel="hit@k", ylim=(0, 1.02),
               title=f"hit@k: {report['run']['system']}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "hit_at_k.png", dpi=100)
        plt.close(fig)
    if (report.get("short") or {}).get("curve"):
        plot_short_curves(out / "precision_coverage.png", [report], [report["run"]["system"]])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for stage in ("retrieve", "answer", "total"):
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"]]
        if values:
            ax.hist(values, bins=30, alpha=0.5, label=stage)
    ax.set(xlabel="ms", ylabel="questions", title=f"latency: {report['run']['system']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)


def plot_short_curves(path: Path, reports: list[dict[str, Any]], names: list[str]) -> None:
    """Precision (solid) and unanswerable questions shown a short answer (dashed) at each
    coverage of the answerable ones, as a threshold on the short answers' score moves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4) if len(reports) > 1 else (5, 3.5))
    for report, name in zip(reports, names, strict=True):
        short = report.get("short") or {}
        curve = short.get("curve") or []
        if not curve:
            continue
        coverage = [p["coverage"] for p in curve]
        line, = ax.plot(coverage, [p["precision"] for p in curve], marker=".",
                        label=f"{name}: precision (area {short['aupc']:.3f})")
        if curve[0]["unanswerable_shown"] is not None:
            ax.plot(coverage, [p["unanswerable_shown"] for p in curve], linestyle="--",
                    color=line.get_color(), label=f"{name}: unanswerable shown")
    ax.set(xlabel="coverage (answerable questions shown a short answer)", ylabel="share",
           xlim=(0, 1.02), ylim=(0, 1.02), title="right or silent: short answers")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run
    return rows


def run_name(run_dir: Path, report: dict[str, Any]) -> str:
    return f"{run_dir.name} ({report['run']['system']})"


def compare(run_dirs: list[Path], plot: Path | None = None,
            short_plot: Path | None = None) -> str:
    """Side-by-side Markdown table of the runs, then the questions that flipped against the
    first run (answer contains, hit@5, abstained, short answers right / wrong / shown on
    unanswerable questions)."""
    reports = []
    for d in run_dirs:
        path = Path(d) / "report.json"
        if not path.is_file():
            from rag.errors import BadInputError

            raise BadInputError(f"{d} has no report.json: is it a run folder?")
        reports.append(json.loads(path.read_text()))
    names = [run_name(Path(d), r) for d, r in zip(run_dirs, reports, strict=True)]
    parts = [table(reports, names), ""]
    base = {r["id"]: r for r in read_rows(Path(run_dirs[0]) / "results.jsonl")}
    for d, name in zip(run_dirs[1:], names[1:], strict=True):
        other = {r["id"]: r for r in read_rows(Path(d) / "results.jsonl")}
        parts += [f"### Flipped: {names[0]} -> {name}", ""]
        parts += [*flip_counts(base, other), ""]
        parts += flips(base, other) or ["(none)"]
        parts.append("")
    if plot is not None:
        _plot_curves(plot, reports, names)
    if short_plot is not None:
        plot_short_curves(short_plot, reports, names)
    return "\n".join(parts)


FLIP_OUTCOMES = (("contains", lambda r: r["scores"].get("contains")),
                 ("hit@1", lambda r: r["scores"].get("hit@1")),
                 ("hit@5", lambda r: r["scores"].get("hit@5")),
                 ("abstained", lambda r: r["abstained"]),
                 ("short exact", lambda r: r["scores"].get("short_exact")),
                 ("short right", lambda r: _short_outcome(r, right=True)),
                 ("short wrong (↓)", lambda r: _short_outcome(r, right=False)),
                 ("short shown, unanswerable (↓)",
                  lambda r: None if r["answerable"] else bool(r.get("short_answer"))))


def _short_outcome(row: dict[str, Any], right: bool) -> bool | None:
    """Whether an answerable question was shown a right (``right``) or a wrong short answer;
    None for an unanswerable one or a row scored before short answers were judged."""
    if not row["answerable"] or "short_right" not in row["scores"]:
        return None
    shown = bool(row.get("short_answer"))
    return shown and bool(row["scores"]["short_right"]) == right


def flip_counts(base: dict[str, dict], other: dict[str, dict]) -> list[str]:
    """Per outcome: questions gained and lost from ``base`` to ``other``, and the sign test's
    p-value (is the difference more than chance?)."""
    out = []
    for label, get in FLIP_OUTCOMES:
        gained = lost = 0
        for qid in base.keys() & other.keys():
            va, vb = get(base[qid]), get(other[qid])
            if va is not None and vb is not None and bool(va) != bool(vb):
                gained, lost = gained + bool(vb), lost + bool(va)
        out.append(f"- {label}: +{gained} / -{lost} questions, "
                   f"sign test p = {sign_test(gained, lost):.3f}")
    up = down = 0
    for qid in base.keys() & other.keys():
        fa, fb = (r["scores"].get("short_f1") for r in (base[qid], other[qid]))
        if fa is not None or fb is not None:
            up, down = up + ((fb or 0) > (fa or 0)), down + ((fb or 0) < (fa or 0))
    out.append(f"- short F1: higher on {up} / lower on {down} questions, "
               f"sign test p = {sign_test(up, down):.3f}")
    return out


def flips(base: dict[str, dict], other: dict[str, dict]) -> list[str]:
    """One line per shared question whose outcome changed, e.g. ``+ contains q7: ...``."""
    out = []
    for qid in base.keys() & other.keys():
        a, b = base[qid], other[qid]
        for label, get in FLIP_OUTCOMES:
            if label == "hit@1":
                continue
            va, vb = get(a), get(b)
            if va is not None and vb is not None and bool(va) != bool(vb):
                out.append(f"- {'+' if vb else '-'}{label} `{qid}`: {a['question'][:90]}")
    return sorted(out)


def _plot_curves(path: Path, reports: list[dict[str, Any]], names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for report, name in zip(reports, names, strict=True):
        curve = report["retrieval"]["curve"]
        ax.plot([int(k) for k in curve], [v or 0 for v in curve.values()], marker="o", label=name)
    ax.set(xlabel="k (articles)", ylabel="hit@k", ylim=(0, 1.02), title="hit@k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
