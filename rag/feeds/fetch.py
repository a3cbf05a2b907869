"""Fetching URLs that users and feeds name, safely: an SSRF-guarded HTTP client.

Only http and https; every address a host name resolves to must be public (no private,
loopback, link-local, multicast or reserved address) unless private addresses are allowed. The
check runs where the connection is opened, on the address actually connected to, so it covers
the first request, every redirect, and a DNS answer that changes between check and use. A
response is limited in redirects, bytes (counted after decompression, which runs in bounded
steps), time (one deadline for connecting, headers and body, redirects included) and content
type. Every refusal is a :class:`FetchError` naming the URL and the reason.

>>> check_url("file:///etc/passwd")
Traceback (most recent call last):
...
rag.feeds.fetch.FetchError: file:///etc/passwd: only http and https URLs are fetched, not file
>>> refusal("169.254.169.254")
'link-local'
>>> refusal("93.184.215.14") is None
True
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from rag.errors import RagError

Resolver = Callable[[str, int], list[str]]
USER_AGENT = "news-rag/0.1 (+https://github.com/; feed reader)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                        "application/xml", "text/xml", "application/feed+json",
                        "application/x-rss+xml", "text/rss+xml", "text/atom+xml",
                        "application/octet-stream", "text/plain"})
# The content codings undone, each in bounded steps (zlib's max_length): brotli and zstd are
# neither asked for nor accepted, as their decoders here cannot be bounded.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
MAX_CODINGS = 2  # "gzip, gzip" is legal, if odd; each layer costs a zlib window
_STEP = 65_536  # the most bytes one decompression step may produce
# Not globally reachable, yet global to the ipaddress module of Python 3.11 (later versions
# list them): the IETF protocol block (192.0.0.192 answers as a cloud metadata service), 6to4
# (whose relays reach any IPv4 address, private ones included) and IPv6 documentation.
_NOT_PUBLIC = {ipaddress.ip_network("192.0.0.0/24"): "not public",
               ipaddress.ip_network("2002::/16"): "6to4",
               ipaddress.ip_network("3fff::/20"): "not public"}
# When the fetch running in this thread (or context) must end: every socket read and write
# is cut to it, so no server can hold a fetch longer by trickling its headers or body.
_DEADLINE: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)


class FetchError(RagError):
    """A URL that was not fetched (refused, failed, or over a limit); says which and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FetchLimits:
    """How far a fetch may go. ``allow_private``: also fetch from private, loopback and
    link-local addresses (a local test server, an intranet)."""

    timeout_s: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError(f"bad fetch limits: {self}")

    @classmethod
    def from_config(cls, config: Any) -> FetchLimits:
        return cls(timeout_s=config.fetch_timeout_s, max_bytes=config.fetch_max_bytes,
                   max_redirects=config.fetch_max_redirects,
                   allow_private=config.allow_private_urls)


