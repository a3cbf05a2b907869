"""`rag ingest URL` and `rag feeds add|list|sync|remove`, run as a user would (subprocesses)
against the local feed server (tests/feedsite.py), and the README's example over the feed the
repo ships (data/feed, served by `python -m http.server`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from feedsite import FeedSite
from support import REPO, free_port

pytestmark = pytest.mark.slow

RAG = shutil.which("rag")


def rag(*args: str, private: bool = True) -> subprocess.CompletedProcess[str]:
    command = [RAG] if RAG else [sys.executable, "-m", "rag_cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "RAG_FETCH_TIMEOUT_S": "2"}
    env.pop("RAG_ALLOW_PRIVATE_URLS", None)
    if private:
        env["RAG_ALLOW_PRIVATE_URLS"] = "1"
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def site():
    site = FeedSite(slow_s=3.0)
    yield site
    site.close()


def test_ingest_urls(site, tmp_path) -> None:
    index = str(tmp_path / "index")
    page, pdf = site.url("/news/harbour.html"), site.url("/files/report.pdf")
    refused = rag("ingest", page, "--index", index, private=False)
    assert refused.returncode == 1
    assert (f"skipped {page}: 127.0.0.1 is a loopback address: refused (set "
            "RAG_ALLOW_PRIVATE_URLS=1 to allow private addresses)") in refused.stderr
    done = rag("ingest", page, pdf, "--index", index)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("added 1, updated 0, skipped 0 unchanged, failed 1;")
    assert f"skipped {pdf}: content type application/pdf is not one of" in done.stderr
    again = rag("ingest", page + "?utm_source=newsletter", "--index", index)
    # The same page under another URL is the same article (its canonical URL): unchanged.
    assert again.stdout.startswith("added 0, updated 0, skipped 1 unchanged"), again.stdout
    listed = rag("list", "--index", index)
    assert listed.stdout.count("\n") == 1 and "Harbour tunnel reopens" in listed.stdout


def test_feeds_add_sync_list_remove(site, tmp_path) -> None:
    index = str(tmp_path / "index")
    feed = site.url("/atom.xml")
    added = rag("feeds", "add", feed, "--every", "2h", "--keep-days", "30", "--index", index)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (f"following {feed} (id 1, every 2h, keep 30 days); fetch "
                                    "it now with: rag feeds sync 1")
    rag("feeds", "add", site.url("/broken.xml"), "--index", index)

    first = rag("feeds", "sync", "--index", index)
    assert first.returncode == 1  # one feed failed
    assert (f"{feed}: 3 entries; added 2, updated 0, unchanged 0, failed 0, 1 older than "
            "kept, removed 0 (retention)") in first.stdout
    assert (f"{site.url('/broken.xml')}: failed: malformed feed: not well-formed XML (no "
            "element found)") in first.stderr

    due = rag("feeds", "sync", feed, "--index", index)
    assert due.returncode == 0 and "not modified (HTTP 304)" in due.stdout

    listed = rag("feeds", "list", "--index", index)
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("1\tEvening Herald\tevery 2h\tkeep 30d\tsynced just now\tok: ")
    assert lines[0].endswith(feed)
    assert "\terror: " in lines[1]

    removed = rag("feeds", "remove", feed, "--purge", "--index", index)
    assert removed.stdout.strip() == f"stopped following {feed}; deleted 2 article(s)"
    assert rag("feeds", "list", "--index", index).stdout.count("\n") == 1


@pytest.fixture
def shipped_feed() -> Iterator[str]:
    """data/feed served as the README serves it (`python -m http.server` on 127.0.0.1); yields
    the feed's URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(REPO / "data" / "feed")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("python -m http.server did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/atom.xml"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_readme_feed_example_runs_as_written(shipped_feed: str, tmp_path) -> None:
    """The README's "Follow feeds" commands and outputs, on the feed data/feed ships: two
    entries fetched from their pages, one carrying its full text; then a 304."""
    index, base = str(tmp_path / "index"), shipped_feed.removesuffix("/atom.xml")
    added = rag("feeds", "add", shipped_feed, "--every", "2h", "--index", index)
    assert added.stdout.strip() == (f"following {shipped_feed} (id 1, every 2h); fetch it now "
                                    "with: rag feeds sync 1"), added.stderr
    first = rag("feeds", "sync", "--all", "--index", index)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert first.stdout.startswith(f"{shipped_feed}: 3 entries; added 3, updated 0, unchanged "
                                   "0, failed 0, removed 0 (retention) in ")
    again = rag("feeds", "sync", "--all", "--index", index)
    assert again.stdout.startswith(f"{shipped_feed}: not modified (HTTP 304) in ")
    answer = rag("ask", "How often will the Sandby ferry run?", "--index", index)
    assert answer.returncode == 0, answer.stderr
    # The short answer first, cited to its sentence (the README shows it so).
    assert answer.stdout.startswith("every twenty minutes [1]\n\nThe Sandby ferry will run "
                                    "every twenty minutes from June, ")
    assert ("[1] Ferries every twenty minutes from June (Norrvik Herald, "
            f"2025-06-05T09:00:00+00:00, {base}/news/ferries.html)") in answer.stdout
    listed = rag("list", "--index", index).stdout
    assert "2025-06-02T07:30:00+00:00\tNorrvik Herald\t1\tHarbour tunnel reopens" in listed
