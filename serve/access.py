"""Who may use the server: one policy for every route, decided on a request's headers before
any of its body is read.

- ``/healthz`` always answers.
- With ``RAG_API_KEY`` set, nothing else answers without a key: ``/v1`` takes it as
  ``Authorization: Bearer <key>``; the page and Gradio's own routes (``/gradio_api/*``,
  ``/config``...) take the page's login, whose password is a key (any user name) unless
  ``RAG_AUTH`` names the login; ``/docs`` and ``/openapi.json`` take either. Only the login
  screen (its HTML, scripts and styles, ``POST /login``) loads before the login.
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

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from serve.limits import ServeSettings
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


class PageLogin:
    """The chat page's login, which Gradio runs: who may log in, and whether a request carries
    a logged-in session (so the server's policy can refuse before Gradio reads a body).

    >>> login = PageLogin(ServeSettings(api_keys=("k1",)))
    >>> login.required, login.gradio_auth()("anyone", "k1"), login.logged_in({})
    (True, True, False)
    """

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self._gradio: Any = None  # the mounted gradio.routes.App, once attached

    @property
    def required(self) -> bool:
        return bool(self.settings.auth or self.settings.api_keys)

    def gradio_auth(self) -> GradioAuth:
        """``auth`` for ``gradio.mount_gradio_app``: ``RAG_AUTH``, else a key as the password."""
        if self.settings.auth:
            return self.settings.auth
        if self.settings.api_keys:
            return lambda _user, password: self.settings.is_key(password)
        return None

    def message(self) -> str | None:
        """What the login screen says above the form."""
        if self.settings.api_keys and not self.settings.auth:
            return "Any user name; the password is one of the server's RAG_API_KEY keys."
        return None

    def attach(self, gradio_app: Any) -> None:
        """The mounted Gradio app, whose sessions ``logged_in`` looks up."""
        self._gradio = gradio_app

    def logged_in(self, cookies: Mapping[str, str]) -> bool:
        app = self._gradio
        if app is None:
            return False
        # Gradio's session cookies, as its /login sets them and its get_current_user reads them.
        token = (cookies.get(f"access-token-{app.cookie_id}")
                 or cookies.get(f"access-token-unsecure-{app.cookie_id}"))
        return token is not None and token in app.tokens


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
    """ASGI middleware applying the policy above: each HTTP request is passed on, or refused
    with 401 or 403 (OpenAI's JSON error) on its headers alone, before any body is read.

    >>> from fastapi import FastAPI
    >>> settings = ServeSettings()
    >>> app = AccessPolicy(FastAPI(), settings, PageLogin(settings))
    """

    def __init__(self, app: ASGIApp, settings: ServeSettings, page: PageLogin) -> None:
        self.app = app
        self.settings = settings
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = None
        if scope["type"] == "http":
            refusal = self.refusal(scope["method"], scope["path"], Headers(scope=scope))
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def refusal(self, method: str, path: str, headers: Headers) -> JSONResponse | None:
        """The response refusing this request, or None to let it through."""
        if path == HEALTH:
            return None
        settings, host = self.settings, headers.get("host", "")
        if not settings.api_keys and not host_allowed(host, settings):
            return _refuse(403, f"Host {host!r} is not this server's name: add it to "
                           "RAG_ALLOWED_HOSTS to serve under it", "host_not_allowed")
        origin = headers.get("origin")
        if method in WRITES and origin is not None and not origin_allowed(origin, host,
                                                                            settings):
            return _refuse(403, f"a {method} from the web page at {origin!r} is refused "
                           "(another origin): add it to RAG_ALLOWED_ORIGINS to allow it",
                           "origin_not_allowed")
        authorization = headers.get("authorization")
        if path == "/v1" or path.startswith("/v1/"):
            return None if settings.authorized(authorization) else _missing_key(authorization)
        if path.startswith(DOC_PATHS):
            if not settings.api_keys or settings.authorized(authorization) or self._logged_in(
                    headers):
                return None
            return _missing_key(authorization)
        if (not self.page.required or path in LOGIN_SCREEN or path.startswith(LOGIN_ASSETS)
                or self._logged_in(headers)):
            return None
        return _refuse(401, "Not logged in: log in on the page first (the password is a "
                       "RAG_API_KEY key, or RAG_AUTH's)", "login_required")

    def _logged_in(self, headers: Headers) -> bool:
        return self.page.logged_in(cookie_parser(headers.get("cookie", "")))


def _missing_key(authorization: str | None) -> JSONResponse:
    message = ("Incorrect API key provided." if authorization else
               "Missing API key: send 'Authorization: Bearer <key>' (RAG_API_KEY).")
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
