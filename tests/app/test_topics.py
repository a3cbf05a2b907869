"""The Briefing tab's followed topics: the page served in this process with the fake embedder
over the made-up week of news, driven over its APIs (gradio_client): follow a topic over the
period picked, list them, read a topic's stored briefing (built once, then served from the
store, also to the tab's own "What's new" on that topic), each collection's its own, unfollow;
and in headless Chromium: the menu lists the followed topics, picking one shows its stored
briefing, Follow and Unfollow change the menu."""

from __future__ import annotations

import pytest
from support import REPO, app_page

from rag import Config, RagSystem

AS_OF = "2022-09-11"


@pytest.fixture(scope="module")
def page(tmp_path_factory, fake_embedder):
    """(the RagSystem, the page's URL, a gradio Client of it): the week as of its last day in
    `default`, an empty collection `desk`."""
    from gradio_client import Client

    from app import create_server_app
    from serve.limits import ServeSettings
    from serve.server import start

    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("topics-page") / "index",
                              reference_date=AS_OF), embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    system.create_collection("desk")
    server = start(create_server_app(system, ServeSettings()))
    try:
        yield system, server.url, Client(server.url, verbose=False)
    finally:
        server.stop()


def test_follow_read_and_unfollow_a_topic_on_the_page(page):
    from gradio_client.exceptions import AppError

    _, _, client = page
    said, menu = client.predict("Ferry strike", "Last 7 days", "", api_name="/follow_topic")
    assert said.startswith("Following `Ferry strike` (the last 7d)")
    assert menu["value"] == "1"
    assert menu["choices"] == [["Ferry strike (the last 7d, topic 1)", "1"]]
    said, menu = client.predict("valley floods", "Since I last checked", "",
                                api_name="/follow_topic")
    assert "covers a fixed period" in said and menu == {"__type__": "update"}  # left as it was
    said, _ = client.predict("  ", "Last 24 hours", "", api_name="/follow_topic")
    assert said == "⚠ the topic is empty: give a phrase to follow, such as 'Iran nuclear talks'"
    listed = client.predict("", api_name="/topics")["topics"]
    assert [(t["id"], t["topic"], t["since"], t["built_at"]) for t in listed] == [
        (1, "Ferry strike", "7d", None)]

    first = client.predict("1", "", api_name="/topic_briefing")["briefing"]
    assert (first["topic"], first["since"], first["until"]) == ("Ferry strike", "2022-09-04",
                                                               AS_OF)
    assert first["cached"] is False and first["built_at"] and first["stories"]
    for asked in ("1", "ferry STRIKE"):
        again = client.predict(asked, "", api_name="/topic_briefing")["briefing"]
        assert again["cached"] is True and again["built_at"] == first["built_at"]
    # The tab's own "What's new" on the followed topic over its period: the same stored one.
    briefed = client.predict("7d", "Ferry strike", "", "", "", api_name="/brief")["briefing"]
    assert briefed["cached"] is True and briefed["built_at"] == first["built_at"]
    day = client.predict("24h", "Ferry strike", "", "", "", api_name="/brief")["briefing"]
    assert day["built_at"] is None
    assert client.predict("", api_name="/topics")["topics"][0]["built_at"] == first["built_at"]

    said, menu = client.predict("1", "", api_name="/unfollow_topic")
    assert said == "Stopped following `Ferry strike`."
    assert (menu["value"], menu["choices"]) == (None, [])
    assert client.predict("", api_name="/topics")["topics"] == []
    with pytest.raises(AppError, match="no followed topic '1'"):
        client.predict("1", "", api_name="/topic_briefing")
    said, _ = client.predict("1", "", api_name="/unfollow_topic")
    assert said.startswith("⚠ no followed topic '1'")


def test_each_collection_follows_its_own_topics(page):
    system, _, client = page
    said, menu = client.predict("Desk matters", "Last 24 hours", "desk",
                                api_name="/follow_topic")
    assert said.startswith("Following `Desk matters`")
    chosen = menu["value"]
    assert [t["topic"] for t in client.predict("desk", api_name="/topics")["topics"]] == [
        "Desk matters"]
    assert all(t["topic"] != "Desk matters"
               for t in client.predict("", api_name="/topics")["topics"])
    from rag.feeds import FeedService

    assert [t.topic for t in FeedService(system.over("desk")).topics.list()] == ["Desk matters"]
    said, _ = client.predict(chosen, "", api_name="/unfollow_topic")  # not default's topic
    assert said.startswith("⚠ no followed topic")
    said, _ = client.predict(chosen, "desk", api_name="/unfollow_topic")
    assert said == "Stopped following `Desk matters`."


@pytest.mark.browser
def test_the_topic_menu_in_chromium(page, browser):
    _, url, client = page
    client.predict("valley floods", "Last 7 days", "", api_name="/follow_topic")
    topic_id = next(t["id"] for t in client.predict("", api_name="/topics")["topics"]
                    if t["topic"] == "valley floods")
    client.predict(str(topic_id), "", api_name="/topic_briefing")  # stored, as the sync would
    with app_page(browser, url) as tab:
        tab.get_by_role("tab", name="Briefing").click()
        menu = tab.locator("#rag-topic-menu input")
        menu.click()
        tab.get_by_role("option", name=f"valley floods (the last 7d, topic {topic_id})").click()
        panel = tab.locator("#rag-briefing")
        panel.locator("li.rag-story").first.wait_for(state="visible", timeout=60_000)
        text = panel.inner_text()
        assert "What's new on valley floods, 2022-09-04 to 2022-09-11" in text
        assert "the topic's stored briefing, built " in text
        assert "flood" in text.lower()
        tab.locator("#rag-brief-topic input, #rag-brief-topic textarea").first.fill(
            "school budget")
        tab.locator("#rag-brief-since").get_by_text("Last 7 days").click()
        tab.locator("#rag-topic-follow").click()
        tab.locator("#rag-topic-status").get_by_text("Following").wait_for(timeout=30_000)
        assert "school budget (the last 7d, topic" in menu.input_value()
        tab.locator("#rag-topic-unfollow").click()
        tab.locator("#rag-topic-status").get_by_text("Stopped following").wait_for(
            timeout=30_000)
        menu.click()
        options = tab.get_by_role("option").all_inner_texts()
        assert any("valley floods" in o for o in options)
        assert not any("school budget" in o for o in options)
    assert [t["topic"] for t in client.predict("", api_name="/topics")["topics"]] == [
        "valley floods"]
