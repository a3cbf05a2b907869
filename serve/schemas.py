"""Request and response bodies of the HTTP API, as they appear in the OpenAPI schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.answering import BACKENDS

Backend = Literal[BACKENDS]  # type: ignore[valid-type]


class Filters(BaseModel):
    """Only articles from these sources and/or published in this range (ISO dates)."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(default_factory=list, max_length=100,
                               examples=[["cnn.com", "bbc.com"]])
    since: str | None = Field(None, examples=["2022-06-01"])
    until: str | None = Field(None, examples=["2022-06-30"])


def read_collections() -> Any:
    """The ``collection`` field of a request that reads (docs/collections.md): a name, or a
    list asked as one."""
    return Field(None, examples=["default", ["default", "desk-europe"]],
                 description="The collection to read, or a list of them asked as one ranking "
                 "(default: the server's, RAG_COLLECTIONS, else `default`). An unknown one is a "
                 "404 naming it.")


def written_collection() -> Any:
    """The ``collection`` field of a request that writes: exactly one."""
    return Field(None, examples=["desk-europe"],
                 description="The collection written to (default: the server's one "
                 "collection, `default`). An unknown one is a 404 naming it.")


class AskOptions(BaseModel):
    """Retrieval options shared by ``/v1/ask`` and (as extra body fields) chat completions."""

    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve.")
    filters: Filters | None = None
    as_of: str | None = Field(None, description="Ask as of this day (YYYY-MM-DD): later "
                              "articles are left out; 'this week' counts from it.")
    backend: Backend | None = Field(None, description="Answer backend (default: the server's).")
    timeline: bool | None = Field(None, description="Answer with a timeline of the story "
                                  "(its dated events, oldest first, in the answer's "
                                  "`timeline`): true, never (false), or when the question asks "
                                  "what happened (null).")
    collection: str | list[str] | None = read_collections()


class AskRequest(AskOptions):
    """``POST /v1/ask``: a question, the earlier questions of the conversation, options."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "Where is the nuclear plant being built?", "k": 6}]})
    question: str = Field(description="The question (at most RAG_MAX_QUESTION_CHARS).")
    history: list[str] = Field(default_factory=list, max_length=50,
                               description="Earlier questions, oldest first (follow-ups).")


class AnswerResponse(BaseModel):
    """Exactly the JSON of ``rag ask --json`` (``Answer.to_json()``); keys may be added."""

    model_config = ConfigDict(extra="allow")
    answer: str
    short_answer: str | None = Field(None, description="The few words that answer the "
                                     "question, a span of a cited sentence; null without one.")
    short_answer_score: float | None = Field(
        None, description="The answerer's confidence in short_answer (higher = surer; its "
        "scale is the backend's, compare within one backend); null when it has none.")
    abstained: bool
    citations: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    timeline: dict[str, Any] | None = Field(
        None, description="A timeline answer's events: {topic, since, until, note?, events: "
        "[{day, date_source ('stated', 'published' or 'undated'), text, sources, source_ids, "
        "citation, headline?, stated?}]}, oldest first; null for any other answer. `headline` "
        "is there only when an LLM backend wrote one (`timeline_headlines`) that the event's "
        "sentence supports. When no event can be dated (articles without publication dates) "
        "and no window was asked, the events are 'undated' (`day` null; `stated`: the date the "
        "sentence states, as stated, never resolved) in the order their articles report them, "
        "and `note` says so.")
    briefing: dict[str, Any] | None = Field(
        None, description="A briefing's stories: {since, until, topic, feed, built_at, "
        "cached, stories: [{headline_text, day, sources, source_ids, events, citation}]}, the "
        "most widely reported first; null for any other answer. `built_at` (UTC, ISO 8601): "
        "when a stored briefing was built, the one kept for a followed feed (the last 24 hours) "
        "or a followed topic (its period) (null for any other briefing); `cached`: true when "
        "it was served from that store.")


class ChatRequest(AskOptions):
    """OpenAI's chat completion request. Parameters that do not apply to retrieval answers
    (temperature, max_tokens, tools...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=["news-rag"])
    messages: list[dict[str, Any]] = Field(description="The last user message is the question; "
                                           "earlier user messages are the history.")
    stream: bool = False
    n: int | None = Field(None, description="Only 1 is supported.")
    stream_options: dict[str, Any] | None = None


class ArticleIn(BaseModel):
    """One article to index; ``id`` (or ``doc_id``) defaults to a hash of the url or text."""

    model_config = ConfigDict(extra="allow")
    title: str = ""
    text: str
    id: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    author: str | None = None


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn]
    collection: str | None = written_collection()


class Failure(BaseModel):
    input: str
    reason: str


