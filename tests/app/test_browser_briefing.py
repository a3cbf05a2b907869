"""The Briefing tab in headless Chromium: a made-up week of news (data/briefing/week.jsonl)
uploaded, "What's new" over the last 7 days lists its stories, the most widely reported first,
each a cited sentence with its sources, and the sources panel shows what they cite."""

from __future__ import annotations

import pytest
from support import REPO, app_page

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
