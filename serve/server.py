"""One ASGI app (the chat page at ``/``, the APIs under ``/v1``) and the uvicorn that runs it."""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.routing import Mount

from rag.errors import RagError
from rag.feeds import CollectionFeeds
from rag.keys import open_key_store
from rag.system import RagSystem
from serve.access import Keys, PageLogin
from serve.api import create_api
from serve.limits import ServeSettings

CHECKOUT = Path(__file__).resolve().parent.parent


def create_app(system: RagSystem, settings: ServeSettings | None = None, *, page: Any = None,
               page_options: dict[str, Any] | None = None,
               login: PageLogin | None = None,
               feeds: CollectionFeeds | None = None) -> FastAPI:
    """The API app with ``page`` (a Gradio Blocks) mounted at ``/``; ``page_options`` go to
    ``gradio.mount_gradio_app`` (theme, css_paths, max_file_size...). The page's login comes
    from ``settings`` (``serve.access``), and errors reach it only as ``gr.Error`` messages.
    ``feeds``: the page's feed services, which the ``/v1/feeds`` routes then share."""
    settings = settings or ServeSettings.from_env()
    login = login or PageLogin(settings, Keys(settings, open_key_store(system.config)))
    app = create_api(system, settings, login, feeds)
    if page is not None:
        import gradio as gr

        # Mounted last: the /v1 routes, /healthz and /docs above are matched first.
        app = gr.mount_gradio_app(app, page, path="/", auth=login.gradio_auth(),
                                  auth_message=login.message(),
                                  **{"show_error": False, **(page_options or {})})
        login.attach(next(r.app for r in app.routes if isinstance(r, Mount) and r.path == ""))
    return app


@dataclass
class RunningServer:
    """A uvicorn server in a background thread (tests, the benchmark).
    """

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
          timeout: float = 60.0) -> RunningServer:
    """Serve ``app`` from a thread; returns once it accepts connections (port 0: a free one)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RagError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(server, thread, f"http://{host}:{bound}/")


def serve_forever(app: FastAPI, host: str, port: int) -> None:
    """Run until Ctrl-C or SIGTERM, printing ``Chat UI ready at <url>`` once it listens."""
    running = start(app, host, port)
    signal.signal(signal.SIGTERM, lambda *_: setattr(running.server, "should_exit", True))
    print(f"Chat UI ready at {running.url}", flush=True)
    print(f"API: {running.url}v1 (OpenAI-compatible, model news-rag); docs {running.url}docs",
          flush=True)
    try:
        while running.thread.is_alive():
            running.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


def chat_app_module() -> ModuleType:
    """``app.py`` of the source checkout, which builds the chat page (like data/sample, the page
    ships with the checkout rather than the package)."""
    if "app" in sys.modules and hasattr(sys.modules["app"], "build_app"):
        return sys.modules["app"]
    path = CHECKOUT / "app.py"
    spec = importlib.util.spec_from_file_location("app", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise RagError(f"`rag serve` needs {path}: run it from a clone of the repository "
                       "(pip install -e .)")
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module
