"""The `rag` command: ingest, ask, timeline, brief, stats, list, delete, reindex, serve, mcp, feeds,
topics, eval. A thin layer over the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from rag.articles import clean_line
from rag.config import Config
from rag.errors import RagError
from rag.types import Answer, StageDone
from rag_cli.collections import collections_app
from rag_cli.common import (
    CollectionOption,
    CollectionsOption,
    IndexOption,
    command_config,
    fail,
    open_system,
)
from rag_cli.feeds import feeds_app, ingest_urls
from rag_cli.keys import keys_app
from rag_cli.topics import topics_app

AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Ask as of this day (YYYY-MM-DD): later articles are left out, and "
                    "'this week' or 'yesterday' count from it. Default: today.")]

app = typer.Typer(help="Question answering over news articles, with cited answers.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="Files or folders of articles, or http(s) URLs of article pages.")],
    index: IndexOption = None,
    collection: CollectionOption = None,
    commit_every: Annotated[int, typer.Option(help="Commit every N articles (0: once).")] = 500,
) -> None:
    """Add articles (.txt .md .html .json .jsonl, folders recursively, pages by URL)."""
    from tqdm import tqdm

    from rag.articles import check_paths
    from rag.feeds import is_url
    from rag.system import RagSystem

    try:
        files = check_paths(p for p in paths if not is_url(p))  # before the model loads
        system = RagSystem(command_config(index, collection, writes=True))
        bar = tqdm(total=0, unit="article", desc="ingest", disable=not sys.stderr.isatty())

        def progress(done: int, total: int, title: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        urls = [p for p in paths if is_url(p)]
        report = system.ingest_paths(files, commit_every=commit_every, progress=progress,
                                     show_progress=sys.stderr.isatty())
        if urls:
            report = ingest_urls(system, urls, report)
        bar.close()
    except RagError as exc:
        raise fail(str(exc)) from None
    for failure in report.failures:
        typer.secho(f"skipped {clean_line(str(failure))}", fg=typer.colors.YELLOW, err=True)
    for note in report.notes:
        typer.secho(f"note: {clean_line(str(note))}", fg=typer.colors.YELLOW, err=True)
    typer.echo(report.summary())
    if report.failed and not (report.added or report.updated or report.skipped):
        raise typer.Exit(code=1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    index: IndexOption = None,
    collection: CollectionsOption = None,
    k: Annotated[int | None, typer.Option("-k", min=1, help="Passages to retrieve.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Only articles from this source (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles published on or after "
                                              "this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on or before "
                                              "this date (YYYY-MM-DD).")] = None,
    backend: Annotated[str | None, typer.Option(
        help="Answer backend: extractive, openai or llamacpp (default: $RAG_ANSWER_BACKEND)."
    )] = None,
    as_of: AsOfOption = None,
    timeline: Annotated[bool | None, typer.Option(
        "--timeline/--no-timeline", help="Answer with a timeline of the story (dated events, "
        "oldest first), or never. Default: when the question asks what happened.")] = None,
) -> None:
    """Answer a question from the indexed articles, with numbered sources."""
    from rag.retrieval import make_filters
    from rag.system import check_ask, get_system

    try:
        config = command_config(index, collection)
        # Every argument is checked before the index is opened and the model loads.
        asked = check_ask(config, question, k=k, filters=make_filters(source, since, until),
                          backend=backend, reference_date=as_of, timeline=timeline)
        system = get_system(config, create=False, read_only=True)
        if as_json:
            typer.echo(json.dumps(system.ask(asked).to_json(), ensure_ascii=False, indent=2))
            return
        answer = _stream(system.ask_stream(asked))
    except (RagError, ValueError) as exc:
        raise fail(str(exc)) from None
    _print(answer)


@app.command("timeline")
def timeline_(
    topic: Annotated[str, typer.Argument(help="The story, e.g. \"Iran water polo\".")],
    index: IndexOption = None,
    collection: CollectionsOption = None,
    since: Annotated[str | None, typer.Option(help="The window's first day (YYYY-MM-DD): "
                                              "articles published and events dated on or "
                                              "after it.")] = None,
    until: Annotated[str | None, typer.Option(help="The window's last day (YYYY-MM-DD).")
                     ] = None,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract (the "
                                          "events in its `timeline`).")] = False,
) -> None:
    """The events of a story, oldest first: each its day, a cited sentence reporting it, and
    how many sources did."""
    from rag.retrieval import make_filters
    from rag.system import check_ask, get_system

    try:
        config = command_config(index, collection)
        asked = check_ask(config, topic, filters=make_filters(None, since, until),
                          reference_date=as_of, timeline=True)
        answer = get_system(config, create=False, read_only=True).ask(asked)
    except (RagError, ValueError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    _print(answer)


@app.command("brief")
def brief(
    index: IndexOption = None,
    collection: CollectionsOption = None,
    since: Annotated[str | None, typer.Option(
        help="The briefing's first day: a date (YYYY-MM-DD) or a span back from --until or "
             "today: 24h, 7d, 2w, yesterday, this week. Default: 24h, or the period of a "
             "followed --topic.")] = None,
    until: Annotated[str | None, typer.Option(help="Its last day (YYYY-MM-DD; default: "
                                              "today, or --as-of).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only stories on this topic; a followed "
                                              "topic (`rag topics list`) over its period is "
                                              "its stored briefing, when fresh.")] = None,
    feed: Annotated[str | None, typer.Option(help="Only articles that this followed feed "
                                             "(its id or URL: `rag feeds list`) brought in."
                                             )] = None,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract (the "
                                          "stories in its `briefing`).")] = False,
) -> None:
    """What's new: the period's main stories, the most widely reported first, each one cited
    sentence with how many sources reported it and the last day they did."""
    from rag.briefing import briefing_window
    from rag.feeds import brief_feed, brief_topic, followed_feed, index_feed_store
    from rag.retrieval.dates import reference_day
    from rag.system import get_system

    try:
        config = command_config(index, collection)
        # The dates are checked before the index is opened and the model loads.
        briefing_window(since, until, reference_day(as_of or config.reference_date))
        if feed:  # a feed belongs to one collection: its state, found before the model loads
            store = index_feed_store(config)
            followed_feed(store, feed)
        system = get_system(config, create=False, read_only=True)
        if feed:  # the last 24 hours on no topic: the feed's stored briefing, when fresh
            answer = brief_feed(system, feed, since=since, until=until, topic=topic,
                                as_of=as_of, store=store)
        elif topic is not None:  # a followed topic over its period: its stored briefing
            answer = brief_topic(system, topic, since=since, until=until, as_of=as_of)
        else:
            answer = system.brief(since, until, topic=topic, as_of=as_of)
    except (RagError, ValueError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    _print(answer)


def _print(answer: Answer) -> None:
    """An answer for the terminal: its short answer in bold, its text (a timeline under its
    heading and its note), its notes on stderr, then its numbered sources."""
    from rag.articles import web_url

    if answer.timeline is not None:
        typer.secho(f"Timeline: {clean_line(answer.timeline.topic)}"
                    + _window(answer.timeline.since, answer.timeline.until), bold=True)
        if answer.timeline.note:  # undated events: how they are ordered, part of the timeline
            typer.secho(clean_line(answer.timeline.note), italic=True)
        typer.echo()
    if answer.briefing is not None:
        from rag.briefing.build import briefing_title

        typer.secho(clean_line(briefing_title(answer.briefing)), bold=True)
        if answer.briefing.cached and answer.briefing.built_at:
            typer.echo(f"(stored briefing, built {_utc(answer.briefing.built_at)})")
        typer.echo()
    evidence = answer.short_answer_citation()
    if evidence is not None:
        typer.secho(f"{answer.short_answer} [{evidence.n}]", bold=True)
        typer.echo()
    typer.echo(answer.text)
    shown = (answer.backend != "extractive" or answer.fallback or answer.timeline is not None
             or answer.briefing is not None)
    for note in answer.notes if shown else []:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if answer.citations:
        typer.echo("\nSources:")
    several = len({c.collection for c in answer.citations}) > 1  # each says its collection
    for c in answer.citations:
        meta = ", ".join(clean_line(x) for x in (c.collection if several else None, c.source,
                                                 c.published_at, web_url(c.url)) if x)
        typer.echo(f"[{c.n}] {clean_line(c.title)}" + (f" ({meta})" if meta else ""))
        typer.echo(f"    “{clean_line(c.quote)}”")
        if c.also_in:
            typer.echo("    also in: " + ", ".join(r.source or r.url or r.title for r in c.also_in))


def _utc(when: str) -> str:
    """An ISO 8601 time as ``2026-12-07 13:37 UTC``.

    >>> _utc("2026-12-07T13:37:09+00:00")
    '2026-12-07 13:37 UTC'
    """
    from datetime import UTC, datetime

    try:
        return datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return clean_line(when)


def _window(since: str | None, until: str | None) -> str:
    """" (since 2022-06-01)", " (2022-06-01 to 2022-06-30)", or nothing."""
    if since and until:
        return f" ({since} to {until})"
    return f" (since {since})" if since else f" (until {until})" if until else ""


def _stream(items: Iterator[str | StageDone | Answer]) -> Answer:
    """Print an LLM's text as it comes; return the verified Answer (printed after it)."""
    streamed = False
    for item in items:
        if isinstance(item, str):
            typer.echo(item, nl=False)
            streamed = True
        elif isinstance(item, Answer):
            if streamed:
                typer.echo("\n\nAfter citation check:")
            return item
    raise RagError("the answer stream ended without an answer")


