"""`rag topics follow|list|remove` and `rag brief --topic` on a followed topic, run as a user
would (subprocesses) over the made-up week of news: following, again with another period,
listing, refusing bad input by name, the stored briefing read by `rag brief` (which writes
none: it opens the index read-only), and removal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

pytestmark = pytest.mark.slow

RAG = shutil.which("rag")
ENV = {"RAG_REFERENCE_DATE": "2022-09-11"}


def rag(*args: str) -> subprocess.CompletedProcess[str]:
    command = [RAG] if RAG else [sys.executable, "-m", "rag_cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", **ENV}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)


@pytest.fixture(scope="module")
def week_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("topics") / "index"
    result = rag("ingest", str(REPO / "data" / "briefing"), "--index", str(index))
    assert result.returncode == 0 and result.stdout.startswith("added 14,"), result.stderr
    return index


def test_follow_list_and_remove(week_index: Path) -> None:
    index = ("--index", str(week_index))
    empty = rag("topics", "list", *index)
    assert empty.stdout == "no followed topics: follow one with `rag topics follow TOPIC`\n"
    followed = rag("topics", "follow", "Ferry strike", "--since", "7d", *index)
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == ("following the topic 'Ferry strike' (id 1, the last 7d); its "
                               "briefing: rag brief --topic 'Ferry strike'\n")
    rag("topics", "follow", "valley floods", *index)
    again = rag("topics", "follow", "ferry  STRIKE", "--since", "this week", *index)
    assert again.stdout.startswith("following the topic 'ferry STRIKE' (id 1, this week);")
    listed = rag("topics", "list", *index)
    assert listed.stdout == ("1\tferry STRIKE\tthis week\tbriefing not built yet\n"
                             "2\tvalley floods\tthe last 24h\tbriefing not built yet\n")

    for args, message in ((("follow", " "), "error: the topic is empty"),
                          (("follow", "x", "--since", "soon"),
                           "error: since 'soon' is neither a date (YYYY-MM-DD) nor a span"),
                          (("remove", "7"),
                           "error: no followed topic '7': `rag topics list` shows them"),
                          (("list", "--collection", "desk"), "error: no collection 'desk'")):
        refused = rag("topics", *args, *index)
        assert refused.returncode == 1 and refused.stderr.startswith(message), refused.stderr

    removed = rag("topics", "remove", "Valley Floods", *index)
    assert removed.stdout == "stopped following the topic 'valley floods'\n"
    assert rag("topics", "remove", "1", *index).stdout == (
        "stopped following the topic 'ferry STRIKE'\n")
    assert rag("topics", "list", *index).stdout.startswith("no followed topics")


def test_brief_reads_a_followed_topics_stored_briefing(week_index: Path, tmp_path: Path,
                                                      embedder) -> None:
    """`rag brief --topic` on a followed topic, over its period: built (not stored: the index
    is opened read-only) until the server or a sync stores it, then the stored one."""
    from rag import Config, RagSystem
    from rag.feeds import FollowedTopics, index_feed_store

    index = tmp_path / "index"
    shutil.copytree(week_index, index)
    args = ("--index", str(index))
    assert rag("topics", "follow", "Ferry strike", "--since", "7d", *args).returncode == 0

    built = rag("brief", "--topic", "ferry strike", "--json", *args)
    assert built.returncode == 0, built.stderr
    briefing = json.loads(built.stdout)["briefing"]
    assert (briefing["topic"], briefing["since"], briefing["until"]) == (
        "Ferry strike", "2022-09-04", "2022-09-11")
    assert briefing["cached"] is False and briefing["built_at"] and briefing["stories"]
    config = Config(index_dir=index, reference_date="2022-09-11")
    topics = FollowedTopics(RagSystem(config, embedder=embedder), index_feed_store(config))
    topic, = topics.list()
    assert topic.built_at is None  # read-only: not stored

    stored = topics.build(topic)  # what the server's background sync does
    served = rag("brief", "--topic", "ferry strike", "--json", *args)
    briefing = json.loads(served.stdout)["briefing"]
    assert briefing["cached"] is True
    assert briefing["built_at"] == stored.answer.briefing.built_at
    plain = rag("brief", "--topic", "Ferry strike", "--since", "7d", *args)
    heading, built_line = plain.stdout.splitlines()[:2]
    assert heading == "What's new on Ferry strike, 2022-09-04 to 2022-09-11"
    assert built_line.startswith("(stored briefing, built ") and built_line.endswith(" UTC)")
    day = rag("brief", "--topic", "Ferry strike", "--json", "--since", "24h", *args)
    assert json.loads(day.stdout)["briefing"]["built_at"] is None
    listed = rag("topics", "list", *args).stdout
    assert listed == (f"{topic.id}\tFerry strike\tthe last 7d\tbriefing built "
                      f"{stored.answer.briefing.built_at}\n")
