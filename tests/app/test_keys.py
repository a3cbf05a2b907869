"""The page with keys (issue #28 part 2): logged in with a key (user name: its name), a person
asks and sees only their key's collections, and a read key changes nothing (uploads, deletes
and feeds refused with a message); a revoked key's session is refused. Over the page's APIs
(gradio_client), the app served in this process with the fake embedder."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from rag import Config, RagSystem
from rag.feeds.stores import index_feed_store
from rag.keys import open_key_store

WIRE_FEED = "https://wire.example.org/kessel-desk.rss"
CRANE = "Why did the harbour crane collapse at Port Kessel?"
CRANE_STORY = ("Crane collapses at Port Kessel\n\nA harbour crane collapsed at Port Kessel on "
               "Monday. Dockworkers said the crane had been inspected in January.")


@pytest.fixture(scope="module")
def page(fake_sample_index_dir, tmp_path_factory, fake_embedder):
    """(the RagSystem, its key store, the page's URL, {name: key}): the sample corpus as
    `default`, an empty `desk`; `ana` reads default, `desk` writes desk."""
    from app import create_server_app
    from serve.limits import ServeSettings
    from serve.server import start

    root = tmp_path_factory.mktemp("keys-page") / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    system.create_collection("desk")
    index_feed_store(system.config).add(WIRE_FEED, every_s=3600)  # default's: not desk's
    store = open_key_store(system.config)
    keys = {"ana": store.create("ana", "read", ["default"])[1],
            "desk": store.create("desk", "write", ["desk"])[1]}
    server = start(create_server_app(system, ServeSettings()))
    try:
        yield system, store, server.url, keys
    finally:
        server.stop()


def login(url: str, name: str, key: str):
    from gradio_client import Client

    return Client(url, auth=(name, key), verbose=False)


def test_a_read_key_sees_its_collection_and_changes_nothing(page, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    system, _, url, keys = page
    ana = login(url, "ana", keys["ana"])
    asked = ana.predict(CRANE, "", api_name="/ask")
    assert {p["collection"] for p in asked["passages"]} == {"default"}
    with pytest.raises(AppError, match="no collection 'desk'"):
        ana.predict(CRANE, "desk", api_name="/ask")
    story = tmp_path / "crane.txt"
    story.write_text(CRANE_STORY, encoding="utf-8")
    for call, message in (
            (lambda: ana.predict([handle_file(str(story))], "default", api_name="/ingest"),
             "adding articles needs a write key; this key's role is read"),
            (lambda: ana.predict("x", "default", api_name="/delete"), "deleting articles"),
            (lambda: ana.predict("https://example.com/rss", "", 0, "default",
                                 api_name="/add_feed"), "following feeds"),
            (lambda: ana.predict("", "default", api_name="/sync_feeds"), "syncing feeds")):
        with pytest.raises(AppError, match=message):
            call()
    assert system.stats().articles == 7


def test_a_write_key_writes_its_collection_only(page, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    system, _, url, keys = page
    desk = login(url, "desk", keys["desk"])
    story = tmp_path / "crane.txt"
    story.write_text(CRANE_STORY, encoding="utf-8")
    status = desk.predict([handle_file(str(story))], "desk", api_name="/ingest")[0]
    assert "added 1" in status and system.over("desk").stats().articles == 1
    with pytest.raises(AppError, match="no collection 'default'"):
        desk.predict([handle_file(str(story))], "default", api_name="/ingest")
    asked = desk.predict(CRANE, "", api_name="/ask")
    assert {p["collection"] for p in asked["passages"]} == {"desk"}


def test_logins_are_checked_and_a_revoked_key_is_logged_out(page):
    _, store, url, keys = page
    for name, key in (("ana", keys["desk"]), ("ana", "wrong"), ("nobody", keys["ana"])):
        with pytest.raises(ValueError, match="Could not login"):
            login(url, name, key)
    temp_key = store.create("temp", "read", ["default"])
    temp = login(url, "temp", temp_key[1])
    assert temp.predict(CRANE, "", api_name="/ask")["passages"]
    store.revoke("temp")
    with pytest.raises(httpx.HTTPStatusError, match="401 Unauthorized"):
        temp.predict(CRANE, "", api_name="/ask")


def test_the_page_config_names_no_collection_or_feed_of_another_key(page):
    """The page's ``/config`` (its components' first values, the same for every key) names no
    collection and no followed feed: each session's load fills in its key's."""
    system, _, url, keys = page
    config = login(url, "desk", keys["desk"]).config
    text = json.dumps(config)
    pickers = {c["props"].get("elem_id"): c["props"] for c in config["components"]
               if c["props"].get("elem_id") in ("rag-collection", "rag-ask-collections")}
    assert set(pickers) == {"rag-collection", "rag-ask-collections"}
    assert all(props["choices"] == [] for props in pickers.values())
    assert WIRE_FEED not in text and "default" not in [
        choice[1] for props in pickers.values() for choice in props["choices"]]
    assert not any(article.title in text for article, _ in system.index.list_articles())


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_of_a_read_key_shows_its_collections_and_no_write_buttons(browser, page):
    _, _, url, keys = page
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(url)
        password = tab.locator("input[type=password]")
        password.wait_for(timeout=30_000)
        assert "your key's name" in tab.locator("body").inner_text()
        tab.locator("input:not([type=password])").first.fill("ana")
        password.fill(keys["ana"])
        tab.get_by_role("button", name="Login").click()
        tab.get_by_role("tab", name="Articles").click()
        add = tab.locator("#rag-add")
        add.wait_for(timeout=30_000)
        tab.wait_for_function(
            "() => document.querySelector('#rag-add').disabled", timeout=30_000)
        assert tab.locator("#rag-delete").is_disabled()
        tab.locator("#rag-collection input").first.click()
        options = tab.get_by_role("option").all_inner_texts()
        assert [o.split()[-1] for o in options if o.strip()] == ["default"]  # "✓ default"
    finally:
        context.close()


def test_failed_logins_on_the_page_are_throttled(page):
    from app import create_server_app
    from serve.limits import ServeSettings
    from serve.server import start

    system, _, _, keys = page
    server = start(create_server_app(system, ServeSettings(auth_failures=2)))
    try:
        def log_in(password: str) -> httpx.Response:
            return httpx.post(server.url + "login", data={"username": "ana",
                                                          "password": password})

        assert [log_in("wrong").status_code for _ in range(2)] == [400, 400]
        throttled = log_in(keys["ana"])
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    finally:
        server.stop()
