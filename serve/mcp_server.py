"""An MCP server over the index (``rag mcp``): tools ask, timeline, briefing, search,
list_articles, list_collections and list_topics; each reads the collection(s) named in its
``collection`` argument (default: the server's). Given a key (``rag mcp`` with
``RAG_MCP_KEY``), its tools read only the key's collections, checked again on every call (a
revoked key is refused).

Built with the official ``mcp`` SDK; stdio by default (an agent starts it as a subprocess), or
streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from rag.errors import RagError
from rag.feeds import FollowedTopics, brief_feed, brief_topic, index_feed_store
from rag.keys import Grant
from rag.retrieval import make_filters
from rag.system import RagSystem

INSTRUCTIONS = (
    "Answers questions from an index of news articles. Every claim of an answer is cited [n] to "
    "the exact sentence of an article that supports it, and the citations were checked against "
    "their sources. Use `ask` for an answer, `timeline` for what happened in a story (dated "
    "events, oldest first), `briefing` for what's new in a period (the main stories, most "
    "widely reported first; `list_topics` names the topics kept current), `search` to read "
    "the most relevant passages yourself, "
    "`list_articles` to see what the index holds. Each tool takes an optional `collection`: one "
    "collection's name or a list of them asked as one (`list_collections` shows them). When "
    "`ask` returns abstained=true, the articles do not answer the question: say so rather than "
    "guessing.")


def build_mcp(system: RagSystem | Callable[[], RagSystem],
              grant: Callable[[], Grant] | None = None) -> MCPServer:
    """The MCP server; ``system`` may be a factory (``build_mcp(get_system)``), called once on
    the first tool call. ``grant``: what the tools may read, asked on every call (a key's grant,
    raising when the key is no longer good); default: every collection. ``rag mcp`` runs it
    with ``.run("stdio")``."""
    allowed = grant or Grant.everything
    lock = threading.Lock()
    holder: list[RagSystem] = [system] if isinstance(system, RagSystem) else []

    def rag() -> RagSystem:
        with lock:
            if not holder:
                assert callable(system)
                holder.append(system())
            return holder[0]

    server = MCPServer(name="news-rag", instructions=INSTRUCTIONS)

    @server.tool(title="Ask the news articles")
    def ask(question: str, k: int | None = None, sources: list[str] | None = None,
            since: str | None = None, until: str | None = None,
            as_of: str | None = None, history: list[str] | None = None,
            timeline: bool | None = None,
            collection: str | list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the indexed news articles, with verified citations.

        Returns `answer` (text with [n] markers), `abstained` (true: the articles do not say),
        `citations` (n, title, url, published_at, source, the exact `quote`, its `start`/`end`
        offsets in the article), and `passages` (the retrieved text with scores).
        Optional: k passages to retrieve (default 6); only these `sources` (site names);
        published `since`/`until` (YYYY-MM-DD); `as_of` a day (later articles are left out,
        "this week" counts from it); `history`: earlier questions, for a follow-up;
        `timeline`: true for a timeline answer (as the `timeline` tool returns), false never,
        null (default) when the question asks what happened; `collection`: a collection or a
        list of them, asked as one (each citation says its own).
        """
        with _told():
            filters = make_filters(sources, since, until, since_name="since",
                                   until_name="until")
            asked = _over(rag(), collection, allowed())
            return asked.ask(question, k=k, filters=filters, history=history,
                             reference_date=as_of, timeline=timeline).to_json()

    @server.tool(title="Timeline of a news story")
    def timeline(topic: str, since: str | None = None, until: str | None = None,
                 as_of: str | None = None,
                 collection: str | list[str] | None = None) -> dict[str, Any]:
        """What happened in a story, oldest first, from the indexed news articles: each event
        one line, its day, a sentence of an article reporting it (cited and verified) and how
        many sources reported it.

        Returns the answer JSON of `ask` with `timeline`: `topic`, `since`, `until` and
        `events`, each with `day` (YYYY-MM-DD), `date_source` ("stated": the day the sentence
        states; "published": its article's publication day), `text`, `sources` (how many
        articles reported it), `source_ids` and its `citation`. `answer` is the same list as
        text. When no event of the story can be dated and no window is asked, the events are
        undated: `date_source` "undated", `day` null, `stated` the date the sentence states as
        it states it (if any), in the order their articles report them, and the timeline's
        `note` says so. Optional: the window, published `since`/`until` (YYYY-MM-DD); `as_of`
        a day (later articles are left out); `collection`: one or a list.
        """
        with _told():
            system = _over(rag(), collection, allowed())
            return system.timeline(topic, since, until, as_of=as_of).to_json()

    @server.tool(title="Briefing: what's new")
    def briefing(since: str | None = None, until: str | None = None, topic: str | None = None,
                 as_of: str | None = None, feed: str | None = None,
                 collection: str | list[str] | None = None) -> dict[str, Any]:
        """What's new in the indexed news articles: the main stories of a period, the most
        widely reported first, each one sentence of an article (cited and verified) with how
        many sources reported it.

        Returns the answer JSON of `ask` with `briefing`: `since`, `until`, `topic` and
        `stories`, each with `headline_text`, `day` (YYYY-MM-DD, the last day it was
        reported), `sources` (how many articles reported it), `source_ids`, `events` and its
        `citation`. `answer` is the same list as text. `since`: YYYY-MM-DD or a span back
        from `until` or today (24h, 7d, 2w, yesterday, this week; default 24h, or a followed
        topic's period); `until` YYYY-MM-DD; `topic`: only stories on it; `as_of` a day (later
        articles are left out); `feed`: only the articles that followed feed (its id or URL)
        brought in; `collection`: one or a list (a feed or a followed topic belongs to one). A
        feed's briefing of the last 24 hours on no topic, and a topic the collection follows
        over its period, are the ones the server keeps current, while fresh: then
        `briefing.cached` is true and `briefing.built_at` says when it was built.
        """
        with _told():
            system = _over(rag(), collection, allowed())
            if feed:
                return brief_feed(system, feed, since=since, until=until, topic=topic,
                                  as_of=as_of).to_json()
            if topic is not None:
                return brief_topic(system, topic, since=since, until=until,
                                   as_of=as_of).to_json()
            return system.brief(since, until, topic=topic, as_of=as_of).to_json()

    @server.tool(title="Search the news articles")
    def search(query: str, k: int = 6, sources: list[str] | None = None,
               since: str | None = None, until: str | None = None,
               collection: str | list[str] | None = None) -> dict[str, Any]:
        """Find the passages of news articles most relevant to `query` (hybrid keyword and
        semantic search, recent stories preferred). Returns `passages`, best first: text,
        score, and the article's article_id, title, source, url, published_at, with the
        passage's `start`/`end` offsets in the article, and its `collection`. Use it to read
        around a topic; use `ask` for a cited answer."""
        with _told():
            system = _over(rag(), collection, allowed())
            filters = make_filters(sources, since, until, since_name="since",
                                   until_name="until")
            hits = system.search(query, k, filters)
        return {"passages": [
            {"article_id": h.article.id, "title": h.article.title, "source": h.article.source,
             "url": h.article.url, "published_at": h.article.published_at,
             "score": round(h.score, 4), "text": h.chunk.text, "start": h.chunk.start,
             "end": h.chunk.end, "collection": h.collection} for h in hits]}

    @server.tool(title="List the indexed articles")
    def list_articles(limit: int = 200, offset: int = 0,
                      collection: str | list[str] | None = None) -> dict[str, Any]:
        """The articles in the index (of `collection`, one or a list), newest first: id,
        title, source, url, published_at, chunks, collection. `total` counts them all; page
        with `offset` and `limit` (at most 1000)."""
        if not 1 <= limit <= 1000 or offset < 0:
            raise ToolError(f"limit must be 1..1000 and offset >= 0; got limit={limit}, "
                             f"offset={offset}")
        with _told():
            system = _over(rag(), collection, allowed())
            rows = [(a, n, name) for name in system.collections
                    for a, n in system.over(name).index.list_articles()]
        rows.sort(key=lambda r: r[0].title.lower())
        rows.sort(key=lambda r: r[0].published_at or "", reverse=True)
        return {"total": len(rows), "articles": [
            {"id": a.id, "title": a.title, "source": a.source, "url": a.url,
             "published_at": a.published_at, "chunks": n, "collection": name}
            for a, n, name in rows[offset:offset + limit]]}

    @server.tool(title="List the collections")
    def list_collections() -> dict[str, Any]:
        """The collections of the index, `default` first: each a separate set of articles,
        with its `name`, `articles` and `chunks`. Pass a name (or a list) as `collection` to
        the other tools."""
        with _told():
            system, opened = rag(), allowed()
            return {"collections": [
                {"name": name, "articles": (s := system.over(name).stats()).articles,
                 "chunks": s.chunks} for name in system.collection_names()
                if opened.opens(name)]}

    @server.tool(title="List the followed topics")
    def list_topics(collection: str | None = None) -> dict[str, Any]:
        """The topics a collection follows (`collection`: one; default the server's), whose
        briefings the server keeps current: each `id`, `topic`, `since` (its period) and
        `built_at` (when its stored briefing was built, null before). Pass a `topic` to
        `briefing` for its stored briefing."""
        with _told():
            system = _over(rag(), collection, allowed())
            topics = FollowedTopics(system, index_feed_store(system.config)).list()
        return {"topics": [{"id": t.id, "topic": t.topic, "since": t.since,
                            "built_at": t.built_at} for t in topics]}

    return server


def _over(system: RagSystem, collection: str | list[str] | None, grant: Grant) -> RagSystem:
    """The system over ``collection`` (a name or a list; None: the server's, or the key's); one
    the key does not open is refused as one that does not exist (``Grant.select``)."""
    names = grant.select(collection)
    return system if names is None else system.over(collection or list(names))


@contextmanager
def _told() -> Iterator[None]:
    """A user's mistake (bad question, date, k) reaches the agent with its message; the SDK
    hides the text of any other exception."""
    try:
        yield
    except (RagError, ValueError) as exc:
        raise ToolError(str(exc)) from exc
