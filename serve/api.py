"""The HTTP API over a RagSystem: OpenAI-compatible chat, REST routes, auth, JSON errors."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from rag.articles import Article, LoadFailure
from rag.chain import CheckedAsk
from rag.errors import BadInputError, RagError
from rag.feeds import (
    CollectionFeeds,
    Feed,
    FeedService,
    FetchError,
    FollowedTopic,
    brief_feed,
    brief_topic,
    format_interval,
)
from rag.ingest import IngestReport
from rag.keys import Grant, open_key_store
from rag.retrieval import make_filters
from rag.system import RagSystem, check_ask
from rag.types import Answer
from rag.uploads import cap_upload, ingest_uploads
from serve import openai_compat as oa
from serve.access import AccessPolicy, Keys, PageLogin
from serve.errors import ApiError, add_error_handlers, error_of
from serve.limits import BodyLimit, ServeSettings
from serve.schemas import (
    AnswerResponse,
    ArticleList,
    ArticleOut,
    AskOptions,
    AskRequest,
    BriefRequest,
    ChatRequest,
    CollectionIn,
    CollectionList,
    CollectionOut,
    Deleted,
    ErrorResponse,
    FeedIn,
    FeedList,
    FeedOut,
    FeedRemoved,
    FeedSynced,
    IngestRequest,
    IngestResponse,
    Stats,
    TopicIn,
    TopicList,
    TopicOut,
    TopicRemoved,
)

logger = logging.getLogger("serve")
_SAFE_NAME = re.compile(r"[^\w.\- ]+")


def create_api(system: RagSystem, settings: ServeSettings | None = None,
               page_login: PageLogin | None = None,
               feeds: CollectionFeeds | None = None) -> FastAPI:
    """A FastAPI app with the ``/v1`` routes and ``/healthz`` over ``system``, guarded by the
    access policy of ``serve.access`` (``page_login``: the page's, when one is mounted; ``feeds``:
    the page's feed services, to share); any ASGI server runs it (``serve.server.start`` or
    ``uvicorn.run(api)``)."""
    settings = settings or ServeSettings.from_env()
    feeds_of = feeds or CollectionFeeds(system)
    page_login = page_login or PageLogin(settings, Keys(settings, open_key_store(system.config)))
    api = FastAPI(title="news-rag API", version="1",
                  description="Cited answers over news articles: OpenAI-compatible chat "
                  "completions (model `news-rag`, structured `citations` beside the text) and "
                  "REST routes. With RAG_API_KEY set or a key made (`rag keys create`), every "
                  "/v1 route needs `Authorization: Bearer <key>`; a key reads only its "
                  "collections, and writes need a write (or admin) key.")
    add_error_handlers(api)
    api.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # type: ignore[arg-type]
    # Added last, so it runs first: who may ask is decided before a body is read.
    api.add_middleware(AccessPolicy, settings=settings,  # type: ignore[arg-type]
                       page=page_login)

    v1 = APIRouter(prefix="/v1", responses=_ERRORS)

    @api.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness: 200 while the server runs (no auth)."""
        return {"status": "ok"}

    @v1.get("/models", tags=["openai"])
    def models() -> dict[str, Any]:
        """The one model, ``news-rag``: answers from the indexed articles, cited."""
        return {"object": "list", "data": [
            {"id": oa.MODEL_ID, "object": "model", "created": 0, "owned_by": "news-rag"}]}

    @v1.post("/chat/completions", tags=["openai"], response_model=None, responses={200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "A chat.completion, or with stream=true its chunks as server-sent "
                       "events"}})
    async def chat_completions(body: ChatRequest, request: Request) -> Any:
        """OpenAI chat completions. ``content``: the short answer, the answer with [n]
        markers, a Sources list (a timeline answer: its dated list); the verified citations
        ride in the extra top-level ``citations`` field (on the last chunk of a stream). Extra
        body fields: ``k``, ``filters``, ``as_of``, ``backend``, ``timeline``, ``collection``."""
        if body.model != oa.MODEL_ID:
            raise ApiError(404, f"The model {body.model!r} does not exist; this server has "
                           f"{oa.MODEL_ID!r}.", param="model", code="model_not_found")
        if body.n not in (None, 1):
            raise ApiError(400, f"n={body.n}: only one choice (n=1) is supported", param="n")
        question, history = oa.split_messages(body.messages)
        # Checked before a stream begins: its status is sent with the first chunk. In a
        # thread: the first question to an LLM backend loads its model.
        target = await run_in_threadpool(_over, system, body.collection, _grant(request))
        asked = await run_in_threadpool(_checked, target, body, question, history)
        if not body.stream:
            return oa.completion(await run_in_threadpool(target.ask, asked))
        return StreamingResponse(_chat_events(target, asked),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    @v1.post("/ask", tags=["rest"], response_model=AnswerResponse)
    def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """A cited answer: exactly the JSON of ``rag ask --json``."""
        target = _over(system, body.collection, _grant(request))
        return target.ask(_checked(target, body, body.question, body.history)).to_json()

    @v1.post("/brief", tags=["rest"], response_model=AnswerResponse)
    def brief(body: BriefRequest, request: Request) -> dict[str, Any]:
        """What's new: the period's main stories, each a cited sentence with its sources
        (the answer's ``briefing``): exactly the JSON of ``rag brief --json``. A followed
        ``feed``'s briefing of the last 24 hours on no topic, and a followed ``topic``'s over
        its period, are their stored ones while fresh (``briefing.cached``,
        ``briefing.built_at``); a feed belongs to one collection."""
        target = _over(system, body.collection, _grant(request), one=bool(body.feed))
        if body.feed:
            return brief_feed(target, body.feed, since=body.since, until=body.until,
                              topic=body.topic, as_of=body.as_of).to_json()
        if body.topic is not None:
            return brief_topic(target, body.topic, since=body.since, until=body.until,
                               as_of=body.as_of).to_json()
        return target.brief(body.since, body.until, topic=body.topic,
                            as_of=body.as_of).to_json()

    @v1.get("/articles", tags=["rest"])
    def list_articles(request: Request, collection: CollectionQuery = None) -> ArticleList:
        """Indexed articles of a collection (repeat ``collection`` for several), newest first
        (undated last)."""
        target = _over(system, collection, _grant(request))
        rows = [ArticleOut(id=a.id, title=a.title, source=a.source, url=a.url,
                           published_at=a.published_at, chunks=n, collection=member.collection)
                for member in (target.over(name) for name in target.collections)
                for a, n in member.index.list_articles()]
        rows.sort(key=lambda r: r.title.lower())
        rows.sort(key=lambda r: r.published_at or "", reverse=True)
        return ArticleList(data=rows)

    @v1.post("/articles", tags=["rest"], openapi_extra=_INGEST_BODY)
    async def ingest(request: Request) -> IngestResponse:
        """Index articles: a JSON body ``{"articles": [{"title", "text", "url",
        "published_at", "source"}, ...]}``, or files uploaded as multipart field ``files``
        (.txt .md .html .json .jsonl), up to RAG_MAX_UPLOAD_CHARS of text (the articles
        beyond it are refused by name). An article with a known id, url or file name replaces
        the indexed one when it changed; unchanged ones are skipped. The collection written
        to: ``collection`` in the JSON body, or a form field ``collection`` beside the files
        (default: the server's)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        grant = _grant(request)
        _require(grant, "write", "adding articles")
        if kind == "multipart/form-data":
            report = await _ingest_files(system, request, settings, grant)
        elif kind in ("application/json", ""):
            report = await run_in_threadpool(_ingest_json, system, await _json(request),
                                             settings, grant)
        else:
            raise ApiError(415, f"Content-Type {kind!r} is not accepted: send application/json "
                           "or multipart/form-data")
        return _report(report)

    @v1.delete("/articles/{article_id}", tags=["rest"])
    def delete_article(article_id: str, request: Request,
                       collection: str | None = None) -> Deleted:
        """Remove an article (id from ``GET /v1/articles``) from a collection (default: the
        server's); 404 when it holds none."""
        target = _over(system, collection, _grant(request), role="write", one=True,
                       what="deleting articles")
        if target.delete([article_id]) == 0:
            raise ApiError(404, f"no article with id {article_id!r}", param="article_id",
                           code="article_not_found")
        return Deleted(id=article_id)

    @v1.get("/stats", tags=["rest"])
    def stats(request: Request, collection: CollectionQuery = None) -> Stats:
        """Articles, chunks, embedding model and size of the index (of its collections
        named, summed)."""
        s = _over(system, collection, _grant(request)).stats()
        return Stats(articles=s.articles, chunks=s.chunks, model=s.model,
                     dimension=s.dimension, backend=s.backend, size_bytes=s.size_bytes)

    @v1.get("/collections", tags=["collections"])
    def list_collections(request: Request) -> CollectionList:
        """The collections of the index (``default`` first) that the key opens: name,
        articles, chunks."""
        grant, rows = _grant(request), []
        for name in system.collection_names():
            if not grant.opens(name):
                continue
            s = system.over(name).stats()
            rows.append(CollectionOut(name=name, articles=s.articles, chunks=s.chunks))
        return CollectionList(data=rows)

    @v1.post("/collections", tags=["collections"], status_code=201)
    def create_collection(body: CollectionIn, request: Request) -> CollectionOut:
        """Make an empty collection (an admin key); 409 when the name is taken."""
        _require(_grant(request), "admin", "making collections")
        created = system.create_collection(body.name)
        return CollectionOut(name=body.name, articles=0, chunks=created.stats().chunks)

    @v1.delete("/collections/{name}", tags=["collections"])
    def delete_collection(name: str, request: Request) -> dict[str, Any]:
        """Delete a collection whole (an admin key): its articles, vectors, search data and
        feeds (not ``default``: 422); 404 when there is none."""
        _require(_grant(request), "admin", "deleting collections")
        system.delete_collection(name, before=feeds_of.forget)  # refused before a feed stops
        return {"name": name, "deleted": True}

    @v1.get("/feeds", tags=["feeds"])
    def list_feeds(request: Request, collection: str | None = None) -> FeedList:
        """The feeds a collection follows (default: the key's first, or the server's), with
        their schedule and last sync."""
        service = feeds_of(_over(system, collection, _grant(request), one=True).collection)
        return FeedList(data=[_feed_out(f, service) for f in service.feeds()])

    @v1.post("/feeds", tags=["feeds"], status_code=201)
    def follow_feed(body: FeedIn, request: Request) -> FeedOut:
        """Follow an RSS or Atom feed in a collection (a write key); it is synced on its
        schedule while the server runs, or at once with ``POST /v1/feeds/{id}/sync``. A feed
        followed already has its schedule and retention updated."""
        target = _over(system, body.collection, _grant(request), role="write", one=True,
                       what="following feeds")
        service = feeds_of(target.collection)
        try:
            feed = service.add(body.url, every=body.every, keep_days=body.keep_days)
        except FetchError as exc:
            raise ApiError(422, str(exc), param="url", code="bad_url") from None
        return _feed_out(feed, service)

    @v1.post("/feeds/{feed_id}/sync", tags=["feeds"])
    def sync_feed(feed_id: int, request: Request, collection: str | None = None) -> FeedSynced:
        """Sync a followed feed now (a write key): fetch it, index its new and changed
        entries; a feed that fails says why in ``error`` (200: the sync ran)."""
        service, feed = _followed(feed_id, request, collection, "syncing feeds")
        report = service.sync_feed(feed)
        return FeedSynced(id=feed.id, url=report.url, status=report.status,
                          entries=report.entries, added=report.added, updated=report.updated,
                          unchanged=report.unchanged, removed=report.removed,
                          failed=len(report.failures), error=report.error,
                          failures=[{"input": f.input, "reason": f.reason}
                                    for f in report.failures], summary=report.summary())

    @v1.delete("/feeds/{feed_id}", tags=["feeds"])
    def remove_feed(feed_id: int, request: Request, collection: str | None = None,
                    purge: bool = False) -> FeedRemoved:
        """Stop following a feed (a write key); ``purge=true`` also deletes the articles only
        it brought in (else they stay)."""
        service, feed = _followed(feed_id, request, collection, "removing feeds")
        removed, deleted = service.remove(feed.id, purge=purge)
        return FeedRemoved(id=removed.id, url=removed.url, articles_deleted=deleted)

    def _followed(feed_id: int, request: Request, collection: str | None,
                  what: str) -> tuple[FeedService, Feed]:
        """The feed service of the request's collection and its feed ``feed_id``: a feed of
        another collection is exactly the 404 of one that does not exist (ids are each
        collection's own)."""
        target = _over(system, collection, _grant(request), role="write", one=True, what=what)
        service = feeds_of(target.collection)
        feed = service.store.get(feed_id)  # None too for an id no store could hold
        if feed is None:
            raise ApiError(404, f"no feed {feed_id} is followed (GET /v1/feeds lists them)",
                           param="feed_id", code="feed_not_found")
        return service, feed

    @v1.get("/topics", tags=["topics"])
    def list_topics(request: Request, collection: str | None = None) -> TopicList:
        """The topics a collection follows (default: the key's first, or the server's), with
        their period and when their stored briefing was built."""
        service = feeds_of(_over(system, collection, _grant(request), one=True).collection)
        return TopicList(data=[_topic_out(t, service) for t in service.topics.list()])

    @v1.post("/topics", tags=["topics"], status_code=201)
    def follow_topic(body: TopicIn, request: Request) -> TopicOut:
        """Follow a topic in a collection (a write key): its briefing over its period is kept
        current by the server's background sync and read with ``GET /v1/topics/{id}/briefing``.
        A topic followed already has its period updated (and keeps its id)."""
        target = _over(system, body.collection, _grant(request), role="write", one=True,
                       what="following topics")
        service = feeds_of(target.collection)
        return _topic_out(service.topics.follow(body.topic, body.since), service)

    @v1.get("/topics/{topic_id}/briefing", tags=["topics"], response_model=AnswerResponse)
    def topic_briefing(topic_id: int, request: Request,
                       collection: str | None = None) -> dict[str, Any]:
        """A followed topic's briefing over its period: its stored one while fresh
        (``briefing.cached`` true, ``briefing.built_at`` when it was built), else built now
        and stored; exactly the JSON of ``rag brief --topic TOPIC --json``."""
        service, topic = _topic(topic_id, request, collection, "read", "reading topics")
        return service.topics.briefing(topic.id).to_json()

    @v1.delete("/topics/{topic_id}", tags=["topics"])
    def unfollow_topic(topic_id: int, request: Request,
                       collection: str | None = None) -> TopicRemoved:
        """Stop following a topic (a write key); its stored briefing goes with it."""
        service, topic = _topic(topic_id, request, collection, "write", "removing topics")
        service.topics.remove(topic.id)
        return TopicRemoved(id=topic.id, topic=topic.topic)

    def _topic(topic_id: int, request: Request, collection: str | None, role: str,
               what: str) -> tuple[FeedService, FollowedTopic]:
        """The feed service of the request's collection and its topic ``topic_id``: another
        collection's topic is exactly the 404 of one that does not exist (ids are each
        collection's own)."""
        target = _over(system, collection, _grant(request), role=role, one=True, what=what)
        service = feeds_of(target.collection)
        topic = service.store.get_topic(topic_id)  # None too for an id no store could hold
        if topic is None:
            raise ApiError(404, f"no topic {topic_id} is followed (GET /v1/topics lists them)",
                           param="topic_id", code="topic_not_found")
        return service, topic

    @v1.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
    def unknown(path: str) -> None:
        raise ApiError(404, f"no route /v1/{path}; see /docs", code="unknown_url")

    api.include_router(v1)
    return api


# `?collection=a&collection=b`: the collections a GET reads (default: the server's).
CollectionQuery = Annotated[list[str] | None, Query(
    description="A collection to read (repeat it for several, asked as one; default: the "
                "server's). An unknown one is a 404 naming it.")]


def _grant(request: Request) -> Grant:
    """What the request's key may do, as the access policy found it (``serve.access``)."""
    grant = getattr(request.state, "grant", None)
    if not isinstance(grant, Grant):  # the policy runs before every route: a bug if not
        raise ApiError(401, "no key was checked for this request", code="invalid_api_key")
    return grant


def _require(grant: Grant, role: str, what: str) -> None:
    """403 unless ``grant``'s role includes ``role``."""
    grant.require(role, what)


def _over(system: RagSystem, collection: str | list[str] | None, grant: Grant, *,
          role: str = "read", one: bool = False, what: str = "this") -> RagSystem:
    """The system over the request's ``collection`` (a name or a list; None or empty: the
    server's own, or for a key of some collections its list, or its first when ``one`` is
    needed; ``Grant.select``): a role short of ``role`` is a 403; an unknown collection, or one
    the key does not open, the same 404 naming it; a bad name a 422."""
    names = grant.select(collection, role=role, one=one, what=what)
    if names is None:
        return system
    return system.over(collection or list(names))


def _feed_out(feed: Feed, service: FeedService) -> FeedOut:
    return FeedOut(id=feed.id, url=feed.url, title=feed.title, every=format_interval(
        feed.every_s), keep_days=feed.keep_days, last_sync_at=feed.last_sync_at,
        last_ok_at=feed.last_ok_at, last_error=feed.last_error, status=feed.status(),
        collection=service.system.collection)


def _topic_out(topic: FollowedTopic, service: FeedService) -> TopicOut:
    return TopicOut(id=topic.id, topic=topic.topic, since=topic.since, added_at=topic.added_at,
                    built_at=topic.built_at, collection=service.system.collection)


def _checked(system: RagSystem, options: AskOptions, question: str,
             history: list[str]) -> CheckedAsk:
    """The question, its history and options checked once (``check_ask``), and the answer
    backend they chose made ready."""
    f = options.filters
    filters = make_filters(f.sources, f.since, f.until, since_name="filters.since",
                           until_name="filters.until") if f else None
    asked = check_ask(system.config, question, k=options.k, history=history, filters=filters,
                      backend=options.backend, reference_date=options.as_of,
                      timeline=options.timeline)
    _check_backend(system, asked.backend)
    return asked


def _check_backend(system: RagSystem, backend: str | None) -> None:
    """A 400 naming the answer backend the request chose when this server cannot run it (an
    LLM package or model not installed): the client may ask with another. The reason, which
    may name server paths, goes to the log."""
    try:
        system.answerer(backend)
    except RagError as exc:
        logger.warning("answer backend %r unavailable: %s", backend, exc)
        chosen = backend or system.config.answer_backend
        raise ApiError(400, f"the answer backend {chosen!r} is not available on this server "
                       "(see its log); ask with another backend",
                       param="backend", code="backend_unavailable") from None


async def _chat_events(system: RagSystem, asked: CheckedAsk) -> AsyncIterator[str]:
    """SSE of the verified answer: a role chunk at once, the content in pieces once the answer
    is checked (an LLM's draft is never sent: verification may change it), then a last chunk
    with ``citations``, then ``[DONE]``."""
    cid = oa.new_id()
    yield _sse(oa.chunk(cid, {"role": "assistant", "content": ""}))
    try:
        answer: Answer = await run_in_threadpool(system.ask, asked)
    except Exception as exc:  # the stream has begun: report it in OpenAI's stream error form
        yield _sse(error_of(exc, "a streamed answer")[1])
        yield "data: [DONE]\n\n"
        return
    for piece in oa.content_pieces(oa.reply_content(answer)):
        yield _sse(oa.chunk(cid, {"content": piece}))
    yield _sse(oa.chunk(cid, {}, finish_reason="stop",
                        citations=[c.to_json() for c in answer.citations]))
    yield "data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(422, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(422, "the body's JSON nests too deeply") from None


def _ingest_json(system: RagSystem, payload: Any, settings: ServeSettings,
                 grant: Grant) -> IngestReport:
    try:
        body = IngestRequest.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(), body=payload) from None
    system = _over(system, body.collection, grant, role="write", one=True,
                   what="adding articles")
    if len(body.articles) > settings.max_articles:
        raise ApiError(413, f"{len(body.articles)} articles in one request; the limit is "
                       f"{settings.max_articles}", param="articles", code="request_too_large")
    articles, failures = [], []
    for i, item in enumerate(body.articles):
        record = item.model_dump()
        try:
            # No origin: a JSON article is matched by its id or url only.
            articles.append(Article(**{k: record.get(k) for k in (
                "title", "text", "source", "url", "published_at", "author")},
                id=str(record.get("id") or record.get("doc_id") or "")))
        except BadInputError as exc:
            failures.append(LoadFailure(f"articles[{i}]", str(exc)))
    articles, over = cap_upload(articles, settings.max_upload_chars)
    report = system.ingest(articles)
    report.failures = failures + over + report.failures
    return report


async def _ingest_files(system: RagSystem, request: Request, settings: ServeSettings,
                        grant: Grant) -> IngestReport:
    form = await request.form(max_files=1000)
    try:
        collection = form.get("collection")
        if collection is not None and not isinstance(collection, str):
            raise ApiError(422, "collection must be a form field (text), not a file",
                           param="collection")
        system = await run_in_threadpool(lambda: _over(system, collection, grant, role="write",
                                                       one=True, what="adding articles"))
        uploads = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
        if not uploads:
            raise ApiError(422, "no files: upload them in the multipart field 'files'",
                           param="files")
        for upload in uploads:
            if Path(upload.filename or "x").name in ("", ".", ".."):
                raise ApiError(422, f"{upload.filename!r} is not a file name: name each "
                               "uploaded file", param="files", code="bad_file_name")
            if (upload.size or 0) > settings.max_upload_bytes:
                raise ApiError(413, f"{upload.filename}: {upload.size / 1_048_576:.1f} MB is "
                               f"over the {settings.max_upload_mb:g} MB upload limit "
                               "(RAG_MAX_UPLOAD_MB)", param="files", code="file_too_large")
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            paths = []
            for i, upload in enumerate(uploads):
                name = _SAFE_NAME.sub("_", Path(upload.filename or f"upload-{i}").name)
                folder = Path(tmp) / str(i)  # one folder each: equal names do not collide
                folder.mkdir()
                (folder / name).write_bytes(await upload.read())
                paths.append(folder / name)
            return await run_in_threadpool(_ingest_paths, system, paths, settings, tmp)
    finally:
        await form.close()


def _ingest_paths(system: RagSystem, paths: list[Path], settings: ServeSettings,
                  tmp: str) -> IngestReport:
    report = ingest_uploads(system, paths, max_bytes=settings.max_upload_bytes,
                            max_chars=settings.max_upload_chars)
    report.failures = [LoadFailure(_relative(f.input, tmp), f.reason) for f in report.failures]
    return report


def _relative(name: str, tmp: str) -> str:
    """An uploaded file's own name instead of its temporary path."""
    if name.startswith(tmp):
        return Path(name[len(tmp):].lstrip("/")).as_posix().split("/", 1)[-1]
    return name


def _report(report: IngestReport) -> IngestResponse:
    return IngestResponse(added=report.added, updated=report.updated, skipped=report.skipped,
                          failed=report.failed, chunks=report.chunks, embedded=report.embedded,
                          seconds=round(report.seconds, 3), summary=report.summary(),
                          failures=[{"input": f.input, "reason": f.reason}
                                    for f in report.failures])


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place (for ``openapi_extra``)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description} for status, description in (
        (400, "A request this server cannot serve (n > 1, an answer backend not installed)"),
        (401, "No, a wrong or a revoked API key (RAG_API_KEY is set, or keys were made)"),
        (403, "A write from another origin, a Host that is not this server's (serve/access.py), "
              "or a key whose role does not allow it"),
        (404, "No such model, article, collection, feed, topic or route"),
        (409, "A collection of that name exists already"),
        (413, "The body, a file or the number of articles is over its limit"),
        (415, "A body that is neither JSON nor multipart"),
        (422, "A bad field, question, history, date or body, named in the message"),
        (429, "Too many failed authentications from this address: see Retry-After"),
        (500, "A bug: the exception type and a reference; the log has the traceback"),
        (503, "The index is busy (another writer) or read-only on this server"),
        (507, "The server's disk is full: nothing was written"))}

_INGEST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _inlined(IngestRequest.model_json_schema())},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array",
                                 "items": {"type": "string", "format": "binary"}}}}},
}}}
