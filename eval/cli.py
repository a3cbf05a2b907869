"""``python -m eval`` (also ``rag eval``): run, timeline, compare, coverage, calibrate,
calibrate-short, calibrate-citations, llm-support, slice."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from rag.errors import RagError

app = typer.Typer(help="Evaluate retrieval, answers and citations on a question set.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

# What the harness needs beyond the library (the `eval` extra of pyproject.toml): the sign test
# of `compare` and the plots, and ROUGE for `timeline`.
EXTRA_MODULES = ("scipy", "matplotlib", "rouge_score")

CacheOption = Annotated[Path | None, typer.Option(
    help="Index cache folder (default: $NEWS_RAG_EVAL_CACHE or ~/.cache/news-rag/eval).")]
ConfigOption = Annotated[list[str] | None, typer.Option(
    "--config", help="Config override KEY=VALUE (repeatable), e.g. --config top_k=8.")]
SeedOption = Annotated[Path | None, typer.Option(
    help="An index folder built with the same model whose stored vectors are reused "
         "instead of embedding again.")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


@app.command()
def run(
    corpus: Annotated[Path, typer.Option(help="Corpus: JSONL (doc_id, title, text, ...), "
                                              "or any file/folder `rag ingest` reads.")],
    questions: Annotated[Path, typer.Option(help="Questions JSONL.")],
    out: Annotated[Path, typer.Option(help="Run folder, e.g. runs/NAME.")],
    config: ConfigOption = None,
    baseline: Annotated[str | None, typer.Option(
        help="Evaluate a baseline instead of ours: bm25, dense or langchain.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only questions dated (meta.question_date) on or after YYYY-MM-DD.")] = None,
    before: Annotated[str | None, typer.Option(
        help="Only questions dated before YYYY-MM-DD.")] = None,
    cache_dir: CacheOption = None,
    seed_index: SeedOption = None,
    langchain_max_chunks: Annotated[int, typer.Option(
        help="Refuse to build a LangChain store of more chunks than this.")] = 8000,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
) -> None:
    """Index the corpus (cached), ask every question, write report.json/.md, results, plots."""
    from eval.report import table
    from eval.runner import parse_config, run_eval

    try:
        report = run_eval(corpus, questions, out, config=parse_config(config or []),
                          system=baseline or "ours", limit=limit, cache_dir=cache_dir,
                          seed_index=seed_index, langchain_max_chunks=langchain_max_chunks,
                          plots=not no_plots, since=since, before=before)
    except (RagError, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(table([report], [report["run"]["system"]]))
    typer.echo(f"\nwrote {out}/report.json, report.md, results.jsonl")


@app.command()
def timeline(
    corpus: Annotated[Path, typer.Option(help="Corpus the gold set was written from: "
                                              "RealTime QA's corpus.jsonl.")],
    out: Annotated[Path, typer.Option(help="Run folder, e.g. runs/NAME.")],
    gold: Annotated[Path | None, typer.Option(
        help="Gold timelines JSONL (default: eval/timelines/gold.jsonl).")] = None,
    baseline: Annotated[str | None, typer.Option(
        help="Score only this baseline (retrieval) instead of ours beside it.")] = None,
    no_baseline: Annotated[bool, typer.Option(
        "--no-baseline", help="Score ours alone, without the retrieval baseline.")] = False,
    k: Annotated[int | None, typer.Option(
        help="The baseline's lines (default: the timeline_events setting, else 10).")] = None,
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N stories.")] = None,
    cache_dir: CacheOption = None,
    seed_index: SeedOption = None,
) -> None:
    """Timelines against gold ones: date F1, alignment ROUGE, citations, duplicates, latency."""
    from eval.runner import parse_config
    from eval.timeline import run_timeline_eval, table
    from eval.timeline_gold import GOLD

    if baseline is not None and baseline != "retrieval":
        raise _fail(f"--baseline must be retrieval, not {baseline!r}")
    systems = [baseline] if baseline else ["ours"] if no_baseline else ["ours", "retrieval"]
    try:
        report = run_timeline_eval(corpus, gold or GOLD, out, systems=systems,
                                   config=parse_config(config or []), k=k, cache_dir=cache_dir,
                                   seed_index=seed_index, limit=limit)
    except (RagError, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(table(report))
    typer.echo(f"\nwrote {out}/report.json, report.md, results.jsonl")


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders; the first is "
                                                    "the reference for flipped questions.")],
    plot: Annotated[Path | None, typer.Option(help="Also write a hit@k plot here.")] = None,
    short_plot: Annotated[Path | None, typer.Option(
        help="Also write the short answers' precision-coverage curves here.")] = None,
) -> None:
    """Side-by-side metrics of runs, and the questions whose outcome flipped."""
    from eval.report import compare as compare_runs

    if len(runs) < 2:
        raise _fail("compare needs at least two run folders")
    try:
        typer.echo(compare_runs(runs, plot, short_plot))
    except RagError as exc:
        raise _fail(str(exc)) from None


@app.command("coverage")
def coverage_(
    corpus: Annotated[Path, typer.Option(help="Corpus: JSONL (doc_id, title, text, ...), "
                                              "or any file/folder `rag ingest` reads.")],
    questions: Annotated[Path, typer.Option(help="Questions JSONL.")],
    out: Annotated[Path | None, typer.Option(
        help="Write the shares and per-question rows here (JSON).")] = None,
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(
        help="Only the first N answerable questions.")] = None,
    cache_dir: CacheOption = None,
    seed_index: SeedOption = None,
) -> None:
    """Where the gold answer is lost: corpus, retrieved articles, passages, sentences, pool."""
    from tqdm import tqdm

    from eval.coverage import coverage, write
    from eval.runner import parse_config

    bars: list[tqdm] = []  # made at the first question, so errors print without a bar

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(desc="coverage", unit="q", total=total))
        bars[0].update(done - bars[0].n)

    try:
        result = coverage(corpus, questions, config=parse_config(config or []),
                          cache_dir=cache_dir, seed_index=seed_index, limit=limit,
                          progress=progress)
    except (RagError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        for bar in bars:
            bar.close()
    typer.echo(result.table())
    typer.echo(f"\nLLM pool: {result.mean_pool_sentences} sentences on average")
    if out:
        write(result, out)
        typer.echo(f"wrote {out}")


@app.command()
def calibrate(
    corpus: Annotated[list[Path], typer.Option(
        help="Corpus of the --questions at the same position (repeatable).")],
    questions: Annotated[list[Path], typer.Option(
        help="Questions labelled by their file: answerable or not (repeatable).")],
    unanswerable_corpus: Annotated[list[Path] | None, typer.Option(
        help="Corpus against which the --unanswerable-questions at the same position are "
             "asked; all count as unanswerable (repeatable).")] = None,
    unanswerable_questions: Annotated[list[Path] | None, typer.Option()] = None,
    require_gold: Annotated[bool, typer.Option(
        help="Count answerable questions only when they name gold articles.")] = True,
    config: ConfigOption = None,
    cache_dir: CacheOption = None,
    seed_index: SeedOption = None,
    out: Annotated[Path | None, typer.Option(help="Write scores and threshold here (JSON).")]
    = None,
) -> None:
    """Pick the abstain threshold with the best balanced accuracy from best-sentence scores."""
    from eval.calibrate import calibrate as run_calibration
    from eval.runner import parse_config

    if len(corpus) != len(questions) or len(unanswerable_corpus or []) != len(
            unanswerable_questions or []):
        raise _fail("give one corpus per question file, in the same order")
    try:
        result = run_calibration(
            list(zip(corpus, questions, strict=True)),
            list(zip(unanswerable_corpus or [], unanswerable_questions or [], strict=True)),
            config=parse_config(config or []), cache_dir=cache_dir, seed_index=seed_index,
            require_gold=require_gold)
    except (RagError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k != "scores"}
    typer.echo(json.dumps(summary, indent=2))


@app.command("calibrate-short")
def calibrate_short(
    runs: Annotated[list[Path], typer.Argument(
        help="Run folders made with short_answer_threshold=0 (the limits hold on each).")],
    precision: Annotated[float, typer.Option(
        help="Shown short answers must be right this often.")] = 0.65,
    min_shown: Annotated[int, typer.Option(
        help="Fewest answers shown for a precision to count.")] = 5,
    max_wrong: Annotated[float | None, typer.Option(
        help="Most answerable questions given a wrong short answer (a share).")] = None,
    max_unanswerable: Annotated[float | None, typer.Option(
        help="Most unanswerable questions given a short answer (a share).")] = None,
) -> None:
    """Pick short_answer_threshold: the widest coverage keeping the limits on every run."""
    from eval.short_threshold import Limits
    from eval.short_threshold import calibrate_short as run_calibration

    try:
        result = run_calibration(runs, Limits(precision, min_shown, max_wrong, max_unanswerable))
    except RagError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(result, indent=2))


@app.command("calibrate-citations")
def calibrate_citations(
    data: Annotated[Path, typer.Option(
        help="A folder with corpus.jsonl and questions.dev.jsonl (RealTime QA's layout).")],
) -> None:
    """Pick citation_threshold: support of gold vs mismatched (claim, passage) pairs."""
    from eval.citations import calibrate_citations as run

    if not (data / "corpus.jsonl").is_file() or not (data / "questions.dev.jsonl").is_file():
        raise _fail(f"{data} needs corpus.jsonl and questions.dev.jsonl")
    run(data)


@app.command("llm-support")
def llm_support(
    backend: Annotated[str, typer.Option(help="openai or llamacpp.")] = "openai",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    questions: Annotated[Path, typer.Option(help="Questions JSONL.")] = Path(
        "eval/questions/sample.jsonl"),
    corpus: Annotated[Path | None, typer.Option(
        help="Corpus (default: the sample corpus).")] = None,
    index: Annotated[Path | None, typer.Option(help="Index folder (default: a temporary one).")]
    = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens the model may write.")] = 128,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[Path | None, typer.Option(help="Per-question rows (JSONL).")] = None,
) -> None:
    """Citation support of LLM answers before and after citation verification."""
    from eval.llm_support import llm_support as run
    from rag import SAMPLE_CORPUS

    if backend not in ("openai", "llamacpp"):
        raise _fail(f"--backend must be openai or llamacpp, not {backend!r}")
    try:
        run(backend, questions, corpus or SAMPLE_CORPUS, base_url=base_url, index=index,
            max_tokens=max_tokens, limit=limit, out=out)
    except RagError as exc:
        raise _fail(str(exc)) from None


@app.command("slice")
def slice_(
    corpus: Annotated[Path, typer.Option(help="Corpus JSONL.")],
    questions: Annotated[Path, typer.Option(help="Questions JSONL.")],
    out: Annotated[Path, typer.Option(help="Folder for corpus.jsonl and questions.jsonl.")],
    n_questions: Annotated[int | None, typer.Option(
        help="First N questions with gold articles (default: all).")] = None,
    distractors: Annotated[int, typer.Option(help="Other articles drawn at random.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed of the draw.")] = 0,
) -> None:
    """A fixed smaller set: questions with gold articles, those articles and distractors."""
    from eval.data import make_slice

    try:
        c, q = make_slice(corpus, questions, out, n_questions=n_questions,
                          distractors=distractors, seed=seed)
    except RagError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {c} and {q}")


def main(args: list[str] | None = None, prog_name: str = "python -m eval") -> None:
    missing = [name for name in EXTRA_MODULES if find_spec(name) is None]
    if missing:  # said before a run, not after it when the plots are drawn
        typer.secho(f"error: {prog_name} needs {' and '.join(missing)}: "
                    "pip install -e '.[eval]'", fg=typer.colors.RED, err=True)
        raise SystemExit(1)
    app(args=args, prog_name=prog_name)
