"""The chat page: ``python app.py [--host H] [--port P] [--index DIR]`` (or ``rag serve``).

UI wiring only: answers, ingest and the index come from ``rag``, markup from ``ui``. The page
also serves ``api_name="ask"`` (a question string in, ``Answer.to_json()`` out), and runs
mounted at ``/`` of the server of ``serve`` (OpenAI-compatible and REST APIs under ``/v1``).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from fastapi import FastAPI

from rag import Answer, BadInputError, Config, RagError, RagSystem, get_system
from rag.answering import BACKENDS
from rag.feeds import (
    CollectionFeeds,
    FeedService,
    FetchError,
    FollowedTopics,
    brief_feed,
    brief_topic,
    format_interval,
    load_urls,
)
from rag.keys import Grant, open_key_store
from rag.retrieval import make_filters
from rag.retrieval.dates import reference_day
from rag.types import StageDone
from rag.uploads import DEFAULT_MAX_UPLOAD_CHARS, DEFAULT_MAX_UPLOAD_MB, ingest_uploads
from serve.access import Keys, PageLogin
from serve.errors import log_failure
from serve.limits import ServeSettings
from serve.server import create_app, serve_forever
from ui import EXAMPLE_QUESTIONS, STYLE
from ui.feeds import (
    ALL_ARTICLES,
    FEED_HEADERS,
    MAX_LINKS,
    chosen_feed,
    chosen_topic,
    code,
    failures_markdown,
    feed_choices,
    feed_rows,
    split_links,
    sync_markdown,
    topic_choices,
)
from ui.render import (
    Turn,
    answer_markdown,
    briefing_panel,
    chat_messages,
    escape_markdown,
    line_prefixes,
    sources_html,
    stats_markdown,
    stream_prefixes,
    upload_markdown,
)

STREAM_DELAY_S = 0.03
EVENT_DELAY_S = 0.1
SEARCHING = "_Searching the articles…_"


def reading_status(passages: int) -> str:
    """The chat's line while the answerer reads what retrieval found.

    >>> reading_status(1), reading_status(20)
    ('_Reading 1 passage…_', '_Reading 20 passages…_')
    """
    return f"_Reading {passages} passage{'s' if passages != 1 else ''}…_"

TABLE_HEADERS = ["Title", "Source", "Date", "Chunks", "ID"]
# Errors about the user's own input (a file, a link, a date): their message is shown as it is.
SHOWN_ERRORS = (BadInputError, FetchError)
T = TypeVar("T")
# System fonts: the default theme would fetch web fonts, and the app runs offline.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


def page_errors(handler: Callable[..., T]) -> Callable[..., T]:
    """``handler`` with its failures shown on the page as a ``gr.Error``: a bad input's own
    message, anything else only its type and a reference to the server log (its text may name
    the server's files)."""

    @functools.wraps(handler)
    def shown(*args: Any, **kwargs: Any) -> T:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except SHOWN_ERRORS as exc:
            raise gr.Error(str(exc)) from None
        except Exception as exc:
            raise gr.Error(log_failure(exc, f"the page's {handler.__name__}")) from None

    return shown


class PageAccess:
    """Who is on the page: each event reads the grant of the key its session logged in with
    (``serve.access``: ``gr.Request.username``), so a person sees and changes only their
    collections, and a read key changes nothing; with no login, everything."""

    def __init__(self, system: RagSystem,
                 grant_of: Callable[[str | None], Grant] | None = None) -> None:
        self.system = system
        self.grant_of = grant_of

    @property
    def keyed(self) -> bool:
        """Whether each session's key decides (a served page: keys may be made while it runs).
        The page is then built naming no collection and no feed, since its ``/config`` is the
        same for every key, and each session's load fills in its key's."""
        return self.grant_of is not None

    def grant(self, request: gr.Request | None) -> Grant:
        if self.grant_of is None:
            return Grant.everything()
        return self.grant_of(getattr(request, "username", None))

    def names(self, request: gr.Request | None) -> list[str]:
        """The collections the pickers offer."""
        grant = self.grant(request)
        return [n for n in self.system.collection_names() if grant.opens(n)]

    def one(self, request: gr.Request | None, collection: str | None, *, role: str = "read",
            what: str = "this") -> str:
        """The collection an event reads or writes (none picked: the key's first, or the
        page's); one the key does not open is refused as one that does not exist."""
        names = self.grant(request).select(collection or None, role=role, one=True, what=what)
        return names[0] if names else (collection or self.system.collections[0])

    def over(self, request: gr.Request | None, collections: str | list[str] | None
             ) -> RagSystem:
        """The system over the collections asked (none: the key's, or the page's)."""
        names = self.grant(request).select(collections or None)
        return self.system if names is None else self.system.over(collections or list(names))


# The feeds of each collection, one FeedService each, shared with the /v1 feed routes.
PageFeeds = CollectionFeeds


def build_app(system: RagSystem, *, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
              max_upload_chars: int = DEFAULT_MAX_UPLOAD_CHARS,
              feeds: FeedService | PageFeeds | None = None,
              access: PageAccess | None = None) -> gr.Blocks:
    """The Gradio page over ``system``: a header with the collection picked, then the Chat,
    Briefing, Articles and Feeds tabs (one builder each). ``feeds``: the first collection's
    FeedService, or every collection's (:class:`PageFeeds`); ``access``: who may see and do
    what (default: everyone everything)."""
    page_feeds = feeds if isinstance(feeds, PageFeeds) else PageFeeds(system, feeds)
    access = access or PageAccess(system)
    writers: list[gr.Button] = []  # what a read key may not use: disabled on its page
    with gr.Blocks(title="News RAG: cited answers") as demo:
        header_stats, collection = header(system, access)
        with gr.Tabs():
            with gr.Tab("Chat"), gr.Row(equal_height=False):
                asked = chat_tab(system, access)
            with gr.Tab("Briefing") as briefing, gr.Row(equal_height=False):
                feed_menu, topic_menu = briefing_tab(system, page_feeds, collection, access,
                                                     writers=writers)
            with gr.Tab("Articles"), gr.Row(equal_height=False):
                view = articles_tab(system, page_feeds, header_stats, collection, access,
                                    max_upload_mb=max_upload_mb,
                                    max_upload_chars=max_upload_chars, writers=writers)
            with gr.Tab("Feeds"), gr.Column():
                feeds_table = feeds_tab(system, page_feeds, view, header_stats, collection,
                                        feed_menu, access, writers=writers)

        def shown(name: str, request: gr.Request) -> tuple[Any, ...]:
            name = access.one(request, name)
            rows, stats = articles_view(system, name)
            return rows, stats, stats, feed_rows(page_feeds(name).feeds())

        def loaded(name: str, asking: list[str] | None, request: gr.Request) -> tuple[Any, ...]:
            # Collections made since the page was built join the pickers; a key's own only.
            names = access.names(request)
            default = [n for n in system.collections if n in names] or names[:1]
            name = name if name in names else (default or [system.collections[0]])[0]
            asking = [n for n in asking or [] if n in names] or default
            writes = access.grant(request).allows("write")
            return (gr.update(choices=names, value=name), gr.update(choices=names, value=asking),
                    *shown(name, request), *[gr.update(interactive=writes) for _ in writers])

        outputs = [*view, header_stats, feeds_table]
        collection.change(page_errors(shown), [collection], outputs, api_visibility="private")
        demo.load(page_errors(loaded), [collection, asked],
                  [collection, asked, *outputs, *writers], api_visibility="private")
        # The followed feeds change on the Feeds tab, in other browsers and with the
        # collection picked: read again.
        menu = feed_menu_updater(page_feeds, access)
        topics = topic_menu_updater(page_feeds, access)
        for event in (demo.load, briefing.select, collection.change):
            event(menu, [feed_menu, collection], [feed_menu], api_visibility="private")
            event(topics, [topic_menu, collection], [topic_menu], api_visibility="private")
    return demo


def feed_menu_updater(feeds: PageFeeds, access: PageAccess | None = None
                      ) -> Callable[..., gr.Dropdown]:
    """The event that refreshes the Briefing tab's feed menu: the feeds the collection picked
    (default: the page's first) follows now, the chosen one kept while it is still followed."""
    access = access or PageAccess(feeds.system)

    def refresh_feed_menu(current: str | None, collection: str = "",
                          request: gr.Request = None) -> gr.Dropdown:  # type: ignore[assignment]
        choices = feed_choices(feeds(access.one(request, collection)).feeds())
        return gr.Dropdown(choices=choices, value=chosen_feed(choices, current))

    return refresh_feed_menu


def topic_menu_updater(feeds: PageFeeds, access: PageAccess | None = None
                       ) -> Callable[..., gr.Dropdown]:
    """The event that refreshes the Briefing tab's menu of followed topics: those the
    collection picked follows now, the chosen one kept while it is still followed."""
    access = access or PageAccess(feeds.system)

    def refresh_topic_menu(current: str | None, collection: str = "",
                           request: gr.Request = None) -> gr.Dropdown:  # type: ignore[assignment]
        choices = topic_choices(feeds(access.one(request, collection)).topics.list())
        return gr.Dropdown(choices=choices, value=chosen_topic(choices, current))

    return refresh_topic_menu


def header(system: RagSystem, access: PageAccess | None = None
           ) -> tuple[gr.Markdown, gr.Dropdown]:
    """The page's title and, beside it, the collection the Articles, Feeds and Briefing tabs
    show and its stats (which the tabs keep current)."""
    keyed = access is not None and access.keyed
    with gr.Row(elem_id="rag-header"):
        with gr.Column(scale=3, min_width=300):
            gr.Markdown("# News RAG\nAsk about the indexed news articles. Every claim is "
                        "cited [n] to the sentence that supports it.")
        with gr.Column(scale=2, min_width=300):
            names = [] if keyed else system.collection_names()
            # allow_custom_value: a name outside the choices reaches the handlers, which refuse
            # it exactly as one the key does not open (Gradio's own refusal would list the
            # choices, and so tell a key which collections exist). "": none picked, the key's
            # first (or the page's) collection.
            collection = gr.Dropdown(names, value="" if keyed else system.collections[0],
                                     label="Collection",
                                     info="The articles and feeds shown, and where uploads go",
                                     elem_id="rag-collection", interactive=True,
                                     allow_custom_value=True)
            return gr.Markdown(elem_id="rag-header-stats"), collection


def collections_picker(system: RagSystem, access: PageAccess | None = None) -> gr.Dropdown:
    """The chat's choice of collections to ask: one or several, asked as one ranking (with
    logins, none until the session's load fills in its key's)."""
    keyed = access is not None and access.keyed
    names = [] if keyed else system.collection_names()
    return gr.Dropdown(names, value=[] if keyed else list(system.collections), multiselect=True,
                       label="Ask in", info="Collections searched (several: one ranking)",
                       elem_id="rag-ask-collections", interactive=True,
                       allow_custom_value=True)  # refused by the handlers, as header's


def chat_tab(system: RagSystem, access: PageAccess | None = None) -> gr.Dropdown:
    """The Chat tab: answers streamed into the conversation, the sources of the answer chosen
    beside it; the ``chat`` (the tab's own event) and ``ask`` APIs. Returns its picker of the
    collections asked."""
    access = access or PageAccess(system)
    turns = gr.State([])
    with gr.Column(scale=3, min_width=330):
        asked = collections_picker(system, access)
        chatbot = gr.Chatbot(label="Answers", height=460, elem_id="rag-chat",
                             latex_delimiters=[], feedback_options=None, buttons=["copy"],
                             placeholder="Ask a question about the articles.")
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question, then Enter", show_label=False,
                             scale=5, elem_id="rag-question", max_lines=4, submit_btn=True)
        examples = gr.Examples(EXAMPLE_QUESTIONS, inputs=[box], label="Example questions")
        settings = chat_settings(system.config)
    with gr.Column(scale=2, min_width=300):
        sources = gr.HTML(sources_html(None), label="Sources", elem_id="rag-sources",
                          padding=True, container=True, show_label=True)

    def respond(message: str, turns: list[Turn], k: float, backend: str,
                only_sources: str = "", since: str = "", until: str = "",
                as_of: str = "", collections: list[str] | None = None,
                request: gr.Request = None,  # type: ignore[assignment]
                ) -> Iterator[tuple[Any, ...]]:
        try:
            asked = access.over(request, collections)
        except SHOWN_ERRORS as exc:
            raise gr.Error(str(exc)) from None
        yield from chat_reply(asked, message, turns, int(k), backend, only_sources, since,
                              until, as_of)

    def select_answer(turns: list[Turn], evt: gr.SelectData) -> str:
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        turn = turns[index // 2] if 0 <= index // 2 < len(turns) else None
        return sources_html(turn.answer if turn else None)

    @page_errors
    def api_ask(question: str, collection: str = "",
                request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Answer ``question`` (from ``collection``: a name, or several separated by commas;
        default: the page's); returns the JSON of ``rag ask --json`` (answer, citations...)."""
        names = [n.strip() for n in (collection or "").split(",") if n.strip()]
        return access.over(request, names).ask(question).to_json()

    chat_io = dict(inputs=[box, turns, *settings, asked], outputs=[chatbot, turns, sources, box])
    box.submit(respond, **chat_io, api_name="chat", concurrency_limit=None)
    examples.load_input_event.then(respond, **chat_io, api_visibility="private",
                                   concurrency_limit=None)
    chatbot.select(select_answer, [turns], [sources], api_visibility="private")
    chatbot.clear(lambda: ([], sources_html(None)), None, [turns, sources],
                  api_visibility="private")
    gr.api(api_ask, api_name="ask")
    return asked


BRIEFING_SPANS = {"Last 24 hours": "24h", "Last 7 days": "7d"}
LAST_VISIT = "Since I last checked"
FIRST_VISIT = "The first briefing asked from this browser: the last 24 hours."


def briefing_tab(system: RagSystem, feeds: PageFeeds, collection: gr.Dropdown,
                 access: PageAccess | None = None, *, writers: list[gr.Button] | None = None
                 ) -> tuple[gr.Dropdown, gr.Dropdown]:
    """The Briefing tab, of the ``collection`` picked: what's new in the last day or week, or
    since this browser last asked, on everything or a topic, of every article or one followed
    feed's (its stored briefing for the last 24 hours, as ``POST /v1/brief`` serves it), each
    story a cited line with its sources; the ``brief`` API. Below, the collection's followed
    topics (:func:`topics_panel`). Returns the feed menu (the Feeds tab and the collection
    picked change its choices) and the topic menu."""
    # The day this browser last asked for a briefing, in its localStorage (Gradio encrypts it
    # with a key made at each start, so a restarted server starts afresh).
    checked = gr.BrowserState(None, storage_key="news-rag-last-briefing")
    access = access or PageAccess(system)
    with gr.Column(scale=3, min_width=330):
        with gr.Row():
            span = gr.Radio([*BRIEFING_SPANS, LAST_VISIT], value="Last 24 hours",
                            label="Since", elem_id="rag-brief-since")
            topic = gr.Textbox(label="Topic (optional)", placeholder="everything",
                               elem_id="rag-brief-topic", max_lines=1)
            as_of = gr.Textbox(label="As of", value="", placeholder="YYYY-MM-DD (today)",
                               elem_id="rag-brief-as-of", max_lines=1, min_width=120)
        # No feed yet: the page's first state goes to every login, and the feeds of the
        # server's collection are not every key's (the page's load fills the key's).
        feed = gr.Dropdown(feed_choices([]), value=ALL_ARTICLES[1],
                           label="Articles of", elem_id="rag-brief-feed",
                           info="every article, or those one followed feed brought in")
        go = gr.Button("What's new", variant="primary", elem_id="rag-brief-go")
        topic_menu, show_topic, follow, unfollow, topic_status = topics_panel()
        shown = gr.HTML(briefing_panel(None), elem_id="rag-briefing", padding=True,
                        container=True)
    with gr.Column(scale=2, min_width=300):
        sources = gr.HTML(sources_html(None), label="Sources", elem_id="rag-brief-sources",
                          padding=True, container=True, show_label=True)

    def show(span_label: str, topic_text: str, as_of_text: str, feed_id: str | None,
             last: str | None, picked: str = "",
             request: gr.Request = None) -> tuple[str, str, str]:  # type: ignore[assignment]
        since, note = BRIEFING_SPANS.get(span_label, "24h"), None
        if span_label == LAST_VISIT:
            since, note = (last, None) if last else ("24h", FIRST_VISIT)
        try:
            answer = page_brief(system.over(access.one(request, picked)), since,
                                _blank(topic_text), _blank(as_of_text), _blank(feed_id))
        except SHOWN_ERRORS as exc:
            return briefing_panel(None, error=str(exc)), gr.skip(), gr.skip()
        today = reference_day(system.config.reference_date).isoformat()
        return briefing_panel(answer, note=note), sources_html(answer), today

    @page_errors
    def api_brief(since: str = "24h", topic: str = "", as_of: str = "",
                  feed: str = "", collection: str = "",
                  request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """What's new ``since`` (24h, 7d, a date...), of one followed ``feed`` if given, in
        ``collection`` (default: the page's); the JSON of ``rag brief --json``."""
        briefed = access.over(request, collection)
        return page_brief(briefed, _blank(since), _blank(topic), _blank(as_of),
                          _blank(feed)).to_json()

    def topics_of(picked: str, request: gr.Request | None, *, role: str = "read",
                  what: str = "this") -> FollowedTopics:
        return feeds(access.one(request, picked, role=role, what=what)).topics

    def menu_of(topics: FollowedTopics, current: str | None) -> gr.Dropdown:
        choices = topic_choices(topics.list())
        return gr.Dropdown(choices=choices, value=chosen_topic(choices, current))

    @page_errors
    def follow_topic(text: str, span_label: str, picked: str = "",
                     request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        topics = topics_of(picked, request, role="write", what="following topics")
        since = BRIEFING_SPANS.get(span_label)
        if since is None:
            return ("⚠ A followed topic's briefing covers a fixed period: choose "
                    f"{' or '.join(BRIEFING_SPANS)} above.", gr.skip())
        try:
            topic = topics.follow(text or "", since)
        except SHOWN_ERRORS as exc:
            return f"⚠ {escape_markdown(str(exc))}", gr.skip()
        return (f"Following {code(topic.topic)} ({escape_markdown(topic.period)}): its "
                "briefing is kept current; pick it in the menu to read it.",
                menu_of(topics, str(topic.id)))

    @page_errors
    def unfollow_topic(topic_id: str | None, picked: str = "",
                       request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        topics = topics_of(picked, request, role="write", what="removing topics")
        if not (topic_id or "").strip():
            return "Pick a followed topic in the menu first.", gr.skip()
        try:
            removed = topics.remove(topic_id.strip())
        except SHOWN_ERRORS as exc:
            return f"⚠ {escape_markdown(str(exc))}", menu_of(topics, topic_id)
        return f"Stopped following {code(removed.topic)}.", menu_of(topics, None)

    @page_errors
    def show_followed(topic_id: str | None, picked: str = "",
                      request: gr.Request = None) -> tuple[str, str]:  # type: ignore[assignment]
        try:
            if not (topic_id or "").strip():
                raise BadInputError("pick a followed topic in the menu first")
            answer = topics_of(picked, request).briefing(topic_id.strip())
        except SHOWN_ERRORS as exc:
            return briefing_panel(None, error=str(exc)), gr.skip()
        return briefing_panel(answer), sources_html(answer)

    @page_errors
    def api_topics(collection: str = "",
                   request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """The topics ``collection`` follows (default: the page's): id, topic, since (its
        period) and built_at (when its stored briefing was built)."""
        return {"topics": [{"id": t.id, "topic": t.topic, "since": t.since,
                            "built_at": t.built_at}
                           for t in topics_of(collection, request).list()]}

    @page_errors
    def api_topic_briefing(topic: str, collection: str = "",
                           request: gr.Request = None  # type: ignore[assignment]
                           ) -> dict[str, Any]:
        """A followed topic's briefing (its id or text), of ``collection`` (default: the
        page's): its stored one while fresh; the JSON of ``rag brief --topic TOPIC --json``."""
        return topics_of(collection, request).briefing(topic).to_json()

    inputs = [span, topic, as_of, feed, checked, collection]
    go.click(show, inputs, [shown, sources, checked], api_visibility="private")
    topic.submit(show, inputs, [shown, sources, checked], api_visibility="private")
    gr.api(api_brief, api_name="brief")
    if writers is not None:
        writers.extend([follow, unfollow])
    follow.click(follow_topic, [topic, span, collection], [topic_status, topic_menu],
                 api_name="follow_topic")
    unfollow.click(unfollow_topic, [topic_menu, collection], [topic_status, topic_menu],
                   api_name="unfollow_topic")
    for event in (show_topic.click, topic_menu.input):
        event(show_followed, [topic_menu, collection], [shown, sources],
              api_visibility="private")
    gr.api(api_topics, api_name="topics")
    gr.api(api_topic_briefing, api_name="topic_briefing")
    return feed, topic_menu


def topics_panel() -> tuple[gr.Dropdown, gr.Button, gr.Button, gr.Button, gr.Markdown]:
    """The Briefing tab's followed topics: a menu of them (built empty: the page's load fills
    in the collection's; picking one shows its stored briefing), **Show its briefing** again,
    **Follow the topic typed above** over the period chosen ("Since"), **Unfollow** the one
    picked, and a status line."""
    with gr.Column(elem_id="rag-topics"):
        # allow_custom_value: a value outside the choices reaches the handlers, which refuse
        # it as an unknown topic (Gradio's own refusal would list the choices).
        menu = gr.Dropdown([], value=None, label="Followed topics",
                           info="Their briefings are kept current by the background sync: "
                                "pick one to read it",
                           elem_id="rag-topic-menu", allow_custom_value=True)
        with gr.Row():
            show = gr.Button("Show its briefing", size="sm", elem_id="rag-topic-show")
            follow = gr.Button("Follow the topic typed above", size="sm",
                               elem_id="rag-topic-follow")
            unfollow = gr.Button("Unfollow", size="sm", variant="stop",
                                 elem_id="rag-topic-unfollow")
        status = gr.Markdown(elem_id="rag-topic-status")
    return menu, show, follow, unfollow, status


def page_brief(system: RagSystem, since: str | None, topic: str | None, as_of: str | None,
               feed: str | None) -> Answer:
    """The briefing the Briefing tab asks for: of every article, or of one followed ``feed``
    exactly as ``rag brief --feed`` and ``POST /v1/brief`` read it (``rag.feeds.brief_feed``:
    its stored briefing for the last 24 hours on no topic); on a followed ``topic`` over its
    period, its stored briefing (``rag.feeds.brief_topic``)."""
    if feed:
        return brief_feed(system, feed, since=since, topic=topic, as_of=as_of)
    if topic:
        return brief_topic(system, topic, since=since, as_of=as_of)
    return system.brief(since, topic=topic, as_of=as_of)


def chat_settings(config: Config) -> list[gr.components.Component]:
    """The chat's folded settings: passages retrieved, answer backend, sources, dates, as-of
    day (in the order ``chat_reply`` takes them)."""
    with gr.Accordion("Settings", open=False):
        k = gr.Slider(1, 20, value=config.top_k, step=1, label="Passages retrieved (k)")
        backend = gr.Dropdown(list(BACKENDS), value=config.answer_backend,
                              label="Answer backend", visible=len(BACKENDS) > 1)
        only_sources = gr.Textbox(label="Only these sources", value="",
                                  placeholder="cnn.com, bbc.com", elem_id="rag-filter-sources")
        with gr.Row():
            since = gr.Textbox(label="Published since", value="", placeholder="YYYY-MM-DD",
                               elem_id="rag-filter-since", min_width=120)
            until = gr.Textbox(label="Published until", value="", placeholder="YYYY-MM-DD",
                               elem_id="rag-filter-until", min_width=120)
            # Later articles are left out; "this week" counts from this day.
            as_of = gr.Textbox(label="As of", value="", placeholder="YYYY-MM-DD (today)",
                               elem_id="rag-as-of", min_width=120)
    return [k, backend, only_sources, since, until, as_of]


def chat_reply(system: RagSystem, message: str, turns: list[Turn], k: int, backend: str,
               only_sources: str, since: str, until: str, as_of: str,
               collections: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """The chat's updates for one question (asked of ``collections``; none: the page's): the
    conversation, its turns, the sources panel and the question box, as the answer comes
    (searching, streamed text, the cited answer)."""
    question = (message or "").strip()
    if not question:
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    # Answered turns only: a refused question (too long...) must not refuse the next ones.
    history = [t.question for t in turns if t.answer is not None]
    turns = [*turns, Turn(question)]
    drafted = ""
    error = "no answer"
    yield chat_messages(turns, SEARCHING), turns, gr.skip(), ""
    answer = None
    try:
        # LLM backends stream text, then the Answer; the others just the Answer.
        filters = make_filters(only_sources, _blank(since), _blank(until),
                               since_name="'Published since' date",
                               until_name="'Published until' date")
        asked = system.over(collections) if collections else system
        for item in asked.ask_stream(question, k=k, history=history, backend=backend,
                                     filters=filters, reference_date=_blank(as_of)):
            if isinstance(item, Answer):
                answer = item
            elif isinstance(item, StageDone):
                if item.name == "retrieve" and not drafted:
                    yield (chat_messages(turns, reading_status(item.passages)), gr.skip(),
                           gr.skip(), gr.skip())
            else:  # an LLM's next words; its [n] are renumbered in the final Answer
                drafted += item
                yield (chat_messages(turns, escape_markdown(drafted)), gr.skip(), gr.skip(),
                       gr.skip())
    except SHOWN_ERRORS as exc:
        error = str(exc)
    except Exception as exc:  # a backend down (LLM server...): say so in the chat
        error = f"the answer backend failed: {log_failure(exc, f'answering {question!r}')}"
    if answer is None:
        turns[-1] = Turn(question, error=error)
        yield chat_messages(turns), turns, gr.skip(), gr.skip()
        return
    if not drafted:  # not streamed by the backend: show it growing, a few words at a time
        # (a timeline or briefing: an event or story at a time)
        timeline = answer.timeline is not None or answer.briefing is not None
        for prefix in (line_prefixes if timeline else stream_prefixes)(answer.text):
            yield (chat_messages(turns, answer_markdown(answer, prefix)), gr.skip(), gr.skip(),
                   gr.skip())
            time.sleep(EVENT_DELAY_S if timeline else STREAM_DELAY_S)
    turns[-1] = Turn(question, answer)
    yield chat_messages(turns), turns, sources_html(answer), gr.skip()


def articles_view(system: RagSystem, collection: str | None = None
                  ) -> tuple[list[list[Any]], str]:
    """The Articles table's rows of ``collection`` (default: the page's first; newest first,
    undated last) and its stats."""
    shown = system.over(collection or system.collections[0])
    rows = [[a.title, a.source or "", a.published_at or "", n, a.id]
            for a, n in shown.index.list_articles()]
    rows.sort(key=lambda r: r[0].lower())
    rows.sort(key=lambda r: r[2], reverse=True)
    return rows, stats_markdown(shown.stats())


def articles_tab(system: RagSystem, feeds: PageFeeds, header_stats: gr.Markdown,
                 collection: gr.Dropdown, access: PageAccess | None = None, *,
                 max_upload_mb: int, max_upload_chars: int,
                 writers: list[gr.Button] | None = None) -> list[gr.components.Component]:
    """The Articles tab, of the ``collection`` picked: upload files or fetch links, see and
    delete its articles; the ``ingest``, ``ingest_links`` and ``delete`` APIs. Returns the
    table and stats it shows (``articles_view``), for the tabs that change them."""
    with gr.Column(scale=2, min_width=300):
        # No file_types: Gradio would refuse a whole mixed upload; ingest_uploads refuses just
        # the odd file, with its reason.
        files = gr.File(file_count="multiple", label="Upload articles", elem_id="rag-upload")
        access = access or PageAccess(system)
        add = gr.Button("Add to index", variant="primary", elem_id="rag-add")
        status = gr.Markdown(elem_id="rag-status")
        gr.Markdown(f"Types: .txt .md .html .json .jsonl, up to {max_upload_mb} MB each. "
                    "JSON: `title`, `text`, and optional `source`, `url`, `published_at`.")
        links = gr.Textbox(label="Or paste links to articles (one per line)", lines=3,
                           placeholder="https://example.com/news/story", elem_id="rag-links")
        fetch = gr.Button("Fetch links", elem_id="rag-fetch-links")
    with gr.Column(scale=3, min_width=300):
        stats = gr.Markdown(elem_id="rag-stats")
        table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, wrap=True,
                             max_height=420, elem_id="rag-table",
                             column_widths=["42%", "14%", "12%", "10%", "22%"])
        with gr.Row():
            chosen = gr.Textbox(label="Selected article ID", scale=3, elem_id="rag-selected")
            remove = gr.Button("Delete", variant="stop", scale=1, elem_id="rag-delete")

    @page_errors
    def ingest(files: list[str] | None, collection: str = "",
               progress: gr.Progress = gr.Progress(),  # noqa: B008
               request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="adding articles")
        into = system.over(collection)
        if not files:
            return "Choose one or more files first.", *articles_view(system, collection)
        progress(0, desc=f"Reading {len(files)} file(s)")

        def step(done: int, total: int, title: str) -> None:
            progress((done, total), desc=f"Indexed: {title[:60]}", unit="articles")

        report = ingest_uploads(into, files, max_bytes=max_upload_mb * 1_048_576,
                                max_chars=max_upload_chars, progress=step)
        return upload_markdown(report), *articles_view(system, collection)

    @page_errors
    def fetch_links(text: str, collection: str = "",
                    progress: gr.Progress = gr.Progress(),  # noqa: B008
                    request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="adding articles")
        into = system.over(collection)
        links = split_links(text)
        if not links:
            return ("Paste one or more links first.", gr.skip(),
                    *articles_view(system, collection))
        progress(0, desc=f"Fetching {min(len(links), MAX_LINKS)} link(s)")
        loaded = load_urls(links[:MAX_LINKS], feeds(into.collection).fetcher)
        report = into.ingest(loaded.articles)
        lines = [f"**{report.summary()}**", *failures_markdown(loaded.failures + report.failures)]
        if len(links) > MAX_LINKS:
            lines.append(f"- only the first {MAX_LINKS} links were fetched: paste the others "
                         "again")
        return "\n".join(lines), "", *articles_view(system, collection)

    def pick_article(evt: gr.SelectData) -> str:
        return str(evt.row_value[-1]) if evt.row_value else ""

    @page_errors
    def delete(article_id: str, collection: str = "",
               request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="deleting articles")
        ids = [i for i in (article_id or "").replace(",", " ").split() if i]
        if not ids:
            return ("Click a row of the table, then Delete.", "",
                    *articles_view(system, collection))
        removed = system.over(collection or system.collections[0]).delete(ids)
        return (f"Deleted {removed} of {len(ids)} article(s).", "",
                *articles_view(system, collection))

    view = [table, stats]
    if writers is not None:
        writers.extend([add, fetch, remove])
    add.click(ingest, [files, collection], [status, *view], api_name="ingest",
              concurrency_id="write", concurrency_limit=1).then(
        lambda s: (None, s), [stats], [files, header_stats], api_visibility="private")
    # Not in the write queue: a slow host would hold up every upload and delete. The fetched
    # articles are ingested under the index's own write lock.
    fetch.click(fetch_links, [links, collection], [status, links, *view],
                api_name="ingest_links", concurrency_id="fetch", concurrency_limit=2).then(
        lambda s: s, [stats], [header_stats], api_visibility="private")
    table.select(pick_article, None, [chosen], api_visibility="private")
    remove.click(delete, [chosen, collection], [status, chosen, *view], api_name="delete",
                 concurrency_id="write", concurrency_limit=1).then(
        lambda s: s, [stats], [header_stats], api_visibility="private")
    return view


def feeds_tab(system: RagSystem, feeds: PageFeeds, view: list[gr.components.Component],
              header_stats: gr.Markdown, collection: gr.Dropdown,
              feed_menu: gr.Dropdown, access: PageAccess | None = None, *,
              writers: list[gr.Button] | None = None) -> gr.Dataframe:
    """The Feeds tab, of the ``collection`` picked: follow, sync and remove its feeds (the
    ``add_feed``, ``sync_feeds`` and ``remove_feed`` APIs); a sync refreshes the Articles
    tab's ``view``, and each change the Briefing tab's ``feed_menu``. Returns the feeds'
    table."""
    gr.Markdown("Follow RSS or Atom feeds: new and changed entries are fetched, extracted and "
                "indexed on each feed's schedule while the app runs.")
    with gr.Row():
        feed_url = gr.Textbox(label="Feed URL", scale=4, elem_id="rag-feed-url",
                              placeholder="https://example.com/rss.xml")
        feed_every = gr.Textbox(label="Every", scale=1, min_width=90,
                                placeholder=system.config.feed_every, elem_id="rag-feed-every")
        feed_keep = gr.Number(label="Keep days (0: all)", value=0, minimum=0, scale=1,
                              min_width=120, elem_id="rag-feed-keep")
        feed_add = gr.Button("Add feed", variant="primary", scale=1, elem_id="rag-feed-add")
    feeds_table = gr.Dataframe(headers=FEED_HEADERS, interactive=False, wrap=True,
                               max_height=360, elem_id="rag-feeds-table",
                               column_widths=["5%", "27%", "14%", "7%", "8%", "11%", "28%"])
    with gr.Row():
        feed_chosen = gr.Textbox(label="Selected feed ID (empty: all feeds)", scale=3,
                                 elem_id="rag-feed-selected")
        feed_sync = gr.Button("Sync now", scale=1, elem_id="rag-feed-sync")
        feed_remove = gr.Button("Remove", variant="stop", scale=1, elem_id="rag-feed-remove")
    feed_status = gr.Markdown(elem_id="rag-feed-status")

    access = access or PageAccess(system)

    def of(collection: str) -> FeedService:
        return feeds(collection or system.collections[0])

    @page_errors
    def feeds_view(collection: str = "",
                   request: gr.Request = None) -> list[list[Any]]:  # type: ignore[assignment]
        return feed_rows(of(access.one(request, collection)).feeds())

    @page_errors
    def add_feed(url: str, every: str, keep: float | None, collection: str = "",
                 request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="following feeds")
        try:
            feed = of(collection).add((url or "").strip(), every=_blank(every),
                                      keep_days=float(keep) if keep else None)
        except SHOWN_ERRORS as exc:
            return f"⚠ {escape_markdown(str(exc))}", gr.skip(), feeds_view(collection, request)
        return (f"Following {code(feed.url)} (every {format_interval(feed.every_s)}): "
                "**Sync now** fetches it, or the background sync will.", str(feed.id),
                feeds_view(collection, request))

    @page_errors
    def sync_feeds(selected: str, collection: str = "",
                   request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="syncing feeds")
        service = of(collection)
        try:
            chosen = [service.feed(i) for i in (selected or "").replace(",", " ").split()]
        except SHOWN_ERRORS as exc:
            return (f"⚠ {escape_markdown(str(exc))}", feeds_view(collection, request),
                    *articles_view(system, collection))
        reports = service.sync(chosen or None)
        return (sync_markdown(reports), feeds_view(collection, request),
                *articles_view(system, collection))

    @page_errors
    def remove_feed(selected: str, collection: str = "",
                    request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        collection = access.one(request, collection, role="write", what="removing feeds")
        try:
            feed, _ = of(collection).remove((selected or "").strip())
        except SHOWN_ERRORS as exc:
            return f"⚠ {escape_markdown(str(exc))}", gr.skip(), feeds_view(collection, request)
        return (f"Stopped following {code(feed.url)} (its articles stay).", "",
                feeds_view(collection, request))

    def pick_feed(evt: gr.SelectData) -> str:
        return str(evt.row_value[0]) if evt.row_value else ""

    if writers is not None:
        writers.extend([feed_add, feed_sync, feed_remove])
    # The background sync changes the table: shown without a reload.
    gr.Timer(15).tick(feeds_view, [collection], [feeds_table], api_visibility="private")
    menu = feed_menu_updater(feeds, access)
    feed_add.click(add_feed, [feed_url, feed_every, feed_keep, collection],
                   [feed_status, feed_chosen, feeds_table], api_name="add_feed").then(
        menu, [feed_menu, collection], [feed_menu], api_visibility="private")
    feed_sync.click(sync_feeds, [feed_chosen, collection], [feed_status, feeds_table, *view],
                    api_name="sync_feeds", concurrency_id="feeds", concurrency_limit=1).then(
        lambda s: s, [view[1]], [header_stats], api_visibility="private").then(
        menu, [feed_menu, collection], [feed_menu],
        api_visibility="private")  # titles come with a sync
    feed_remove.click(remove_feed, [feed_chosen, collection],
                      [feed_status, feed_chosen, feeds_table], api_name="remove_feed").then(
        menu, [feed_menu, collection], [feed_menu], api_visibility="private")
    feeds_table.select(pick_feed, None, [feed_chosen], api_visibility="private")
    return feeds_table


def _blank(value: str | None) -> str | None:
    """A text field's value, None when left empty."""
    return (value or "").strip() or None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chat with cited answers over news articles.")
    parser.add_argument("--host", default=None,
                        help="Interface to bind (default 127.0.0.1, env RAG_HOST).")
    parser.add_argument("--port", type=int, default=None,
                        help="Port (default 7860, env RAG_PORT).")
    parser.add_argument("--index", type=Path, default=None,
                        help="Index folder (default $RAG_INDEX_DIR or ./.rag-index).")
    parser.add_argument("--max-upload-mb", type=int, default=None,
                        help=f"Largest file accepted for upload (default "
                             f"{DEFAULT_MAX_UPLOAD_MB}, env RAG_MAX_UPLOAD_MB).")
    parser.add_argument("--max-upload-chars", type=int, default=None,
                        help="Text one upload may add, in characters (env "
                             "RAG_MAX_UPLOAD_CHARS); the rest is refused, named.")
    return parser.parse_args(argv)


def read_settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, ServeSettings]:
    """Command-line options over ``RAG_*`` variables; a bad value exits with one named line."""
    args = parse_args(argv)
    try:
        settings = ServeSettings.from_env(host=args.host, port=args.port,
                                          max_upload_mb=args.max_upload_mb,
                                          max_upload_chars=args.max_upload_chars)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    return args, settings


def create_server_app(system: RagSystem, settings: ServeSettings,
                      feeds: FeedService | PageFeeds | None = None) -> FastAPI:
    """What ``python app.py`` serves: the page of ``build_app`` mounted at ``/`` of the API
    app, under the access policy of ``settings`` (``serve.access``)."""
    login = PageLogin(settings, Keys(settings, open_key_store(system.config)))
    feeds = feeds if isinstance(feeds, PageFeeds) else PageFeeds(system, feeds)
    demo = build_app(system, max_upload_mb=settings.max_upload_mb,
                     max_upload_chars=settings.max_upload_chars, feeds=feeds,
                     access=PageAccess(system, login.grant_of_user))
    demo.queue(default_concurrency_limit=8)
    return create_app(system, settings, page=demo, login=login, feeds=feeds, page_options=dict(
        max_file_size=f"{settings.max_upload_mb}mb", css_paths=[STYLE], theme=THEME))


def _warn_about_access(settings: ServeSettings, keys_made: bool = False) -> None:
    if keys_made:
        print("The page asks for a login: a key's name and the key (rag keys list shows them)",
              flush=True)
    elif settings.api_keys:
        if not settings.auth:
            print("The page asks for a login: any user name, a RAG_API_KEY key as the password",
                  flush=True)
    elif settings.host not in ("127.0.0.1", "localhost", "::1"):
        what = "/v1 is" if settings.auth else "/v1 and the page are"
        print(f"warning: listening on {settings.host} without RAG_API_KEY: {what} open to "
              "anyone who reaches it", file=sys.stderr)
    elif settings.auth:
        print("warning: RAG_AUTH protects the page; set RAG_API_KEY to protect /v1 too",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    args, settings = read_settings(argv)
    try:
        config = Config.from_env(index_dir=args.index)
        if config.index_backend != "pgvector" and not Path(config.index_dir).exists():
            print(f"Building the index in {config.index_dir} (first start)…", flush=True)
        system = get_system(config)
    except RagError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"Index {config.index_dir}: {stats_markdown(system.stats()).replace('**', '')}",
          flush=True)
    feeds = PageFeeds(system)
    try:
        app = create_server_app(system, settings, feeds)
        _warn_about_access(settings, open_key_store(config).any())
        if config.feeds_background:
            # Due feeds sync in threads of their own: questions are never kept waiting.
            followed = feeds.start()
            print(f"Feeds: {followed} followed, synced in the background on their schedule",
                  flush=True)
    except RagError as exc:
        raise SystemExit(f"error: {exc}") from None
    try:
        serve_forever(app, settings.host, settings.port)
    finally:
        feeds.stop()

if __name__ == "__main__":
    main()
