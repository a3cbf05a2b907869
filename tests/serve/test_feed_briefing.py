"""A followed feed's stored briefing over ``POST /v1/brief`` (a real uvicorn server, plain
HTTP) and MCP's ``briefing`` tool, with the fake embedder: the feed's briefing of the last 24
hours is built once, stored and then served from the store (``briefing.cached``,
``briefing.built_at``), rebuilt when the feed gains an article or its file is damaged; any
other period or a topic is built for the request."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support import API_KEYS, REPO

from rag import Config, RagSystem
from rag.feeds import FeedBriefings, index_feed_store
from rag.feeds.state import Item

AS_OF = "2022-09-11"


@pytest.fixture(scope="module")
def feed_api(tmp_path_factory, fake_embedder):
    """The made-up week of news (data/briefing/week.jsonl) as of its last day, a followed feed
    that brought in three of its articles, and the API over it: (system, store, feed,
    client)."""
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("feed-api"),
                              reference_date=AS_OF), embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    store = index_feed_store(system.config)
    feed = store.add("https://coast-news.example/rss", every_s=1800)
    store.save_items([Item(feed.id, key, "f", None, key, None, 0.0)
                      for key in ("ferry-4", "storm-3", "cup")])
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS)))
    try:
        with httpx.Client(base_url=server.url + "v1/", timeout=60,
                          headers={"Authorization": f"Bearer {API_KEYS[0]}"}) as client:
            yield system, store, feed, client
    finally:
        server.stop()


def brief(client: httpx.Client, **body) -> dict:
    response = client.post("brief", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_feeds_briefing_is_built_once_then_served_from_the_store(feed_api):
    system, store, feed, client = feed_api
    FeedBriefings(system, store).forget(feed.id)
    first = brief(client, feed=str(feed.id))
    briefing = first["briefing"]
    assert (briefing["since"], briefing["until"], briefing["feed"]) == (
        "2022-09-10", AS_OF, str(feed.id))
    # The last 24 hours of the feed's three articles: ferry-4 (Sept. 10) and cup (Sept. 11).
    assert {i for s in briefing["stories"] for i in s["source_ids"]} == {"ferry-4", "cup"}
    assert briefing["cached"] is False and briefing["built_at"]

    again = brief(client, feed=str(feed.id), since="24h")
    assert again["briefing"]["cached"] is True
    assert again["briefing"]["built_at"] == briefing["built_at"]
    for data in (first, again):
        data.pop("timings_ms"), data["briefing"].pop("cached")
    assert again == first
    by_url = brief(client, feed="https://coast-news.example/rss")
    assert by_url["briefing"]["cached"] is True


def test_a_new_article_of_the_feed_rebuilds_it(feed_api):
    _system, store, feed, client = feed_api
    brief(client, feed=str(feed.id))
    assert brief(client, feed=str(feed.id))["briefing"]["cached"] is True
    store.save_items([Item(feed.id, "budget-2", "f", None, "budget-2", None, 0.0)])
    try:
        rebuilt = brief(client, feed=str(feed.id))["briefing"]
        assert rebuilt["cached"] is False  # budget-2 is outside the 24 hours: same stories
        assert brief(client, feed=str(feed.id))["briefing"]["cached"] is True
    finally:
        store.mark_removed(feed.id, ["budget-2"])


@pytest.mark.parametrize("damage", [b"{oops", b"", b'{"version": 1, "answer": []}'])
def test_a_damaged_file_is_rebuilt_never_an_error(feed_api, damage):
    system, store, feed, client = feed_api
    brief(client, feed=str(feed.id))
    FeedBriefings(system, store).path(feed.id).write_bytes(damage)
    rebuilt = brief(client, feed=str(feed.id))["briefing"]
    assert rebuilt["cached"] is False and rebuilt["stories"]
    assert brief(client, feed=str(feed.id))["briefing"]["cached"] is True


def test_other_periods_and_topics_are_built_for_the_request(feed_api):
    _system, _store, feed, client = feed_api
    for extra in ({"since": "7d"}, {"topic": "ferry strike"}, {"as_of": "2022-09-10"},
                  {"until": AS_OF}):
        got = brief(client, feed=str(feed.id), **extra)["briefing"]
        assert (got["cached"], got["built_at"]) == (False, None), extra
    week = brief(client, feed=str(feed.id), since="7d")["briefing"]
    assert {i for s in week["stories"] for i in s["source_ids"]} == {"ferry-4", "storm-3", "cup"}
    everything = brief(client)["briefing"]
    assert (everything["feed"], everything["cached"], everything["built_at"]) == (
        None, False, None)
    unknown = client.post("brief", json={"feed": "nope"})
    assert unknown.status_code == 422 and "no followed feed 'nope'" in unknown.text


def test_the_mcp_tool_serves_the_stored_briefing(feed_api):
    from serve.mcp_server import build_mcp

    system, _store, feed, client = feed_api
    served = brief(client, feed=str(feed.id))["briefing"]
    server = build_mcp(system)

    def call(**arguments) -> dict:
        result = asyncio.run(server.call_tool("briefing", arguments))
        assert not result.is_error, result
        return result.structured_content["briefing"]

    got = call(feed=str(feed.id))
    assert got["cached"] is True and got["built_at"] == served["built_at"]
    assert got["stories"] == brief(client, feed=str(feed.id))["briefing"]["stories"]
    assert call(feed=str(feed.id), since="7d")["cached"] is False

