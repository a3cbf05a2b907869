"""The `rag` command, run as a user would: a real subprocess over real indexes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from embeddings import DEFAULT_BACKEND, model_identity

pytestmark = pytest.mark.slow

RAG = shutil.which("rag")
QUESTION = "Where is the nuclear plant being built?"
SAMPLE = REPO / "data" / "sample"

MODEL = model_identity("all-MiniLM-L6-v2", DEFAULT_BACKEND)  # what new indexes record


def rag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [RAG] if RAG else [sys.executable, "-m", "rag_cli"]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=full_env,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)


@pytest.fixture(scope="module")
def cli_index(sample_index_dir: Path, tmp_path_factory) -> Path:
    """A private copy of the sample index for this module's commands to write to."""
    path = tmp_path_factory.mktemp("cli") / "index"
    shutil.copytree(sample_index_dir, path)
    return path


@pytest.fixture(scope="module")
def intact_index(sample_index_dir: Path, tmp_path_factory) -> Path:
    """Another copy of the sample index, never written to: for commands whose output depends
    on all seven articles being there (``test_delete`` removes one from ``cli_index``)."""
    path = tmp_path_factory.mktemp("cli-intact") / "index"
    shutil.copytree(sample_index_dir, path)
    return path


def test_console_script_is_installed() -> None:
    assert RAG, "the `rag` console script is not on PATH: pip install -e ."


def test_ingest_reports_added_and_skipped_files(tmp_path: Path) -> None:
    news = tmp_path / "news"
    (news / "sub").mkdir(parents=True)
    (news / "storm.txt").write_text("Storm floods towns\n\nA storm flooded three towns.",
                                    encoding="utf-8")
    (news / "sub" / "rates.md").write_text("# Bank raises rates\n\nRates rose half a point.",
                                           encoding="utf-8")
    (news / "broken.json").write_text("[{", encoding="utf-8")
    index = tmp_path / "index"
    first = rag("ingest", str(news), "--index", str(index))
    assert first.returncode == 0, first.stderr
    assert "added 2, updated 0, skipped 0 unchanged, failed 1" in first.stdout
    assert "skipped" in first.stderr and "broken.json" in first.stderr
    assert "malformed JSON" in first.stderr
    assert "Traceback" not in first.stderr
    assert (index / "store.sqlite").exists() and (index / "vectors.faiss").exists()


def test_ask_prints_answer_and_numbered_sources(cli_index: Path) -> None:
    result = rag("ask", QUESTION, "--index", str(cli_index))
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "Bushehr" in answer and "[1]" in answer
    assert sources.startswith("[1] Russia and Iran Explore Strategic Partnership")
    assert "Bushehr" in sources  # the quoted sentence


def test_ask_json_follows_the_contract(cli_index: Path) -> None:
    result = rag("ask", "--json", QUESTION, "--index", str(cli_index))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data["answer"], str) and "Bushehr" in data["answer"]
    assert data["abstained"] is False
    assert isinstance(data["timings_ms"], dict)
    assert all(isinstance(v, float | int) for v in data["timings_ms"].values())
    citation_types = {"n": int, "article_id": str, "title": str, "url": (str, type(None)),
                      "published_at": (str, type(None)), "quote": str}
    passage_types = {"article_id": str, "title": str, "score": float, "text": str}
    assert data["citations"] and data["passages"]
    for c in data["citations"]:
        for key, kind in citation_types.items():
            assert isinstance(c[key], kind), (key, c[key])
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    for p in data["passages"]:
        for key, kind in passage_types.items():
            assert isinstance(p[key], kind), (key, p[key])
    assert data["citations"][0]["title"].startswith("Russia and Iran")


def test_stats(cli_index: Path) -> None:
    from rag.index import open_index

    index = open_index("faiss", cli_index, model=MODEL, dimension=384)
    expected = index.stats()
    index.close()
    result = rag("stats", "--index", str(cli_index))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert int(lines["articles"]) == expected.articles >= 6
    assert int(lines["chunks"]) == expected.chunks >= expected.articles
    assert lines["model"].strip() == f"{MODEL} (384 dims)"


