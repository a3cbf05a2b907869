"""Fixtures of the server's tests beside tests/conftest.py's."""

from __future__ import annotations

import pytest
from support import API_KEYS


@pytest.fixture(scope="module")
def tunnel_api(tmp_path_factory, embedder):
    """The API over the made-up tunnel story (tests/synthetic.py), asked as of its month's end,
    on a real uvicorn server: (its RagSystem, an OpenAI client of it)."""
    from openai import OpenAI
    from synthetic import TUNNEL_AS_OF, TUNNEL_STORY

    from rag import Config, RagSystem
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("tunnel-api"),
                              reference_date=TUNNEL_AS_OF), embedder=embedder)
    system.ingest(TUNNEL_STORY)
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS)))
    try:
        yield system, OpenAI(base_url=server.url + "v1", api_key=API_KEYS[0], max_retries=0,
                             timeout=120)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def week_api(tmp_path_factory, embedder):
    """The API over the made-up week of news (data/briefing/week.jsonl), asked as of its last
    day, on a real uvicorn server: (its RagSystem, an OpenAI client of it)."""
    from openai import OpenAI
    from support import REPO

    from rag import Config, RagSystem
    from serve.api import create_api
    from serve.limits import ServeSettings
    from serve.server import start

    system = RagSystem(Config(index_dir=tmp_path_factory.mktemp("week-api"),
                              reference_date="2022-09-11"), embedder=embedder)
    system.ingest_paths([REPO / "data" / "briefing"])
    server = start(create_api(system, ServeSettings(api_keys=API_KEYS)))
    try:
        yield system, OpenAI(base_url=server.url + "v1", api_key=API_KEYS[0], max_retries=0,
                             timeout=120)
    finally:
        server.stop()
