"""The OpenAI-compatible chat API on a real uvicorn server, driven by the official ``openai``
client and LangChain's ``ChatOpenAI``."""

from __future__ import annotations

import re

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

    answer = system.ask(question, **kwargs)
    evidence = answer.short_answer_citation()
    return reply_content(answer.to_json(), evidence.n if evidence else None)


def test_models_lists_news_rag(client):
    assert [m.id for m in client.models.list()] == ["news-rag"]


def test_completion_carries_the_answer_sources_and_citations(client, api_system):
    response = client.chat.completions.create(
        model="news-rag", messages=[{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": QUESTION}], temperature=0.2)
    content = response.choices[0].message.content
    expected = ask_json(api_system, QUESTION)
    assert content == expected_content(api_system, QUESTION)
    assert content.startswith(f"**{expected['short_answer']}** [") and "Bushehr" in content
    assert f"\n\n{expected['answer']}\n\nSources:\n" in content
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
