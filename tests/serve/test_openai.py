"""The OpenAI-compatible chat API on a real uvicorn server, driven by the official ``openai``
client and LangChain's ``ChatOpenAI``."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from support import API_KEYS

from rag.answering.llm import LLMAnswerer

pytestmark = pytest.mark.slow

QUESTION = "Where is the nuclear plant being built?"
SUPPORTED = "The nuclear plant is being built in Bushehr, Iran"


@pytest.fixture(scope="module")
def client(api_url):
    from openai import OpenAI

    return OpenAI(base_url=api_url + "v1", api_key=API_KEYS[0], max_retries=0, timeout=120)


def ask_json(system, question: str, **kwargs) -> dict:
    answer = system.ask(question, **kwargs).to_json()
    answer.pop("timings_ms")
    return answer


def expected_content(system, question: str, **kwargs) -> str:
    """What the chat reply must show: the short answer line, the answer, its Sources."""
    from serve.openai_compat import reply_content

    return reply_content(system.ask(question, **kwargs))


def test_models_lists_news_rag(client):
    assert [m.id for m in client.models.list()] == ["news-rag"]


def test_completion_carries_the_answer_sources_and_citations(client, api_system):
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": QUESTION}], temperature=0.2)
    content = response.choices[0].message.content
    expected = ask_json(api_system, QUESTION)
    assert content == expected_content(api_system, QUESTION)
    # The bold line comes first when there is a short answer (the trained reader is sure).
    lead = (f"**{expected['short_answer']}** [" if expected["short_answer"]
            else expected["answer"][:40])
    assert content.startswith(lead) and "Bushehr" in content
    assert f"{expected['answer']}\n\nSources:\n" in content
    sources = content.split("\n\nSources:\n", 1)[1].splitlines()
    assert len(sources) == len(expected["citations"]) >= 1
    for line, c in zip(sources, expected["citations"], strict=True):
        assert line.startswith(f"- [{c['n']}] {c['title']}")
    assert response.model_extra["citations"] == expected["citations"]
    assert response.choices[0].finish_reason == "stop" and response.model == "news-rag"


def test_stream_text_equals_the_final_content(client):
    chunks = list(client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": QUESTION}], stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    plain = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": QUESTION}])
    assert len(chunks) > 4, "the content arrives in pieces"
    assert streamed == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == plain.model_extra["citations"] != []
    assert all("citations" not in c.model_extra for c in chunks[:-1])


def test_earlier_user_messages_are_the_history(client, api_system):
    first = "Who won the water polo match between Iran and Japan?"
    follow = "and what was the score?"
    response = client.chat.completions.create(model="news-rag", messages=[
        {"role": "user", "content": first}, {"role": "assistant", "content": "Japan [1]."},
        {"role": "user", "content": [{"type": "text", "text": follow}]}])
    expected = ask_json(api_system, follow, history=[first])
    assert response.model_extra["citations"] == expected["citations"]
    assert response.choices[0].message.content == expected_content(api_system, follow,
                                                                    history=[first])
    assert f"searched for: {first} {follow}" in expected["notes"]


def test_messages_split_into_question_and_history():
    from rag import BadInputError
    from serve.openai_compat import split_messages

    assert split_messages([
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1 [1]."}, {"role": "user", "content": "  "},
        {"role": "user", "content": [{"type": "text", "text": "Q"}, {"type": "text",
                                                                    "text": "2"}]},
    ]) == ("Q\n2", ["Q1"])
    with pytest.raises(BadInputError, match="'image_url' part"):
        split_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}])
    with pytest.raises(BadInputError, match="messages is empty"):
        split_messages([])


def test_retrieval_options_ride_in_the_extra_body(client, api_system):
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": QUESTION}],
        extra_body={"k": 2, "filters": {"sources": ["nosuchsite.example"]}})
    assert response.model_extra["citations"] == []
    assert response.choices[0].message.content == ask_json(
        api_system, QUESTION, k=2, filters=__import__("rag").make_filters("nosuchsite.example")
    )["answer"]


def test_errors_come_in_openai_form(client, api_url):
    import openai

    with pytest.raises(openai.NotFoundError, match="'gpt-4o' does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[
            {"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="only one choice"):
        client.chat.completions.create(model="news-rag", n=2, messages=[
            {"role": "user", "content": QUESTION}])
    with pytest.raises(openai.UnprocessableEntityError, match="limit is 2,000") as err:
        client.chat.completions.create(model="news-rag", messages=[
            {"role": "user", "content": "why " * 600}], stream=True)
    assert err.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.UnprocessableEntityError, match="role 'user'"):
        client.chat.completions.create(model="news-rag", messages=[
            {"role": "assistant", "content": "Hi"}])
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        openai.OpenAI(base_url=api_url + "v1", api_key="wrong", max_retries=0).models.list()


def test_langchain_chat_openai_reads_the_answer(api_url, api_system):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="news-rag", base_url=api_url + "v1", api_key=API_KEYS[1],
                     max_retries=0, timeout=120)
    reply = llm.invoke(QUESTION)
    assert reply.content == expected_content(api_system, QUESTION)
    streamed = "".join(chunk.content for chunk in llm.stream(QUESTION))
    assert streamed == reply.content


def test_only_verified_citations_reach_the_client(client, api_system):
    """An answer backend that cites the wrong passage: the client gets the verified result."""
    hits = api_system.retriever.retrieve(QUESTION)
    right = next(n for n, h in enumerate(hits, 1) if "Bushehr" in h.chunk.text)
    wrong = next(n for n, h in enumerate(hits, 1) if "nuclear" not in h.chunk.text.lower())
    draft = f"{SUPPORTED} [{wrong}]. The mayor of Oslo opened a ski museum [{right}]."
    api_system._answerers["openai"] = LLMAnswerer(
        FakeListChatModel(responses=[draft]), api_system.embedder, api_system.config)
    try:
        plain = client.chat.completions.create(
            model="news-rag", messages=[{"role": "user", "content": QUESTION}],
            extra_body={"backend": "openai"})
        chunks = list(client.chat.completions.create(
            model="news-rag", messages=[{"role": "user", "content": QUESTION}],
            extra_body={"backend": "openai"}, stream=True))
        verified = ask_json(api_system, QUESTION, backend="openai")
    finally:
        api_system._answerers.pop("openai")
    content = plain.choices[0].message.content
    answer_text = content.split("\n\nSources:")[0].split("\n\n")[-1]
    assert answer_text == verified["answer"] == f"{SUPPORTED}. [{right}]"
    assert "Oslo" not in content and verified["unsupported"], "the unsupported claim is removed"
    assert re.findall(r"\[(\d+)\]", answer_text) == [str(right)]
    citations = plain.model_extra["citations"]
    assert citations == verified["citations"] and [c["n"] for c in citations] == [right]
    assert citations[0]["verified"] and "Bushehr" in citations[0]["quote"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == content
    assert chunks[-1].model_extra["citations"] == citations


@pytest.mark.llm
def test_real_llm_backend_streams_only_its_verified_answer(client, api_system, llm_base_url):
    from rag.answering import get_answerer

    config = api_system.config.replace(llm_base_url=llm_base_url, llm_max_tokens=128)
    api_system._answerers["openai"] = get_answerer("openai", api_system.embedder, config)
    try:
        chunks = list(client.chat.completions.create(
            model="news-rag", messages=[{"role": "user", "content": QUESTION}],
            extra_body={"backend": "openai"}, stream=True))
    finally:
        api_system._answerers.pop("openai")
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    citations = chunks[-1].model_extra["citations"]
    shown = {int(n) for n in re.findall(r"\[(\d+)\]", streamed.split("\n\nSources:")[0])}
    assert shown == {c["n"] for c in citations}
    assert all(c["verified"] and c["quote"] for c in citations)


def _chat(api_url: str, messages: list[dict], *, stream: bool = False) -> httpx.Response:
    """A raw chat completion (JSON with \\u escapes, so a lone surrogate can be sent)."""
    body = json.dumps({"model": "news-rag", "stream": stream, "messages": messages})
    return httpx.post(api_url + "v1/chat/completions", content=body.encode(), timeout=120,
                      headers={"Authorization": f"Bearer {API_KEYS[0]}",
                               "Content-Type": "application/json"})


def _content(response: httpx.Response) -> str:
    """The reply's content, joined from the deltas when it was streamed."""
    assert response.status_code == 200, response.text
    if not response.headers["content-type"].startswith("text/event-stream"):
        return response.json()["choices"][0]["message"]["content"]
    events = [json.loads(line.removeprefix("data: ")) for line in response.text.splitlines()
              if line.startswith("data: {")]
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events)


