"""Collections over HTTP and MCP: the `collection` field of every /v1 route and MCP tool, the
/v1/collections routes, an unknown collection a 404 naming it. The fake embedder stands for the
model (tests/rag/test_collections.py has the library's side); a real uvicorn serves the API."""

from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest
from support import API_KEYS

from rag import Config, RagSystem

DESK = [
    {"title": "Harbour crane collapses at Port Kessel", "published_at": "2025-03-03",
     "source": "kessel.example", "text": "A harbour crane collapsed at Port Kessel on Monday. "
     "Dockworkers said the crane had been inspected in January."},
    {"title": "Orchard growers report record cherry harvest", "published_at": "2025-03-04",
     "source": "valley.example", "text": "Orchard growers in the Delling valley reported a "
     "record cherry harvest. Cherry prices fell by a fifth at the valley market."},
]
CRANE = "Why did the harbour crane collapse at Port Kessel?"


@pytest.fixture(scope="module")
def served(fake_sample_index_dir, tmp_path_factory, fake_embedder):
    """(the RagSystem, an httpx client of its API): the sample corpus as `default`, and a
    collection `desk` made and filled over HTTP by the first test."""
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    root = tmp_path_factory.mktemp("collections-api") / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root, reference_date="2025-03-06"),
                       embedder=fake_embedder)
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS)))
    try:
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {API_KEYS[0]}"}) as http:
            made = http.post("/v1/collections", json={"name": "desk"})
            assert made.status_code == 201, made.text
            assert made.json() == {"name": "desk", "articles": 0, "chunks": 0}
            added = http.post("/v1/articles", json={"articles": DESK, "collection": "desk"})
            assert added.status_code == 200 and added.json()["added"] == 2, added.text
            yield system, http
    finally:
        server.stop()


def error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_collections_are_listed_made_and_refused_by_name(served):
    _, http = served
    assert http.get("/v1/collections").json()["data"] == [
        {"name": "default", "articles": 7, "chunks": 10},
        {"name": "desk", "articles": 2, "chunks": 2}]
    taken = http.post("/v1/collections", json={"name": "desk"})
    assert taken.status_code == 409 and error(taken)["code"] == "collection_exists"
    bad = http.post("/v1/collections", json={"name": "Desk Europe"})
    assert bad.status_code == 422
    assert error(bad)["message"].startswith("'Desk Europe' is not a collection name")


@pytest.mark.parametrize("request_of", [
    lambda http, c: http.post("/v1/ask", json={"question": CRANE, "collection": c}),
    lambda http, c: http.post("/v1/chat/completions", json={
        "model": "news-rag", "messages": [{"role": "user", "content": CRANE}], "collection": c}),
    lambda http, c: http.post("/v1/brief", json={"since": "7d", "collection": c}),
    lambda http, c: http.get("/v1/articles", params={"collection": c}),
    lambda http, c: http.get("/v1/stats", params={"collection": c}),
    lambda http, c: http.delete("/v1/articles/x", params={"collection": c}),
    lambda http, c: http.post("/v1/articles", json={"articles": DESK, "collection": c}),
    lambda http, c: http.post("/v1/articles", data={"collection": c},
                              files={"files": ("a.txt", b"Title\n\nSome text here.")}),
    lambda http, c: http.delete(f"/v1/collections/{c}"),
], ids=["ask", "chat", "brief", "list", "stats", "delete", "ingest", "upload",
        "delete-collection"])
def test_an_unknown_collection_is_a_404_naming_it_on_every_route(served, request_of):
    _, http = served
    response = request_of(http, "sports")
    assert response.status_code == 404, response.text
    body = error(response)
    assert body["code"] == "collection_not_found" and body["param"] == "collection"
    assert body["message"].startswith("no collection 'sports'")
    assert "desk" not in body["message"]  # no other collection is named
    assert request_of(http, "Bad Name").status_code == 422


def test_ask_reads_the_collection_named_and_several_as_one(served):
    system, http = served
    desk_ids = {a.id for a, _ in system.over("desk").index.list_articles()}
    only = http.post("/v1/ask", json={"question": CRANE, "collection": "desk"}).json()
    assert only["citations"] and {c["article_id"] for c in only["citations"]} <= desk_ids
    assert {c["collection"] for c in only["citations"]} == {"desk"}
    assert {p["collection"] for p in only["passages"]} == {"desk"}
    default = http.post("/v1/ask", json={"question": CRANE}).json()
    assert not {p["article_id"] for p in default["passages"]} & desk_ids
    both = http.post("/v1/ask", json={"question": CRANE + " Bushehr nuclear plant",
                                      "collection": ["default", "desk"], "k": 8}).json()
    assert {p["collection"] for p in both["passages"]} == {"default", "desk"}


def test_chat_completions_take_a_collection_and_cite_it(served):
    _, http = served
    body = {"model": "news-rag", "messages": [{"role": "user", "content": CRANE}],
            "collection": ["desk"]}
    reply = http.post("/v1/chat/completions", json=body).json()
    assert reply["citations"] and {c["collection"] for c in reply["citations"]} == {"desk"}
    with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as stream:
        chunks = [json.loads(line[6:]) for line in stream.iter_lines()
                  if line.startswith("data: {")]
    assert {c["collection"] for c in chunks[-1]["citations"]} == {"desk"}