def test_reading_commands_do_not_load_the_model(cli_index: Path) -> None:
    """stats, list and delete embed nothing, so torch is never imported (seconds saved)."""
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom rag_cli.main import app\n"
            "for args in (['stats'], ['list'], ['delete', 'no-such-id']):\n"
            f"    r = CliRunner().invoke(app, [*args, '--index', {str(cli_index)!r}])\n"
            "    print(args[0], r.exit_code, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120, check=False)
    assert out.stdout.split("\n")[:3] == ["stats 0 False", "list 0 False", "delete 1 False"], (
        out.stdout + out.stderr)


def test_delete(cli_index: Path) -> None:
    from rag.index import open_index

    index = open_index("faiss", cli_index, model=MODEL, dimension=384)
    victim = next(a.id for a, _ in index.list_articles() if a.title.startswith("Iran Falls"))
    index.close()
    result = rag("delete", victim, "missing-id", "--index", str(cli_index))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deleted 1 article(s); 1 not found"
    index = open_index("faiss", cli_index, model=MODEL, dimension=384)
    assert index.get_article(victim) is None and index.chunks_of(victim) == []
    assert index.stats().articles == 6
    index.close()


@pytest.mark.parametrize(("args", "env", "message"), [
    (("ask", "   "), {}, "error: the question is empty"),
    (("stats",), {"RAG_TOP_K": "0"}, "error: top_k must be a whole number >= 1; got 0"),
])
def test_user_error_is_one_line_and_exit_1(cli_index: Path, args: tuple[str, ...],
                                           env: dict[str, str], message: str) -> None:
    result = rag(*args, "--index", str(cli_index), env=env)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert errors == [errors[0]] and errors[0].startswith(message), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# --- issue 26: arguments are checked before any model loads; no progress bar off a terminal ---
BAD_ARGUMENTS = [
    (("ask", ""), "error: the question is empty: type a question about the articles"),
    (("ask", QUESTION, "--as-of", "2025-13-40"),
     "error: reference date '2025-13-40' is not a date: write it as YYYY-MM-DD"),
    (("ask", QUESTION, "--backend", "gpt"),
     "error: unknown answer backend 'gpt'; choose one of extractive, openai, llamacpp"),
    (("ingest", "no-such-folder"), "error: no such file or folder: no-such-folder"),
    (("timeline", "the tunnel", "--since", "2022-13-01"),
     "error: --since date '2022-13-01' is not a date: write it as YYYY-MM-DD"),
    (("timeline", "the tunnel", "--since", "2022-09-10", "--until", "2022-09-01"),
     "error: the date range is empty: since 2022-09-10 is after until 2022-09-01"),
    (("timeline", " "), "error: the question is empty: type a question about the articles"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS)
def test_a_bad_argument_is_named_before_the_model_loads(tmp_path: Path, args: tuple[str, ...],
                                                        message: str) -> None:
    index = tmp_path / "index"
    result = rag(*args, "--index", str(index))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [message], result.stderr  # no "Loading weights" bar
    assert result.stdout == "" and not index.exists()


def test_bad_arguments_load_no_model(tmp_path: Path) -> None:
    """Neither torch nor onnxruntime (the embedding model's runtimes) is imported to refuse
    them: the refusal takes a second, not the model's load."""
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom rag_cli.main import app\n"
            f"for args in {[list(args) for args, _ in BAD_ARGUMENTS]!r}:\n"
            f"    r = CliRunner().invoke(app, [*args, '--index', {str(tmp_path / 'i')!r}])\n"
            "    print(r.exit_code, 'torch' in sys.modules, 'onnxruntime' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120,
                         check=False)
    assert out.stdout.splitlines() == ["1 False False"] * len(BAD_ARGUMENTS), (
        out.stdout + out.stderr)


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """The torch backend loads its weights with transformers, which draws a "Loading weights"
    bar; with stderr sent to a pipe (as here) nothing but real messages reaches it."""
    index, torch_env = str(tmp_path / "index"), {"RAG_EMBEDDING_BACKEND": "torch"}
    ingest = rag("ingest", str(SAMPLE), "--index", index, env=torch_env)
    assert ingest.returncode == 0 and ingest.stdout.startswith("added 7,"), ingest.stderr
    answer = rag("ask", QUESTION, "--index", index, env=torch_env)
    assert answer.returncode == 0 and "Bushehr" in answer.stdout, answer.stderr
    for result in (ingest, answer):
        assert result.stderr == "", result.stderr


