"""Who may use the server: one policy for every route, decided on a request's headers before
any of its body is read.

- ``/healthz`` always answers.
- With ``RAG_API_KEY`` set, or a key made by ``rag keys create`` (``rag/keys.py``, read from the
  index's store on every request), nothing else answers without a key: ``/v1`` takes it as
  ``Authorization: Bearer <key>``; the page and Gradio's own routes (``/gradio_api/*``,
  ``/config``...) take the page's login, whose password is a key (the user name: a stored key's
  name, any for ``RAG_API_KEY``'s) or ``RAG_AUTH``'s login; ``/docs`` and ``/openapi.json``
  take either. Only the login screen (its HTML, scripts and styles, ``POST /login``) loads
  before the login.
- A request's key becomes its ``Grant`` (``request.state.grant``): ``RAG_API_KEY``, ``RAG_AUTH``
  and a server with no key are an admin over every collection; a stored key its role over its
  collections, which the routes check (``serve.api``). A revoked key is refused on its next
  request, a page session logged in with it too.
- A client (by IP address) that fails to authenticate ``auth_failures`` times in
  ``auth_window_s`` gets 429 with ``Retry-After`` until the window lets it try again.
- With ``RAG_AUTH`` alone the page needs its login and ``/v1`` is open (the server warns).
- A POST, PUT, PATCH or DELETE that a browser sends from another origin is refused (403): a web
  page the user visits could otherwise write to the index, or use the page's login cookie, which
  Gradio sets with ``SameSite=None``. Clients that send no ``Origin`` (curl, the openai client)
  are not browsers and pass.
- With no key, a ``Host`` that is not the server's own is refused (403) on every route: DNS
  rebinding would otherwise give a web page a name that resolves to this server.
  ``RAG_ALLOWED_HOSTS`` and ``RAG_ALLOWED_ORIGINS`` widen both checks (a reverse proxy's name).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.keys import Grant, KeyStore
from serve.limits import FailureThrottle, ServeSettings
from serve.openai_compat import error_body

HEALTH = "/healthz"
DOC_PATHS = ("/docs", "/openapi.json", "/redoc")
# What Gradio's login screen loads before the login (the browser test of the login checks
# it); every other route of the page needs the login.
LOGIN_SCREEN = frozenset({"/", "/login", "/login/", "/logout", "/favicon.ico", "/theme.css"})
LOGIN_ASSETS = ("/assets/", "/static/")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})

GradioAuth = tuple[str, str] | Callable[[str, str], bool] | None


class Keys:
    """Who a key is: one of ``RAG_API_KEY``'s (an admin over every collection) or a key of the
    index's ``store`` (its role over its collections), the store read on every call so a
    revocation, by this server or another, holds from the next request.

    >>> keys = Keys(ServeSettings(api_keys=("k1",)))
    >>> keys.required(), keys.grant("k1"), keys.grant("k2")
    (True, Grant(role='admin', collections=None, key_id=None), None)
    """

    def __init__(self, settings: ServeSettings, store: KeyStore | None = None) -> None:
        self.settings = settings
        self.store = store

    def required(self) -> bool:
        """Whether a key is needed: ``RAG_API_KEY`` set, or a key ever made in the store."""
        return bool(self.settings.api_keys) or (self.store is not None and self.store.any())

    def grant(self, given: str) -> Grant | None:
        """What the key ``given`` may do, or None: no such live key."""
        if not given:
            return None
        if self.settings.is_key(given):
            return Grant.everything()
        key = self.store.verify(given) if self.store is not None else None
        return key.grant if key is not None else None

    def bearer(self, authorization: str | None) -> Grant | None:
        scheme, _, token = (authorization or "").partition(" ")
        return self.grant(token.strip()) if scheme.lower() == "bearer" else None

    def login(self, user: str, password: str) -> bool:
        """The page's login: ``RAG_AUTH``'s, a ``RAG_API_KEY`` key with any user name (but a
        stored key's: its session would be that key's), or a stored key with its name."""
        auth = self.settings.auth
        if auth and hmac.compare_digest(f"{user}:{password}".encode(),
                                        f"{auth[0]}:{auth[1]}".encode()):
            return True
        named = self.store.named(user) if self.store is not None else None
        if self.settings.is_key(password):
            return named is None
        key = self.store.verify(password) if self.store is not None else None
        return key is not None and key.name == user

    def session(self, user: str | None) -> Grant | None:
        """What a page session logged in as ``user`` may do now: a stored key's name is that
        key's grant (None once revoked); any other name logged in with ``RAG_API_KEY`` or
        ``RAG_AUTH``, an admin over every collection."""
        if user is None:
            return None
        named = self.store.named(user) if self.store is not None else None
        if named is None:
            return Grant.everything()
        return None if named.revoked else named.grant


class PageLogin:
    """The chat page's login, which Gradio runs: who may log in, and whether a request carries
    a logged-in session (so the server's policy can refuse before Gradio reads a body).

    >>> login = PageLogin(ServeSettings(api_keys=("k1",)))
    >>> login.required, login.gradio_auth()("anyone", "k1"), login.logged_in({})
    (True, True, False)
    """

    def __init__(self, settings: ServeSettings, keys: Keys | None = None) -> None:
        self.settings = settings
        self.keys = keys or Keys(settings)
        self._gradio: Any = None  # the mounted gradio.routes.App, once attached

    @property
    def required(self) -> bool:
        return bool(self.settings.auth) or self.keys.required()

    def gradio_auth(self) -> GradioAuth:
        """``auth`` for ``gradio.mount_gradio_app``: ``RAG_AUTH``'s login or a key as the
        password (``Keys.login``); None when the server needs neither."""
        return self.keys.login if self.required else None

    def message(self) -> str | None:
        """What the login screen says above the form."""
        if self.keys.store is not None and self.keys.store.any():
            return ("User name: your key's name; password: your key (`rag keys create`)"
                    + ("; or any user name with a RAG_API_KEY key." if self.settings.api_keys
                       else "."))
        if self.settings.api_keys and not self.settings.auth:
            return "Any user name; the password is one of the server's RAG_API_KEY keys."
        return None

    def attach(self, gradio_app: Any) -> None:
        """The mounted Gradio app, whose sessions ``logged_in`` looks up."""
        self._gradio = gradio_app

    def user(self, cookies: Mapping[str, str]) -> str | None:
        """The user name of the session these cookies carry, or None."""
        app = self._gradio
        if app is None:
            return None
        # Gradio's session cookies, as its /login sets them and its get_current_user reads them.
        token = (cookies.get(f"access-token-{app.cookie_id}")
                 or cookies.get(f"access-token-unsecure-{app.cookie_id}"))
        return app.tokens.get(token) if token is not None else None

    def logged_in(self, cookies: Mapping[str, str]) -> bool:
        return self.session(cookies) is not None

    def session(self, cookies: Mapping[str, str]) -> Grant | None:
        """What the logged-in session these cookies carry may do (None: none, or revoked)."""
        return self.keys.session(self.user(cookies))

    def grant_of_user(self, user: str | None) -> Grant:
        """What the page's handlers may do for ``gr.Request.username``: with no login
        required, everything; else the session's grant (none at all: read nothing)."""
        if not self.required:
            return Grant.everything()
        grant = self.keys.session(user)
        return grant if grant is not None else Grant("read", ())


def host_allowed(host_header: str, settings: ServeSettings) -> bool:
    """Whether a ``Host`` header names this server: a loopback name when it listens on loopback,
    its own address when it listens on one, any address literal (no DNS name, so no rebinding)
    when it listens on all of them; plus ``allowed_hosts``.

    >>> local = ServeSettings()
    >>> host_allowed("127.0.0.1:7860", local), host_allowed("[::1]:80", local)
    (True, True)
    >>> host_allowed("evil.example:7860", local), host_allowed("10.0.0.5", local)
    (False, False)
    >>> host_allowed("10.0.0.5:7860", ServeSettings(host="0.0.0.0"))
    True
    """
    if not host_header:  # HTTP/1.0: no browser sends that
        return True
    name = _hostname(host_header)
    bound = settings.host.strip("[]").lower()
    if "*" in settings.allowed_hosts or name in settings.allowed_hosts:
        return True
    if bound in WILDCARD_BINDS:
        return name in LOOPBACK_NAMES or _is_address(name)
    if bound in LOOPBACK_NAMES or (_is_address(bound) and ipaddress.ip_address(bound).is_loopback):
        return name in LOOPBACK_NAMES
    return name == bound


def origin_allowed(origin: str, host_header: str, settings: ServeSettings) -> bool:
    """Whether a browser's ``Origin`` is the server itself (the page's own requests) or listed
    in ``allowed_origins``. The scheme is not compared: a proxy may end TLS in front.

    >>> origin_allowed("http://127.0.0.1:7860", "127.0.0.1:7860", ServeSettings())
    True
    >>> origin_allowed("http://evil.example", "127.0.0.1:7860", ServeSettings())
    False
    """
    origin = origin.strip().lower().rstrip("/")
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    netloc = urlsplit(origin).netloc
    return bool(netloc) and netloc == host_header.strip().lower()


class AccessPolicy:
    """ASGI middleware applying the policy above: each HTTP request is passed on with its
    ``Grant`` in ``scope["state"]["grant"]``, or refused with 401, 403 or 429 (OpenAI's JSON
    error) on its headers alone, before any body is read.

    >>> from fastapi import FastAPI
    >>> settings = ServeSettings()
    >>> app = AccessPolicy(FastAPI(), settings, PageLogin(settings))
    """

    def __init__(self, app: ASGIApp, settings: ServeSettings, page: PageLogin) -> None:
        self.app = app
        self.settings = settings
        self.page = page
        self.throttle = FailureThrottle(settings.auth_failures, settings.auth_window_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("",))[0] or "unknown"
        # A key's first check runs PBKDF2 and every check reads the store: not on the loop.
        refusal, grant = await run_in_threadpool(
            self.decide, scope["method"], scope["path"], Headers(scope=scope), client)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})["grant"] = grant
        if scope["method"] == "POST" and scope["path"].rstrip("/") == "/login":
            send = self._watch_login(send, client)
        await self.app(scope, receive, send)

    def refusal(self, method: str, path: str, headers: Headers,
                client: str = "unknown") -> JSONResponse | None:
        """The response refusing this request, or None to let it through."""
        return self.decide(method, path, headers, client)[0]

    def decide(self, method: str, path: str, headers: Headers,
               client: str = "unknown") -> tuple[JSONResponse | None, Grant]:
        """The response refusing this request (or None), and what it may do."""
        everything = Grant.everything()
        if path == HEALTH:
            return None, everything
        settings, host = self.settings, headers.get("host", "")
        keys = self.page.keys
        if not settings.api_keys and not host_allowed(host, settings) and not keys.required():
            return _refuse(403, f"Host {host!r} is not this server's name: add it to "
                           "RAG_ALLOWED_HOSTS to serve under it", "host_not_allowed"), everything
        origin = headers.get("origin")
        if method in WRITES and origin is not None and not origin_allowed(origin, host,
                                                                            settings):
            return _refuse(403, f"a {method} from the web page at {origin!r} is refused "
                           "(another origin): add it to RAG_ALLOWED_ORIGINS to allow it",
                           "origin_not_allowed"), everything
        authorization = headers.get("authorization")
        is_api, is_docs = path == "/v1" or path.startswith("/v1/"), path.startswith(DOC_PATHS)
        if is_api or is_docs:
            wait = self.throttle.retry_after(client)
            if wait is not None:
                return _too_many(wait), everything
            grant = keys.bearer(authorization) if authorization else None
            if grant is not None:
                return None, grant
            if is_docs and (session := self._session(headers)) is not None:
                return None, session
            if not keys.required():
                return None, everything
            if authorization:
                self.throttle.failed(client)
            return _missing_key(authorization), everything
        if path in LOGIN_SCREEN or path.startswith(LOGIN_ASSETS):
            if path.rstrip("/") == "/login" and method == "POST":
                wait = self.throttle.retry_after(client)
                if wait is not None:
                    return _too_many(wait), everything
            return None, everything
        if not self.page.required:
            return None, everything
        session = self._session(headers)
        if session is not None:
            return None, session
        return _refuse(401, "Not logged in: log in on the page first (the password is a "
                       "key, or RAG_AUTH's; a server started before its first key was made "
                       "needs a restart to show the login)", "login_required"), everything

    def _session(self, headers: Headers) -> Grant | None:
        return self.page.session(cookie_parser(headers.get("cookie", "")))

    def _watch_login(self, send: Send, client: str) -> Send:
        """``send`` that counts a refused login (Gradio answers it 400 or 401) as a failure."""

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (400, 401):
                self.throttle.failed(client)
            await send(message)

        return watched


def _too_many(retry_after: int) -> JSONResponse:
    return _refuse(429, f"Too many failed authentications from this address: try again in "
                   f"{retry_after} s", "too_many_failures", {"Retry-After": str(retry_after)})


def _missing_key(authorization: str | None) -> JSONResponse:
    message = ("Incorrect API key provided." if authorization else
               "Missing API key: send 'Authorization: Bearer <key>' (RAG_API_KEY, or a key "
               "of `rag keys create`).")
    return _refuse(401, message, "invalid_api_key", {"WWW-Authenticate": "Bearer"})


def _refuse(status: int, message: str, code: str,
            headers: dict[str, str] | None = None) -> JSONResponse:
    # The body may still be on its way: closing the connection spares reading it.
    return JSONResponse(error_body(message, code=code), status_code=status,
                        headers={**(headers or {}), "Connection": "close"})


def _hostname(host_header: str) -> str:
    """``Host`` without its port or brackets, lower case: ``[::1]:80`` -> ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
