"""The server's access policy and error surface (issue #24), on real uvicorn servers of the
whole app (page and APIs): a key closes every route but /healthz, the page asks for a login,
cross-site writes and foreign Host names are refused, auth is decided before a body is read,
API uploads keep the page's limits, and no 500 or page error names a server path."""

from __future__ import annotations

import json
import re
import shutil
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from rag.answering.base import Answerer

pytestmark = pytest.mark.slow

KEY = "access-test-key"
QUESTION = "Where is the nuclear plant being built?"
EVIL = "http://evil.example"
ARTICLE = {"title": "Porto opens a tidal ferry", "url": "https://news.example/porto-ferry",
           "text": "Porto opened a ferry line powered by tidal turbines on Monday."}
# Gradio's own routes: each must be refused without the login.
PAGE_ROUTES = [("GET", "config"), ("GET", "gradio_api/info"), ("POST", "gradio_api/upload"),
               ("POST", "gradio_api/queue/join"), ("GET", "gradio_api/queue/data"),
               ("GET", "gradio_api/file=/etc/hostname"), ("POST", "gradio_api/call/ask")]


def _serve(index_dir, tmp_path_factory, embedder, settings):
    from app import create_server_app
    from rag import Config, RagSystem
    from serve.server import start

    path = tmp_path_factory.mktemp("access") / "index"
    shutil.copytree(index_dir, path)
    system = RagSystem(Config(index_dir=path), embedder=embedder)
    return start(create_server_app(system, settings)), system


@pytest.fixture(scope="module")
def keyed(sample_index_dir, tmp_path_factory, embedder):
    """The app with only RAG_API_KEY set (no RAG_AUTH); yields (url, system)."""
    from serve.limits import ServeSettings

    server, system = _serve(sample_index_dir, tmp_path_factory, embedder,
                            ServeSettings(api_keys=(KEY,)))
    yield server.url, system
    server.stop()


@pytest.fixture(scope="module")
def keyless(sample_index_dir, tmp_path_factory, embedder):
    """The app with no key (the default), a small text cap for uploads, and one extra host
    name and browser origin allowed; yields (url, system)."""
    from serve.limits import ServeSettings

    settings = ServeSettings(max_upload_chars=5_000, allowed_hosts=("rag.example",),
                             allowed_origins=("https://chat.example",))
    server, system = _serve(sample_index_dir, tmp_path_factory, embedder, settings)
    yield server.url, system
    server.stop()


def _ids(system) -> list[str]:
    return [a.id for a, _ in system.index.list_articles()]


def _code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_a_key_closes_every_route_but_healthz(keyed):
    """Item 2: with RAG_API_KEY alone, the page's API was open (a delete went through)."""
    url, system = keyed
    ids = _ids(system)
    deleted = httpx.post(url + "gradio_api/call/delete", json={"data": [ids[0]]})
    assert deleted.status_code == 401, deleted.text
    assert _ids(system) == ids, "nothing deleted"
    for method, path in PAGE_ROUTES:
        refused = httpx.request(method, url + path)
        assert refused.status_code == 401, (method, path, refused.text)
    for path in ("docs", "openapi.json", "v1/models"):
        assert httpx.get(url + path).status_code == 401, path
        assert httpx.get(url + path, headers={"Authorization": f"Bearer {KEY}"}).is_success
    assert httpx.get(url + "healthz").json() == {"status": "ok"}
    assert "gradio" in httpx.get(url).text.lower(), "the login screen loads"


def test_the_page_login_takes_a_key_as_its_password(keyed):
    from gradio_client import Client

    url, _ = keyed
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("ana", "not-the-key"), verbose=False)
    answer = Client(url, auth=("ana", KEY), verbose=False).predict(QUESTION, api_name="/ask")
    assert "Bushehr" in answer["answer"]


@pytest.mark.browser
def test_a_browser_logs_in_with_the_key_and_chats(browser, keyed):
    url, _ = keyed
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        password = page.locator("input[type=password]")
        password.wait_for(timeout=30_000)
        assert "RAG_API_KEY" in page.locator("body").inner_text()
        password.fill(KEY)
        page.locator("input:not([type=password])").first.fill("ana")
        page.get_by_role("button", name="Login").click()
        box = page.locator("#rag-question textarea")
        box.fill(QUESTION)
        box.press("Enter")
        page.locator("#rag-chat sup.rag-cite").first.wait_for(state="visible", timeout=60_000)
        assert "Bushehr" in page.locator("#rag-chat").inner_text()
    finally:
        context.close()


