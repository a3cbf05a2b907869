"""The Briefing tab in headless Chromium: a made-up week of news (data/briefing/week.jsonl)
uploaded, "What's new" over the last 7 days lists its stories, the most widely reported first,
each a cited sentence with its sources, and the sources panel shows what they cite; "Since I
last checked" over a reload; and the briefing of one followed feed (a local feed server,
tests/feedsite.py), its menu following the Feeds tab."""

from __future__ import annotations

import pytest
from feedsite import FeedSite
from support import REPO, app_page, fetching_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
WEEK = REPO / "data" / "briefing" / "week.jsonl"


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url) as page:
        yield page


def test_the_briefing_tab_lists_the_weeks_stories_cited_most_reported_first(page):
    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(WEEK))
    page.locator("#rag-add").click()
    page.locator("#rag-status").get_by_text("added").wait_for(timeout=60_000)

    page.get_by_role("tab", name="Briefing").click()
    page.locator("#rag-brief-since").get_by_text("Last 7 days").click()
    page.locator("#rag-brief-as-of input, #rag-brief-as-of textarea").first.fill("2022-09-11")
    page.locator("#rag-brief-go").click()
    stories = page.locator("#rag-briefing li.rag-story")
    stories.nth(2).wait_for(state="visible", timeout=60_000)

    first = stories.first.inner_text()
    assert "ferry" in first.lower() and "5 sources" in first
    reach = [int(s.inner_text().split(" source")[0]) for s in
             page.locator("#rag-briefing li.rag-story .rag-reach").all()]
    assert reach == sorted(reach, reverse=True) and len(reach) >= 3
    assert page.locator("#rag-briefing li.rag-story sup.rag-cite").count() == stories.count()
    # The undated sample articles and the August article are outside the week.
    assert "water polo" not in page.locator("#rag-briefing").inner_text().lower()
    page.locator("#rag-brief-sources mark.rag-hl").first.wait_for(state="visible",
                                                                 timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "briefing-tab.png")



def brief_since_last_checked(page) -> str:
    page.get_by_role("tab", name="Briefing").click()
    page.locator("#rag-brief-since").get_by_text("Since I last checked").click()
    page.locator("#rag-brief-as-of input, #rag-brief-as-of textarea").first.fill("")
    page.locator("#rag-brief-go").click()
    panel = page.locator("#rag-briefing")
    panel.locator(".rag-abstain, li.rag-story").first.wait_for(state="visible", timeout=60_000)
    return panel.inner_text()


def test_since_i_last_checked_reads_from_the_day_this_browser_last_asked(page):
    """A browser's first briefing has nothing to go back to: the last 24 hours, said so. The
    page keeps the day of each briefing (in the browser's localStorage, across reloads): the
    next one reads from it."""
    from datetime import date

    first = brief_since_last_checked(page)
    assert "first briefing asked from this browser" in first
    page.reload()
    page.locator("#rag-question textarea").wait_for()
    again = brief_since_last_checked(page)
    assert "first briefing" not in again
    assert f"from {date.today().isoformat()}" in again  # the window starts on the day kept


@pytest.fixture(scope="module")
def site():
    site = FeedSite(slow_s=3.0)
    yield site
    site.close()


@pytest.fixture
def feeds_page(browser, sample_index_dir, tmp_path_factory):
    """A tab on ``python app.py`` allowed to fetch from the feed server, over a private copy
    of the sample index (undated: never in a briefing's window)."""
    with fetching_app(sample_index_dir, tmp_path_factory.mktemp("brief-feeds"), 2) as url, \
            app_page(browser, url) as page:
        yield page


def follow(page, url: str) -> None:
    page.locator("#rag-feed-url textarea, #rag-feed-url input").first.fill(url)
    page.locator("#rag-feed-add").click()
    page.locator("#rag-feed-status").get_by_text(url).wait_for(timeout=30_000)


def feed_menu(page) -> list[str]:
    """The Briefing tab's feed menu, opened: its choices' labels (then closed)."""
    page.get_by_role("tab", name="Briefing").click()
    page.locator("#rag-brief-feed input").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=30_000)
    labels = [o.inner_text().replace("✓", "").strip() for o in options.all()]
    page.keyboard.press("Escape")
    return labels


def brief_of(page, choice: str) -> str:
    """The briefing of the last 24 hours of ``choice`` (a feed's label, or All articles): the
    panel's text once its heading is another than before (each call here asks for another)."""
    page.get_by_role("tab", name="Briefing").click()
    page.locator("#rag-brief-since").get_by_text("Last 24 hours").click()
    page.locator("#rag-brief-feed input").click()
    page.get_by_role("option").filter(has_text=choice).first.click()
    panel = page.locator("#rag-briefing")
    head = panel.locator(".rag-briefing-head")
    before = head.inner_text() if head.count() else ""
    page.locator("#rag-brief-go").click()
    page.wait_for_function(
        "([el, old]) => { const h = el.querySelector('.rag-briefing-head');"
        " return h && h.innerText !== old && el.querySelector('li.rag-story'); }",
        arg=[panel.element_handle(), before], timeout=60_000)
    return panel.inner_text()


def test_the_briefing_of_one_followed_feed_and_its_menu(feeds_page, site):
    """Two feeds followed and synced on the Feeds tab: the Briefing tab's menu lists them; one
    feed's briefing holds only its articles (the one its sync stored), all articles hold both
    feeds'; a feed removed leaves the menu."""
    page = feeds_page
    assert feed_menu(page) == ["All articles"]
    page.get_by_role("tab", name="Feeds").click()
    follow(page, site.url("/rss.xml"))
    follow(page, site.url("/atom.xml"))
    assert feed_menu(page) == ["All articles", f"{site.url('/rss.xml')} (feed 1)",
                               f"{site.url('/atom.xml')} (feed 2)"]
    page.get_by_role("tab", name="Feeds").click()
    page.locator("#rag-feed-selected input, #rag-feed-selected textarea").first.fill("")
    page.locator("#rag-feed-sync").click()
    # Both feeds synced (by this click or the background sync first): their titles are known.
    page.locator("#rag-feeds-table").get_by_text("Evening Herald").filter(
        visible=True).first.wait_for(timeout=120_000)
    page.locator("#rag-feeds-table").get_by_text("Daily Tidings").filter(
        visible=True).first.wait_for(timeout=120_000)
    assert feed_menu(page) == ["All articles", "Daily Tidings (feed 1)",
                               "Evening Herald (feed 2)"]

    herald = brief_of(page, "Evening Herald (feed 2)")
    assert "from feed 2" in herald and "the feed's stored briefing, built" in herald
    assert "turbine" in herald.lower() or "ferr" in herald.lower()
    assert "harbour tunnel" not in herald.lower()  # Daily Tidings' story only
    assert "orchard" not in herald.lower()  # the Herald's, but 40 days old
    page.locator("#rag-brief-sources mark.rag-hl").first.wait_for(state="visible",
                                                                 timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "briefing-feed.png")

    everything = brief_of(page, "All articles")
    assert "from feed" not in everything and "stored" not in everything
    assert "harbour tunnel" in everything.lower()

    page.get_by_role("tab", name="Feeds").click()
    page.locator("#rag-feed-selected input, #rag-feed-selected textarea").first.fill("2")
    page.locator("#rag-feed-remove").click()
    page.locator("#rag-feed-status").get_by_text("Stopped following").wait_for(timeout=30_000)
    assert feed_menu(page) == ["All articles", "Daily Tidings (feed 1)"]
