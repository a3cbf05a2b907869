"""The page's collections over its APIs (gradio_client), the app served in this process with the
fake embedder: uploads, deletes and feeds go to the collection picked, the chat and `ask` read
the collections asked. The pickers themselves are driven in Chromium in
tests/app/test_browser_collections.py."""

from __future__ import annotations

import shutil

import pytest

from rag import Config, RagSystem

CRANE = "Why did the harbour crane collapse at Port Kessel?"
CRANE_STORY = ("Crane collapses at Port Kessel\n\nA harbour crane collapsed at Port Kessel on "
               "Monday. Dockworkers said the crane had been inspected in January.")


@pytest.fixture(scope="module")
def page(fake_sample_index_dir, tmp_path_factory, fake_embedder):
    """(the RagSystem, a gradio Client of its page): the sample corpus as `default` and an
    empty collection `desk`."""
    from gradio_client import Client

    from app import create_server_app
    from serve.limits import ServeSettings
    from serve.server import start

    root = tmp_path_factory.mktemp("collections-page") / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    system.create_collection("desk")
    server = start(create_server_app(system, ServeSettings()))
    try:
        yield system, Client(server.url, verbose=False)
    finally:
        server.stop()


def test_uploads_and_deletes_go_to_the_collection_picked(page, tmp_path):
    from gradio_client import handle_file

    system, client = page
    story = tmp_path / "crane.txt"
    story.write_text(CRANE_STORY, encoding="utf-8")
    status, table, stats = client.predict([handle_file(str(story))], "desk", api_name="/ingest")
    assert "added 1" in status and "**1** articles" in stats
    assert [row[0] for row in table["data"]] == ["Crane collapses at Port Kessel"]
    assert system.over("desk").stats().articles == 1 and system.stats().articles == 7
    article_id = table["data"][0][-1]
    said = client.predict(article_id, "default", api_name="/delete")[0]
    assert said == "Deleted 0 of 1 article(s)."  # not in the default collection
    assert system.over("desk").stats().articles == 1


def test_ask_reads_the_collections_asked(page, tmp_path):
    from gradio_client import handle_file

    system, client = page
    if system.over("desk").is_empty():
        story = tmp_path / "crane.txt"
        story.write_text(CRANE_STORY, encoding="utf-8")
        client.predict([handle_file(str(story))], "desk", api_name="/ingest")
    desk = client.predict(CRANE, "desk", api_name="/ask")
    assert {c["collection"] for c in desk["citations"]} == {"desk"}
    default = client.predict(CRANE, api_name="/ask")
    assert {p["collection"] for p in default["passages"]} == {"default"}
    both = client.predict(CRANE + " nuclear plant Bushehr", "default, desk", api_name="/ask")
    assert {p["collection"] for p in both["passages"]} == {"default", "desk"}
    messages, _, _ = client.predict(CRANE, 4, "extractive", "", "", "", "", ["desk"],
                                    api_name="/chat")
    assert "crane" in str(messages[-1]["content"]).lower()


def test_feeds_belong_to_the_collection_picked(page):
    system, client = page
    status, chosen, rows = client.predict("https://desk.example/rss", "1h", 0, "desk",
                                          api_name="/add_feed")
    assert status.startswith("Following") and rows["data"][0][1] == "https://desk.example/rss"
    from rag.feeds import index_feed_store

    assert [f.url for f in index_feed_store(system.over("desk").config).feeds()] == [
        "https://desk.example/rss"]
    assert index_feed_store(system.config).feeds() == []
    said, _, rows = client.predict(chosen, "desk", api_name="/remove_feed")
    assert said.startswith("Stopped following") and rows["data"] == []


def test_the_briefing_reads_the_collection_picked_and_its_feeds(page, tmp_path):
    import json

    from gradio_client import handle_file

    _, client = page
    dated = tmp_path / "tram.json"
    dated.write_text(json.dumps({"title": "Tramline extension opens in Velmora",
                                 "published_at": "2025-03-05", "text": "The tramline "
                                 "extension in Velmora opened to passengers on Wednesday."}))
    client.predict([handle_file(str(dated))], "desk", api_name="/ingest")
    week = client.predict("7d", "", "2025-03-06", "", "desk", api_name="/brief")
    assert week["citations"] and {c["collection"] for c in week["citations"]} == {"desk"}
    assert client.predict("7d", "", "2025-03-06", "", "", api_name="/brief")["citations"] == []
    _, chosen, _ = client.predict("https://desk.example/brief.rss", "1h", 0, "desk",
                                  api_name="/add_feed")
    of_feed = client.predict("24h", "", "", chosen, "desk", api_name="/brief")
    assert of_feed["briefing"]["feed"] is not None and of_feed["citations"] == []
    with pytest.raises(Exception, match="no followed feed"):  # not a feed of the default
        client.predict("24h", "", "", chosen, "", api_name="/brief")
    client.predict(chosen, "desk", api_name="/remove_feed")
