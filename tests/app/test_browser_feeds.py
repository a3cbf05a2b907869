"""The Feeds tab and the pasted links of the Articles tab in headless Chromium, against a
local feed server (tests/feedsite.py): add a feed, sync it, ask a question it answers, follow
the citation's link to the page. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from feedsite import FeedSite
from support import REPO, app_page, fetching_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def site():
    site = FeedSite(slow_s=3.0)
    yield site
    site.close()


@pytest.fixture(scope="module")
def feeds_app_url(sample_index_dir, tmp_path_factory):
    """``python app.py`` allowed to fetch from 127.0.0.1 (the feed server), over a private copy
    of the sample index."""
    with fetching_app(sample_index_dir, tmp_path_factory.mktemp("feeds-app"), 2) as url:
        yield url


@pytest.fixture
def page(browser, feeds_app_url):
    """A fresh tab on the app; fails the test if any dialog (alert) opens."""
    with app_page(browser, feeds_app_url) as page:
        yield page


def ask(page, question: str) -> None:
    page.get_by_role("tab", name="Chat").click()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")


def test_add_a_feed_sync_it_and_ask_with_a_link_to_the_page(page, site):
    feed_url = site.url("/atom.xml")
    page.get_by_role("tab", name="Feeds").click()
    page.locator("#rag-feed-url textarea, #rag-feed-url input").first.fill(feed_url)
    page.locator("#rag-feed-every textarea, #rag-feed-every input").first.fill("1h")
    page.locator("#rag-feed-add").click()
    page.locator("#rag-feed-status").get_by_text("Following").wait_for(timeout=30_000)
    table = page.locator("#rag-feeds-table")
    table.get_by_text(feed_url).filter(visible=True).first.wait_for(timeout=30_000)

    page.locator("#rag-feed-sync").click()
    # The background sync may have fetched it first: then this sync is a 304.
    page.locator("#rag-feed-status").get_by_text(
        re.compile("3 entries|not modified")).wait_for(timeout=120_000)
    status = page.locator("#rag-feed-status").inner_text()
    assert "3 entries; added 3" in status or "not modified" in status, status
    table.get_by_text("Evening Herald").filter(visible=True).first.wait_for(timeout=30_000)
    assert "ok: 3 entries" in table.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "feeds-1280x800.png")

    ask(page, "How many homes will the Kestrel Valley dam turbines supply?")
    page_url = site.url("/herald/wire-b.html")
    link = page.locator(f"#rag-sources a[href='{page_url}']").first
    link.wait_for(state="visible", timeout=60_000)
    assert "80,000 homes" in page.locator("#rag-chat").inner_text()
    assert link.get_attribute("target") == "_blank"
    page.screenshot(path=ARTIFACTS / "feeds-answer-1280x800.png")


def test_paste_links_in_the_articles_tab(page, site):
    good, pdf = site.url("/news/harbour.html"), site.url("/files/report.pdf")
    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-links textarea").fill(f"{good}\n{pdf}")
    page.locator("#rag-fetch-links").click()
    status = page.locator("#rag-status")
    status.get_by_text("added 1").wait_for(timeout=120_000)
    assert "content type application/pdf is not one of" in status.inner_text()
    page.locator("#rag-table").get_by_text("Harbour tunnel reopens after repairs").filter(
        visible=True).first.wait_for()
    ask(page, "How many vehicles used the Norrvik harbour tunnel each day?")
    page.locator(f"#rag-sources a[href='{good}']").first.wait_for(state="visible",
                                                                  timeout=60_000)


def test_a_feed_error_is_shown_in_its_row(page, site):
    page.get_by_role("tab", name="Feeds").click()
    page.locator("#rag-feed-url textarea, #rag-feed-url input").first.fill(
        site.url("/broken.xml"))
    page.locator("#rag-feed-add").click()
    page.locator("#rag-feed-status").get_by_text("Following").wait_for(timeout=30_000)
    page.locator("#rag-feed-sync").click()
    page.locator("#rag-feed-status").get_by_text("malformed feed").wait_for(timeout=120_000)
    page.locator("#rag-feeds-table").get_by_text("error:").filter(visible=True).first.wait_for(timeout=30_000)
    assert Path(ARTIFACTS).is_dir()