# --- issue 17: a missing or damaged index is named ----------------------------------------------
@pytest.mark.parametrize("args", [("ask", QUESTION), ("stats",), ("list",), ("delete", "x1"),
                                  ("mcp",)])
def test_a_typo_in_index_is_named_and_creates_nothing(tmp_path: Path,
                                                      args: tuple[str, ...]) -> None:
    typo = tmp_path / "indx"
    result = rag(*args, "--index", str(typo))
    assert result.returncode == 1
    assert f"error: no index at {typo}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "articles don't say" not in result.stdout
    assert not typo.exists()


def test_ingest_still_creates_a_new_index(tmp_path: Path) -> None:
    story = tmp_path / "storm.txt"
    story.write_text("Storm floods towns\n\nA storm flooded three towns.", encoding="utf-8")
    result = rag("ingest", str(story), "--index", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    assert "added 1" in result.stdout


@pytest.mark.parametrize(("damage", "message"), [
    ("lost store", "store.sqlite (its articles) is missing"),
    ("garbage store", "not a readable SQLite database"),
    ("a file", "is a file, not an index folder"),
])
def test_a_damaged_index_is_named_and_left_alone(sample_index_dir: Path, tmp_path: Path,
                                                 damage: str, message: str) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index_dir, index)
    if damage == "lost store":
        (index / "store.sqlite").unlink()
    elif damage == "garbage store":
        (index / "store.sqlite").write_bytes(b"\x00garbage" * 512)
    else:
        index = tmp_path / "notes.txt"
        index.write_text("not an index", encoding="utf-8")
    def files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in index.iterdir() if p.is_file()}

    before = files() if index.is_dir() else None
    for args in (("stats",), ("list",), ("ingest", str(SAMPLE))):
        result = rag(*args, "--index", str(index))
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    if before is not None:
        assert files() == before


def test_list_prints_no_terminal_escapes(sample_index_dir: Path, tmp_path: Path) -> None:
    """An index built before titles were cleaned still prints safely."""
    import sqlite3

    index = tmp_path / "index"
    shutil.copytree(sample_index_dir, index)
    with sqlite3.connect(index / "store.sqlite") as db:
        db.execute("UPDATE articles SET title=? WHERE rowid=1",
                   ("Evil\x1b]0;pwned\x07\x1b[2J \u202etitle",))
    result = rag("list", "--index", str(index))
    assert result.returncode == 0, result.stderr
    assert "Evil]0;pwned[2J title" in result.stdout
    assert not any(ch in result.stdout for ch in "\x1b\x07\u202e")


def test_ask_prints_no_link_that_is_not_a_web_address(sample_index_dir: Path,
                                                      tmp_path: Path) -> None:
    """An index built before urls were checked prints its javascript: url nowhere; ingest now
    refuses one by name."""
    import sqlite3

    index = tmp_path / "index"
    shutil.copytree(sample_index_dir, index)
    with sqlite3.connect(index / "store.sqlite") as db:
        db.execute("UPDATE articles SET url=?", ("javascript:alert(1)",))
    result = rag("ask", QUESTION, "--index", str(index))
    assert result.returncode == 0 and "Bushehr" in result.stdout, result.stderr
    assert "javascript:" not in result.stdout
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"title": "Storm", "text": "A storm hit the coast.",
                                "url": "javascript:alert(1)"}) + "\n", encoding="utf-8")
    ingest = rag("ingest", str(feed), "--index", str(index))
    assert ingest.returncode == 1 and "added 0" in ingest.stdout
    assert "'javascript:alert(1)' is not a web address" in ingest.stderr


