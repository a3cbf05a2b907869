"""The page's collection pickers in headless Chromium: the header's Collection picker switches
the Articles tab (and its stats) to the collection picked, and the Chat's "Ask in" picker
chooses the collections asked, one or several as one ranking. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from support import REPO, app_page, free_port, running_server

from rag import Config, RagSystem
from rag.articles import Article

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
CRANE = Article(title="Harbour crane collapses at Port Kessel", published_at="2025-03-03",
                source="kessel.example",
                text="A harbour crane collapsed at Port Kessel on Monday. Dockworkers said the "
                     "crane had been inspected in January. The port authority closed berth "
                     "seven while engineers examine the crane's foundations.")
QUESTION = "Why did the port authority close berth seven at Port Kessel?"


@pytest.fixture(scope="module")
def desk_app_url(sample_index_dir, tmp_path_factory, embedder):
    """``python app.py`` over a copy of the sample index (the default collection) with a
    collection `desk` holding one article."""
    work = tmp_path_factory.mktemp("collections-app")
    index = work / "index"
    shutil.copytree(sample_index_dir, index)
    RagSystem(Config(index_dir=index), embedder=embedder).create_collection("desk").ingest(
        [CRANE])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    for name in ("RAG_AUTH", "RAG_API_KEY", "RAG_COLLECTIONS"):
        env.pop(name, None)
    argv = [sys.executable, str(REPO / "app.py"), "--port", str(free_port()), "--index",
            str(index)]
    with running_server(argv, env, work / "app.log", "app.py") as url:
        yield url


def pick(page, picker: str, name: str) -> None:
    """Choose ``name`` in the dropdown ``picker`` (an element id)."""
    page.locator(f"#{picker} input").first.click()
    page.get_by_role("option", name=name, exact=True).first.click()


def shown(where, text: str) -> None:
    """Wait until ``text`` is visible in ``where`` (a Dataframe also keeps hidden copies)."""
    where.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=30_000)


def ask(page, question: str) -> None:
    page.get_by_role("tab", name="Chat").click()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")


def test_the_collection_picker_switches_the_articles_tab(browser, desk_app_url):
    with app_page(browser, desk_app_url) as page:
        page.get_by_role("tab", name="Articles").click()
        table = page.locator("#rag-table")
        shown(table, "Iran Falls to Japan")
        pick(page, "rag-collection", "desk")
        shown(table, CRANE.title)
        page.wait_for_function(
            "() => !document.querySelector('#rag-table').innerText.includes('Iran Falls')",
            timeout=30_000)
        assert "1 articles" in " ".join(page.locator("#rag-stats").inner_text().split())
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "collections-articles.png", full_page=True)
        pick(page, "rag-collection", "default")
        shown(table, "Iran Falls to Japan")


def test_the_chat_asks_the_collections_picked(browser, desk_app_url):
    with app_page(browser, desk_app_url) as page:
        ask(page, QUESTION)  # the default collection alone: the crane is not in it
        page.locator("#rag-sources .rag-source, #rag-sources li").first.wait_for(
            timeout=60_000)
        page.wait_for_timeout(500)
        assert "Port Kessel" not in page.locator("#rag-sources").inner_text()

        pick(page, "rag-ask-collections", "desk")  # default and desk, one ranking
        ask(page, QUESTION + " Where is the nuclear plant being built?")
        sources = page.locator("#rag-sources")
        sources.get_by_text(CRANE.title).filter(visible=True).first.wait_for(timeout=60_000)
        meta = sources.locator(".rag-meta").all_inner_texts()
        assert any(m.startswith("desk") for m in meta), meta  # each source says its collection
        assert any(m.startswith("default") for m in meta), meta
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "collections-chat.png", full_page=True)