def test_articles_stats_and_briefs_of_a_collection(served):
    _, http = served
    desk = http.get("/v1/articles", params={"collection": "desk"}).json()["data"]
    assert {a["title"] for a in desk} == {d["title"] for d in DESK}
    assert {a["collection"] for a in desk} == {"desk"}
    both = http.get("/v1/articles", params=[("collection", "default"),
                                            ("collection", "desk")]).json()["data"]
    assert len(both) == 9 and {a["collection"] for a in both} == {"default", "desk"}
    assert http.get("/v1/articles").json()["data"][0]["collection"] == "default"
    assert http.get("/v1/stats", params={"collection": "desk"}).json()["articles"] == 2
    assert http.get("/v1/stats", params=[("collection", "default"),
                                         ("collection", "desk")]).json()["articles"] == 9
    brief = http.post("/v1/brief", json={"since": "7d", "collection": "desk"}).json()
    assert brief["citations"] and {c["collection"] for c in brief["citations"]} == {"desk"}


def test_writes_go_to_the_collection_named_and_to_one_only(served):
    system, http = served
    note = {"title": "Ferry timetable changes in May", "text": "The Kessel ferry timetable "
            "changes in May, with two more crossings a day."}
    several = http.post("/v1/articles", json={"articles": [note],
                                              "collection": ["default", "desk"]})
    assert several.status_code == 422  # a write names one collection
    upload = http.post("/v1/articles", data={"collection": "desk"},
                       files={"files": ("ferry.txt", b"Ferry times\n\nTwo more crossings.")})
    assert upload.status_code == 200 and upload.json()["added"] == 1, upload.text
    desk = {a["title"]: a["id"] for a in http.get(
        "/v1/articles", params={"collection": "desk"}).json()["data"]}
    assert "Ferry times" in desk
    assert http.delete(f"/v1/articles/{desk['Ferry times']}").status_code == 404  # not default
    gone = http.delete(f"/v1/articles/{desk['Ferry times']}", params={"collection": "desk"})
    assert gone.status_code == 200 and system.over("desk").stats().articles == 2
    assert system.stats().articles == 7


def test_mcp_tools_take_a_collection(served):
    from mcp.server.mcpserver.exceptions import ToolError

    from serve.mcp_server import build_mcp

    system, _ = served
    server = build_mcp(system)

    def call(name, **arguments):
        result = asyncio.run(server.call_tool(name, arguments))
        if result.is_error:
            raise RuntimeError(result.content[0].text)
        return result.structured_content

    listed = call("list_collections")["collections"]
    assert [c["name"] for c in listed] == ["default", "desk"]
    answer = call("ask", question=CRANE, collection="desk")
    assert {c["collection"] for c in answer["citations"]} == {"desk"}
    found = call("search", query="harbour crane cherry", collection=["default", "desk"])
    assert "desk" in {p["collection"] for p in found["passages"]}
    articles = call("list_articles", collection="desk")
    assert articles["total"] == 2 and {a["collection"] for a in articles["articles"]} == {"desk"}
    assert call("briefing", since="7d", collection="desk")["citations"]
    with pytest.raises(ToolError, match="no collection 'sports'"):
        call("ask", question=CRANE, collection="sports")


def test_deleting_a_collection_over_http(served, tmp_path):
    system, http = served
    assert http.post("/v1/collections", json={"name": "scratch"}).status_code == 201
    assert http.delete("/v1/collections/default").status_code == 422
    gone = http.delete("/v1/collections/scratch")
    assert gone.status_code == 200 and gone.json() == {"name": "scratch", "deleted": True}
    assert http.delete("/v1/collections/scratch").status_code == 404
    assert [c["name"] for c in http.get("/v1/collections").json()["data"]] == ["default",
                                                                                 "desk"]
    assert system.stats().articles == 7


def test_deleting_a_collection_stops_its_feed_sync_and_a_new_one_starts_afresh(
        fake_sample_index_dir, tmp_path, fake_embedder):
    """The server's background sync of a deleted collection's feeds stops with it, and a
    collection made again under the name gets feeds of its own (not the deleted one's service,
    whose index was closed)."""
    from rag.feeds import CollectionFeeds
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    root = tmp_path / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    feeds = CollectionFeeds(system, background=True)
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS), feeds=feeds))
    try:
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {API_KEYS[0]}"}) as http:
            assert http.post("/v1/collections", json={"name": "wire"}).status_code == 201
            followed = http.post("/v1/feeds", json={"url": "https://example.org/wire.rss",
                                                    "collection": "wire"})
            assert followed.status_code == 201, followed.text
            syncing = feeds("wire")
            assert syncing._thread is not None and syncing._thread.is_alive()
            assert http.delete("/v1/collections/wire").status_code == 200
            assert not syncing._thread.is_alive()
            assert http.post("/v1/collections", json={"name": "wire"}).status_code == 201
            listed = http.get("/v1/feeds", params={"collection": "wire"})
            assert listed.status_code == 200 and listed.json()["data"] == [], listed.text
            assert feeds("wire") is not syncing
            refused = http.delete("/v1/collections/default")
            assert refused.status_code == 422 and feeds("default")._thread.is_alive()
    finally:
        server.stop()
        feeds.stop()