# --- issue 27: timelines ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tunnel_index(tmp_path_factory) -> Path:
    """The made-up tunnel story (data/timeline/tunnel.jsonl) ingested by `rag ingest`, as the
    README does."""
    index = tmp_path_factory.mktemp("tunnel") / "index"
    result = rag("ingest", str(REPO / "data" / "timeline"), "--index", str(index))
    assert result.returncode == 0 and result.stdout.startswith("added 8,"), result.stderr
    return index


def test_timeline_prints_the_dated_events_and_their_sources(tunnel_index: Path) -> None:
    from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS

    result = rag("timeline", "Norrvik harbour tunnel", "--since", "2022-08-01", "--as-of",
                 TUNNEL_AS_OF, "--index", str(tunnel_index))
    assert result.returncode == 0, result.stderr
    heading, events, sources = result.stdout.split("\n\n", 2)
    assert heading == "Timeline: Norrvik harbour tunnel (since 2022-08-01)"
    lines = events.splitlines()
    assert [line[2:12] for line in lines] == TUNNEL_DAYS
    assert lines[0].startswith("- 2022-08-29 (stated): ") and lines[0].endswith(
        "[1] (3 sources)")
    assert sources.startswith("Sources:\n[1] Harbour tunnel closed after roof leak")
    assert result.stderr == ""


def test_an_event_headline_is_printed_before_its_sentence(capsys) -> None:
    from rag.timeline.build import timeline_text
    from rag.types import Answer, Citation, Timeline, TimelineEvent
    from rag_cli.main import _print

    c = Citation(1, "a", "Tunnel", "The tunnel closed.", 0, 18)
    timeline = Timeline("the tunnel", None, None, (TimelineEvent(
        "2022-08-29", "stated", c.quote, c, 3, ("a", "b", "c"), headline="Tunnel closed"),))
    _print(Answer(question="q", text=timeline_text(timeline), citations=[c], backend="openai",
                  timeline=timeline))
    heading, events, _ = capsys.readouterr().out.split("\n\n", 2)
    assert heading == "Timeline: the tunnel"
    assert events == ("- 2022-08-29 (stated): Tunnel closed — The tunnel closed. [1] "
                      "(3 sources)")


def test_timeline_json_carries_the_timeline(tunnel_index: Path) -> None:
    from synthetic import TUNNEL_AS_OF, TUNNEL_DAYS

    result = rag("timeline", "Norrvik harbour tunnel", "--json", "--as-of", TUNNEL_AS_OF,
                 "--index", str(tunnel_index))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    timeline = data["timeline"]
    assert (timeline["topic"], timeline["since"], timeline["until"]) == (
        "Norrvik harbour tunnel", None, None)
    assert [e["day"] for e in timeline["events"]] == TUNNEL_DAYS
    assert [e["citation"] for e in timeline["events"]] == data["citations"]
    assert data["short_answer"] is None and data["abstained"] is False


def test_ask_prints_a_timeline_when_asked_what_happened(tunnel_index: Path) -> None:
    from synthetic import TUNNEL_AS_OF

    question = "What happened with the Norrvik harbour tunnel?"
    told = rag("ask", question, "--as-of", TUNNEL_AS_OF, "--index", str(tunnel_index))
    assert told.returncode == 0, told.stderr
    assert told.stdout.startswith("Timeline: the Norrvik harbour tunnel\n\n- 2022-08-29 ")
    # The undated history of the tunnel is left out, and the note says so.
    assert told.stderr.startswith("note: left out: 1 event with no date")
    plain = rag("ask", question, "--no-timeline", "--as-of", TUNNEL_AS_OF, "--index",
                str(tunnel_index))
    assert plain.returncode == 0 and "Timeline" not in plain.stdout and "- 2022" not in \
        plain.stdout


