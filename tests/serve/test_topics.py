"""Followed topics over HTTP (``/v1/topics``: a real uvicorn server, plain HTTP) and MCP, with
the fake embedder and stored keys: a write key follows and unfollows, a read key lists and reads
(its writes are 403s); a topic's briefing is built once, stored and served from the store until
the index changes; ``POST /v1/brief`` and MCP's ``briefing`` on the followed topic serve the same
stored briefing; an id the collection does not follow, another collection's included, is the
404 of an unknown one."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support import REPO

from rag import Config, RagSystem
from rag.keys import open_key_store

AS_OF = "2022-09-11"


@pytest.fixture(scope="module")
def served(tmp_path_factory, fake_embedder):
    """(system, the server's URL, {key name: secret}): the made-up week of news as of its last
    day in `default`, an empty `desk`; `writer` and `reader` keys on default, `desk` a write
    key on desk."""
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("topics-api") / "index",
                              reference_date=AS_OF), embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    system.create_collection("desk")
    store = open_key_store(system.config)
    keys = {name: store.create(name, role, [collection])[1] for name, role, collection in (
        ("writer", "write", "default"), ("reader", "read", "default"), ("desk", "write", "desk"))}
    server = start(create_api(system, ServeSettings()))
    try:
        yield system, server.url, keys
    finally:
        server.stop()


def http(served, who: str) -> httpx.Client:
    _, url, keys = served
    return httpx.Client(base_url=url + "v1/", timeout=60,
                        headers={"Authorization": f"Bearer {keys[who]}"})


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def test_a_write_key_follows_and_a_read_key_lists(served):
    with http(served, "writer") as writer, http(served, "reader") as reader:
        assert ok(reader.get("topics")) == {"object": "list", "data": []}
        refused = reader.post("topics", json={"topic": "Ferry strike"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == (
            "insufficient_role")
        assert "following topics needs a write key" in refused.text

        made = ok(writer.post("topics", json={"topic": "Ferry strike", "since": "7d"}), 201)
        assert {k: made[k] for k in ("topic", "since", "built_at", "collection")} == {
            "topic": "Ferry strike", "since": "7d", "built_at": None, "collection": "default"}
        again = ok(writer.post("topics", json={"topic": " ferry  STRIKE", "since": "2w"}), 201)
        assert (again["id"], again["topic"], again["since"]) == (made["id"], "ferry STRIKE", "2w")
        ok(writer.post("topics", json={"topic": "Ferry strike", "since": "7d"}), 201)
        listed = ok(reader.get("topics"))["data"]
        assert [(t["id"], t["topic"], t["since"]) for t in listed] == [
            (made["id"], "Ferry strike", "7d")]

        for body, said in (({"topic": "  "}, "the topic is empty"),
                           ({"topic": "x", "since": "soon"}, "since 'soon' is neither a date"),
                           ({"topic": "x" * 201}, "a followed topic is at most 200"),
                           ({"topic": "x", "every": "1h"}, "every")):
            bad = writer.post("topics", json=body)
            assert bad.status_code == 422 and said in bad.text, bad.text
        assert len(ok(reader.get("topics"))["data"]) == 1


def test_a_topics_briefing_is_stored_then_served_until_the_index_changes(served):
    with http(served, "writer") as writer, http(served, "reader") as reader:
        topic = ok(writer.post("topics", json={"topic": "Ferry strike", "since": "7d"}), 201)
        path = f"topics/{topic['id']}/briefing"
        first = ok(reader.get(path))
        briefing = first["briefing"]
        assert (briefing["topic"], briefing["since"], briefing["until"]) == (
            "Ferry strike", "2022-09-04", AS_OF)
        assert briefing["cached"] is False and briefing["built_at"] and briefing["stories"]
        assert {"ferry-1", "ferry-4"} <= {i for s in briefing["stories"] for i in s["source_ids"]}

        again = ok(reader.get(path))
        assert again["briefing"]["cached"] is True
        assert again["briefing"]["built_at"] == briefing["built_at"]
        for data in (first, again):
            data.pop("timings_ms"), data["briefing"].pop("cached")
        assert again == first
        listed, = ok(reader.get("topics"))["data"]
        assert listed["built_at"] == briefing["built_at"]
        # The same stored briefing through /v1/brief, by the topic's words and period.
        for body in ({"topic": "ferry strike"}, {"topic": "Ferry strike", "since": "7d"}):
            assert ok(reader.post("brief", json=body))["briefing"]["cached"] is True, body
        other = ok(reader.post("brief", json={"topic": "Ferry strike", "since": "24h"}))
        assert other["briefing"]["built_at"] is None

        ok(writer.post("articles", json={"articles": [{
            "title": "Ferry strike ballot called", "published_at": "2022-09-11",
            "text": "The ferry union called a new strike ballot over pay on Sunday."}]}))
        rebuilt = ok(reader.get(path))["briefing"]
        assert rebuilt["cached"] is False and rebuilt["built_at"]
        assert ok(reader.get(path))["briefing"]["cached"] is True


def test_an_id_not_followed_here_is_the_404_of_an_unknown_one(served):
    with http(served, "writer") as writer, http(served, "desk") as desk:
        ok(writer.post("topics", json={"topic": "Ferry strike", "since": "7d"}), 201)
        desk_ids = [ok(desk.post("topics", json={"topic": f"desk topic {n}"}), 201)["id"]
                    for n in range(3)]
        theirs = max(desk_ids)  # an id the desk follows and default does not
        assert theirs not in {t["id"] for t in ok(writer.get("topics"))["data"]}
        for method, path in (("GET", "topics/{}/briefing"), ("DELETE", "topics/{}")):
            hidden = writer.request(method, path.format(theirs))
            unknown = writer.request(method, path.format(99))
            assert hidden.status_code == unknown.status_code == 404
            assert hidden.json()["error"]["code"] == "topic_not_found"
            assert hidden.text == unknown.text.replace("99", str(theirs))
        named = writer.get(f"topics/{theirs}/briefing", params={"collection": "desk"})
        assert named.status_code == 404 and "no collection 'desk'" in named.text
        assert len(ok(desk.get("topics"))["data"]) == 3  # untouched


def test_unfollowing_needs_a_write_key_and_drops_the_briefing(served):
    with http(served, "writer") as writer, http(served, "reader") as reader:
        topic = ok(writer.post("topics", json={"topic": "valley floods", "since": "7d"}), 201)
        ok(reader.get(f"topics/{topic['id']}/briefing"))
        refused = reader.delete(f"topics/{topic['id']}")
        assert refused.status_code == 403 and "removing topics needs a write key" in refused.text
        assert ok(writer.delete(f"topics/{topic['id']}")) == {
            "id": topic["id"], "topic": "valley floods", "removed": True}
        assert reader.get(f"topics/{topic['id']}/briefing").status_code == 404
        assert topic["id"] not in {t["id"] for t in ok(reader.get("topics"))["data"]}
        assert writer.delete(f"topics/{topic['id']}").status_code == 404


def test_the_mcp_tools_list_topics_and_serve_the_stored_briefing(served):
    from serve.mcp_server import build_mcp

    system, _, _ = served
    with http(served, "writer") as writer:
        topic = ok(writer.post("topics", json={"topic": "Ferry strike", "since": "7d"}), 201)
        stored = ok(writer.get(f"topics/{topic['id']}/briefing"))["briefing"]
    server = build_mcp(system)

    def call(name: str, **arguments) -> dict:
        result = asyncio.run(server.call_tool(name, arguments))
        assert not result.is_error, result
        return result.structured_content

    listed = call("list_topics")["topics"]
    assert {"id": topic["id"], "topic": "Ferry strike", "since": "7d",
            "built_at": stored["built_at"]} in listed
    got = call("briefing", topic="FERRY strike")["briefing"]
    assert got["cached"] is True and got["built_at"] == stored["built_at"]
    assert got["stories"] == stored["stories"]
    assert call("briefing", topic="Ferry strike", since="24h")["briefing"]["cached"] is False
    desk = call("list_topics", collection="desk")["topics"]  # the desk's own only
    assert all(t["topic"].startswith("desk topic") for t in desk)


@pytest.mark.parametrize(("method", "path", "code"), [
    ("GET", "topics/{}/briefing", "topic_not_found"), ("DELETE", "topics/{}", "topic_not_found"),
    ("POST", "feeds/{}/sync", "feed_not_found"), ("DELETE", "feeds/{}", "feed_not_found"),
])
def test_an_id_beyond_64_bits_or_below_1_is_a_404_not_a_500(served, method, path, code):
    with http(served, "writer") as writer:
        for bad in ("99999999999999999999", str(2**63), "0", "-5"):
            got = writer.request(method, path.format(bad))
            assert got.status_code == 404, (bad, got.text)
            assert got.json()["error"]["code"] == code
