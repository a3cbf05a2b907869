"""Keys and roles over HTTP (issue #28 part 2): two stored keys on two collections, each seeing
only its own; a read key refused every write (403); an unknown or revoked key refused (401) on
its next request; failed authentications throttled (429); RAG_API_KEY still an admin over every
collection. The fake embedder stands for the model; a real uvicorn serves the API."""

from __future__ import annotations

import shutil

import httpx
import pytest
from support import API_KEYS

from rag import Config, RagSystem
from rag.articles import Article
from rag.collections import not_found
from rag.keys import open_key_store

DESK = [
    Article(title="Harbour crane collapses at Port Kessel", published_at="2025-03-03",
            source="kessel.example", text="A harbour crane collapsed at Port Kessel on Monday. "
            "Dockworkers said the crane had been inspected in January."),
    Article(title="Orchard growers report record cherry harvest", published_at="2025-03-04",
            source="valley.example", text="Orchard growers in the Delling valley reported a "
            "record cherry harvest. Cherry prices fell by a fifth at the valley market."),
]
CRANE = "Why did the harbour crane collapse at Port Kessel?"
DESK_TITLES = {a.title for a in DESK}


@pytest.fixture(scope="module")
def index(fake_sample_index_dir, tmp_path_factory, fake_embedder):
    """(the RagSystem, its key store, {key name: secret}): the sample corpus as `default`, the
    two DESK articles in `desk`; keys: `ana` reads default, `desk` writes desk, `reader`
    reads desk."""
    root = tmp_path_factory.mktemp("keys-api") / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root, reference_date="2025-03-06"),
                       embedder=fake_embedder)
    system.create_collection("desk")
    system.over("desk").ingest(DESK)
    store = open_key_store(system.config)
    secrets = {name: store.create(name, role, [collection])[1] for name, role, collection in (
        ("ana", "read", "default"), ("desk", "write", "desk"), ("reader", "read", "desk"))}
    return system, store, secrets


@pytest.fixture(scope="module")
def served(index):
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system, store, secrets = index
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS)))
    try:
        yield server.url, store, secrets
    finally:
        server.stop()


def client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def titles(http: httpx.Client, **params) -> set[str]:
    listed = http.get("/v1/articles", params=params)
    assert listed.status_code == 200, listed.text
    return {a["title"] for a in listed.json()["data"]}


def test_each_key_sees_only_its_collection(served):
    url, _, secrets = served
    with client(url, secrets["ana"]) as ana, client(url, secrets["reader"]) as reader:
        assert [c["name"] for c in ana.get("/v1/collections").json()["data"]] == ["default"]
        assert [c["name"] for c in reader.get("/v1/collections").json()["data"]] == ["desk"]
        assert titles(reader) == DESK_TITLES
        ana_titles = titles(ana)
        assert len(ana_titles) == 7 and not ana_titles & DESK_TITLES
        assert reader.get("/v1/stats").json()["articles"] == 2
        assert ana.get("/v1/stats").json()["articles"] == 7
        asked = reader.post("/v1/ask", json={"question": CRANE}).json()
        assert {c["collection"] for c in asked["citations"]} == {"desk"}
        assert {p["collection"] for p in asked["passages"]} == {"desk"}
        other = ana.post("/v1/ask", json={"question": CRANE}).json()
        assert {p["collection"] for p in other["passages"]} == {"default"}
        assert not {p["title"] for p in other["passages"]} & DESK_TITLES
        chat = reader.post("/v1/chat/completions", json={
            "model": "news-rag", "messages": [{"role": "user", "content": CRANE}]})
        assert {c["collection"] for c in chat.json()["citations"]} == {"desk"}


