"""The real app (``python app.py``) driven over HTTP with gradio_client."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import same_answer_json

pytestmark = pytest.mark.slow

QUESTION = "Where is the nuclear plant being built?"


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _ingest(client, *paths):
    from gradio_client import handle_file

    status, table, stats = client.predict([handle_file(str(p)) for p in paths],
                                          api_name="/ingest")
    return status, table["data"], stats


def _delete(client, article_id: str) -> str:
    return client.predict(article_id, api_name="/delete")[0]


def test_ask_api_returns_the_answer_json_contract(client, sample_system):
    got = client.predict(QUESTION, api_name="/ask")
    expected = sample_system.ask(QUESTION).to_json()
    assert got["citations"], got
    assert "Bushehr" in got["answer"]
    same_answer_json(got, expected)


def test_ask_api_reports_bad_input(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="question is empty"):
        client.predict("   ", api_name="/ask")


def test_chat_streams_the_answer_then_shows_sources(client):
    job = client.submit(QUESTION, 4, "extractive", api_name="/chat")
    updates = list(job)
    messages, sources, _ = job.result()
    assert len(updates) > 3, "the answer arrives in several updates"
    shown = [u[0][-1]["content"][0]["text"] for u in updates if u and u[0]]
    # The stages as they end: searching, then the passages being read, then the answer.
    assert any(re.search(r"Reading \d+ passages", text) for text in shown), shown[:3]
    answer = messages[-1]["content"][0]["text"]
    assert 'class="rag-cite"' in answer and "Bushehr" in answer
    assert '<mark class="rag-hl"' in sources
    assert sources.count("<li") == 4, "k=4 passages: cited ones, then the rest folded"


def test_chat_filters_by_source_and_date_and_names_a_bad_date(client):
    def last_message(*settings: str) -> str:
        messages, _, _ = client.predict(QUESTION, 4, "extractive", *settings, api_name="/chat")
        return messages[-1]["content"][0]["text"]

    # The sample articles have no source: a source filter leaves nothing to cite.
    filtered = last_message("nosuchsite.example", "", "", "")
    assert "none of the retrieved passages answers" in filtered and "Bushehr" not in filtered
    assert "Bushehr" in last_message("", "", "", "2026-01-01")  # undated articles stay
    bad_since = last_message("", "soon", "", "")
    assert "Published since" in bad_since and "is not a date" in bad_since
    assert "is not a date" in last_message("", "", "", "someday")


@pytest.mark.llm
def test_chat_streams_an_llm_answer(app_url, llm_base_url):
    from gradio_client import Client

    job = Client(app_url, verbose=False).submit(QUESTION, 4, "openai", api_name="/chat")
    updates = list(job)
    messages, sources, _ = job.result()
    assert len(updates) > 2
    assert "rag-error" not in messages[-1]["content"][0]["text"]
    assert 'class="rag-sources"' in sources


def test_follow_up_in_the_chat_searches_with_the_previous_question(app_url):
    from gradio_client import Client

    chat = Client(app_url, verbose=False)  # its own session: a conversation of its own
    chat.predict("What are Russia and Iran cooperating on?", 4, "extractive", api_name="/chat")
    messages, _, _ = chat.predict("and the jet engines?", 4, "extractive", api_name="/chat")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    last = messages[-1]["content"][0]["text"]
    assert "Jet Engines" in last
    assert ("searched for: What are Russia and Iran cooperating on? and the jet engines?"
            in last)


def test_a_refused_question_is_not_history_for_the_next(app_url):
    from gradio_client import Client

    chat = Client(app_url, verbose=False)
    refused, _, _ = chat.predict("why " * 600, 4, "extractive", api_name="/chat")
    assert "limit is 2,000" in refused[-1]["content"][0]["text"]
    messages, _, _ = chat.predict(QUESTION, 4, "extractive", api_name="/chat")
    last = messages[-1]["content"][0]["text"]
    assert "Bushehr" in last and "rag-error" not in last


def test_upload_ask_delete(client, tmp_path):
    article = tmp_path / "zephyr.txt"
    article.write_text("Zephyr Glacier Museum Opens in Tromso\n\n"
                       "The Zephyr Glacier Museum opened in Tromso on 3 March 2025 with an ice "
                       "tunnel 400 metres long. Its director, Ingrid Solheim, said the museum "
                       "expects 80,000 visitors a year.\n")
    status, rows, stats = _ingest(client, article)
    assert "added 1" in status
    row = next(r for r in rows if r[0].startswith("Zephyr Glacier Museum"))
    article_id = row[-1]
    assert "**8** articles" in stats

    question = "How long is the ice tunnel of the Zephyr Glacier Museum?"
    answer = client.predict(question, api_name="/ask")
    assert answer["citations"][0]["article_id"] == article_id
    assert "400 metres" in answer["citations"][0]["quote"]

    assert _delete(client, article_id) == "Deleted 1 of 1 article(s)."
    after = client.predict(question, api_name="/ask")
    assert all(c["article_id"] != article_id for c in after["citations"])
    assert all(p["article_id"] != article_id for p in after["passages"])


def test_reuploading_an_edited_file_replaces_its_article(client, tmp_path):
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    name = "harbour-ferry.txt"
    (first / name).write_text("Harbour Ferry Timetable Changes\n\nThe harbour ferry will leave "
                              "every 40 minutes from Pier 7 starting in April.\n")
    (second / name).write_text("Harbour Ferry Timetable Changes\n\nThe harbour ferry will leave "
                               "every 25 minutes from Pier 9 starting in May.\n")
    status, rows, _ = _ingest(client, first / name)
    assert "added 1" in status
    status, rows, _ = _ingest(client, second / name)
    assert "updated 1" in status
    ferries = [r for r in rows if r[0].startswith("Harbour Ferry Timetable")]
    assert len(ferries) == 1
    answer = client.predict("How often will the harbour ferry leave?", api_name="/ask")
    quotes = " ".join(c["quote"] for c in answer["citations"])
    assert "25 minutes" in quotes and "40 minutes" not in quotes
    assert _delete(client, ferries[0][-1]) == "Deleted 1 of 1 article(s)."


def test_one_bad_file_does_not_stop_the_others(client, tmp_path):
    good = tmp_path / "tidal.md"
    good.write_text("# Tidal Kites Fly Over Lisbon\n\nA festival of tidal kites opened in "
                    "Lisbon, drawing kite makers from nine countries.\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    other = tmp_path / "slides.pdf"
    other.write_bytes(b"%PDF-1.4")
    status, rows, _ = _ingest(client, broken, good, other)
    status = status.replace("\\", "")  # Markdown escapes
    assert "added 1" in status
    assert "broken.json" in status and "slides.pdf" in status and "unsupported" in status
    article_id = next(r[-1] for r in rows if r[0].startswith("Tidal Kites"))
    assert _delete(client, article_id).startswith("Deleted 1")


def test_questions_while_an_upload_is_ingested(client, tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"market-{i}.txt"
        path.write_text(f"Night Market Report {i}\n\n" + " ".join(
            f"Stall {j} of night market {i} sold lanterns and spiced tea until midnight."
            for j in range(12)))
        paths.append(path)
    done = threading.Event()
    answers: list[dict] = []

    def ask_until_done() -> None:
        while not done.is_set():
            answers.append(client.predict(QUESTION, api_name="/ask"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        askers = [pool.submit(ask_until_done) for _ in range(2)]
        try:
            status, rows, _ = _ingest(client, *paths)
        finally:
            done.set()
        for f in askers:
            f.result()  # re-raises any request error
    assert "added 6" in status
    assert answers and all("Bushehr" in a["answer"] for a in answers)
    for row in rows:
        if row[0].startswith("Night Market Report"):
            _delete(client, row[-1])


def test_example_questions_all_get_cited_answers(client):
    from ui import EXAMPLE_QUESTIONS

    for question in EXAMPLE_QUESTIONS:
        answer = client.predict(question, api_name="/ask")
        assert not answer["abstained"] and answer["citations"], question


def test_parse_auth():
    from serve.limits import parse_auth

    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("ana:pa:ss") == ("ana", "pa:ss")
    with pytest.raises(ValueError, match="user:password"):
        parse_auth("ana")


def test_one_settings_object_reads_the_server_environment():
    from app import read_settings

    env = {"RAG_HOST": "0.0.0.0", "RAG_PORT": "8123", "RAG_AUTH": "ana:pw",
           "RAG_API_KEY": "k1,k2", "RAG_MAX_UPLOAD_MB": "3", "RAG_MAX_UPLOAD_CHARS": "900"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        _args, settings = read_settings(["--port", "9000"])
    assert (settings.host, settings.port, settings.auth) == ("0.0.0.0", 9000, ("ana", "pw"))
    assert settings.api_keys == ("k1", "k2")
    assert (settings.max_upload_mb, settings.max_upload_chars) == (3, 900)


def test_a_bad_setting_stops_the_app_with_one_line_naming_it(tmp_path):
    import os
    import subprocess
    import sys

    from support import REPO

    env = {**os.environ, "RAG_TOP_K": "0", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(REPO / "app.py"), "--index", str(tmp_path / "i")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: top_k must be a whole number >= 1; got 0" in done.stderr
    assert not (tmp_path / "i").exists()


def test_the_chat_shows_a_timeline_event_by_event(client):
    """Issue 27: a question that asks what happened gets the story's dated events, oldest
    first, each cited, growing an event at a time; the articles are removed after."""
    from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS, TUNNEL_FILE, TUNNEL_STORY

    status, _, _ = _ingest(client, TUNNEL_FILE)
    assert f"added {len(TUNNEL_STORY)}" in status
    try:
        job = client.submit("What happened with the Norrvik harbour tunnel?", 6, "extractive",
                            "", "", "", TUNNEL_AS_OF, api_name="/chat")
        updates = list(job)
        messages, sources, _ = job.result()
    finally:
        for article in TUNNEL_STORY:
            _delete(client, article.id)
    answer = messages[-1]["content"][0]["text"]
    assert 'class="rag-timeline"' in answer
    assert re.findall(r'<time datetime="([\d-]+)">', answer) == TUNNEL_DAYS
    assert answer.count('class="rag-cite"') == 4 and "3 sources" in answer
    growing = [u[0][-1]["content"][0]["text"].count('<li class="rag-event">')
               for u in updates if u and u[0] and "rag-timeline" in
               u[0][-1]["content"][0]["text"]]
    assert growing[:4] == [1, 2, 3, 4]
    assert sources.count('<mark class="rag-hl"') == 4
