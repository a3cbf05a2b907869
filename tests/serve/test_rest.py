"""The REST routes on a real uvicorn server, over plain HTTP (httpx)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from support import API_KEYS

from rag.answering.base import Answerer

pytestmark = pytest.mark.slow

QUESTION = "Where is the nuclear plant being built?"
NEW_ARTICLE = {"title": "Lisbon opens a tide-powered ferry line",
               "text": "Lisbon opened a ferry line powered by tidal turbines on Monday. The "
                       "ferries cross the Tagus every twenty minutes.",
               "url": "https://news.example/lisbon-ferry", "source": "news.example",
               "published_at": "2026-11-30"}


@pytest.fixture(scope="module")
def http(api_url):
    with httpx.Client(base_url=api_url, timeout=120,
                      headers={"Authorization": f"Bearer {API_KEYS[0]}"}) as client:
        yield client


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"], body
    return body["error"]["message"]


def test_ask_returns_the_json_contract(http, api_system):
    got = http.post("/v1/ask", json={"question": QUESTION, "k": 4}).json()
    expected = api_system.ask(QUESTION, k=4).to_json()
    assert "Bushehr" in got["answer"] and got["citations"]
    assert {"short_answer", "short_answer_score"} <= set(got)
    got.pop("timings_ms")
    expected.pop("timings_ms")
    assert got == expected


def test_ask_with_filters_history_and_as_of(http, api_system):
    from rag import make_filters

    body = {"question": "and the jet engines?", "history": ["What is Iran interested in?"],
            "filters": {"since": "2020-01-01", "sources": []}, "as_of": "2026-01-01"}
    got = http.post("/v1/ask", json=body).json()
    expected = api_system.ask("and the jet engines?", history=body["history"],
                              filters=make_filters(since="2020-01-01"),
                              reference_date="2026-01-01").to_json()
    assert got["answer"] == expected["answer"] and got["citations"] == expected["citations"]
    assert "searched for: What is Iran interested in? and the jet engines?" in got["notes"]


def test_bad_input_is_named(http):
    too_long = http.post("/v1/ask", json={"question": "why " * 600})
    assert too_long.status_code == 422 and "limit is 2,000" in error_of(too_long)
    long_history = http.post("/v1/ask", json={"question": QUESTION, "history": ["why " * 600]})
    assert long_history.status_code == 422 and error_of(long_history) == (
        "history[0] (an earlier question) is 2,399 characters long; the limit is 2,000")
    empty = http.post("/v1/ask", json={"question": "  "})
    assert empty.status_code == 422 and "question is empty" in error_of(empty)
    bad_k = http.post("/v1/ask", json={"question": QUESTION, "k": 0})
    assert bad_k.status_code == 422 and error_of(bad_k).startswith("k: ")
    unknown = http.post("/v1/ask", json={"question": QUESTION, "top_p": 1})
    assert unknown.status_code == 422 and "top_p" in error_of(unknown)
    bad_date = http.post("/v1/ask", json={"question": QUESTION, "filters": {"since": "soon"}})
    assert bad_date.status_code == 422 and "filters.since" in error_of(bad_date)
    not_json = http.post("/v1/ask", content=b"{oops", headers={"content-type":
                                                              "application/json"})
    assert not_json.status_code == 422 and error_of(not_json)
    nowhere = http.get("/v1/nowhere")
    assert nowhere.status_code == 404 and "/v1/nowhere" in error_of(nowhere)


def test_ingest_json_list_ask_delete(http):
    report = http.post("/v1/articles", json={"articles": [NEW_ARTICLE, {"title": "Empty",
                                                                         "text": "   "}]})
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["added"], body["failed"]) == (1, 1) and body["chunks"] >= 1
    assert body["failures"][0]["input"] == "articles[1]" and "no text" in body["failures"][0][
        "reason"]
    listed = http.get("/v1/articles").json()["data"]
    new = next(a for a in listed if a["url"] == NEW_ARTICLE["url"])
    assert listed[0] == new, "newest first"
    assert (new["title"], new["published_at"], new["source"]) == (
        NEW_ARTICLE["title"], "2026-11-30", "news.example")
    answer = http.post("/v1/ask", json={"question": "What powers the Lisbon ferries?"}).json()
    assert answer["citations"][0]["article_id"] == new["id"]
    again = http.post("/v1/articles", json={"articles": [NEW_ARTICLE]}).json()
    assert again["skipped"] == 1 and again["added"] == 0
    assert http.delete(f"/v1/articles/{new['id']}").json() == {"id": new["id"], "deleted": True}
    assert new["id"] not in {a["id"] for a in http.get("/v1/articles").json()["data"]}
    gone = http.delete(f"/v1/articles/{new['id']}")
    assert gone.status_code == 404 and new["id"] in error_of(gone)


def test_ingest_uploaded_files(http, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({**NEW_ARTICLE, "url": "https://news.example/ferry-2",
                                "title": "Porto copies the tidal ferry"}) + "\n")
    page = tmp_path / "note.txt"
    page.write_text("Harbour notes\n\nThe Porto harbour master approved two tidal ferries.")
    files = [("files", (p.name, p.read_bytes())) for p in (feed, page)]
    files += [("files", ("slides.pdf", b"%PDF-1.4")), ("files", ("broken.json", b"{oops"))]
    body = http.post("/v1/articles", files=files).json()
    assert (body["added"], body["failed"]) == (2, 2), body
    reasons = {f["input"]: f["reason"] for f in body["failures"]}
    assert set(reasons) == {"slides.pdf", "broken.json"}, "named as uploaded, no temp path"
    assert "unsupported file type .pdf" in reasons["slides.pdf"]
    assert "malformed JSON" in reasons["broken.json"]
    titles = {a["title"]: a["id"] for a in http.get("/v1/articles").json()["data"]}
    assert {"Porto copies the tidal ferry", "Harbour notes"} <= set(titles)
    for title in ("Porto copies the tidal ferry", "Harbour notes"):
        assert http.delete(f"/v1/articles/{titles[title]}").status_code == 200


def test_oversize_requests_are_refused_with_the_limit(http):
    # The test server allows 2 MB bodies and 1 MB files.
    big_file = http.post("/v1/articles", files=[("files", ("big.txt", b"word " * 300_000))])
    assert big_file.status_code == 413
    assert "big.txt" in error_of(big_file) and "1 MB upload limit" in error_of(big_file)
    big_body = http.post("/v1/ask", json={"question": "x" * 3_000_000})
    assert big_body.status_code == 413 and "2 MB request body limit" in error_of(big_body)

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(30):
            yield b"x" * 100_000

    streamed = http.post("/v1/ask", content=chunked(),
                         headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "request body limit" in error_of(streamed)
    many = http.post("/v1/articles", content=b"[" + b"1," * 10 + b"1]",
                     headers={"content-type": "text/csv"})
    assert many.status_code == 415 and "text/csv" in error_of(many)


def test_auth_refused_and_accepted(api_url, http):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": API_KEYS[0]}):
        refused = httpx.get(api_url + "v1/stats", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "invalid_api_key"
    missing = httpx.post(api_url + "v1/ask", json={"question": QUESTION})
    assert "Missing API key" in error_of(missing)
    second = httpx.get(api_url + "v1/stats",
                       headers={"Authorization": f"Bearer {API_KEYS[1]}"}).json()
    assert second["articles"] == 7 and second["model"] == "all-MiniLM-L6-v2+onnx-int8"
    assert httpx.get(api_url + "healthz").json() == {"status": "ok"}, "no key needed"


def test_openapi_schema_lists_the_routes(api_url, http):
    schema = http.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/ask", "/v1/articles",
            "/v1/articles/{article_id}", "/v1/stats", "/healthz"} <= set(schema["paths"])
    ingest = schema["paths"]["/v1/articles"]["post"]["requestBody"]["content"]
    assert set(ingest) == {"application/json", "multipart/form-data"}
    assert "text" in ingest["application/json"]["schema"]["properties"]["articles"]["items"][
        "required"]
    assert http.get("/docs").status_code == 200
    answer = schema["components"]["schemas"]["AnswerResponse"]["properties"]
    assert {"short_answer", "short_answer_score"} <= set(answer)
    for path in ("openapi.json", "docs"):  # with a key set, the docs need it too
        assert httpx.get(api_url + path).status_code == 401


class BrokenAnswerer(Answerer):
    """An answer backend with a bug."""

    def answer(self, question, hits):
        raise RuntimeError("secret detail")


def test_a_backend_bug_is_a_json_500_without_a_traceback(http, api_system):
    api_system._answerers["llamacpp"] = BrokenAnswerer()
    try:
        failed = http.post("/v1/ask", json={"question": QUESTION, "backend": "llamacpp"})
        with http.stream("POST", "/v1/chat/completions", json={
                "model": "news-rag", "stream": True, "backend": "llamacpp",
                "messages": [{"role": "user", "content": QUESTION}]}) as stream:
            events = [line for line in stream.iter_lines() if line]
    finally:
        api_system._answerers.pop("llamacpp")
    assert failed.status_code == 500
    assert re.fullmatch(r"internal error \(RuntimeError, ref \w{6}\); see the server log",
                        error_of(failed))
    assert "Traceback" not in failed.text and "secret detail" not in failed.text
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2].removeprefix("data: "))["error"]["type"] == "server_error"


def test_an_answer_backend_the_server_cannot_run_is_a_400(sample_index_dir, embedder, tmp_path):
    """A request for an LLM backend whose package or model this server lacks: a 400 naming the
    backend (no server path), plain or streamed; other backends still answer."""
    from rag import Config, RagSystem
    from serve.api import create_api
    from serve.server import start

    missing = tmp_path / "secret-models" / "none.gguf"
    system = RagSystem(Config(index_dir=sample_index_dir, llm_gguf_path=str(missing)),
                       embedder=embedder, create=False)
    server = start(create_api(system))
    try:
        ask = httpx.post(server.url + "v1/ask", timeout=120,
                         json={"question": QUESTION, "backend": "llamacpp"})
        chat = httpx.post(server.url + "v1/chat/completions", timeout=120, json={
            "model": "news-rag", "stream": True, "backend": "llamacpp",
            "messages": [{"role": "user", "content": QUESTION}]})
        fine = httpx.post(server.url + "v1/ask", timeout=120, json={"question": QUESTION})
    finally:
        server.stop()
    for refused in (ask, chat):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == {
            "message": "the answer backend 'llamacpp' is not available on this server (see its "
                       "log); ask with another backend",
            "type": "invalid_request_error", "param": "backend", "code": "backend_unavailable"}
    assert fine.status_code == 200 and "Bushehr" in fine.json()["answer"]


def test_a_busy_index_is_a_503_naming_no_path(sample_index_dir, embedder, tmp_path):
    """A write while another process holds the index's write lock past ``lock_timeout_s``:
    503 ``index_busy`` (the index's path only in the log); the articles stay as they were."""
    import shutil

    from filelock import FileLock

    from rag import Config, RagSystem
    from serve.api import create_api
    from serve.server import start

    index = tmp_path / "secret-place" / "index"
    shutil.copytree(sample_index_dir, index)
    system = RagSystem(Config(index_dir=index, lock_timeout_s=0.5), embedder=embedder,
                       create=False)
    server = start(create_api(system))
    article = {"title": "Held", "text": "A writer holds this index for a while longer."}
    try:
        with FileLock(str(index / "write.lock")):  # another writer (fcntl: another descriptor)
            busy = httpx.post(server.url + "v1/articles", json={"articles": [article]},
                              timeout=60)
        listed = httpx.get(server.url + "v1/articles", timeout=60).json()
    finally:
        server.stop()
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"]["code"] == "index_busy"
    assert "secret-place" not in busy.text
    assert len(listed["data"]) == 7


QUESTION_OF_A_STORY = "What happened with the Norrvik harbour tunnel?"


def test_ask_carries_a_timeline_answer_s_events(tunnel_api):
    """Issue 27: ``/v1/ask`` returns ``Answer.to_json()``, the timeline's events in it."""
    system, client = tunnel_api
    url, auth = str(client.base_url) + "ask", {"Authorization": f"Bearer {API_KEYS[0]}"}
    response = httpx.post(url, timeout=120, headers=auth, json={"question": QUESTION_OF_A_STORY})
    assert response.status_code == 200, response.text
    got, expected = response.json(), system.ask(QUESTION_OF_A_STORY).to_json()
    got.pop("timings_ms"), expected.pop("timings_ms")
    assert got == expected and len(got["timeline"]["events"]) == 4
    bad = httpx.post(url, timeout=120, headers=auth,
                     json={"question": QUESTION_OF_A_STORY, "timeline": "often"})
    assert bad.status_code == 422 and "timeline" in bad.text


@pytest.mark.parametrize(("question", "first", "then"), [
    ("What happened with Iran's water polo team?", "Iran had impressive victories",
     "narrowly lost to Japan 16-13"),
    ("Give me a timeline of Iran's U-20 team at the Asian Cup", "Iran defeated Indonesia 3-0",
     "Goals from Hesam Nafari"),
])
def test_ask_carries_an_undated_timeline(http, api_system, question, first, then):
    """Issue 27: the sample articles carry no dates; ``/v1/ask`` returns their story's undated
    events in the order the article tells them, with the timeline's note."""
    got = http.post("/v1/ask", json={"question": question}).json()
    expected = api_system.ask(question).to_json()
    got.pop("timings_ms"), expected.pop("timings_ms")
    assert got == expected
    timeline = got["timeline"]
    assert timeline["note"].startswith("Undated: the article carries no date")
    events = timeline["events"]
    assert {(e["day"], e["date_source"]) for e in events} == {(None, "undated")}
    assert first in events[0]["text"] and then in events[1]["text"]
    assert all(e["citation"]["verified"] for e in events)
    assert [e["citation"] for e in events] == got["citations"]


def test_ask_and_brief_carry_a_briefing(week_api):
    """Issue 27: "What's new?" to ``/v1/ask``, and ``/v1/brief``, return ``Answer.to_json()``
    with the briefing's stories in it; bad input is a 422 naming it."""
    system, client = week_api
    auth = {"Authorization": f"Bearer {API_KEYS[0]}"}
    base = str(client.base_url)
    response = httpx.post(base + "ask", timeout=120, headers=auth,
                          json={"question": "What's new this week?"})
    assert response.status_code == 200, response.text
    got, expected = response.json(), system.ask("What's new this week?").to_json()
    got.pop("timings_ms"), expected.pop("timings_ms")
    assert got == expected and got["briefing"]["stories"][0]["sources"] == 5
    brief = httpx.post(base + "brief", timeout=120, headers=auth,
                       json={"since": "7d", "topic": "flooded valley farms"})
    assert brief.status_code == 200, brief.text
    got, expected = brief.json(), system.brief("7d", topic="flooded valley farms").to_json()
    got.pop("timings_ms"), expected.pop("timings_ms")
    assert got == expected and got["briefing"]["topic"] == "flooded valley farms"
    bad = httpx.post(base + "brief", timeout=120, headers=auth, json={"since": "a while"})
    assert bad.status_code == 422 and "since 'a while' is neither a date" in bad.text
    unauthorized = httpx.post(base + "brief", timeout=120, json={})
    assert unauthorized.status_code == 401


def test_brief_reads_one_followed_feeds_articles(week_api):
    """``/v1/brief`` with ``feed``: only the articles that feed brought in (as ``rag brief
    --feed``); an unknown feed is a 422 naming it."""
    from rag.feeds import index_feed_store
    from rag.feeds.state import Item

    system, client = week_api
    auth = {"Authorization": f"Bearer {API_KEYS[0]}"}
    base = str(client.base_url)
    store = index_feed_store(system.config)
    feed = store.add("https://coast-news.example/rss", every_s=1800)
    store.save_items([Item(feed.id, f"e{i}", "f", None, article_id, None, 0.0)
                      for i, article_id in enumerate(("storm-1", "storm-3"))])
    response = httpx.post(base + "brief", timeout=120, headers=auth,
                          json={"since": "7d", "feed": str(feed.id)})
    assert response.status_code == 200, response.text
    briefing = response.json()["briefing"]
    assert briefing["feed"] == str(feed.id)
    assert {i for s in briefing["stories"] for i in s["source_ids"]} == {"storm-1", "storm-3"}
    unknown = httpx.post(base + "brief", timeout=120, headers=auth,
                         json={"since": "7d", "feed": "nope"})
    assert unknown.status_code == 422 and "no followed feed 'nope'" in unknown.text
