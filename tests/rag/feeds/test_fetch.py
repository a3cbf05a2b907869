"""The safe fetcher (rag.feeds.fetch): address checks after DNS resolution and after each
redirect, and its limits, against a real HTTP server on 127.0.0.1. No model is loaded."""

from __future__ import annotations

import time

import pytest
from feedsite import MALFORMED_LINKS, FeedSite, fetch_measured

from rag.errors import BadInputError
from rag.feeds import FetchError, FetchLimits, SafeFetcher, check_url, load_urls, parse_interval
from rag.feeds.extract import canonical_url
from rag.feeds.fetch import HTML_TYPES, refusal, system_resolver

PUBLIC_IP = "93.184.215.14"


@pytest.fixture(scope="module")
def site():
    site = FeedSite(slow_s=3.0)
    yield site
    site.close()


class Resolver:
    """DNS for the tests: fixed answers for some names, the system's for the rest; records
    what was asked."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.get(host) or system_resolver(host, port)


@pytest.mark.parametrize("ip, reason", [
    ("10.0.0.7", "private"), ("172.16.4.1", "private"), ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("fe80::1", "link-local"),
    ("169.254.169.254", "link-local"), ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "private"), ("100.64.0.1", "not public"), ("224.0.0.1", "multicast"),
    ("fd00::1", "private"), (PUBLIC_IP, None), ("2606:4700:4700::1111", None),
    # Global to Python 3.11's ipaddress, not to IANA: 192.0.0.192 (a cloud metadata address)
    # and 6to4, whatever IPv4 address it embeds (127.0.0.1, 10.0.0.1, a public one).
    ("192.0.0.192", "not public"), ("192.0.0.9", "not public"),
    ("2002:7f00:1::1", "6to4"), ("2002:a00:1::1", "6to4"), ("2002:5db8:d70e::1", "6to4"),
    ("3fff::1", "not public"),
    # NAT64 (well-known and local prefixes), IPv4-compatible and Teredo stay refused.
    ("64:ff9b::7f00:1", "reserved"), ("64:ff9b::a00:1", "reserved"),
    ("64:ff9b:1::a00:1", "reserved"), ("::7f00:1", "reserved"), ("::a00:1", "reserved"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),
])
def test_address_refusals(ip: str, reason: str | None) -> None:
    assert refusal(ip) == reason


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "only http and https URLs are fetched, not file"),
    ("ftp://example.com/x", "only http and https URLs are fetched, not ftp"),
    ("javascript:alert(1)", "only http and https URLs are fetched, not javascript"),
    ("example.com/news", "only http and https URLs are fetched, not a relative URL"),
    ("http:///news", "the URL has no host"),
    ("http://user:pw@example.com/", "URLs with a user name or password are not fetched"),
    ("http://a..b/", "not a valid URL (label empty or too long)"),
    ("http://0177.0.0.1/", "not a valid URL (Invalid IPv4 address: '0177.0.0.1')"),
    ("http://" + "x" * 64 + ".example/", "not a valid URL (label empty or too long)"),
])
def test_only_plain_http_urls(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert str(caught.value) == f"{url}: {reason}"


def test_one_malformed_link_is_a_named_failure_and_the_others_load(site: FeedSite) -> None:
    """What the page's "Fetch links" and `rag ingest URL...` do with a batch of links."""
    good = site.url("/news/harbour.html")
    with SafeFetcher(FetchLimits(timeout_s=5, allow_private=True)) as fetcher:
        loaded = load_urls([*MALFORMED_LINKS, good], fetcher)
    assert [a.url for a in loaded.articles] == [good]
    assert {f.input: f.reason for f in loaded.failures} == {
        "http://a..b/": "not a valid URL (label empty or too long)",
        "http://0177.0.0.1/": "not a valid URL (Invalid IPv4 address: '0177.0.0.1')"}


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting() -> None:
    resolver = Resolver({"news.example": ["10.0.0.7"], "mixed.example": [PUBLIC_IP, "127.0.0.1"]})
    with SafeFetcher(FetchLimits(timeout_s=2), resolver=resolver) as fetcher:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch("http://news.example/story")
        assert str(caught.value) == (
            "http://news.example/story: news.example resolves to 10.0.0.7, which is a private "
            "address: refused (set RAG_ALLOW_PRIVATE_URLS=1 to allow private addresses)")
        # One private address among public ones is enough to refuse (the connection may use it).
        with pytest.raises(FetchError, match=r"resolves to 127\.0\.0\.1, which is a loopback"):
            fetcher.fetch("https://mixed.example/")
    assert resolver.asked == ["news.example", "mixed.example"]


def test_a_literal_private_address_is_refused_unless_allowed(site: FeedSite) -> None:
    url = site.url("/news/harbour.html")
    before = site.hits["/news/harbour.html"]
    with SafeFetcher(FetchLimits(timeout_s=2)) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert str(caught.value) == (f"{url}: 127.0.0.1 is a loopback address: refused (set "
                                 "RAG_ALLOW_PRIVATE_URLS=1 to allow private addresses)")
    assert site.hits["/news/harbour.html"] == before  # never connected
    with SafeFetcher(FetchLimits(timeout_s=2, allow_private=True)) as fetcher:
        assert fetcher.fetch(url, accept=HTML_TYPES).status == 200