@pytest.mark.parametrize("request_of", [
    lambda http, c: http.post("/v1/ask", json={"question": CRANE, "collection": c}),
    lambda http, c: http.post("/v1/ask", json={"question": CRANE, "collection": ["default", c]}),
    lambda http, c: http.post("/v1/chat/completions", json={
        "model": "news-rag", "messages": [{"role": "user", "content": CRANE}], "collection": c}),
    lambda http, c: http.post("/v1/chat/completions", json={
        "model": "news-rag", "messages": [{"role": "user", "content": CRANE}], "collection": c,
        "stream": True}),
    lambda http, c: http.post("/v1/brief", json={"since": "7d", "collection": c}),
    lambda http, c: http.get("/v1/articles", params={"collection": c}),
    lambda http, c: http.get("/v1/stats", params={"collection": c}),
], ids=["ask", "ask-both", "chat", "chat-stream", "brief", "articles", "stats"])
def test_another_keys_collection_is_the_same_404_as_none(served, request_of):
    url, _, secrets = served
    with client(url, secrets["ana"]) as ana, client(url, API_KEYS[0]) as admin:
        hidden = request_of(ana, "desk")
        missing = request_of(admin, "nosuch")
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert error(hidden) == {**error(missing), "message": str(not_found("desk"))}
    assert "desk" not in error(hidden)["message"].replace("'desk'", "").replace(
        "create desk", "")


@pytest.mark.parametrize("request_of", [
    lambda http: http.post("/v1/articles", json={"articles": [
        {"title": "T", "text": "Some text of an article."}]}),
    lambda http: http.post("/v1/articles", files={"files": ("a.txt", b"T\n\nSome text.")}),
    lambda http: http.post("/v1/articles", files={"files": ("a.txt", b"T\n\nSome text.")},
                           data={"collection": "desk"}),
    lambda http: http.delete("/v1/articles/x"),
    lambda http: http.delete("/v1/articles/x", params={"collection": "desk"}),
    lambda http: http.post("/v1/collections", json={"name": "sports"}),
    lambda http: http.delete("/v1/collections/desk"),
], ids=["ingest-json", "upload", "upload-desk", "delete", "delete-desk", "make-collection",
        "delete-collection"])
def test_a_read_key_writes_nothing(served, request_of):
    url, _, secrets = served
    with client(url, secrets["reader"]) as reader:
        refused = request_of(reader)
        assert refused.status_code == 403, refused.text
        assert error(refused)["code"] == "insufficient_role"
        assert "needs a write key" in error(refused)["message"] or "admin" in error(
            refused)["message"]
        assert titles(reader) == DESK_TITLES


def test_a_write_key_writes_its_collection_only(served):
    url, _, secrets = served
    with client(url, secrets["desk"]) as desk:
        added = desk.post("/v1/articles", json={"articles": [
            {"id": "brief-1", "title": "Ferry timetable changes at Port Kessel",
             "text": "The ferry to Port Kessel will leave an hour earlier from April."}]})
        assert added.status_code == 200 and added.json()["added"] == 1, added.text
        assert desk.delete("/v1/articles/brief-1").status_code == 200
        elsewhere = desk.post("/v1/articles", json={"articles": [
            {"title": "T", "text": "Some text."}], "collection": "default"})
        assert elsewhere.status_code == 404
        assert error(elsewhere)["message"] == str(not_found("default"))
        made = desk.post("/v1/collections", json={"name": "sports"})
        assert made.status_code == 403
        assert error(made)["message"] == ("making collections needs an admin key; this key's "
                                          "role is write")


def test_unknown_and_revoked_keys_are_refused_on_their_next_request(index, served):
    url, store, _ = served
    with client(url, "rag_0123456789ab_" + "x" * 43) as unknown:
        assert unknown.get("/v1/collections").status_code == 401
    key, secret = store.create("temp", "read", ["desk"])
    with client(url, secret) as temp:
        assert temp.get("/v1/articles").status_code == 200
        store.revoke(key.id)
        refused = temp.get("/v1/articles")
        assert refused.status_code == 401 and error(refused)["code"] == "invalid_api_key"
        assert temp.post("/v1/ask", json={"question": CRANE}).status_code == 401


