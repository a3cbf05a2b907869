"""``rag mcp`` over stdio, driven by the official ``mcp`` SDK's client."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from support import same_answer_json
from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS

pytestmark = pytest.mark.slow

QUESTION = "Where is the nuclear plant being built?"


async def _session_run(index: Path, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    rag = Path(sys.executable).with_name("rag")
    params = StdioServerParameters(command=str(rag), args=["mcp", "--index", str(index)],
                                   env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                        "PATH": os.environ.get("PATH", ""),
                                        # the checkout under test, when it is not the installed one
                                        "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    results: dict[str, Any] = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        results["tools"] = (await session.list_tools()).tools
        for name, arguments in calls:
            results.setdefault(name, []).append(await session.call_tool(name, arguments))
    return results


@pytest.fixture(scope="module")
def mcp_results(sample_index_dir, tmp_path_factory):
    index = tmp_path_factory.mktemp("mcp") / "index"
    shutil.copytree(sample_index_dir, index)
    return asyncio.run(asyncio.wait_for(_session_run(index, [
        ("ask", {"question": QUESTION, "k": 4}),
        ("search", {"query": "water polo Japan", "k": 3}),
        ("list_articles", {"limit": 5}),
        ("ask", {"question": "  "}),
        ("ask", {"question": "and the score?", "history": ["why " * 600]}),
        ("timeline", {"topic": "Iran's U-20 team at the Asian Cup"}),
    ]), timeout=240))


def test_tools_are_listed_with_descriptions_and_schemas(mcp_results):
    tools = {t.name: t for t in mcp_results["tools"]}
    assert set(tools) == {"ask", "timeline", "briefing", "search", "list_articles",
                          "list_collections", "list_topics"}
    assert "widely reported first" in tools["briefing"].description
    assert "required" not in tools["briefing"].input_schema or not tools[
        "briefing"].input_schema["required"]
    assert "oldest first" in tools["timeline"].description
    assert tools["timeline"].input_schema["required"] == ["topic"]
    assert "verified citations" in tools["ask"].description
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["ask"].output_schema is not None, "ask returns structured content"


def test_ask_returns_the_cited_answer_as_structured_content(mcp_results, sample_system):
    result = mcp_results["ask"][0]
    got = result.structured_content
    expected = sample_system.ask(QUESTION, k=4).to_json()
    assert not result.is_error and "Bushehr" in got["answer"]
    same_answer_json(got, expected)
    assert got["citations"][0]["quote"] and got["citations"][0]["verified"]


def test_search_and_list_articles(mcp_results):
    passages = mcp_results["search"][0].structured_content["passages"]
    assert len(passages) == 3 and "Water Polo" in passages[0]["title"]
    assert {"article_id", "title", "url", "published_at", "score", "text", "start",
            "end"} <= set(passages[0])
    listed = mcp_results["list_articles"][0].structured_content
    assert listed["total"] == 7 and len(listed["articles"]) == 5


def test_timeline_of_undated_articles_tells_them_in_order(mcp_results, sample_system):
    """Issue 27: the U-20 story of the undated sample corpus: the win and its scorers, then
    the coach's remarks, each undated, with the timeline's note."""
    result = mcp_results["timeline"][0]
    assert not result.is_error
    got = result.structured_content
    same_answer_json(got, sample_system.timeline("Iran's U-20 team at the Asian Cup").to_json())
    timeline = got["timeline"]
    assert timeline["note"].startswith("Undated: ")
    texts = [e["text"] for e in timeline["events"]]
    assert "Iran defeated Indonesia 3-0" in texts[0] and texts[1].startswith("Goals from")
    assert [t.split()[:2] for t in texts[2:5]] == [["Coach", "Hossein"], ["Abdi", "emphasized"],
                                                   ["He", "praised"]]
    assert {(e["day"], e["date_source"]) for e in timeline["events"]} == {(None, "undated")}


def test_bad_input_is_a_tool_error_naming_it(mcp_results):
    result = mcp_results["ask"][1]
    assert result.is_error and "question is empty" in result.content[0].text
    long_history = mcp_results["ask"][2]
    assert long_history.is_error and ("history[0] (an earlier question) is 2,399 characters "
                                      "long; the limit is 2,000") in long_history.content[0].text


@pytest.fixture(scope="module")
def tunnel_results(tmp_path_factory, embedder):
    """``rag mcp`` over the made-up tunnel story (tests/synthetic.py): a timeline, and bad
    dates."""
    from synthetic import TUNNEL_STORY

    from rag import Config, RagSystem

    index = tmp_path_factory.mktemp("mcp-tunnel") / "index"
    RagSystem(Config(index_dir=index), embedder=embedder).ingest(TUNNEL_STORY)
    return asyncio.run(asyncio.wait_for(_session_run(index, [
        ("timeline", {"topic": "Norrvik harbour tunnel", "as_of": TUNNEL_AS_OF}),
        ("timeline", {"topic": "Norrvik harbour tunnel", "since": "2022-09-10",
                      "until": "2022-09-01"}),
        ("ask", {"question": "What happened with the Norrvik harbour tunnel?",
                 "as_of": TUNNEL_AS_OF}),
    ]), timeout=240))


def test_timeline_returns_the_dated_events(tunnel_results):
    result = tunnel_results["timeline"][0]
    assert not result.is_error
    timeline = result.structured_content["timeline"]
    assert [e["day"] for e in timeline["events"]] == TUNNEL_DAYS
    assert timeline["events"][0]["sources"] == 3
    assert all(e["citation"]["verified"] for e in timeline["events"])
    told = tunnel_results["ask"][0].structured_content["timeline"]
    assert [e["day"] for e in told["events"]] == TUNNEL_DAYS


def test_timeline_bad_dates_are_a_tool_error_naming_them(tunnel_results):
    result = tunnel_results["timeline"][1]
    assert result.is_error and ("the date range is empty: since 2022-09-10 is after until "
                                "2022-09-01") in result.content[0].text


@pytest.fixture(scope="module")
def week_results(tmp_path_factory, embedder):
    """``rag mcp`` over the made-up week of news (data/briefing/week.jsonl): a briefing, and a
    bad span."""
    from support import REPO

    from rag import Config, RagSystem

    index = tmp_path_factory.mktemp("mcp-week") / "index"
    RagSystem(Config(index_dir=index), embedder=embedder).ingest_paths(
        [REPO / "data" / "briefing"])
    return asyncio.run(asyncio.wait_for(_session_run(index, [
        ("briefing", {"since": "7d", "as_of": "2022-09-11"}),
        ("briefing", {"since": "a while"}),
    ]), timeout=240))


def test_briefing_returns_the_stories(week_results):
    result = week_results["briefing"][0]
    assert not result.is_error
    briefing = result.structured_content["briefing"]
    assert (briefing["since"], briefing["until"]) == ("2022-09-04", "2022-09-11")
    assert [s["sources"] for s in briefing["stories"]][:2] == [5, 3]
    assert all(s["citation"]["verified"] for s in briefing["stories"])
    bad = week_results["briefing"][1]
    assert bad.is_error and "since 'a while' is neither a date" in bad.content[0].text
