"""`rag feeds add|list|remove|sync`, and the URL half of `rag ingest`. A thin layer over
:class:`rag.feeds.FeedService`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from rag.errors import RagError
from rag.feeds.sync import FeedService, fetcher_for, format_interval, load_urls
from rag_cli.common import CollectionOption, IndexOption, fail, open_system

if TYPE_CHECKING:
    from rag.ingest import IngestReport
    from rag.system import RagSystem

feeds_app = typer.Typer(help="Follow RSS/Atom feeds: add, list, remove, sync.",
                        no_args_is_help=True)


def ingest_urls(system: RagSystem, urls: list[str], report: IngestReport) -> IngestReport:
    """Fetch and ingest the pages at ``urls``; their counts and failures join ``report``."""
    started = time.perf_counter()
    with fetcher_for(system.config) as fetcher:
        loaded = load_urls(urls, fetcher)
    more = system.ingest(loaded.articles)
    report.added += more.added
    report.updated += more.updated
    report.skipped += more.skipped
    report.chunks += more.chunks
    report.embedded += more.embedded
    report.failures += loaded.failures + more.failures
    report.seconds += time.perf_counter() - started
    return report


def _ago(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    seconds = max(0, int(time.time() - epoch))
    return "just now" if seconds < 60 else f"{format_interval(seconds - seconds % 60)} ago"


@feeds_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The feed's URL (RSS or Atom).")],
    every: Annotated[str | None, typer.Option(
        help="Sync interval: 30m, 2h, 1d (default $RAG_FEED_EVERY, 30m).")] = None,
    keep_days: Annotated[float | None, typer.Option(
        help="Remove this feed's articles older than N days.")] = None,
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Follow a feed (or change its interval and retention) into a collection. `rag feeds
    sync` fetches it."""
    try:
        service = FeedService(open_system(index, collection=collection, create=True))
        feed = service.add(url, every=every, keep_days=keep_days)
    except RagError as exc:
        raise fail(str(exc)) from None
    keep = f", keep {feed.keep_days:g} days" if feed.keep_days else ""
    typer.echo(f"following {feed.url} (id {feed.id}, every {format_interval(feed.every_s)}"
               f"{keep}); fetch it now with: rag feeds sync {feed.id}")


@feeds_app.command("list")
def list_feeds(index: IndexOption = None, collection: CollectionOption = None) -> None:
    """Followed feeds of a collection: id, interval, retention, last sync, last result or
    error, URL."""
    try:
        feeds = FeedService(open_system(index, collection=collection)).feeds()
    except RagError as exc:
        raise fail(str(exc)) from None
    if not feeds:
        typer.echo("no feeds: add one with `rag feeds add URL`")
    for f in feeds:
        keep = f"keep {f.keep_days:g}d" if f.keep_days else "keep all"
        typer.echo(f"{f.id}\t{f.title or '-'}\tevery {format_interval(f.every_s)}\t{keep}\t"
                   f"synced {_ago(f.last_sync_at)}\t{f.status()}\t{f.url}")


@feeds_app.command("remove")
def remove(
    feed: Annotated[str, typer.Argument(help="The feed's URL or id (see `rag feeds list`).")],
    purge: Annotated[bool, typer.Option(
        help="Also delete the articles only this feed brought in.")] = False,
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Stop following a feed (its articles stay, unless --purge)."""
    try:
        removed, deleted = FeedService(open_system(index, collection=collection)).remove(
            feed, purge=purge)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"stopped following {removed.url}"
               + (f"; deleted {deleted} article(s)" if purge else ""))


@feeds_app.command("sync")
def sync(
    feeds: Annotated[list[str] | None, typer.Argument(
        help="Feed URLs or ids to sync now (default: the feeds whose interval has passed).")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Sync every feed now.")] = False,
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Fetch a collection's feeds, ingest new and changed entries, apply retention. Exit 1 if
    one failed."""
    try:
        service = FeedService(open_system(index, collection=collection, create=True))
        if feeds:
            chosen = [service.feed(f) for f in feeds]
            reports = service.sync(chosen)
        else:
            everything = service.feeds()
            reports = service.sync(everything, due_only=not all_)
            if not everything:
                typer.echo("no feeds: add one with `rag feeds add URL`")
            elif not reports:
                wait = int(min(f.next_due() for f in everything) - time.time())
                wait = max(60, wait - wait % 60)
                typer.echo(f"no feed is due (next in {format_interval(wait)}); "
                           "--all syncs them all now")
    except RagError as exc:
        raise fail(str(exc)) from None
    for report in reports:
        for failure in report.failures:
            typer.secho(f"skipped {failure}", fg=typer.colors.YELLOW, err=True)
        typer.echo(report.summary(), err=report.status == "failed")
    rebuilt = sum(r.topics_briefed for r in reports)
    if rebuilt:
        typer.echo(f"rebuilt the briefing of {rebuilt} followed topic(s)")
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(code=1)