def test_rag_api_key_is_an_admin_over_every_collection(served):
    url, _, _ = served
    with client(url, API_KEYS[1]) as admin:
        assert [c["name"] for c in admin.get("/v1/collections").json()["data"]] == [
            "default", "desk"]
        assert titles(admin, collection=["default", "desk"]) >= DESK_TITLES
        made = admin.post("/v1/collections", json={"name": "scratch"})
        assert made.status_code == 201, made.text
        assert admin.delete("/v1/collections/scratch").status_code == 200
    with httpx.Client(base_url=url) as nobody:
        assert nobody.get("/v1/collections").status_code == 401


def test_failed_authentications_are_throttled(index):
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system, _, secrets = index
    server = start(create_api(system, ServeSettings(auth_failures=3, auth_window_s=60)))
    try:
        with client(server.url, "wrong") as wrong, client(server.url, secrets["ana"]) as ana:
            assert ana.get("/v1/collections").status_code == 200
            assert [wrong.get("/v1/collections").status_code for _ in range(3)] == [401] * 3
            throttled = wrong.get("/v1/collections")
            assert throttled.status_code == 429, throttled.text
            assert 1 <= int(throttled.headers["Retry-After"]) <= 60
            assert error(throttled)["code"] == "too_many_failures"
            # The client (its address), not the key: even a good key waits.
            assert ana.get("/v1/collections").status_code == 429
    finally:
        server.stop()


def test_mcp_tools_read_only_the_keys_collections(index):
    from mcp.server.mcpserver.exceptions import ToolError

    from serve.mcp_server import build_mcp

    system, store, _ = index
    key, secret = store.create("mcp-reader", "read", ["desk"])
    server = build_mcp(system, lambda: store.grant_of(secret, "RAG_MCP_KEY"))

    def call(name, **arguments):
        import asyncio

        result = asyncio.run(server.call_tool(name, arguments))
        if result.is_error:
            raise ToolError(result.content[0].text)
        return result.structured_content

    assert [c["name"] for c in call("list_collections")["collections"]] == ["desk"]
    assert {a["collection"] for a in call("list_articles")["articles"]} == {"desk"}
    assert {p["collection"] for p in call("search", query="harbour crane")["passages"]} == {
        "desk"}
    assert {c["collection"] for c in call("ask", question=CRANE)["citations"]} == {"desk"}
    with pytest.raises(ToolError, match=r"no collection 'default': `rag collections list`"):
        call("ask", question=CRANE, collection="default")
    store.revoke(key.id)
    with pytest.raises(ToolError, match="RAG_MCP_KEY is not a key of this index"):
        call("list_collections")


def test_two_servers_over_one_postgresql_share_the_keys(fake_embedder):
    """pgvector: the keys live in the database, so a key made through one server's store is
    good on another server, and revoked there from its next request."""
    import os
    import uuid

    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    dsn = os.environ.get("RAG_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("in CI the pgvector tests must run: RAG_PG_DSN is not set")
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL to serve the keys from")
    name = f"test_keys_{uuid.uuid4().hex[:8]}"
    config = Config(index_backend="pgvector", index_dir=name, pg_dsn=dsn)
    systems = [RagSystem(config, embedder=fake_embedder, create=True) for _ in range(2)]
    systems[0].ingest(DESK)
    servers = [start(create_api(s, ServeSettings())) for s in systems]
    try:
        key, secret = open_key_store(systems[0].config).create("ana", "read", ["default"])
        for server in servers:
            with client(server.url, secret) as ana:
                assert titles(ana) == DESK_TITLES
            with httpx.Client(base_url=server.url) as nobody:
                assert nobody.get("/v1/articles").status_code == 401
        open_key_store(systems[1].config).revoke(key.id)
        for server in servers:
            with client(server.url, secret) as ana:
                assert ana.get("/v1/articles").status_code == 401
    finally:
        for server in servers:
            server.stop()
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE')