# --- issue 27: undated timelines over the sample corpus -----------------------------------------
def test_timeline_of_an_undated_story_prints_it_in_the_order_it_is_told(intact_index: Path) -> None:
    """The sample articles carry no dates: the water polo timeline is its article's events,
    each saying it is undated, the group-stage wins before the loss to Japan, the date the
    article states shown as stated, under a note saying how they are ordered."""
    result = rag("timeline", "Iran's water polo team", "--index", str(intact_index))
    assert result.returncode == 0, result.stderr
    heading, events, sources = result.stdout.split("\n\n", 2)
    assert heading == ("Timeline: Iran's water polo team\nUndated: the article carries no "
                       "date, so its events are in the order it reports them.")
    lines = events.splitlines()
    assert lines[0].startswith("- undated: Iran had impressive victories against South Korea "
                               "(19-6), Chinese Taipei (37-5), and Uzbekistan (33-9)")
    assert lines[1].startswith("- undated: In the 2025 Asian Water Polo Championship, Iran’s "
                               "national team narrowly lost to Japan 16-13")
    assert lines[2].startswith('- undated (states "until March 2"): The tournament')
    assert all(line.startswith("- undated") and line.endswith("(1 source)") for line in lines)
    assert [line.split(" [")[-1][:2] for line in lines] == [f"{n}]" for n in
                                                            range(1, len(lines) + 1)]
    assert sources.startswith("Sources:\n[1] Iran Falls to Japan in Thrilling Match")
    assert result.stderr == ""


def test_ask_tells_the_undated_u20_story_and_its_json(intact_index: Path) -> None:
    question = "Give me a timeline of Iran's U-20 team at the Asian Cup"
    told = rag("ask", question, "--index", str(intact_index))
    assert told.returncode == 0, told.stderr
    heading, events, _ = told.stdout.split("\n\n", 2)
    assert heading.startswith("Timeline: Iran's U-20 team at the Asian Cup\nUndated: ")
    lines = events.splitlines()
    assert "Iran defeated Indonesia 3-0" in lines[0]
    assert lines[1].startswith("- undated: Goals from Hesam Nafari, Esmaeil Gholizadeh, and "
                               "Mobin Dehghan secured the victory.")
    assert [line.split(": ", 1)[1].split()[:2] for line in lines[2:5]] == [
        ["Coach", "Hossein"], ["Abdi", "emphasized"], ["He", "praised"]]
    data = json.loads(rag("ask", question, "--json", "--index", str(intact_index)).stdout)
    assert data["timeline"]["note"].startswith("Undated: the article carries no date")
    assert {(e["day"], e["date_source"]) for e in data["timeline"]["events"]} == {
        (None, "undated")}
    assert data["answer"] == events and data["abstained"] is False


def test_a_window_over_undated_articles_says_it_cannot_place_them(intact_index: Path) -> None:
    result = rag("timeline", "Iran's water polo team", "--since", "2025-01-01", "--index",
                 str(intact_index))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Timeline: Iran's water polo team (since 2025-01-01)\n\nThe "
                             "articles report no dated event of Iran's water polo team since "
                             "2025-01-01.\n")
    assert result.stderr.startswith("note: 1 article about Iran's water polo team has no date, "
                                    "so it cannot be placed since 2025-01-01")


# --- issue 27: briefings ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def week_index(tmp_path_factory) -> Path:
    """The made-up week of news (data/briefing/week.jsonl) ingested by `rag ingest`."""
    index = tmp_path_factory.mktemp("week") / "index"
    result = rag("ingest", str(REPO / "data" / "briefing"), "--index", str(index))
    assert result.returncode == 0 and result.stdout.startswith("added 14,"), result.stderr
    return index


