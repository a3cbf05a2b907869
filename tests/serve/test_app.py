"""One server, one port: the chat page at ``/`` and the APIs under ``/v1``, started by
``python app.py`` and by ``rag serve`` (real processes)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from support import free_port, running_server

pytestmark = pytest.mark.slow

QUESTION = "Where is the nuclear plant being built?"
KEY = "serve-test-key"


def test_app_py_serves_the_page_and_the_api_on_one_port(app_url):
    page = httpx.get(app_url)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(app_url + "v1/models").json()["data"][0]["id"] == "news-rag"
    reply = httpx.post(app_url + "v1/chat/completions", timeout=120, json={
        "model": "news-rag", "messages": [{"role": "user", "content": QUESTION}]}).json()
    assert "Bushehr" in reply["choices"][0]["message"]["content"] and reply["citations"]
    assert httpx.get(app_url + "healthz").json() == {"status": "ok"}
    assert "/v1/ask" in httpx.get(app_url + "openapi.json").json()["paths"]


@pytest.fixture(scope="module")
def rag_serve_url(sample_index_dir, tmp_path_factory):
    """``rag serve`` with RAG_API_KEY and RAG_AUTH set, over a copy of the sample index."""
    work = tmp_path_factory.mktemp("serve")
    index = work / "index"
    shutil.copytree(sample_index_dir, index)
    log_path = work / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "RAG_API_KEY": f"other-key,{KEY}", "RAG_AUTH": "ana:s3cret"}
    rag = Path(sys.executable).with_name("rag")
    argv = [str(rag), "serve", "--port", str(free_port()), "--index", str(index)]
    with running_server(argv, env, log_path, "rag serve") as url:
        yield url


def test_rag_serve_protects_the_api_with_keys_and_the_page_with_a_login(rag_serve_url):
    from gradio_client import Client

    url = rag_serve_url
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url + "v1/models").status_code == 401
    assert httpx.get(url + "v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()[
        "data"][0]["id"] == "news-rag"
    assert httpx.get(url + "config").status_code == 401, "Gradio's config needs the login"
    with pytest.raises(Exception, match=r"(?i)login|auth"):
        Client(url, verbose=False)
    answer = Client(url, auth=("ana", "s3cret"), verbose=False).predict(QUESTION,
                                                                       api_name="/ask")
    assert "Bushehr" in answer["answer"]
