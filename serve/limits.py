"""API settings (keys, size limits), bearer-token auth, the throttle of failed logins, and the
request body cap."""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.uploads import DEFAULT_MAX_UPLOAD_CHARS, DEFAULT_MAX_UPLOAD_MB
from serve.openai_compat import error_body


@dataclass(frozen=True)
class ServeSettings:
    """Everything the server reads besides the pipeline's ``Config``: where it listens, who may
    use it, and its size limits. ``from_env`` reads ``RAG_HOST``, ``RAG_PORT``, ``RAG_AUTH``
    (``user:password`` for the chat page), ``RAG_API_KEY`` (comma-separated keys: with one set,
    every route but ``/healthz`` needs a key, see ``serve.access``), ``RAG_ALLOWED_HOSTS`` and
    ``RAG_ALLOWED_ORIGINS`` (comma-separated, ``*`` for any: the Host names and browser origins
    accepted besides the server's own), ``RAG_API_MAX_BODY_MB``, ``RAG_MAX_UPLOAD_MB`` and
    ``RAG_MAX_UPLOAD_CHARS``, ``RAG_AUTH_FAILURES`` (failed logins a client may make in a minute);
    a bad value is a ``ValueError`` naming the variable.

    >>> ServeSettings.from_env({"RAG_API_KEY": "k1, k2"}).api_keys
    ('k1', 'k2')
    >>> ServeSettings.from_env({"RAG_ALLOWED_ORIGINS": "https://Chat.example/"}).allowed_origins
    ('https://chat.example',)
    >>> ServeSettings.from_env({"RAG_AUTH": "ana:pa:ss", "RAG_PORT": "8000"}).auth
    ('ana', 'pa:ss')
    >>> ServeSettings().authorized(None)
    True
    """

    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[str, str] | None = None
    api_keys: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_mb: float = 32.0  # above the default 20 MB upload limit plus multipart overhead
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    max_upload_chars: int = DEFAULT_MAX_UPLOAD_CHARS
    max_articles: int = 1000  # per POST /v1/articles
    # Failed authentications one client may make in a window before it gets 429 (serve.access).
    auth_failures: int = 10
    auth_window_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_body_mb", "max_upload_mb", "max_upload_chars", "max_articles",
                     "auth_failures", "auth_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0. Currently, {name} is "
                                 f"{getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535. Currently, port is {self.port}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServeSettings:
        """Defaults, then the ``RAG_*`` variables above, then ``overrides`` that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("RAG_HOST", "").strip():
            values["host"] = env["RAG_HOST"].strip()
        if env.get("RAG_AUTH"):
            values["auth"] = parse_auth(env["RAG_AUTH"])
        keys = tuple(k.strip() for k in env.get("RAG_API_KEY", "").split(",") if k.strip())
        if keys:
            values["api_keys"] = keys
        for name, key in (("allowed_hosts", "RAG_ALLOWED_HOSTS"),
                          ("allowed_origins", "RAG_ALLOWED_ORIGINS")):
            listed = tuple(v.strip().lower().rstrip("/") for v in env.get(key, "").split(",")
                           if v.strip())
            if listed:
                values[name] = listed
        for name, key, low, high in (("port", "RAG_PORT", 1, 65535),
                                     ("max_upload_mb", "RAG_MAX_UPLOAD_MB", 1, None),
                                     ("max_upload_chars", "RAG_MAX_UPLOAD_CHARS", 1, None),
                                     ("auth_failures", "RAG_AUTH_FAILURES", 1, None)):
            if env.get(key, "").strip():
                values[name] = _whole_number(key, env[key], low, high)
        if env.get("RAG_API_MAX_BODY_MB", "").strip():
            raw = env["RAG_API_MAX_BODY_MB"]
            try:
                values["max_body_mb"] = float(raw)
            except ValueError:
                raise ValueError(f"RAG_API_MAX_BODY_MB={raw!r} is not a number of MB") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1_048_576)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_048_576)

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries one of the keys (always, with none)."""
        if not self.api_keys:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.is_key(token.strip())

    def is_key(self, given: str) -> bool:
        """Whether ``given`` is one of the keys (the bearer token, or the page login's password).

        >>> ServeSettings(api_keys=("k1",)).is_key("k1"), ServeSettings().is_key("")
        (True, False)
        """
        if not given:
            return False
        # Every key is compared, in constant time, so timing says nothing about which matched.
        return any([hmac.compare_digest(given.encode(), k.encode()) for k in self.api_keys])


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` -> the chat page's login; unset or empty -> no login.

    >>> parse_auth("ana:s3cret:x")
    ('ana', 's3cret:x')
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (user and sep and password):
        raise ValueError("RAG_AUTH must look like user:password")
    return user, password


def _whole_number(key: str, raw: str, low: int, high: int | None) -> int:
    try:
        value: int | None = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"{low}-{high}" if high is not None else f"{low} or more"
        raise ValueError(f"{key}={raw!r} is not a whole number ({bounds})")
    return value


class FailureThrottle:
    """Failed authentications per client (its IP address): after ``limit`` in ``window_s``
    seconds the client is refused until the oldest of them leaves the window. In memory, one
    per server process; at most ``max_clients`` remembered (the least recent forgotten first).

    >>> clock = [0.0]
    >>> throttle = FailureThrottle(2, 60.0, clock=lambda: clock[0])
    >>> throttle.failed("10.0.0.1"); throttle.failed("10.0.0.1")
    >>> throttle.retry_after("10.0.0.1"), throttle.retry_after("10.0.0.2")
    (60, None)
    >>> clock[0] = 61.0; throttle.retry_after("10.0.0.1")
    """

    def __init__(self, limit: int, window_s: float, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.max_clients, self.clock = (limit, window_s,
                                                                   max_clients, clock)
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        with self._lock:
            times = self._recent(client)
            if len(times) < self.limit:
                return None
            return max(1, int(times[0] + self.window_s - self.clock() + 0.999))

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._recent(client)
            times.append(self.clock())
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= self.clock() - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times


class BodyLimit:
    """ASGI middleware: a request to ``prefix`` whose body exceeds ``max_bytes`` gets 413 with
    an OpenAI-style error naming the limit, before the route reads any of it.

    >>> from fastapi import FastAPI
    >>> api = FastAPI()
    >>> api.add_middleware(BodyLimit, max_bytes=1_048_576)
    """

    def __init__(self, app: ASGIApp, max_bytes: int, prefix: str = "/v1") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        body = bytearray()
        more = True
        while more:  # also catches a chunked body with no Content-Length
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send, None)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # the route's wait for a disconnect (streaming)

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int | None) -> None:
        limit_mb = self.max_bytes / 1_048_576
        got = f"{size / 1_048_576:.1f} MB" if size else "the request body"
        payload = error_body(f"{got} is over the {limit_mb:g} MB request body limit "
                             "(RAG_API_MAX_BODY_MB)", code="request_too_large")
        raw = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(raw)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": raw})
