"""Articles from fetched pages and feed entries: trafilatura extracts the main text and the
metadata; the canonical URL, when the page names one on its own site, is the article's
identity (so the same story fetched twice is one article).

>>> canonical_url("https://www.example.com/story", "https://example.com/story?utm_source=x#top")
'https://www.example.com/story'
>>> canonical_url("https://elsewhere.net/story", "https://example.com/story?utm_source=x#top")
'https://example.com/story'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from rag.articles import Article, decode_text
from rag.errors import BadInputError
from rag.feeds.fetch import FetchResult

# An entry whose own content has this much text is ingested as it is, without fetching its page.
FULL_CONTENT_CHARS = 500
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


@dataclass(frozen=True)
class EntryInfo:
    """What a feed says about an entry; fills in what the page does not say."""

    title: str = ""
    published_at: str | None = None
    author: str | None = None
    source: str | None = None


def clean_url(url: str) -> str:
    """``url`` without its fragment and tracking parameters (utm_*, fbclid...)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def _site(host: str | None) -> str:
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def canonical_url(declared: str | None, fetched: str) -> str:
    """The page's declared canonical URL if it is http(s) on the same site as the URL it was
    fetched from (else a page could claim another site's article and replace it), otherwise
    the fetched URL; both without fragment or tracking parameters."""
    if declared:
        absolute = urljoin(fetched, declared.strip())
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and _site(parts.hostname) == _site(
                urlsplit(fetched).hostname):
            return clean_url(absolute)
    return clean_url(fetched)


def page_text(result: FetchResult) -> str:
    """The body as text: the declared charset, else detected (``rag.articles.decode_text``)."""
    if result.charset:
        try:
            return result.body.decode(result.charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(result.body, result.url)


def article_from_page(result: FetchResult, entry: EntryInfo | None = None) -> Article:
    """The article in a fetched HTML page; ``entry`` (from a feed) fills in what is missing,
    its date first (a feed's date is what the publisher says, a page's is often a guess)."""
    import trafilatura

    entry = entry or EntryInfo()
    if not result.body.strip():
        raise BadInputError("the page is empty")
    doc = trafilatura.bare_extraction(page_text(result), url=result.url, with_metadata=True,
                                      include_comments=False, include_tables=True)
    meta: dict[str, Any] = {}
    if doc is not None:
        meta = doc if isinstance(doc, dict) else doc.as_dict()
    text = (meta.get("text") or "").strip()
    if not text:
        raise BadInputError("no article text found in the page")
    return Article(
        title=meta.get("title") or entry.title,
        text=text,
        url=canonical_url(meta.get("url"), result.url),
        source=meta.get("sitename") or entry.source or meta.get("hostname")
        or _site(urlsplit(result.url).hostname),
        published_at=entry.published_at or meta.get("date"),
        author=meta.get("author") or entry.author,
        origin=result.requested,
    )


def html_fragment_text(html: str) -> str:
    """The text of an entry's HTML content (a fragment, not a page)."""
    import trafilatura
    from lxml import html as lxml_html

    text = trafilatura.extract(f"<html><body><article>{html}</article></body></html>",
                               include_comments=False, include_tables=True) or ""
    if not text.strip():
        try:
            text = lxml_html.fromstring(html).text_content()
        except Exception:  # lxml refuses empty or odd fragments: then there is no text
            text = ""
    return text.strip()


def entry_date(entry: Any) -> str | None:
    """An entry's published (else updated) time as ISO 8601 UTC, from feedparser's parse."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(entry, key)  # feedparser's get() maps updated to published, warning
        if value:
            return datetime(*value[:6], tzinfo=UTC).isoformat()
    return None


def entry_info(entry: Any, feed_title: str | None) -> EntryInfo:
    return EntryInfo(title=entry.get("title") or "", published_at=entry_date(entry),
                     author=entry.get("author") or None, source=feed_title or None)


def entry_content(entry: Any) -> str:
    """The longest text among an entry's full contents (content:encoded, Atom content)."""
    best = ""
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        kind = content.get("type") or "text/html"
        text = html_fragment_text(value) if "html" in kind else value.strip()
        if len(text) > len(best):
            best = text
    return best


def article_from_entry(entry: Any, link: str, feed_title: str | None) -> Article | None:
    """The entry as an article when it carries its full text, else None (fetch its page)."""
    text = entry_content(entry)
    if len(text) < FULL_CONTENT_CHARS:
        return None
    info = entry_info(entry, feed_title)
    return Article(title=info.title, text=text, url=clean_url(link),
                   source=info.source or _site(urlsplit(link).hostname),
                   published_at=info.published_at, author=info.author, origin=link)