def test_cross_site_writes_and_foreign_hosts_are_refused(keyless):
    """Item 3: with no key, another origin or a rebinding Host name could write to the index."""
    url, system = keyless
    ids = _ids(system)
    port = urlsplit(url).port
    rebinding = {"Origin": f"{EVIL}:{port}", "Host": f"evil.example:{port}"}
    no_type = httpx.post(url + "v1/articles", headers=rebinding,
                         content=json.dumps({"articles": [ARTICLE]}))
    multipart = httpx.post(url + "v1/articles", headers=rebinding,
                           files=[("files", ("story.txt", b"Planted\n\nA planted story."))])
    cross_origin = httpx.post(url + "v1/articles", headers={"Origin": EVIL},
                              json={"articles": [ARTICLE]})
    page_api = httpx.post(url + "gradio_api/call/delete", headers={"Origin": EVIL},
                          json={"data": [ids[0]]})
    read = httpx.get(url + "v1/articles", headers={"Host": f"evil.example:{port}"})
    for refused in (no_type, multipart, cross_origin, page_api, read):
        assert refused.status_code == 403, refused.text
    assert {_code(r) for r in (no_type, multipart, read)} == {"host_not_allowed"}
    assert "evil.example" in cross_origin.json()["error"]["message"]
    assert _code(cross_origin) == _code(page_api) == "origin_not_allowed"
    assert _ids(system) == ids, "nothing written"

    same_origin = httpx.post(url + "v1/articles", headers={"Origin": url.rstrip("/")},
                             json={"articles": [ARTICLE]})
    assert same_origin.json()["added"] == 1, same_origin.text
    no_origin = httpx.post(url + "v1/articles", json={"articles": [ARTICLE]})
    assert no_origin.json()["skipped"] == 1, "curl and API clients send no Origin"
    listed = httpx.post(url + "v1/articles", json={"articles": [ARTICLE]}, headers={
        "Origin": "https://chat.example", "Host": "rag.example"})
    assert listed.status_code == 200, "RAG_ALLOWED_ORIGINS and RAG_ALLOWED_HOSTS"
    for host in (f"localhost:{port}", f"[::1]:{port}"):
        assert httpx.get(url + "v1/stats", headers={"Host": host}).status_code == 200
    added = set(_ids(system)) - set(ids)
    assert len(added) == 1 and httpx.delete(url + f"v1/articles/{added.pop()}").is_success


def test_auth_is_decided_before_the_body_is_read(keyed):
    """Item 9: a 30 MB body without a key was read (and parsed) before the 401."""
    url, _ = keyed
    parts = urlsplit(url)
    for path in ("/v1/articles", "/gradio_api/upload"):
        with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                         "Content-Type: application/json\r\n"
                         f"Content-Length: {30 * 1_048_576}\r\n\r\n".encode() + b"[" * 65_536)
            head = sock.recv(4096).decode("latin-1")  # the body is never sent in full
        assert head.startswith("HTTP/1.1 401"), (path, head)


def test_api_uploads_keep_the_page_limits_and_bad_bodies_are_named(keyless):
    """Item 9: RAG_MAX_UPLOAD_CHARS was ignored by /v1/articles; names '..' and '.' and deeply
    nested JSON gave 500s."""
    url, system = keyless
    ids = _ids(system)
    long = [{"title": f"Long story {i}", "url": f"https://news.example/long-{i}",
             "text": "The tidal ferry crossed the river again. " * 80} for i in range(2)]
    report = httpx.post(url + "v1/articles", json={"articles": long}, timeout=120).json()
    assert (report["added"], report["failed"]) == (1, 1), report
    assert report["failures"][0]["input"] == "Long story 1"
    assert "5,000 characters" in report["failures"][0]["reason"]
    files = [("files", (f"long-{i}.txt", (f"Long file {i}\n\n" + long[i]["text"]).encode()))
             for i in range(2)]
    uploaded = httpx.post(url + "v1/articles", files=files, timeout=120).json()
    assert (uploaded["added"], uploaded["failed"]) == (1, 1), uploaded
    for name in ("..", "."):
        bad_name = httpx.post(url + "v1/articles", files=[("files", (name, b"text"))])
        assert bad_name.status_code == 422, bad_name.text
        assert f"{name!r} is not a file name" in bad_name.json()["error"]["message"]
    deep = httpx.post(url + "v1/articles", headers={"Content-Type": "application/json"},
                      content=b'{"articles": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert deep.status_code == 422 and "nests too deeply" in deep.json()["error"]["message"]
    for article_id in set(_ids(system)) - set(ids):
        system.delete([article_id])


class FailingAnswerer(Answerer):
    """An answer backend failing with a message that names the index folder."""

    def __init__(self, path) -> None:
        self.path = path

    def answer(self, question, hits):
        from rag import RagError

        raise RagError(f"index at {self.path} is damaged: store.sqlite is not a file")


def test_errors_name_no_server_path(keyless, caplog):
    """Item 10: a 500's message and the page's error named the index folder."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, system = keyless
    folder = str(system.config.index_dir)
    backend = system.config.answer_backend
    system._answerers[backend] = FailingAnswerer(folder)
    try:
        failed = httpx.post(url + "v1/ask", json={"question": QUESTION}, timeout=60)
        with pytest.raises(AppError) as page_error:
            Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        chat, _, _ = Client(url, verbose=False).predict(QUESTION, 4, backend, api_name="/chat")
    finally:
        system._answerers.pop(backend)
    shown = [failed.json()["error"]["message"], str(page_error.value),
             chat[-1]["content"][0]["text"]]
    for message in shown:
        assert folder not in message and re.search(r"internal error \(RagError, ref \w{6}\)",
                                                   message), message
    assert failed.status_code == 500
    ref = re.search(r"ref (\w{6})", shown[0]).group(1)
    logged = [r for r in caplog.records if f"ref {ref}" in r.getMessage()]
    assert logged and folder in logged[0].getMessage(), "the detail goes to the server log"