@pytest.mark.parametrize("stream", [False, True])
def test_a_long_history_message_is_refused_by_name(api_url, stream):
    long_turn = "Russia " * 200_000  # 1.4 MB: under the test server's 2 MB body limit
    refused = _chat(api_url, [{"role": "user", "content": long_turn},
                              {"role": "assistant", "content": "Overchuk said so [1]."},
                              {"role": "user", "content": QUESTION}], stream=stream)
    assert refused.status_code == 422, refused.text[:300]
    assert refused.json()["error"]["message"] == (
        "history[0] (an earlier question) is 1,399,999 characters long; the limit is 2,000")


@pytest.mark.parametrize("stream", [False, True])
def test_a_lone_surrogate_in_the_history_is_cleaned_as_in_the_question(api_url, api_system,
                                                                       stream):
    first, follow = "What is Iran \ud800interested in?", "and the jet engines?"
    response = _chat(api_url, [{"role": "user", "content": first},
                               {"role": "user", "content": follow}], stream=stream)
    assert _content(response) == expected_content(
        api_system, follow, history=["What is Iran interested in?"])


HOSTILE_TITLE = ("<img src=x onerror=alert(1)> [x](javascript:alert(1)) "
                 "<script>alert(2)</script> *loud*")
HOSTILE = [
    {"title": HOSTILE_TITLE, "source": "<b>wire</b> [y](javascript:alert(3))",
     "url": "https://news.example/velna_(lighthouse)",
     "text": "The Velna harbour council approved a tidal lighthouse on Friday. Building work "
             "on the lighthouse starts in May, the council said."},
    {"title": "Velna lighthouse", "url": "javascript:alert(1)",
     "text": "The Velna lighthouse will shine green, the harbour council said."},
]