class IngestResponse(BaseModel):
    """What an ingest did (``IngestReport``); ``failures`` name each skipped input."""

    added: int
    updated: int
    skipped: int
    failed: int
    chunks: int
    embedded: int
    seconds: float
    summary: str
    failures: list[Failure]


class ArticleOut(BaseModel):
    id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    chunks: int
    collection: str = "default"


class ArticleList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ArticleOut]


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class CollectionOut(BaseModel):
    """A collection (docs/collections.md): its name and what it holds."""

    name: str
    articles: int
    chunks: int


class CollectionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CollectionOut]


class CollectionIn(BaseModel):
    """``POST /v1/collections``: the name of a new, empty collection."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "desk-europe"}]})
    name: str = Field(description="1 to 40 lowercase letters, digits, - or _, starting with a "
                      "letter or digit.")


class Stats(BaseModel):
    articles: int
    chunks: int
    model: str
    dimension: int
    backend: str
    size_bytes: int


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error object: every error of the API, a bug included (500, naming only the
    exception type)."""

    error: ErrorDetail


class BriefRequest(BaseModel):
    """``POST /v1/brief``: what's new in a period, on a topic or on everything."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"since": "7d", "as_of": "2022-09-11"}]})
    since: str | None = Field(None, description="The first day: YYYY-MM-DD, or a span back "
                              "from `until` or today: 24h, 7d, 2w, yesterday, this week "
                              "(default: 24h, or a followed `topic`'s period).")
    until: str | None = Field(None, description="The last day (YYYY-MM-DD; default: today).")
    topic: str | None = Field(None, description="Only stories on this topic. A topic the "
                              "collection follows (`GET /v1/topics`), over its period up to "
                              "today: its stored briefing while it is fresh "
                              "(`briefing.cached`).")
    as_of: str | None = Field(None, description="Brief as of this day (YYYY-MM-DD).")
    feed: str | None = Field(None, description="Only the articles this followed feed (its id "
                             "or URL, as `rag feeds list` shows) brought in. With the default "
                             "`since` and no `until`, `topic` or `as_of`: the feed's stored "
                             "briefing while it is fresh (`briefing.cached`).")
    collection: str | list[str] | None = read_collections()


class FeedIn(BaseModel):
    """``POST /v1/feeds``: follow an RSS or Atom feed (in one collection: feeds belong to one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"url": "https://example.com/rss.xml", "every": "1h"}]})
    url: str = Field(description="The feed's URL (http or https).")
    every: str | None = Field(None, description="How often to sync it: 30m, 2h, 1d... "
                              "(default: the server's feed_every).")
    keep_days: float | None = Field(None, gt=0, description="Delete the articles it brought "
                                    "in once they are this many days old (default: keep).")
    collection: str | None = written_collection()


class FeedOut(BaseModel):
    """A followed feed (``rag feeds list``): its id in its collection, schedule and last
    sync."""

    id: int
    url: str
    title: str | None
    every: str = Field(description="The sync interval, e.g. 30m.")
    keep_days: float | None
    last_sync_at: float | None = Field(description="Epoch seconds of the last sync attempt.")
    last_ok_at: float | None
    last_error: str | None
    status: str = Field(description="The last sync in words: its counts or its error.")
    collection: str


class FeedList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FeedOut]


class FeedSynced(BaseModel):
    """What one sync of a feed did (``FeedSyncReport``); ``failures`` name each skipped
    entry."""

    id: int
    url: str
    status: str = Field(description="synced, not modified or failed")
    entries: int
    added: int
    updated: int
    unchanged: int
    removed: int
    failed: int
    failures: list[Failure]
    error: str | None
    summary: str


class FeedRemoved(BaseModel):
    id: int
    url: str
    removed: bool = True
    articles_deleted: int = Field(0, description="With purge=true: the articles only this "
                                  "feed brought in, deleted.")


class TopicIn(BaseModel):
    """``POST /v1/topics``: follow a topic (in one collection: topics belong to one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"topic": "Iran nuclear talks", "since": "7d"}]})
    topic: str = Field(description="The topic, a phrase (at most 200 characters). One "
                       "followed already (the same words, whatever their case) has its period "
                       "updated.")
    since: str | None = Field(None, description="The period of its briefing: 24h (default), "
                              "7d, 2w, this week... or a first day (YYYY-MM-DD).")
    collection: str | None = written_collection()


class TopicOut(BaseModel):
    """A followed topic (``rag topics list``): its id in its collection, its period and when
    its stored briefing was built."""

    id: int
    topic: str
    since: str = Field(description="The period of its briefing, e.g. 24h.")
    added_at: float = Field(description="Epoch seconds when it was followed.")
    built_at: str | None = Field(description="When its stored briefing was built (UTC, ISO "
                                 "8601); null before the first build.")
    collection: str


class TopicList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TopicOut]


class TopicRemoved(BaseModel):
    id: int
    topic: str
    removed: bool = True