@dataclass(frozen=True)
class FetchResult:
    """A fetched response: the final URL after redirects, status (200, or 304 = not
    modified), body, content type and the validators for the next conditional request."""

    url: str
    requested: str
    status: int
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def refusal(ip: str) -> str | None:
    """Why connecting to ``ip`` is refused by default (private, loopback...), or None."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for name in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(addr, f"is_{name}"):
            return name.replace("_", "-")
    for net, why in _NOT_PUBLIC.items():
        if addr in net:
            return why
    if not addr.is_global:  # shared address space (100.64/10), documentation ranges...
        return "not public"
    return None


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else a FetchError saying why not."""
    if not isinstance(url, str) or not url.strip():
        raise FetchError(repr(url), "not a URL")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError(url, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(url, "only http and https URLs are fetched, not "
                              f"{parts.scheme or 'a relative URL'}")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host")
    if parts.username or parts.password:
        raise FetchError(url, "URLs with a user name or password are not fetched")
    try:  # what the HTTP client would refuse later, refused here by name
        httpx.URL(url).host.encode("idna")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(url, f"not a valid URL ({_plain(exc)})") from None
    return url


def _plain(exc: Exception) -> str:
    """The message of an httpx or idna error, without the codec's wrapping."""
    text = str(exc)
    return text.rsplit("UnicodeError: ", 1)[-1].rstrip(")") if "UnicodeError: " in text else text


def system_resolver(host: str, port: int) -> list[str]:
    """Every IP address ``host`` resolves to (what the connection may use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Refused(Exception):
    """Raised inside the connection pool; turned into a FetchError naming the URL."""


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, and connects to a checked one."""

    def __init__(self, limits: FetchLimits, resolver: Resolver,
                 allowed: Collection[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self.limits, self.resolver, self.allowed = limits, resolver, allowed

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise _Refused(f"the host name {host} does not resolve ({exc})") from None
        if not addresses:
            raise _Refused(f"the host name {host} does not resolve")
        if not self.limits.allow_private:
            for ip in addresses:
                why = refusal(ip)
                if why and not any(ipaddress.ip_address(ip) in net for net in self.allowed):
                    shown = f"{host} is" if host == ip else f"{host} resolves to {ip}, which is"
                    raise _Refused(f"{shown} a {why} address: refused (set "
                                   "RAG_ALLOW_PRIVATE_URLS=1 to allow private addresses)")
        return _DeadlineStream(super().connect_tcp(
            addresses[0], port, timeout=_time_left(timeout, httpcore.ConnectTimeout),
            local_address=local_address, socket_options=socket_options))


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to what is left before the running fetch's deadline; ``expired`` is
    raised once nothing is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the fetch's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline of the fetch
    using it (httpx's own timeouts are per read: a server sending a byte a second, within
    them, could hold a fetch for hours)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _time_left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, backend: _GuardedBackend) -> None:
        super().__init__(trust_env=False)
        # The same pool httpx builds, with our backend: no proxy, whose DNS we could not check.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=backend, max_connections=10)


class SafeFetcher:
    """GET URLs within :class:`FetchLimits`, refusing unsafe addresses after DNS resolution
    and after each redirect.

    ``allowed_networks`` are private networks let through anyway (``"127.0.0.1/32"``), for an
    intranet or a test server; ``resolver`` replaces DNS (tests).
    """

    def __init__(self, limits: FetchLimits | None = None, *,
                 resolver: Resolver | None = None,
                 allowed_networks: Iterable[str] = ()) -> None:
        self.limits = limits or FetchLimits()
        allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        backend = _GuardedBackend(self.limits, resolver or system_resolver, allowed)
        timeout = httpx.Timeout(self.limits.timeout_s)
        self._client = httpx.Client(transport=_GuardedTransport(backend), timeout=timeout,
                                    follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": USER_AGENT,
                                             "Accept-Encoding": ACCEPT_ENCODING})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, accept: Collection[str] | None = None,
              etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects. ``accept``: the content
        types allowed (None: any). ``etag`` / ``last_modified``: send a conditional request;
        an unchanged resource comes back with status 304 and no body."""
        requested = url = check_url(url)
        deadline = time.monotonic() + self.limits.timeout_s
        headers = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1" if accept else "*/*"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        token = _DEADLINE.set(deadline)
        try:
            return self._follow(url, requested, headers, accept, seen, deadline)
        finally:
            _DEADLINE.reset(token)

    def _follow(self, url: str, requested: str, headers: dict[str, str],
                accept: Collection[str] | None, seen: set[str],
                deadline: float) -> FetchResult:
        """GET ``url`` and the redirects it leads to, all by ``deadline``."""
        for _ in range(self.limits.max_redirects + 1):
            result = self._get(url, requested, headers, accept, deadline)
            if isinstance(result, FetchResult):
                return result
            try:
                target = check_url(urljoin(url, result))
            except FetchError as exc:
                raise FetchError(f"{requested} (redirected to {exc.url})", exc.reason) from None
            if target in seen:
                raise FetchError(requested, f"redirect loop: {url} sends back to {target}")
            seen.add(target)
            url = target
        raise FetchError(requested, f"more than {self.limits.max_redirects} redirects")

    def _get(self, url: str, requested: str, headers: dict[str, str],
             accept: Collection[str] | None, deadline: float) -> FetchResult | str:
        """The response to one GET, or the Location it redirects to."""
        where = url if url == requested else f"{requested} (redirected to {url})"
        too_slow = f"no answer within {self.limits.timeout_s:g} s"
        left = deadline - time.monotonic()  # also bounds the wait for a pooled connection
        if left <= 0:
            raise FetchError(where, too_slow)
        try:
            with self._client.stream("GET", url, headers=headers, timeout=left) as response:
                if response.status_code == 304:
                    return FetchResult(url, requested, 304,
                                       etag=response.headers.get("etag"),
                                       last_modified=response.headers.get("last-modified"))
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location", "")
                    if not location:
                        raise FetchError(where, f"HTTP {response.status_code} without Location")
                    return location
                if response.status_code != 200:
                    raise FetchError(where, f"HTTP {response.status_code} "
                                            f"{response.reason_phrase}".strip())
                content_type, charset = _content_type(response.headers.get("content-type"))
                if accept is not None and content_type and content_type not in accept:
                    raise FetchError(where, f"content type {content_type} is not one of "
                                            f"{', '.join(sorted(accept))}")
                body = self._read(response, where)
                return FetchResult(url, requested, 200, body, content_type, charset,
                                   etag=response.headers.get("etag"),
                                   last_modified=response.headers.get("last-modified"),
                                   headers=dict(response.headers))
        except _Refused as exc:
            raise FetchError(where, str(exc)) from None
        except httpx.TimeoutException:
            raise FetchError(where, too_slow) from None
        except httpx.HTTPError as exc:
            raise FetchError(where, f"{type(exc).__name__}: {exc}") from None

    def _read(self, response: httpx.Response, where: str) -> bytes:
        """The body, decompressed in bounded steps and refused once over ``max_bytes``."""
        limit = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(where, f"{int(declared):,} bytes, more than the {limit:,} allowed")
        pieces: Iterator[bytes] = response.iter_raw()
        for coding in reversed(_codings(response, where)):  # the last one applied comes off first
            pieces = _inflate(pieces, coding, where)
        body = bytearray()
        for piece in pieces:
            body += piece
            if len(body) > limit:
                raise FetchError(where, f"more than the {limit:,} bytes allowed")
        return bytes(body)


def _codings(response: httpx.Response, where: str) -> list[str]:
    """The content codings of ``response`` in the order applied; a FetchError for one not
    undone here, or too many."""
    value = response.headers.get("content-encoding", "")
    named = (part.strip().lower() for part in value.split(","))
    codings = [c for c in named if c not in ("", "identity")]
    for coding in codings:
        if coding not in _WBITS:
            raise FetchError(where, f"content encoding {coding} is not accepted (only gzip and "
                                    "deflate)")
    if len(codings) > MAX_CODINGS:
        raise FetchError(where, f"{len(codings)} content encodings ({value}): at most "
                                f"{MAX_CODINGS} are undone")
    return codings


def _inflate(chunks: Iterable[bytes], coding: str, where: str) -> Iterator[bytes]:
    """``chunks`` with the content coding ``coding`` undone, in pieces of at most ``_STEP``
    bytes: a few compressed bytes never become one huge bytes object. Stops at the end of the
    compressed stream (anything after it is not read)."""
    inflater = zlib.decompressobj(_WBITS[coding])
    first = coding == "deflate"
    try:
        for data in chunks:
            if first and data:  # "deflate" is meant to have a zlib header; some servers omit it
                first = False
                try:
                    inflater.copy().decompress(data, 1)
                except zlib.error:
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            while True:
                out = inflater.decompress(data, _STEP)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if not data and len(out) < _STEP:
                    break
            if inflater.eof:
                return
        yield inflater.flush()
    except zlib.error as exc:
        raise FetchError(where, f"corrupt {coding} content ({exc})") from None


def _content_type(value: str | None) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from 'text/html; charset=UTF-8'."""
    if not value:
        return "", None
    kind, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.lower() == "charset" and val:
            charset = val.strip().strip('"').lower()
    return kind.strip().lower(), charset
