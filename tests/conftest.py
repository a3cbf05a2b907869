"""Shared fixtures: the real packaged model, loaded once per session, and a fake one for tests
of logic; small real indexes built with either."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fakes import HashingEmbedder
from support import API_KEYS, REPO, free_port, running_server

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED = REPO.parent / "shared"
REALTIMEQA = SHARED / "eval" / "realtimeqa"
# The fixtures that load the real model; a test using one, even through another fixture
# (sample_system, api_url, app_url...), is marked slow.
REAL_MODEL_FIXTURES = {"embedder", "torch_embedder"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that loads the real model, before ``-m`` selects: so
    ``-m "not slow"`` never loads it."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def embedder():
    """The default embedding model: all-MiniLM-L6-v2 from its PyPI package on the default
    backend (onnx-int8, exported into the model cache on first use), loaded once."""
    from embeddings import get_embedder

    return get_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def torch_embedder():
    """The same model on the torch backend (indexes built before int8 was the default)."""
    from embeddings import get_embedder

    return get_embedder("all-MiniLM-L6-v2", "torch")


@pytest.fixture(scope="session")
def fake_embedder() -> HashingEmbedder:
    """A deterministic stand-in for the model (hashed words, tests/fakes.py), for tests of
    logic: ingest, index and BM25 upkeep, filters, feeds, input checks."""
    return HashingEmbedder()


def sample_index(path: Path, embedder) -> Path:
    """The sample corpus ingested into a new index at ``path``."""
    from rag import SAMPLE_CORPUS, Config, RagSystem

    system = RagSystem(Config(index_dir=path), embedder=embedder)
    report = system.ingest_paths([SAMPLE_CORPUS])
    assert report.added == 7 and not report.failures
    system.index.close()
    return path


def writable_copy(index_dir: Path, tmp_path: Path, embedder):
    """A RagSystem over a private copy of ``index_dir``, free to write to."""
    from rag import Config, RagSystem

    path = tmp_path / "index"
    shutil.copytree(index_dir, path)
    return RagSystem(Config(index_dir=path), embedder=embedder)


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    """An index of the sample corpus, built once per session; copy it before writing to it."""
    return sample_index(tmp_path_factory.mktemp("sample-index"), embedder)


@pytest.fixture(scope="session")
def sample_system(sample_index_dir, embedder):
    """A read-only RagSystem over the sample corpus."""
    from rag import Config, RagSystem

    return RagSystem(Config(index_dir=sample_index_dir), embedder=embedder)


@pytest.fixture
def writable_sample_system(sample_index_dir, tmp_path, embedder):
    """A RagSystem over a private copy of the sample index, free to write to."""
    return writable_copy(sample_index_dir, tmp_path, embedder)


@pytest.fixture(scope="session")
def fake_sample_index_dir(tmp_path_factory, fake_embedder) -> Path:
    """The sample corpus indexed with ``fake_embedder``, once per session."""
    return sample_index(tmp_path_factory.mktemp("fake-sample-index"), fake_embedder)


@pytest.fixture(scope="session")
def fake_sample_system(fake_sample_index_dir, fake_embedder):
    """A read-only RagSystem over the sample corpus indexed with ``fake_embedder``."""
    from rag import Config, RagSystem

    return RagSystem(Config(index_dir=fake_sample_index_dir), embedder=fake_embedder)


@pytest.fixture
def writable_fake_sample_system(fake_sample_index_dir, tmp_path, fake_embedder):
    """``writable_sample_system`` with ``fake_embedder``."""
    return writable_copy(fake_sample_index_dir, tmp_path, fake_embedder)


@pytest.fixture(scope="session")
def realtimeqa_dir() -> Path:
    """../shared/eval/realtimeqa; skipped with a reason where it is absent (never in CI)."""
    if not REALTIMEQA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{REALTIMEQA} is missing in CI")
        pytest.skip(f"{REALTIMEQA} not found: the shared evaluation data is not on this machine")
    return REALTIMEQA


@pytest.fixture(scope="module")
def app_url(sample_index_dir, tmp_path_factory):
    """``python app.py`` on a free port over a private copy of the sample index; one per module,
    always terminated. Yields the page URL."""
    import sys

    work = tmp_path_factory.mktemp("app")
    index = work / "index"
    shutil.copytree(sample_index_dir, index)
    log_path = work / "app.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("RAG_AUTH", None)
    env.pop("RAG_API_KEY", None)
    if env.get("RAG_TEST_LLM_BASE_URL"):  # the chat's LLM backends use the test server
        env.update(RAG_LLM_BASE_URL=env["RAG_TEST_LLM_BASE_URL"], RAG_LLM_MAX_TOKENS="128")
    argv = [sys.executable, str(REPO / "app.py"), "--port", str(free_port()), "--index",
            str(index)]
    with running_server(argv, env, log_path, "app.py") as url:
        yield url


@pytest.fixture(scope="session")
def api_system(sample_index_dir, tmp_path_factory, embedder):
    """The RagSystem behind ``api_url``: a private copy of the sample index, free to write to."""
    from rag import Config, RagSystem

    path = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(sample_index_dir, path)
    return RagSystem(Config(index_dir=path), embedder=embedder)


@pytest.fixture(scope="session")
def api_url(api_system):
    """The API (``serve.api``) served by a real uvicorn on a free 127.0.0.1 port, in a thread of
    this process, with bearer keys ``API_KEYS``; yields the base URL (ending in ``/``)."""
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    settings = ServeSettings(api_keys=API_KEYS, max_body_mb=2, max_upload_mb=1)
    server = start(create_api(api_system, settings))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llm_base_url() -> str:
    """$RAG_TEST_LLM_BASE_URL: the local llama.cpp server that .ci/start.d/20-llama-server.sh
    starts; skipped with a reason where it is not set (fails in CI)."""
    url = os.environ.get("RAG_TEST_LLM_BASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("RAG_TEST_LLM_BASE_URL is not set in CI (.ci/start.d/20-llama-server.sh)")
        pytest.skip("no LLM server configured: set RAG_TEST_LLM_BASE_URL (see "
                    ".ci/start.d/20-llama-server.sh)")
    return url


@pytest.fixture(scope="session")
def eval_cache_dir(tmp_path_factory) -> Path:
    """The eval harness's index cache for this session (indexes built once, shared)."""
    return tmp_path_factory.mktemp("eval-cache")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright, one per test module: Playwright's sync API
    keeps an event loop running while it is open, which would break later asyncio tests."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()
