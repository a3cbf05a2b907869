"""The page in headless Chromium (Debian's ``chromium``, driven by Playwright): chat, sources,
hostile-article escaping, and the layout at desktop and phone widths. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest
from support import REPO, app_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
QUESTION = "Where is the nuclear plant being built?"
HOSTILE_TAG = "<img src=x onerror=alert(1)>"
HOSTILE = (
    f"Harbour Lights Festival {HOSTILE_TAG}\n\n"
    f"The Harbour Lights festival in Vardo drew 12,000 visitors on Saturday {HOSTILE_TAG} "
    "despite the cold. <script>window.__xss = 'script'; alert(2)</script> Organisers said the "
    "fireworks started an hour late. <img src=x onerror=\"window.__xss = 'img'\">\n"
)


@pytest.fixture
def page(browser, app_url):
    """A fresh tab on the app; fails the test if any dialog (alert) opens."""
    with app_page(browser, app_url) as page:
        yield page


def ask(page, question: str) -> None:
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")


def test_short_answer_is_shown_first_in_bold_with_its_citation(browser, rules_app_url):
    with app_page(browser, rules_app_url) as page:
        ask(page, "Who is the coach of Iran's U-20 team?")
        short = page.locator("#rag-chat strong.rag-short").last
        short.wait_for(state="visible", timeout=60_000)
        assert short.inner_text().strip() == "Hossein Abdi"
        bubble = page.locator("#rag-chat .message-content, #rag-chat [data-testid='bot']").last
        assert bubble.inner_text().strip().startswith("Hossein Abdi")
        evidence = page.locator("#rag-sources mark#rag-hl-1")  # the sentence [1] quotes
        evidence.wait_for(state="visible", timeout=30_000)
        assert "Hossein Abdi" in evidence.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "chat-short-answer.png")


def test_streamed_answer_with_citation_and_highlighted_sentence(page, sample_system):
    expected = sample_system.ask(QUESTION)
    ask(page, QUESTION)
    marker = page.locator("#rag-chat sup.rag-cite").first
    marker.wait_for(state="visible", timeout=60_000)
    assert marker.inner_text().strip() == "[1]"
    highlight = page.locator("#rag-sources mark.rag-hl").first
    highlight.wait_for(state="visible", timeout=30_000)
    quotes = {c.quote for c in expected.citations}
    shown = {" ".join(m.evaluate("e => e.firstChild.textContent").split())  # text, no <sup>
             for m in page.locator("#rag-sources mark.rag-hl").all()}
    assert shown == {" ".join(q.split()) for q in quotes}
    assert "Bushehr" in page.locator("#rag-chat").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-1280x800.png")

    ask(page, "What is the price of bananas in Peru?")
    page.locator("#rag-chat .rag-abstain").wait_for(state="visible", timeout=60_000)
    page.locator("#rag-sources .rag-note").wait_for(state="visible")
    assert page.locator("#rag-sources mark.rag-hl").count() == 0
    # Clicking the first answer brings its sources back.
    first_words = " ".join(expected.citations[0].quote.split()[:5])
    page.locator("#rag-chat").get_by_text(first_words).first.click()
    page.locator("#rag-sources mark.rag-hl").first.wait_for(state="visible", timeout=30_000)


def test_hostile_article_is_shown_as_text_and_runs_nothing(page, tmp_path):
    article = tmp_path / "harbour.txt"
    article.write_text(HOSTILE)
    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(article))
    page.locator("#rag-add").click()
    page.locator("#rag-status").get_by_text("added 1").wait_for(timeout=60_000)
    page.locator("#rag-table").get_by_text("Harbour Lights Festival").first.wait_for()
    page.screenshot(path=ARTIFACTS / "articles-1280x800.png")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many visitors did the Harbour Lights festival in Vardo draw?")
    page.locator("#rag-sources mark.rag-hl").first.wait_for(state="visible", timeout=60_000)
    sources = page.locator("#rag-sources")
    assert HOSTILE_TAG in sources.inner_text()
    assert HOSTILE_TAG in page.locator("#rag-chat").inner_text()
    assert sources.locator("img, script").count() == 0
    assert page.locator("#rag-chat img[src='x'], #rag-chat script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=ARTIFACTS / "hostile-1280x800.png")


def test_phone_width_is_usable(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(app_url)
        page.get_by_text(QUESTION, exact=True).first.click()  # the example question
        page.locator("#rag-sources mark.rag-hl").first.wait_for(state="visible",
                                                                timeout=60_000)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px wide)"
        box = page.locator("#rag-question textarea").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.screenshot(path=ARTIFACTS / "chat-390.png", full_page=True)
    finally:
        context.close()


def test_two_tabs_chat_at_once(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pages = [context.new_page(), context.new_page()]
        for page in pages:
            page.goto(app_url)
            page.locator("#rag-question textarea").wait_for()
        questions = ["Who won the water polo match between Iran and Japan?",
                     "How is Iran's central bank helping merchants?"]
        for page, question in zip(pages, questions, strict=True):
            ask(page, question)
        for page, word in zip(pages, ["Japan", "Central Bank"], strict=True):
            page.locator("#rag-sources mark.rag-hl").first.wait_for(state="visible",
                                                                    timeout=60_000)
            assert word in page.locator("#rag-chat").inner_text()
            assert page.locator("#rag-chat .rag-error").count() == 0
    finally:
        context.close()


@pytest.fixture(scope="module")
def rules_app_url(sample_index_dir, tmp_path_factory):
    """``python app.py`` with the rules short-answer reader (``RAG_SHORT_READER=rules``)."""
    import os
    import shutil
    import sys

    from support import free_port, running_server

    work = tmp_path_factory.mktemp("rules-app")
    shutil.copytree(sample_index_dir, work / "index")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "RAG_SHORT_READER": "rules"}
    env.pop("RAG_AUTH", None)
    env.pop("RAG_API_KEY", None)
    argv = [sys.executable, str(REPO / "app.py"), "--port", str(free_port()), "--index",
            str(work / "index")]
    with running_server(argv, env, work / "app.log", "app.py") as url:
        yield url


def test_an_unsure_short_answer_is_not_bold_and_its_evidence_is_shown(page):
    """The default (trained) reader is not sure enough of any span for this question: the
    sentences are shown, cited, and nothing is claimed in bold."""
    ask(page, "Who is the coach of Iran's U-20 team?")
    page.locator("#rag-sources mark#rag-hl-1").wait_for(state="visible", timeout=60_000)
    assert page.locator("#rag-chat strong.rag-short").count() == 0
    assert page.locator("#rag-chat .rag-abstain").count() == 0
    assert page.locator("#rag-chat sup.rag-cite").first.inner_text().strip() == "[1]"
    assert "Hossein Abdi" in page.locator("#rag-sources mark#rag-hl-1").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-unsure-short-answer.png")


def test_undated_articles_give_a_timeline_in_the_order_they_tell_it(page, sample_system):
    """Issue 27: the sample articles carry no dates. Asked what happened, the chat shows the
    water polo article's events, each marked undated, the group-stage wins before the 16-13
    loss to Japan, the date the article states shown as stated, under the note on their order,
    each cited with its sentence highlighted in the sources. Before the tunnel's upload below."""
    question = "What happened with Iran's water polo team?"
    expected = sample_system.ask(question).timeline
    ask(page, question)
    events = page.locator("#rag-chat li.rag-event")
    events.nth(len(expected.events) - 1).wait_for(state="visible", timeout=60_000)
    assert events.count() == len(expected.events) == 5
    assert page.locator("#rag-chat li.rag-event time").count() == 0  # no day is made up
    assert page.locator("#rag-chat li.rag-event.rag-undated").count() == 5
    texts = [e.inner_text() for e in events.all()]
    assert all(t.startswith("undated ") for t in texts)
    assert "South Korea (19-6), Chinese Taipei (37-5), and Uzbekistan (33-9)" in texts[0]
    assert "second in Group B" in texts[0] and "lost to Japan 16-13" in texts[1]
    assert page.locator("#rag-chat .rag-stated-date").all_inner_texts() == ["until March 2"]
    assert "until March 2" in texts[2]
    note = page.locator("#rag-chat .rag-timeline-note").inner_text()
    assert note == expected.note and "carries no date" in note
    assert page.locator("#rag-chat ol.rag-undated-events sup.rag-cite").count() == 5
    page.locator("#rag-sources mark.rag-hl").nth(4).wait_for(state="visible", timeout=30_000)
    highlighted = {" ".join(m.evaluate("e => e.firstChild.textContent").split())
                   for m in page.locator("#rag-sources mark.rag-hl").all()}
    assert highlighted == {" ".join(e.text.split()) for e in expected.events}
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#rag-chat").screenshot(path=ARTIFACTS / "chat-undated-timeline.png")