@app.command()
def stats(index: IndexOption = None, collection: CollectionsOption = None) -> None:
    """Articles, chunks, model and size of the index (of its collections, summed)."""
    try:
        system = open_system(index, read_only=True)
        s = system.over(collection).stats() if collection else system.stats()
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"index:    {s.extra.get('path', '')} ({s.backend})")
    typer.echo(f"articles: {s.articles}")
    typer.echo(f"chunks:   {s.chunks}")
    typer.echo(f"model:    {s.model} ({s.dimension} dims)")
    typer.echo(f"size:     {s.size_bytes / 1e6:.1f} MB")


@app.command("list")
def list_articles(index: IndexOption = None, collection: CollectionOption = None) -> None:
    """Indexed articles of a collection: id, date, source, chunks, title."""
    try:
        rows = open_system(index, collection=collection, read_only=True).index.list_articles()
    except RagError as exc:
        raise fail(str(exc)) from None
    for article, n_chunks in rows:
        typer.echo(f"{clean_line(article.id)}\t{article.published_at or '-'}\t"
                   f"{clean_line(article.source or '-')}\t{n_chunks}\t{clean_line(article.title)}")


@app.command()
def delete(
    article_ids: Annotated[list[str], typer.Argument(help="Article ids (see `rag list`).")],
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Remove articles from a collection of the index."""
    try:
        system = open_system(index, collection=collection)
        removed = system.delete(article_ids)
    except RagError as exc:
        raise fail(str(exc)) from None
    missing = len(set(article_ids)) - removed
    typer.echo(f"deleted {removed} article(s)" + (f"; {missing} not found" if missing else ""))
    if removed == 0:
        raise typer.Exit(code=1)


@app.command()
def reindex(
    index: IndexOption = None,
    backend: Annotated[str | None, typer.Option(
        help="Embedding backend of the new vectors: torch or onnx-int8.")] = None,
    model: Annotated[str | None, typer.Option(
        help="Embedding model of the new vectors (default: the index's).")] = None,
    keep_old: Annotated[bool, typer.Option(
        "--keep-old", help="Keep the old index folder beside the new one.")] = False,
) -> None:
    """Re-embed an index with another embedding backend or model (built beside it, then
    swapped in; on failure the old index is unchanged)."""
    from rag.reindex import reindex as run_reindex

    try:
        report = run_reindex(Config.from_env(index_dir=index), backend=backend, model=model,
                             keep_old=keep_old, show_progress=sys.stderr.isatty())
    except (RagError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(report.summary())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1, "
                                             "env RAG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860, env RAG_PORT).")] = None,
    index: IndexOption = None,
) -> None:
    """The chat page at / and the APIs under /v1 (OpenAI-compatible chat, REST) in one server."""
    from serve.server import chat_app_module  # lazy: only `rag serve` needs the server

    argv = [*(["--host", host] if host else []), *(["--port", str(port)] if port else []),
            *(["--index", str(index)] if index else [])]
    try:
        module = chat_app_module()
    except RagError as exc:
        raise fail(str(exc)) from None
    module.main(argv)


@app.command()
def mcp(
    index: IndexOption = None,
    collection: CollectionsOption = None,
    http: Annotated[bool, typer.Option(
        "--http", help="Streamable HTTP at http://HOST:PORT/mcp instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="With --http: interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --http: port.")] = 8765,
) -> None:
    """MCP server over the index (stdio): tools ask, timeline, search, list_articles. With
    RAG_MCP_KEY set (a key of `rag keys create`), its tools read only that key's collections;
    over --http an index that has keys is served only with one."""
    import os

    from rag.index import check_index
    from rag.system import get_system, is_default_index
    from serve.mcp_server import build_mcp

    try:
        config = command_config(index, collection)  # the collections its tools read by default
        # As for ask: a typo'd --index is named, never created (the default fills itself).
        check_index(config.index_backend, config.index_dir, create=is_default_index(config))
    except RagError as exc:
        raise fail(str(exc)) from None
    from rag.keys import open_key_store

    grant = None
    if os.environ.get("RAG_MCP_KEY", "").strip():
        store, given = open_key_store(config), os.environ["RAG_MCP_KEY"].strip()
        try:
            store.grant_of(given, "RAG_MCP_KEY")  # a wrong key is named now
        except RagError as exc:
            raise fail(str(exc)) from None
        grant = lambda: store.grant_of(given, "RAG_MCP_KEY")  # noqa: E731 - on every call
    if http and grant is None and open_key_store(config).any():
        # As `rag serve`: an index with keys is never served over the network without one.
        raise fail("this index has API keys (`rag keys list`), so `rag mcp --http` serves "
                   "only as one of them: set RAG_MCP_KEY to a key; without one every "
                   f"collection would be open to anyone who can reach {host}:{port}")
    server = build_mcp(lambda: get_system(config, create=False), grant)
    if http:
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")


app.add_typer(feeds_app, name="feeds")
app.add_typer(collections_app, name="collections")
app.add_typer(keys_app, name="keys")
app.add_typer(topics_app, name="topics")


@app.command("eval", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_(ctx: typer.Context) -> None:
    """Evaluation harness: rag eval run|compare|calibrate|slice ... (python -m eval --help)."""
    from eval.cli import main as eval_main  # lazy: only `rag eval` needs the harness

    eval_main(list(ctx.args) or ["--help"], prog_name="rag eval")


def main() -> None:  # pragma: no cover
    app()
