"""The safe fetcher (rag.feeds.fetch): address checks after DNS resolution and after each
redirect, and its limits, against a real HTTP server on 127.0.0.1. No model is loaded."""

from __future__ import annotations

import pytest
from feedsite import FeedSite

from rag.errors import BadInputError
from rag.feeds import FetchError, FetchLimits, SafeFetcher, check_url, parse_interval
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
])
def test_only_plain_http_urls(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert str(caught.value) == f"{url}: {reason}"


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