@pytest.mark.parametrize("target, reason", [
    ("http://metadata.test/latest/meta-data",
     "metadata.test resolves to 169.254.169.254, which is a link-local address: refused"),
    ("http://10.0.0.1/admin", "10.0.0.1 is a private address: refused"),
    ("http://[::1]:8080/", "::1 is a loopback address: refused"),
    ("file:///etc/passwd", "only http and https URLs are fetched, not file"),
])
def test_a_redirect_to_a_private_address_is_refused(site: FeedSite, target: str,
                                                    reason: str) -> None:
    """The test server itself (127.0.0.1) is let through by ``allowed_networks``; where it
    redirects to is checked again."""
    resolver = Resolver({"metadata.test": ["169.254.169.254"]})
    start = site.url(f"/redirect-to/{target}")
    with SafeFetcher(FetchLimits(timeout_s=2), resolver=resolver,
                     allowed_networks=["127.0.0.1/32"]) as fetcher, \
            pytest.raises(FetchError) as caught:
        fetcher.fetch(start)
    assert reason in str(caught.value)
    assert str(caught.value).startswith(start)


def test_limits_each_refusal_names_the_url_and_the_reason(site: FeedSite) -> None:
    limits = FetchLimits(timeout_s=1.0, max_bytes=100_000, max_redirects=3, allow_private=True)
    cases = {
        "/loop/1": "redirect loop: {base}/loop/2 sends back to {base}/loop/1",
        "/news/huge.html": "409,445 bytes, more than the 100,000 allowed",
        "/news/slow.html": "no answer within 1 s",
        "/files/report.pdf":
            "content type application/pdf is not one of application/xhtml+xml, text/html",
        "/missing.html": "HTTP 404 Not Found",
    }
    with SafeFetcher(limits) as fetcher:
        for path, reason in cases.items():
            with pytest.raises(FetchError) as caught:
                fetcher.fetch(site.url(path), accept=HTML_TYPES)
            assert str(caught.value) == f"{site.url(path)}: {reason.format(base=site.base)}"
        chain = "/redirect-to/" * 5 + "/news/harbour.html"
        with pytest.raises(FetchError, match="more than 3 redirects"):
            fetcher.fetch(site.url(chain))


@pytest.mark.parametrize("coding", ["gzip", "deflate", "rawdeflate"])
def test_compressed_pages_are_decoded(site: FeedSite, coding: str) -> None:
    with SafeFetcher(FetchLimits(timeout_s=5, allow_private=True)) as fetcher:
        plain = fetcher.fetch(site.url("/news/harbour.html")).body
        assert fetcher.fetch(site.url(f"/coded/{coding}/news/harbour.html")).body == plain


@pytest.mark.parametrize("kind, reason", [
    ("gzip-gzip", "more than the 5,000,000 bytes allowed"),  # 980 bytes, two gzip layers
    ("gzip", "more than the 5,000,000 bytes allowed"),  # 510 KB, one layer
    ("zstd", "content encoding zstd is not accepted (only gzip and deflate)"),
    ("gzip-3", "3 content encodings (gzip, gzip, gzip): at most 2 are undone"),
])
def test_a_decompression_bomb_is_refused_in_little_memory(site: FeedSite, kind: str,
                                                           reason: str) -> None:
    """Each bomb decompresses to 512 MB of zeros; the default 5 MB limit holds after
    decompression, which runs in 64 KB steps (issue 24: 589 bytes took 513 MB before)."""
    url = site.url(f"/bomb/{kind}")
    measured = fetch_measured(site.url("/news/harbour.html"), [url])
    print(f"bomb {kind}: {measured}")
    assert measured["fetches"][url]["error"] == f"{url}: {reason}"
    assert measured["peak_mb"] < 100


@pytest.mark.parametrize("path", ["/trickle/headers", "/trickle/body"])
def test_one_deadline_for_headers_and_body_however_slowly_they_come(site: FeedSite,
                                                                    path: str) -> None:
    """A byte every 0.2 s keeps each read within httpx's per-read timeout; the fetch's one
    deadline (2 s) still ends it (the server would go on for 20 s)."""
    started = time.monotonic()
    with SafeFetcher(FetchLimits(timeout_s=2, allow_private=True)) as fetcher, \
            pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url(path))
    took = time.monotonic() - started
    print(f"{path}: refused after {took:.2f} s (deadline 2 s)")
    assert str(caught.value) == f"{site.url(path)}: no answer within 2 s"
    assert took < 2 + 5


def test_conditional_request_gets_304_and_no_body(site: FeedSite) -> None:
    with SafeFetcher(FetchLimits(allow_private=True)) as fetcher:
        first = fetcher.fetch(site.url("/rss.xml"))
        assert first.status == 200 and first.etag and first.last_modified and first.body
        again = fetcher.fetch(site.url("/rss.xml"), etag=first.etag,
                              last_modified=first.last_modified)
    assert again.not_modified and again.body == b""


def test_canonical_url_only_on_the_same_site() -> None:
    page = "https://news.example.com/a/story.html?utm_medium=rss&id=7#comments"
    assert canonical_url("/a/story.html", page) == "https://news.example.com/a/story.html"
    assert canonical_url(None, page) == "https://news.example.com/a/story.html?id=7"
    # A page cannot claim another site's article (and replace it in the index).
    assert canonical_url("https://other.org/their-story", page) == (
        "https://news.example.com/a/story.html?id=7")
    assert canonical_url("javascript:alert(1)", page).startswith("https://news.example.com/")


def test_intervals() -> None:
    assert parse_interval("90m") == 5400
    assert parse_interval("1h30m") == 5400
    assert parse_interval("1d") == 86400
    for bad in ("soon", "30", "10s", "5x"):
        if bad == "30":
            assert parse_interval(bad) == 1800
            continue
        with pytest.raises(BadInputError):
            parse_interval(bad)