def test_a_timeline_is_a_dated_list_in_the_chat(page):
    """Issue 27: the made-up tunnel story (data/timeline) uploaded, a question that asks what
    happened shows its dated events, oldest first, each cited, with its sources highlighted.
    Last in this module: the story stays in the app's index."""
    from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS, TUNNEL_FILE

    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(TUNNEL_FILE))
    page.locator("#rag-add").click()
    page.locator("#rag-status").get_by_text("added 8").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Chat").click()
    page.get_by_role("button", name="Settings ▼").click()
    page.locator("#rag-as-of input, #rag-as-of textarea").first.fill(TUNNEL_AS_OF)
    ask(page, "What happened with the Norrvik harbour tunnel?")
    events = page.locator("#rag-chat li.rag-event")
    events.nth(3).wait_for(state="visible", timeout=60_000)
    assert [t.inner_text() for t in page.locator("#rag-chat li.rag-event time").all()] == \
        TUNNEL_DAYS
    first = events.first.inner_text()
    assert "stated" in first and "closed on Monday" in first and "3 sources" in first
    assert page.locator("#rag-chat li.rag-event sup.rag-cite").count() == 4
    page.locator("#rag-sources mark.rag-hl").nth(3).wait_for(state="visible", timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#rag-chat").screenshot(path=ARTIFACTS / "chat-timeline.png")