def test_brief_prints_the_stories_and_their_sources(week_index: Path) -> None:
    result = rag("brief", "--since", "7d", "--as-of", "2022-09-11", "--index", str(week_index))
    assert result.returncode == 0, result.stderr
    heading, stories, sources = result.stdout.split("\n\n", 2)
    assert heading == "What's new, 2022-09-04 to 2022-09-11"
    lines = stories.splitlines()
    assert len(lines) == 4 and "ferry" in lines[0].lower()
    assert lines[0].endswith("[1] (5 sources, 2022-09-10)")
    assert sources.startswith("Sources:\n[1] ")
    assert result.stderr == ""


def test_brief_json_and_a_topic(week_index: Path) -> None:
    result = rag("brief", "--since", "2022-09-05", "--until", "2022-09-11", "--topic",
                 "the flooded valley farms", "--json", "--index", str(week_index))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    briefing = data["briefing"]
    assert (briefing["since"], briefing["until"], briefing["topic"]) == (
        "2022-09-05", "2022-09-11", "the flooded valley farms")
    assert {i for i in briefing["stories"][0]["source_ids"]} == {"storm-1", "storm-2",
                                                                  "storm-3"}
    assert [s["citation"] for s in briefing["stories"]] == data["citations"]


def test_ask_prints_a_briefing_when_asked_whats_new(week_index: Path) -> None:
    result = rag("ask", "What's new this week?", "--as-of", "2022-09-11", "--index",
                 str(week_index))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("What's new, 2022-09-04 to 2022-09-11\n\n- ")


def test_brief_of_a_feed_reads_its_stored_briefing_and_writes_none(week_index: Path,
                                                                    tmp_path: Path,
                                                                    embedder) -> None:
    """`rag brief --feed` opens the index read-only: the feed's briefing of the last 24 hours
    is the stored one when fresh (the sync or the server stored it), else built and not
    stored."""
    from rag import Config, RagSystem
    from rag.feeds import FeedBriefings
    from rag.feeds.state import FeedStore, Item

    index = tmp_path / "index"
    shutil.copytree(week_index, index)
    store = FeedStore(index / "feeds.sqlite")
    feed = store.add("https://coast-news.example/rss", every_s=1800)
    store.save_items([Item(feed.id, key, "f", None, key, None, 0.0) for key in ("ferry-4", "cup")])
    env = {"RAG_REFERENCE_DATE": "2022-09-11"}
    briefings = FeedBriefings(RagSystem(Config(index_dir=index, reference_date="2022-09-11"),
                                   embedder=embedder), store)

    built = rag("brief", "--feed", str(feed.id), "--json", "--index", str(index), env=env)
    assert built.returncode == 0, built.stderr
    briefing = json.loads(built.stdout)["briefing"]
    assert briefing["cached"] is False and briefing["built_at"] and briefing["stories"]
    assert not briefings.path(feed.id).exists()  # read-only: not stored

    stored = briefings.build(feed)
    served = rag("brief", "--feed", str(feed.id), "--json", "--index", str(index), env=env)
    assert served.returncode == 0, served.stderr
    briefing = json.loads(served.stdout)["briefing"]
    assert briefing["cached"] is True
    assert briefing["built_at"] == stored.answer.briefing.built_at
    week = rag("brief", "--feed", str(feed.id), "--since", "7d", "--json", "--index",
               str(index), env=env)
    assert json.loads(week.stdout)["briefing"]["built_at"] is None


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "a while"), "error: since 'a while' is neither a date (YYYY-MM-DD) nor a span"),
    (("--since", "2022-09-10", "--until", "2022-09-01"),
     "error: the briefing's window is empty: until 2022-09-01 is before since 2022-09-10"),
    (("--feed", "7"), "error: no followed feed '7': `rag feeds list` shows them"),
])
def test_brief_refuses_bad_input(week_index: Path, args: tuple[str, ...], message: str) -> None:
    result = rag("brief", *args, "--index", str(week_index))
    assert result.returncode != 0 and result.stderr.startswith(message), result.stderr
