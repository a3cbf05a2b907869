"""Constants and helpers that test modules import (a conftest cannot be imported by name: the
reliability suite has a conftest of its own)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
API_KEYS = ("test-key-1", "test-key-2")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(argv: list[str], env: dict[str, str], log_path: Path,
                   what: str) -> Iterator[str]:
    """Start ``argv`` (app.py or ``rag serve``), wait for "Chat UI ready at URL", yield the URL,
    stop the process on exit; fail the test with the log if it does not start in 180 s."""
    import pytest

    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "Chat UI ready at " not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not start:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield log_path.read_text().split("Chat UI ready at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def fetching_app(sample_index_dir: Path, work: Path, fetch_timeout_s: float) -> Iterator[str]:
    """``python app.py`` allowed to fetch from 127.0.0.1 (a local feed server), with
    ``RAG_FETCH_TIMEOUT_S``, over a private copy of the sample index; yields the page URL."""
    index = work / "index"
    shutil.copytree(sample_index_dir, index)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "RAG_ALLOW_PRIVATE_URLS": "1", "RAG_FETCH_TIMEOUT_S": f"{fetch_timeout_s:g}"}
    env.pop("RAG_AUTH", None)
    env.pop("RAG_API_KEY", None)
    argv = [sys.executable, str(REPO / "app.py"), "--port", str(free_port()), "--index",
            str(index)]
    with running_server(argv, env, work / "app.log", "app.py") as url:
        yield url


@contextmanager
def app_page(browser, url: str, width: int = 1280, height: int = 800) -> Iterator:
    """A fresh tab on the chat page at ``url``, ready for a question; fails the test if any
    dialog (alert) opened while it was in use."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.locator("#rag-question textarea").wait_for()
    yield page
    context.close()
    assert not dialogs, f"a dialog opened: {dialogs}"


def same_answer_json(got: dict, expected: dict) -> None:
    """Two ``Answer.to_json()`` of one question, from two processes: equal but for the timings
    and the last digit of ``short_answer_score`` (sentences embedded in other batches differ
    in the 5th decimal)."""
    import pytest

    got, expected = dict(got), dict(expected)
    del got["timings_ms"], expected["timings_ms"]
    score, wanted = got.pop("short_answer_score"), expected.pop("short_answer_score")
    assert got == expected
    assert score == (None if wanted is None else pytest.approx(wanted, abs=1e-3))
