"""The Briefing tab's feed option without a browser (fake embedder, in this process): the page
asks ``rag.feeds.brief_feed`` exactly as ``POST /v1/brief`` does, and its feed menu follows
the feeds followed. tests/app/test_browser_briefing.py drives it in Chromium."""

from __future__ import annotations

import gradio as gr
import pytest
from support import REPO

from rag import Config, RagSystem
from rag.feeds import FeedService, brief_feed
from rag.feeds.state import Item

AS_OF = "2022-09-11"


@pytest.fixture
def week(tmp_path, fake_embedder) -> FeedService:
    """The made-up week of news as of its last day, and a feed that brought in three of its
    articles."""
    system = RagSystem(Config(index_dir=tmp_path / "index", reference_date=AS_OF),
                       embedder=fake_embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    service = FeedService(system)
    feed = service.add("https://coast-news.example/rss")
    service.store.save_items([Item(feed.id, key, "f", None, key, None, 0.0)
                              for key in ("ferry-4", "storm-3", "cup")])
    return service


def test_the_page_briefs_a_feed_as_the_api_does(week: FeedService) -> None:
    from app import page_brief

    system = week.system
    first = page_brief(system, "24h", None, None, "1")
    assert first.briefing.feed == "1" and not first.briefing.cached
    again = page_brief(system, "24h", None, None, "1")
    assert again.briefing.cached and again.text == first.text
    assert again.to_json()["briefing"] == brief_feed(system, "1").to_json()["briefing"]
    sources = {i for s in first.briefing.stories for i in s.source_ids}
    assert sources == {"ferry-4", "cup"}
    week_of_feed = page_brief(system, "7d", "ferry", None, "1")
    assert not week_of_feed.briefing.cached
    assert week_of_feed.text == brief_feed(system, "1", since="7d", topic="ferry").text
    everything = page_brief(system, "24h", None, None, None)
    assert everything.briefing.feed is None
    assert everything.text == system.brief("24h").text


def test_the_feed_menu_follows_the_feeds(week: FeedService) -> None:
    from app import PageFeeds, build_app, feed_menu_updater

    refresh = feed_menu_updater(PageFeeds(week.system, week))
    menu = refresh("1")
    assert isinstance(menu, gr.Dropdown) and menu.value == "1"
    assert [value for _, value in menu.choices] == ["", "1"]
    second = week.add("https://herald.example/atom")
    assert [value for _, value in refresh("1").choices] == ["", "1", str(second.id)]
    week.remove("1")
    menu = refresh("1")
    assert menu.value == "" and [value for _, value in menu.choices] == ["", str(second.id)]

    demo = build_app(week.system, feeds=week)
    menus = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown)
             and b.elem_id == "rag-brief-feed"]
    # Built with no feed: the page's first state goes to every login (its `/config`), and the
    # first collection's feeds are not every key's; the page's load fills the login's.
    assert len(menus) == 1 and menus[0].value == ""
    assert [value for _, value in menus[0].choices] == [""]
