"""Errors as OpenAI's JSON error object: handlers, and a catch-all for bugs (no traceback, no
server path: the details go to the log under a reference)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import (
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    DiskFullError,
    IndexBusyError,
    IndexReadOnlyError,
    RagError,
)
from rag.keys import NotAllowedError
from serve import openai_compat as oa

logger = logging.getLogger("serve")


class ApiError(Exception):
    """An error answered as OpenAI's error object with ``status``.

    >>> error_of(ApiError(404, "no article with id 'x'", code="article_not_found"))[0]
    404
    """

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type_


# Writes the index cannot take now: what the client is told (the log has the index's path).
UNAVAILABLE: tuple[tuple[type[RagError], int, str, str], ...] = (
    (IndexBusyError, 503, "index_busy",
     "the index is busy: another process is writing it; try again later"),
    (IndexReadOnlyError, 503, "index_read_only",
     "the index is read-only on this server: it cannot be written"),
    (DiskFullError, 507, "disk_full",
     "the server's disk is full: nothing was written; try again later"),
)


# A collection named that is not there, or taken: the message names it, and no other.
COLLECTION_ERRORS: tuple[tuple[type[RagError], int, str], ...] = (
    (CollectionNotFoundError, 404, "collection_not_found"),
    (CollectionExistsError, 409, "collection_exists"),
)


def error_of(exc: Exception, what: str = "a request") -> tuple[int, dict[str, Any]]:
    """The status and OpenAI error body for an exception: a bad input's own message (a
    collection not there or taken: 404 or 409, ``COLLECTION_ERRORS``); anything else a 500
    saying only its type and a reference to the log (``log_failure``); an index that cannot be
    written now a 503 or 507 (``UNAVAILABLE``).

    >>> error_of(IndexBusyError("index at /srv/idx is busy"))[0]
    503
    >>> error_of(CollectionNotFoundError("no collection 'desk'"))[0]
    404
    """
    if isinstance(exc, ApiError):
        return exc.status, oa.error_body(str(exc), type_=exc.type, param=exc.param,
                                         code=exc.code)
    for kind, status, code in COLLECTION_ERRORS:
        if isinstance(exc, kind):
            return status, oa.error_body(str(exc), param="collection", code=code)
    if isinstance(exc, NotAllowedError):  # a key's role (rag/keys.py)
        return 403, oa.error_body(str(exc), code="insufficient_role")
    if isinstance(exc, BadInputError | ValueError):
        return 422, oa.error_body(str(exc))
    for kind, status, code, message in UNAVAILABLE:
        if isinstance(exc, kind):  # the server's state, not a bug; its message names paths
            logger.warning("%s: %s", what, exc)
            return status, oa.error_body(message, type_="server_error", code=code)
    return 500, oa.error_body(log_failure(exc, what), type_="server_error")


def log_failure(exc: BaseException, what: str) -> str:
    """Log ``exc`` with its traceback under a new short reference; returns what to show instead
    of its text, which may name the server's files (an index path...).

    >>> log_failure(RagError("index at /srv/index is damaged"), "a test")[:26]
    'internal error (RagError, '
    """
    ref = secrets.token_hex(3)
    logger.error("%s failed (ref %s): %s", what, ref, exc, exc_info=exc)
    return f"internal error ({type(exc).__name__}, ref {ref}); see the server log"


def add_error_handlers(api: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        status, body = error_of(exc, f"{request.method} {request.url.path}")
        return JSONResponse(body, status_code=status)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get(
            "msg", "invalid request")
        return JSONResponse(oa.error_body(message, param=where or None), status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(oa.error_body(str(exc.detail)), status_code=exc.status_code,
                            headers=exc.headers)

    api.add_exception_handler(RequestValidationError, invalid)
    api.add_exception_handler(StarletteHTTPException, http_error)
    for kind in (ApiError, RagError, ValueError):
        api.add_exception_handler(kind, api_error)
    # Not add_exception_handler(Exception): Starlette re-raises after answering, and uvicorn
    # then drops the client's keep-alive connection.
    api.add_middleware(CatchAll)  # type: ignore[arg-type]


class CatchAll:
    """ASGI middleware: a bug becomes a JSON 500 naming the exception type and a reference (the
    traceback goes to the log), and the connection stays usable.

    >>> app = CatchAll(FastAPI())  # what add_error_handlers installs
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        what = f"{scope.get('method')} {scope.get('path')}"
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # too late for a status: the client sees a cut response
                logger.error("%s failed", what, exc_info=exc)
                return
            status, body = error_of(exc, what)
            await JSONResponse(body, status_code=status)(scope, receive, send)
