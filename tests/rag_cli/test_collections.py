"""`rag collections` and `--collection`, run as a user would (a subprocess). Making, listing and
deleting collections and refusing bad ones never loads the model; ingesting and asking two
collections does (slow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

RAG = shutil.which("rag")

CRANE_STORY = ("Crane collapses at Port Kessel\n\nA harbour crane collapsed at Port Kessel on "
               "Monday. Dockworkers said the crane had been inspected in January, and the port "
               "authority closed berth seven while engineers examine its foundations.")


def rag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [RAG] if RAG else [sys.executable, "-m", "rag_cli"]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"}
    full_env.pop("RAG_COLLECTIONS", None)
    full_env.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, env=full_env,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)


def test_collections_are_made_listed_and_deleted(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    made = rag("collections", "create", "desk", "--index", index)
    assert made.returncode == 0, made.stderr
    assert "created the collection desk" in made.stdout
    assert (tmp_path / "index" / "collections" / "desk" / "store.sqlite").is_file()
    listed = rag("collections", "list", "--index", index)
    assert listed.stdout.splitlines() == ["default\t0 articles\t0 chunks",
                                          "desk\t0 articles\t0 chunks"]
    again = rag("collections", "create", "desk", "--index", index)
    assert again.returncode == 1 and again.stderr == (
        "error: the collection 'desk' already exists\n")
    refused = rag("collections", "delete", "default", "--index", index, "--yes")
    assert refused.returncode == 1 and "the default collection cannot be deleted" in refused.stderr
    said_no = rag("collections", "delete", "desk", "--index", index)  # stdin: no answer
    assert said_no.returncode == 1 and (tmp_path / "index" / "collections" / "desk").is_dir()
    gone = rag("collections", "delete", "desk", "--index", index, "--yes")
    assert gone.returncode == 0 and gone.stdout == "deleted the collection desk (0 article(s))\n"
    assert rag("collections", "list", "--index", index).stdout == "default\t0 articles\t0 chunks\n"


@pytest.mark.parametrize("command", [
    ["list"], ["stats"], ["delete", "x"], ["ask", "Who?"], ["timeline", "crane"], ["brief"],
    ["ingest", str(REPO / "data" / "sample")], ["feeds", "list"], ["feeds", "sync"],
    ["collections", "delete", "--yes"]])
def test_an_unknown_or_bad_collection_is_named(tmp_path: Path, command: list[str]) -> None:
    index = str(tmp_path / "index")
    assert rag("collections", "create", "desk", "--index", index).returncode == 0
    if command[0] == "collections":
        unknown = rag(*command, "sports", "--index", index)
        bad = rag(*command, "Bad Name", "--index", index)
    else:
        unknown = rag(*command, "--index", index, "--collection", "sports")
        bad = rag(*command, "--index", index, "-c", "Bad Name")
    assert unknown.returncode == 1 and unknown.stderr.startswith(
        "error: no collection 'sports': `rag collections list` shows them"), unknown.stderr
    assert bad.returncode == 1 and bad.stderr.startswith(
        "error: 'Bad Name' is not a collection name: use 1 to 40 lowercase letters"), bad.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr


def test_a_write_to_several_collections_is_refused_before_reading_anything(tmp_path: Path):
    index = str(tmp_path / "index")
    rag("collections", "create", "desk", "--index", index)
    several = {"RAG_COLLECTIONS": "default,desk"}
    ingest = rag("ingest", str(REPO / "data" / "sample"), "--index", index, env=several)
    assert ingest.returncode == 1 and ingest.stderr == (
        "error: a write goes to one collection, and RAG_COLLECTIONS names 2 (default, desk): "
        "choose one with --collection\n")
    assert "added" not in ingest.stdout
    listing = rag("list", "--index", index, env=several)
    assert listing.returncode == 1 and "choose one" in listing.stderr
    feeds = rag("feeds", "list", "--index", index, env=several)
    assert feeds.returncode == 1 and "a feed goes to one collection" in feeds.stderr


@pytest.mark.slow
def test_ingest_and_ask_one_collection_or_two(sample_index_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index_dir, index)
    news = tmp_path / "news"
    news.mkdir()
    (news / "crane.txt").write_text(CRANE_STORY, encoding="utf-8")
    assert rag("collections", "create", "desk", "--index", str(index)).returncode == 0
    added = rag("ingest", str(news), "--index", str(index), "--collection", "desk")
    assert added.returncode == 0 and "added 1," in added.stdout, added.stderr
    listed = rag("list", "--index", str(index), "-c", "desk")
    assert [line.split("\t")[-1] for line in listed.stdout.splitlines()] == [
        "Crane collapses at Port Kessel"]
    assert len(rag("list", "--index", str(index)).stdout.splitlines()) == 7

    question = "Why was berth seven closed at Port Kessel?"
    desk = json.loads(rag("ask", "--json", question, "--index", str(index), "-c",
                          "desk").stdout)
    assert desk["citations"] and {c["collection"] for c in desk["citations"]} == {"desk"}
    assert {p["collection"] for p in desk["passages"]} == {"desk"}
    default = json.loads(rag("ask", "--json", question, "--index", str(index)).stdout)
    assert {p["collection"] for p in default["passages"]} == {"default"}
    both = json.loads(rag("ask", "--json", question + " Bushehr", "-k", "8", "--index",
                          str(index), "-c", "default", "-c", "desk").stdout)
    assert both["citations"][0]["collection"] == "desk"
    assert {p["collection"] for p in both["passages"]} == {"default", "desk"}
    stats = rag("stats", "--index", str(index), "-c", "default", "-c", "desk")
    assert "articles: 8" in stats.stdout
    deleted = rag("delete", desk["citations"][0]["article_id"], "--index", str(index))
    assert deleted.returncode == 1  # not in the default collection
    assert rag("delete", desk["citations"][0]["article_id"], "--index", str(index), "-c",
               "desk").returncode == 0
