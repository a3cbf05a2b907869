"""Two real `rag serve` processes over one PostgreSQL (issue #28 part 4, docs/deploy.md): an
article ingested through one is answered, with a verified citation, by the other; a feed
followed through one is seen by the other, and with both syncing in the background every half
second its URL is fetched once per due period; a server killed while it holds a feed's lease
loses it once the lease expires, and the other syncs the feed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from feedsite import FeedSite
from support import free_port, running_server

from rag import SAMPLE_CORPUS, Config
from rag.feeds import index_feed_store

pytestmark = [pytest.mark.pgvector, pytest.mark.slow]

ARTICLE = {
    "title": "Tram depot flooded in Varnholm",
    "url": "https://varnholm.example/tram-depot",
    "published_at": "2025-03-05",
    "source": "varnholm.example",
    "text": "The tram depot in Varnholm flooded on Tuesday night after the Aske river burst "
            "its banks. Seventeen trams stood in a metre of water, the operator said. "
            "Services on the harbour line will run with buses until the end of the month.",
}
LEASE_S = 3


def wait_for(check, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
    return got


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(index name, [url of A, url of B]): data/sample in a fresh PostgreSQL index, served by
    two `rag serve` processes that sync feeds every 0.5 s with a 3 s lease."""
    dsn = os.environ.get("RAG_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("in CI the pgvector tests must run: RAG_PG_DSN is not set")
        pytest.skip("RAG_PG_DSN is not set: no PostgreSQL server")
    work = tmp_path_factory.mktemp("two-servers")
    name = f"test_two_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "RAG_INDEX_BACKEND": "pgvector", "RAG_ALLOW_PRIVATE_URLS": "1",
           "RAG_FEEDS_TICK_S": "0.5", "RAG_FEED_LEASE_S": str(LEASE_S),
           "RAG_FETCH_TIMEOUT_S": "60"}
    for key in ("RAG_API_KEY", "RAG_AUTH", "RAG_INDEX_DIR", "RAG_FEEDS_DIR"):
        env.pop(key, None)
    rag = str(Path(sys.executable).with_name("rag"))
    made = subprocess.run([rag, "ingest", str(SAMPLE_CORPUS), "--index", name], env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0 and made.stdout.startswith("added 7,"), made.stderr
    try:
        with contextlib.ExitStack() as stack:
            urls = [stack.enter_context(running_server(
                [rag, "serve", "--port", str(free_port()), "--index", name], env,
                work / f"serve-{n}.log", f"rag serve {n}")) for n in "ab"]
            yield name, urls
    finally:
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE')


def feed_store(name: str):
    return index_feed_store(Config(index_backend="pgvector", index_dir=name))


def test_an_article_ingested_through_one_is_cited_by_the_other(servers):
    _, (a, b) = servers
    added = httpx.post(a + "v1/articles", json={"articles": [ARTICLE]}, timeout=300).json()
    assert added["added"] == 1, added
    reply = httpx.post(b + "v1/ask", json={"question": "Why did the tram depot in Varnholm "
                                           "flood?"}, timeout=300).json()
    cited = [c for c in reply["citations"] if c["url"] == ARTICLE["url"]]
    assert cited and not reply["abstained"], reply
    for citation in cited:  # verified: the quote is the article's text at its offsets
        assert ARTICLE["text"][citation["start"]:citation["end"]] == citation["quote"]
    assert "Aske river" in reply["answer"]


def test_a_feed_is_shared_and_fetched_once_per_due_period(servers):
    from gradio_client import Client

    name, (a, b) = servers
    site = FeedSite()
    try:
        url = site.url("/atom.xml")
        # Not followed yet: B says so by name.
        assert httpx.post(b + "v1/brief", json={"feed": url}, timeout=120).status_code == 422
        status, _, rows = Client(a, verbose=False).predict(url, "1m", 0, "default",
                                                           api_name="/add_feed")
        assert status.startswith("Following") and rows["data"][0][1] == url
        store = feed_store(name)
        synced = wait_for(lambda: (f := store.get(url)) and f.last_ok_at and f, "the sync")
        time.sleep(5)  # ten ticks of each server more
        pages = {"/herald/wire-b.html": 1, "/herald/orchard.html": 1}
        assert site.hits["/atom.xml"] == 1
        assert {p: site.hits[p] for p in pages} == pages
        assert '"added": 3' in synced.last_counts
        listed = httpx.get(b + "v1/articles", timeout=60).json()["data"]
        assert sum(r["url"].startswith(site.base) for r in listed if r.get("url")) == 3

        # B serves the feed's briefing that the sync stored, as A does: one, shared.
        briefs = [httpx.post(s + "v1/brief", json={"feed": url}, timeout=300).json()
                  for s in (a, b)]
        built = [r["briefing"]["built_at"] for r in briefs]
        assert built[0] is not None and built[0] == built[1]
        assert [r["briefing"]["cached"] for r in briefs] == [True, True]

        # The period passes (moved back in the database): fetched once more, by one server.
        import psycopg

        from rag.index.store import schema_for

        with psycopg.connect(os.environ["RAG_PG_DSN"], autocommit=True) as db:
            db.execute(f'UPDATE "{schema_for(name)}".feeds SET last_sync_at = last_sync_at - '
                       "120 WHERE url = %s", (url,))
        wait_for(lambda: site.hits["/atom.xml"] == 2, "the second period's sync")
        time.sleep(5)
        assert site.hits["/atom.xml"] == 2  # a 304: nothing else fetched
        assert {p: site.hits[p] for p in pages} == pages
    finally:
        site.close()


def test_a_killed_servers_lease_expires_and_the_other_syncs_the_feed(servers):
    """Runs last: it kills one of the servers."""
    name, urls = servers
    site = FeedSite()
    release = threading.Event()
    respond = site.respond

    def held_once(path, headers):  # the first fetch of the feed hangs until released
        if path == "/hang.xml":
            if site.hits[path] == 1:
                release.wait(60)
            return respond("/atom.xml", headers)
        return respond(path, headers)

    site.respond = held_once
    try:
        url = site.url("/hang.xml")
        store = feed_store(name)
        feed = store.add(url, every_s=3600)
        holder = wait_for(lambda: site.hits["/hang.xml"] == 1 and store.lease_holder(feed.id),
                          "a server to take the lease and fetch")
        pid = int(holder.split(":")[1])
        os.kill(pid, signal.SIGKILL)  # dies holding the lease, mid-fetch
        release.set()
        synced = wait_for(lambda: (f := store.get(url)) and f.last_ok_at and f,
                          "the other server to take over", timeout=120)
        assert site.hits["/hang.xml"] == 2  # once by each: the survivor after the expiry
        assert '"added": 3' in synced.last_counts
        # The survivor holds the lease until its sync is done (the briefing built), then
        # clears it.
        assert int((store.lease_holder(feed.id) or ":0:").split(":")[1]) != pid
        wait_for(lambda: store.lease_holder(feed.id) is None, "the lease to be released")
        alive = []
        for server in urls:
            with contextlib.suppress(httpx.HTTPError):
                alive.append(httpx.get(server + "healthz", timeout=10).status_code == 200)
        assert alive == [True]  # the other server was killed, this one synced
    finally:
        release.set()
        site.close()
