"""Upload limits of the Articles tab and the app's settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import REPO

from rag.articles import Article
from rag.uploads import cap_upload


def test_an_upload_is_capped_by_its_text_and_the_rest_named() -> None:
    articles = [Article(title=f"Story {i}", text="word " * 200) for i in range(5)]
    kept, refused = cap_upload(articles, max_chars=2_500)
    assert [a.title for a in kept] == ["Story 0", "Story 1"]
    assert [f.input for f in refused] == ["Story 2", "Story 3", "Story 4"]
    assert all("2,500 characters" in f.reason and "rag ingest" in f.reason for f in refused)


@pytest.mark.parametrize(("name", "value"), [("RAG_PORT", "abc"), ("RAG_PORT", "70000"),
                                             ("RAG_MAX_UPLOAD_MB", "ten"),
                                             ("RAG_MAX_UPLOAD_CHARS", "0")])
def test_a_bad_setting_is_one_named_line_not_a_traceback(name: str, value: str) -> None:
    code = "import sys; sys.argv = ['app.py']; import app; app.read_settings([])"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=False,
                            env={**os.environ, name: value, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert f"error: {name}={value!r} is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr
