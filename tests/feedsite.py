"""A real HTTP server on 127.0.0.1 serving fixture feeds and pages (tests of rag.feeds and the
Feeds tab): RSS 2.0, Atom, a malformed feed, a page that changes, ETag/Last-Modified and 304
answers, a redirect loop, an oversized page, a slow page, a PDF link, one wire story carried
by two feeds, compressed pages, decompression bombs, headers or a body trickled slowly, and a
feed whose entries link to malformed URLs. It counts the requests to each path."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

NOW = datetime.now(UTC)
RECENT = NOW - timedelta(days=1)
OLD = NOW - timedelta(days=40)

WIRE = ("Engineers at the Kestrel Valley dam finished installing the last of six turbines on "
        "Tuesday, the regional water authority said. The new turbines will supply electricity "
        "to about 80,000 homes once testing ends in the spring, according to the authority. "
        "The project cost 410 million euros and took four years to complete, with delays caused "
        "by a flood in its second year.")

STORIES = {
    "/news/harbour.html": (
        "Harbour tunnel reopens after repairs", "Daily Tidings", RECENT,
        "The Norrvik harbour tunnel reopened to traffic on Monday after eight months of repairs "
        "to its ventilation system, the city council said. Around 30,000 vehicles used the "
        "tunnel each day before it closed. The council said the repairs cost 55 million crowns "
        "and that the work finished two weeks ahead of schedule. Cyclists will be allowed to "
        "use a new lane on weekends."),
    "/news/library.html": (
        "Old library to become a museum", "Daily Tidings", OLD,
        "The old Norrvik library will become a maritime museum, the mayor announced on "
        "Thursday. The building, which dates from 1887, closed when the new library opened in "
        "the harbour district. The museum is expected to open in two years and will display "
        "the wreck of a Viking ship found near the port in 1962. Entry will be free for "
        "children under twelve."),
    "/news/wire-a.html": ("Last turbine installed at Kestrel Valley dam", "Daily Tidings",
                          RECENT, WIRE),
    "/herald/wire-b.html": ("Final turbine installed at Kestrel Valley dam", "Evening Herald",
                            RECENT, WIRE),
    "/herald/orchard.html": (
        "Orchard harvest breaks record", "Evening Herald", OLD,
        "Apple growers in the Sandby orchards picked a record 12,400 tonnes this autumn, the "
        "growers' association said on Friday. A warm spring and a dry September helped the "
        "harvest, according to the association. Most of the apples will be pressed into juice "
        "at the new cooperative plant, which opened in August and employs forty people."),
}

BRIDGE_V1 = ("The Lindholm bridge will open to traffic in May, the transport agency said on "
             "Wednesday. The bridge spans 1.2 kilometres across the sound and carries two lanes "
             "in each direction. Its construction began three years ago and employed about 900 "
             "workers at its peak. Tolls will be charged for the first ten years.")
BRIDGE_V2 = ("The Lindholm bridge will open to traffic in September, after a delay, the "
             "transport agency said on Friday. The bridge spans 1.2 kilometres across the sound "
             "and carries two lanes in each direction. Its construction began three years ago "
             "and employed about 900 workers at its peak. Tolls will be charged for the first "
             "ten years.")
FULL_CONTENT = ("The Sandby ferry will run every twenty minutes from June, the ferry company "
                "said, up from every forty minutes today. Two new electric ferries, each "
                "carrying 150 passengers and 40 cars, arrive from the shipyard in May. The "
                "company expects 1.5 million passengers a year on the crossing, which takes "
                "eleven minutes. Fares stay the same for commuters with a monthly card, while "
                "single tickets rise by five crowns. The old diesel ferries will be sold to an "
                "operator in the south, the company said, and the harbour will get a charging "
                "station that takes power from the Kestrel Valley dam.")


# An entry the Atom feed carries once ``FeedSite.breaking`` is set: news that came after.
BREAKING = ("A fire closed the Sandby ferry terminal on Thursday evening, the fire service "
            "said, and all crossings were cancelled for the night. Nobody was hurt, according "
            "to the ferry company, which expects the terminal to reopen on Friday morning. The "
            "fire started in a kiosk near the ticket hall and was put out within an hour. "
            "Passengers who had booked a crossing can use their tickets on any ferry this "
            "weekend, the company said, and the replacement bus to the mainland bridge will run "
            "every half hour until the terminal opens again.")


def page(title: str, site: str, published: datetime, text: str, canonical: str) -> str:
    sentences = [s.strip().rstrip(".") for s in text.split(". ") if s.strip()]
    paragraphs = "".join(f"<p>{escape(s)}.</p>" for s in sentences)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<meta property='og:site_name' content='{escape(site)}'>"
            f"<meta property='og:title' content='{escape(title)}'>"
            f"<meta property='article:published_time' content='{published.date().isoformat()}'>"
            f"<link rel='canonical' href='{canonical}'></head><body>"
            f"<nav><a href='/'>Home</a> | <a href='/news'>News</a></nav>"
            f"<h1>{escape(title)}</h1><article>{paragraphs}</article>"
            f"<footer>Copyright {escape(site)}</footer></body></html>")


BOMB_MB = 512  # what a bomb decompresses to
MALFORMED_LINKS = ("http://a..b/", "http://0177.0.0.1/")


def _compressed(chunks: Iterable[bytes], coding: str) -> bytes:
    """``chunks`` joined and compressed: gzip, deflate (zlib-wrapped) or rawdeflate."""
    wbits = {"gzip": 31, "deflate": 15, "rawdeflate": -15}[coding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(packer.compress(c) for c in chunks), packer.flush()])


@functools.cache
def bomb(kind: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of a small response that decompresses to BOMB_MB megabytes of zeros:
    ``gzip`` (one layer, ~500 KB), ``gzip-gzip`` (two layers, under 1 KB), ``gzip-3`` (three)
    or ``zstd`` (~16 KB; a body only labelled zstd without the zstandard module)."""
    zeros = [bytes(1 << 20)] * BOMB_MB
    if kind == "zstd":
        if importlib.util.find_spec("zstandard") is None:
            return {"Content-Encoding": "zstd"}, b"\x28\xb5\x2f\xfd" + bytes(64)
        import zstandard

        packer = zstandard.ZstdCompressor(level=19).compressobj()
        return {"Content-Encoding": "zstd"}, b"".join([*map(packer.compress, zeros),
                                                        packer.flush()])
    if kind == "gzip":
        return {"Content-Encoding": "gzip"}, _compressed(zeros, "gzip")
    inner = {"gzip-gzip": "gzip", "gzip-3": "gzip-gzip"}[kind]
    headers, body = bomb(inner)
    return {"Content-Encoding": f"{headers['Content-Encoding']}, gzip"}, \
        _compressed([body], "gzip")


# Fetches in a fresh process that measures itself: its peak memory (ru_maxrss) over them
# above the baseline after a first small fetch (imports and connections made), and the time
# and error of each.
MEASURE = """
import json, resource, sys, time
from rag.feeds.fetch import FetchError, FetchLimits, SafeFetcher
fetcher = SafeFetcher(FetchLimits(timeout_s=float(sys.argv[1]), allow_private=True))
fetcher.fetch(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
fetches = {}
for url in sys.argv[3:]:
    started, error = time.monotonic(), None
    try:
        fetcher.fetch(url)
    except FetchError as exc:
        error = str(exc)
    fetches[url] = {"error": error, "seconds": time.monotonic() - started}
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": (after - before) / 1024, "fetches": fetches}))
"""


def fetch_measured(warm_url: str, urls: list[str], timeout_s: float = 30.0) -> dict[str, Any]:
    """Fetch ``urls`` in a new process (after ``warm_url``): ``{"peak_mb": its memory above
    the baseline, "fetches": {url: {"error": the FetchError or None, "seconds"}}}``, or
    ``{"crash": its stderr}`` when a fetch failed otherwise."""
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(timeout_s), warm_url, *urls],
                          capture_output=True, text=True, timeout=600, env=env, check=False)
    if done.returncode != 0:
        return {"crash": done.stderr[-1000:]}
    return json.loads(done.stdout)


class FeedSite:
    """The server: ``url(path)``, ``hits[path]``; ``bridge_version`` switches the changing
    page (and its feed entry) from v1 to v2; ``breaking`` adds an entry to the Atom feed (its
    full text in the feed: ``BREAKING``)."""

    def __init__(self, slow_s: float = 4.0, port: int = 0, trickle_s: float = 20.0) -> None:
        self.hits: Counter[str] = Counter()
        self.bridge_version = 1
        self.breaking = False
        self.slow_s = slow_s
        self.trickle_s = trickle_s
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site.hits[path] += 1
                if path.startswith("/trickle/"):
                    site.trickle(self.wfile, headers_too=path == "/trickle/headers")
                    return
                status, headers, body = site.respond(path, self.headers)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def trickle(self, out: BinaryIO, *, headers_too: bool) -> None:
        """Send the headers (``headers_too``) or the body a few bytes every 0.2 s, each read
        well within a client's timeout, for ``trickle_s`` seconds; then hang up."""
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
        if not headers_too:
            out.write(b"Content-Length: 1000000\r\n\r\n<html><body><article>")
        ends = time.monotonic() + self.trickle_s
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() < ends:
                out.write(b"X-Slow: yes\r\n" if headers_too else b"<p>Slow.</p>")
                out.flush()
                time.sleep(0.2)

    # --- content ---------------------------------------------------------------------------
    def rss(self) -> str:
        bridge_date = RECENT if self.bridge_version == 1 else NOW - timedelta(hours=2)
        items = [
            ("Harbour tunnel reopens", "/news/harbour.html", RECENT, "Traffic is back."),
            ("Old library to become a museum", "/news/library.html", OLD, "A maritime museum."),
            ("Last turbine installed", "/news/wire-a.html", RECENT, "From the wire."),
            ("Lindholm bridge opening date", "/news/bridge.html", bridge_date,
             f"Version {self.bridge_version} of the story."),
            ("Redirects forever", "/loop/1", RECENT, "A redirect loop."),
            ("A huge page", "/news/huge.html", RECENT, "Too big."),
            ("A slow page", "/news/slow.html", RECENT, "Too slow."),
            ("The report as PDF", "/files/report.pdf", RECENT, "Not HTML."),
        ]
        xml = "".join(
            f"<item><title>{escape(t)}</title><link>{self.url(p)}</link>"
            f"<guid isPermaLink='false'>rss-{p}</guid><pubDate>{format_datetime(d)}</pubDate>"
            f"<description>{escape(s)}</description></item>" for t, p, d, s in items)
        return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Daily Tidings</title><link>{self.url('/')}</link>"
                f"<description>News from Norrvik</description>{xml}</channel></rss>")

    def atom(self) -> str:
        entries = [
            ("Final turbine installed at Kestrel Valley dam", "/herald/wire-b.html", RECENT, ""),
            ("Orchard harvest breaks record", "/herald/orchard.html", OLD, ""),
            ("Ferries every twenty minutes", "/herald/ferry.html", RECENT, FULL_CONTENT),
        ]
        if self.breaking:
            entries.append(("Fire closes the ferry terminal", "/herald/fire.html",
                            NOW - timedelta(hours=1), BREAKING))
        xml = ""
        for title, path, when, content in entries:
            body = (f"<content type='html'>{escape('<p>' + content + '</p>')}</content>"
                    if content else "<summary>Read the full story.</summary>")
            xml += (f"<entry><title>{escape(title)}</title><link href='{self.url(path)}'/>"
                    f"<id>tag:herald,{path}</id><updated>{when.isoformat()}</updated>"
                    f"<published>{when.isoformat()}</published>{body}</entry>")
        return ("<?xml version='1.0' encoding='utf-8'?>"
                "<feed xmlns='http://www.w3.org/2005/Atom'><title>Evening Herald</title>"
                f"<id>tag:herald</id><updated>{NOW.isoformat()}</updated>{xml}</feed>")

    def malformed_links_rss(self) -> str:
        """A feed whose first entries link to malformed URLs, then one good entry."""
        links = [*MALFORMED_LINKS, self.url("/news/harbour.html")]
        xml = "".join(f"<item><title>Entry {i}</title><link>{escape(link)}</link>"
                      f"<guid isPermaLink='false'>bad-{i}</guid>"
                      f"<pubDate>{format_datetime(RECENT)}</pubDate></item>"
                      for i, link in enumerate(links))
        return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Odd Links</title><link>{self.url('/')}</link>{xml}</channel></rss>")

    def respond(self, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path.startswith("/bomb/"):
            extra, body = bomb(path.removeprefix("/bomb/"))
            return 200, {**html, **extra}, body
        if path.startswith("/coded/"):  # /coded/gzip/news/harbour.html: the page, compressed
            coding, _, page_path = path.removeprefix("/coded/").partition("/")
            _, _, plain = self.respond("/" + page_path, headers)
            name = "deflate" if coding == "rawdeflate" else coding
            return 200, {**html, "Content-Encoding": name}, _compressed([plain], coding)
        if path == "/malformed-links.xml":
            return 200, {"Content-Type": "application/rss+xml"}, \
                self.malformed_links_rss().encode()
        if path in ("/rss.xml", "/atom.xml"):
            text = self.rss() if path == "/rss.xml" else self.atom()
            body = text.encode()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = format_datetime(NOW.replace(microsecond=0), usegmt=True)
            if headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag, "Content-Length": "0"}, b""
            kind = "application/rss+xml" if path == "/rss.xml" else "application/atom+xml"
            return 200, {"Content-Type": kind, "ETag": etag, "Last-Modified": modified}, body
        if path == "/broken.xml":
            return 200, {"Content-Type": "application/rss+xml"}, b"<rss><channel><item><title>"
        if path in STORIES:
            title, site, when, text = STORIES[path]
            return 200, html, page(title, site, when, text, self.url(path)).encode()
        if path == "/news/bridge.html":
            text = BRIDGE_V1 if self.bridge_version == 1 else BRIDGE_V2
            canonical = self.url("/news/bridge.html")
            return 200, html, page("Lindholm bridge opening date", "Daily Tidings", RECENT,
                                   text, canonical).encode()
        if path.startswith("/loop/"):
            target = "/loop/2" if path == "/loop/1" else "/loop/1"
            return 302, {"Location": target}, b""
        if path == "/news/huge.html":
            filler = "<p>" + "Padding sentence for a page that is far too large. " * 40 + "</p>"
            return 200, html, ("<html><body><article>" + filler * 200
                               + "</article></body></html>").encode()
        if path == "/news/slow.html":
            time.sleep(self.slow_s)
            return 200, html, page("Slow", "Daily Tidings", RECENT, BRIDGE_V1, "").encode()
        if path == "/files/report.pdf":
            return 200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 not really"
        if path.startswith("/redirect-to/"):
            return 302, {"Location": path.removeprefix("/redirect-to/")}, b""
        return 404, {"Content-Type": "text/plain"}, b"not found"


if __name__ == "__main__":  # serve the fixtures by hand (docs/feeds.md examples)
    import sys

    site = FeedSite(slow_s=30, port=int(sys.argv[1]) if len(sys.argv) > 1 else 8901)
    print(f"serving {site.base}/rss.xml and {site.base}/atom.xml", flush=True)
    site.thread.join()