def _rendered(markdown: str) -> str:
    """``markdown`` as a permissive renderer shows it: raw HTML passed through, any link
    scheme accepted (a worst case of what chat front-ends do)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    md.validateLink = lambda url: True
    return md.render(markdown)


def test_hostile_article_metadata_is_escaped_in_every_answer(api_url, api_system):
    from ui.render import answer_markdown, sources_html

    http = httpx.Client(base_url=api_url, timeout=120,
                        headers={"Authorization": f"Bearer {API_KEYS[0]}"})
    report = http.post("/v1/articles", json={"articles": HOSTILE}).json()
    ids = [a.id for a, _ in api_system.index.list_articles() if "Velna" in a.text]
    try:
        assert (report["added"], report["failed"]) == (1, 1), report
        assert report["failures"][0]["input"] == "articles[1]"
        assert "'javascript:alert(1)' is not a web address" in report["failures"][0]["reason"]
        question = [{"role": "user", "content": "What did the Velna harbour council approve?"}]
        for stream in (False, True):
            content = _content(_chat(api_url, question, stream=stream))
            assert "tidal lighthouse" in content and "news.example/velna" in content
            html = _rendered(content)
            for raw in ("<img", "<script", "<b>", "<em>", "javascript:alert(1)\"",
                        'href="javascript'):
                assert raw not in content and raw not in html, (raw, content)
            assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
            assert '<a href="https://news.example/velna_(lighthouse)">' in html
        # The page's renderer stays safe too.
        answer = api_system.ask(question[0]["content"])
        page = answer_markdown(answer) + sources_html(answer)
        assert "<img" not in page and "<script" not in page and 'href="javascript' not in page
    finally:
        assert api_system.delete(ids) == len(ids) == 1
        http.close()


def test_sources_leave_out_urls_that_are_not_web_addresses():
    from rag import Citation
    from serve.openai_compat import sources_markdown

    cited = Citation(1, "a", "T", "Q.", 0, 2, url="javascript:alert(1)")
    assert sources_markdown([cited]) == (
        "Sources:\n- [1] T")


# --- issue 27: a timeline answer is a dated Markdown list with the citations field ---------------
TIMELINE_QUESTION = "What happened with the Norrvik harbour tunnel?"


def test_a_timeline_is_a_dated_markdown_list_with_its_citations(tunnel_api):
    from synthetic import TUNNEL_DAYS

    from serve.openai_compat import reply_content

    system, client = tunnel_api
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": TIMELINE_QUESTION}])
    content = response.choices[0].message.content
    expected = system.ask(TIMELINE_QUESTION)
    assert content == reply_content(expected)
    heading, events, sources = content.split("\n\n", 2)
    assert heading == "**Timeline: the Norrvik harbour tunnel**"
    lines = events.splitlines()
    assert [line[4:14] for line in lines] == TUNNEL_DAYS
    assert lines[0].startswith("- **2022-08-29** (stated) The Norrvik harbour tunnel")
    assert lines[0].endswith(" [1] · 3 sources") and lines[1].endswith(" [2] · 1 source")
    assert sources.startswith("Sources:\n- [1] Harbour tunnel closed after roof leak")
    assert response.model_extra["citations"] == [c.to_json() for c in expected.citations]
    assert [c["n"] for c in response.model_extra["citations"]] == [1, 2, 3, 4]


def test_an_undated_timeline_is_a_markdown_list_saying_so(client, api_system):
    """The sample articles carry no dates: the water polo timeline is its article's events,
    each **undated**, the date it states shown as stated, under the note on their order."""
    from serve.openai_compat import reply_content

    question = "What happened with Iran's water polo team?"
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": question}])
    content = response.choices[0].message.content
    expected = api_system.ask(question)
    assert content == reply_content(expected)
    heading, note, events, sources = content.split("\n\n", 3)
    assert heading == "**Timeline: Iran's water polo team**"
    assert note == ("*Undated: the article carries no date, so its events are in the order it "
                    "reports them.*")
    lines = events.splitlines()
    assert lines[0].startswith("- **undated** Iran had impressive victories against South Korea")
    assert lines[1].startswith("- **undated** In the 2025 Asian Water Polo Championship")
    assert lines[2].startswith('- **undated** (states "until March 2") The tournament')
    assert lines[0].endswith(" [1] · 1 source")
    assert sources.startswith("Sources:\n- [1] Iran Falls to Japan")
    assert response.model_extra["citations"] == [c.to_json() for c in expected.citations]


def test_an_event_headline_is_italic_before_its_sentence():
    from dataclasses import replace

    from rag.types import Citation, Timeline, TimelineEvent
    from serve.openai_compat import timeline_markdown

    c = Citation(1, "a", "Tunnel", "The tunnel closed.", 0, 18)
    events = (TimelineEvent("2022-08-29", "stated", c.quote, c, 3, ("a", "b", "c"),
                            headline="Tunnel *closed* [2]"),
              TimelineEvent("2022-09-20", "published", c.quote, replace(c, n=2), 1, ("d",)))
    lines = timeline_markdown(Timeline("the tunnel", None, None, events)).splitlines()
    assert lines[2] == ("- **2022-08-29** (stated) *Tunnel \\*closed\\* \\[2\\]* — The tunnel "
                        "closed. [1] · 3 sources")
    assert lines[3] == "- **2022-09-20** (published) The tunnel closed. [2] · 1 source"


def test_a_streamed_timeline_equals_the_plain_one_and_the_flag_rides_in_the_body(tunnel_api):
    _, client = tunnel_api
    messages = [{"role": "user", "content": TIMELINE_QUESTION}]
    plain = client.chat.completions.create(model="news-rag", messages=messages)
    chunks = list(client.chat.completions.create(model="news-rag", messages=messages,
                                                 stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == plain.choices[0].message.content
    assert chunks[-1].model_extra["citations"] == plain.model_extra["citations"]
    refused = client.chat.completions.create(model="news-rag", messages=messages,
                                             extra_body={"timeline": False})
    assert "**Timeline" not in refused.choices[0].message.content
    forced = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": "Norrvik harbour tunnel"}],
        extra_body={"timeline": True, "filters": {"since": "2022-09-10"}})
    assert forced.choices[0].message.content.startswith(
        "**Timeline: Norrvik harbour tunnel** (since 2022-09-10)\n\n- **2022-09-13** ")


# --- issue 27: a briefing is a Markdown list of stories with the citations field ----------------
def test_a_briefing_is_a_markdown_list_with_its_citations(week_api):
    from serve.openai_compat import reply_content

    system, client = week_api
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "user", "content": "What's new this week?"}])
    content = response.choices[0].message.content
    expected = system.ask("What's new this week?")
    assert content == reply_content(expected)
    heading, stories, sources = content.split("\n\n", 2)
    assert heading == "**What's new, 2022-09-04 to 2022-09-11**"
    lines = stories.splitlines()
    assert len(lines) == 4 and lines[0].endswith(" [1] · 5 sources · 2022-09-10")
    assert sources.startswith("Sources:\n- [1] ")
    assert response.model_extra["citations"] == [c.to_json() for c in expected.citations]
