"""`rag topics follow|list|remove`: the topics a collection follows, whose briefings the
background sync keeps current (`rag brief --topic` reads them). A thin layer over
:class:`rag.feeds.FollowedTopics`."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from rag.errors import RagError
from rag.feeds import FollowedTopics, index_feed_store
from rag_cli.common import CollectionOption, IndexOption, fail, open_system

topics_app = typer.Typer(help="Follow topics: their briefings are kept current (rag brief "
                              "--topic reads them).", no_args_is_help=True)


def _topics(index: IndexOption, collection: str | None, *,
            create: bool = False) -> FollowedTopics:
    """The followed topics of one collection, kept with its feeds (no model is loaded)."""
    system = open_system(index, collection=collection, create=create)
    return FollowedTopics(system, index_feed_store(system.config))


@topics_app.command("follow")
def follow(
    topic: Annotated[str, typer.Argument(help="The topic, a phrase: \"Iran nuclear talks\".")],
    since: Annotated[str | None, typer.Option(
        help="The period of its briefing: 24h (default), 7d, 2w, this week, or a first day "
             "(YYYY-MM-DD).")] = None,
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Follow a topic in a collection (following it again changes its period)."""
    try:
        followed = _topics(index, collection, create=True).follow(topic, since)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"following the topic {followed.topic!r} (id {followed.id}, {followed.period}"
               f"); its briefing: rag brief --topic {shlex.quote(followed.topic)}")


@topics_app.command("list")
def list_topics(index: IndexOption = None, collection: CollectionOption = None) -> None:
    """Followed topics of a collection: id, topic, period, when its briefing was built."""
    try:
        topics = _topics(index, collection).list()
    except RagError as exc:
        raise fail(str(exc)) from None
    if not topics:
        typer.echo("no followed topics: follow one with `rag topics follow TOPIC`")
    for t in topics:
        built = f"briefing built {t.built_at}" if t.built_at else "briefing not built yet"
        typer.echo(f"{t.id}\t{t.topic}\t{t.period}\t{built}")


@topics_app.command("remove")
def remove(
    topic: Annotated[str, typer.Argument(help="The topic's id (see `rag topics list`) or its "
                                              "text.")],
    index: IndexOption = None,
    collection: CollectionOption = None,
) -> None:
    """Stop following a topic (its stored briefing goes with it)."""
    try:
        removed = _topics(index, collection).remove(topic)
    except RagError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"stopped following the topic {removed.topic!r}")
