"""Articles and their loaders: .txt/.md, .html/.htm, .json/.jsonl, and folders of them.

>>> from rag.articles import Article
>>> a = Article(title="Rates rise", text="The central bank raised rates.")
>>> a.id == Article(title="Rates rise", text="The central bank raised rates.").id
True
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import BadInputError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ARTICLE_CHARS = 2_000_000


@dataclass(frozen=True)
class Article:
    """One news article. ``id`` is the given doc_id, else derived from url, else from content.

    ``origin`` says where it was loaded from (``path``; ``path#id=DOC_ID`` for a JSON record with
    an id, else ``path#line`` or ``path#item``), so that re-ingesting an edited file replaces the
    article it had produced before.
    """

    title: str
    text: str
    id: str = ""
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    author: str | None = None
    origin: str | None = None

    def __post_init__(self) -> None:
        text = _clean_text(self.text or "")
        title = clean_line(self.title or "")
        if not text.strip():
            raise BadInputError(f"article {self.title or self.id or self.origin!r} has no text")
        if len(text) > MAX_ARTICLE_CHARS:
            raise BadInputError(
                f"article {title or self.id!r} is {len(text):,} characters, more than the "
                f"{MAX_ARTICLE_CHARS:,} allowed"
            )
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "title", title or _first_words(text))
        object.__setattr__(self, "published_at", normalize_date(self.published_at))
        for name in ("source", "url", "author"):
            value = getattr(self, name)
            object.__setattr__(self, name, clean_line(str(value)) or None if value else None)
        if self.url is not None and web_url(self.url) is None:
            raise BadInputError(f"article {title or self.id!r}: url {self.url[:200]!r} is not a "
                                "web address (http:// or https:// and a host); fix it or leave "
                                "it out")
        object.__setattr__(self, "id", clean_line(str(self.id or "")))
        if not self.id:
            basis = f"url:{self.url}" if self.url else f"content:{self.title}\n{self.text}"
            object.__setattr__(self, "id", hashlib.sha1(basis.encode()).hexdigest()[:16])

    @classmethod
    def stored(cls, **values: str | None) -> Article:
        """An article read back from an index: it was cleaned and checked when it was written,
        so it is not cleaned again (that costs more than the search on long articles).

        >>> Article.stored(title="T", text="Hello.", id="a1").id
        'a1'
        """
        article = object.__new__(cls)
        for f in fields(cls):
            object.__setattr__(article, f.name, values.get(f.name, f.default))
        return article

    @property
    def content_hash(self) -> str:
        payload = "\x1f".join(
            str(v or "") for v in (self.title, self.text, self.source, self.url,
                                   self.published_at, self.author)
        )
        return hashlib.sha1(payload.encode()).hexdigest()


@dataclass(frozen=True)
class LoadFailure:
    """An input that was skipped, and why."""

    input: str
    reason: str

    def __str__(self) -> str:
        return f"{self.input}: {self.reason}"


@dataclass
class LoadReport:
    """Articles loaded, inputs that failed, and notes on inputs read with a repair (a stray
    byte replaced, ...)."""

    articles: list[Article] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    notes: list[LoadFailure] = field(default_factory=list)

    def extend(self, other: LoadReport) -> None:
        self.articles.extend(other.articles)
        self.failures.extend(other.failures)
        self.notes.extend(other.notes)


def check_paths(paths: Iterable[str | Path]) -> list[Path]:
    """``paths`` as a list, each an existing file or folder; a missing one (a typo) is a
    BadInputError naming it as given, before anything is read.

    >>> check_paths(["data/no-such-folder"])
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: no such file or folder: data/no-such-folder
    """
    checked = [Path(p) for p in paths]
    for path in checked:
        if not path.expanduser().exists():
            raise BadInputError(f"no such file or folder: {path}")
    return checked


def load_paths(paths: Iterable[str | Path]) -> LoadReport:
    """Load every supported file under the given files and folders; bad ones become failures."""
    report = LoadReport()
    for path in paths:
        report.extend(load_path(path))
    return report


def load_path(path: str | Path) -> LoadReport:
    # Absolute, so an article's origin is the same however the file was named on the command
    # line, and an edited file replaces what it produced before.
    path = Path(path).expanduser().resolve()
    report = LoadReport()
    if not path.exists():
        report.failures.append(LoadFailure(str(path), "no such file or folder"))
        return report
    for file in iter_files(path):
        outside = _outside(file, path)
        if outside is not None:
            report.failures.append(LoadFailure(
                str(file), f"a link to {outside}, outside {path}: not followed"))
            continue
        try:
            report.articles.extend(load_file(file, report.failures, report.notes))
        except BadInputError as exc:
            report.failures.append(LoadFailure(str(file), str(exc)))
        except (OSError, ValueError, RecursionError, MemoryError) as exc:
            # One unreadable file never stops the others; the reason names what went wrong.
            report.failures.append(LoadFailure(
                str(file), f"cannot be read: {type(exc).__name__}: {exc}"[:300]))
    if path.is_dir() and not report.articles and not report.failures:
        report.failures.append(LoadFailure(str(path), "no .txt/.md/.html/.json/.jsonl files"))
    return report


def _outside(file: Path, root: Path) -> Path | None:
    """Where ``file`` really is when a link takes it outside the folder ``root``, else None."""
    if file == root:
        return None
    real = file.resolve()
    return None if real.is_relative_to(root) else real


def iter_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*")):
        hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
        if file.is_file() and not hidden and file.suffix.lower() in SUPPORTED_SUFFIXES:
            yield file


def load_file(path: Path, failures: list[LoadFailure] | None = None,
              notes: list[LoadFailure] | None = None) -> list[Article]:
    """Articles in one file. Bad records of a JSON Lines file go to ``failures``, repairs
    made while reading (a stray byte replaced) to ``notes``."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadInputError(
            f"unsupported file type {suffix or '(none)'}; use one of "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    raw = _read_bytes(path)
    said: list[str] = []
    # In JSON Lines a NUL spoils only its line (refused there), not the file.
    text = decode_text(raw, path, notes=said, nul_ok=suffix in {".jsonl", ".ndjson"})
    if notes is not None:
        notes.extend(LoadFailure(str(path), note) for note in said)
    if suffix in HTML_SUFFIXES:
        return [article_from_html(text, origin=str(path))]
    if suffix in JSON_SUFFIXES:
        return list(_articles_from_json(text, path, failures if failures is not None else []))
    return [article_from_text(text, origin=str(path), markdown=suffix != ".txt")]


def article_from_text(text: str, origin: str | None = None, markdown: bool = False) -> Article:
    """Plain text or Markdown: the first non-empty line is the title."""
    lines = text.strip().splitlines()
    if not lines:
        raise BadInputError("empty file")
    title = lines[0].strip()
    if markdown:
        title = title.lstrip("#").strip()
    body = "\n".join(lines[1:]).strip()
    if not body:
        body, title = title, _first_words(title)
    return Article(title=title, text=body, origin=origin)


def article_from_html(html: str, origin: str | None = None) -> Article:
    """Main text and metadata (title, date, author, site, url) extracted with trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True
    )
    if doc is None:
        raise BadInputError("no article text found in the HTML")
    meta = doc if isinstance(doc, dict) else doc.as_dict()
    text = meta.get("text") or ""
    if not text.strip():
        raise BadInputError("no article text found in the HTML")
    return Article(
        title=meta.get("title") or "",
        text=text,
        source=meta.get("sitename") or meta.get("hostname"),
        url=web_url(meta.get("url")),  # what the page claims; the file is the article
        published_at=meta.get("date"),
        author=meta.get("author"),
        origin=origin,
    )


def article_from_record(record: Any, origin: str | None = None) -> Article:
    """One JSON object with title, text (or content/body), url, source, published_at, author."""
    if not isinstance(record, dict):
        raise BadInputError(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text") or record.get("content") or record.get("body")
    if not isinstance(text, str) or not text.strip():
        raise BadInputError("record has no 'text'")
    doc_id = record.get("doc_id", record.get("id"))
    doc_id = str(doc_id) if doc_id not in (None, "") else ""
    if doc_id and origin:
        # A record with an id is that id wherever it sits: not line N, which another record
        # takes when a line is inserted above it.
        origin = f"{origin.partition('#')[0]}#id={doc_id}"
    return Article(
        title=str(record.get("title") or ""),
        text=text,
        id=doc_id,
        source=_opt_str(record.get("source")),
        url=_opt_str(record.get("url")),
        published_at=_opt_str(record.get("published_at") or record.get("date")),
        author=_opt_str(record.get("author")),
        origin=origin,
    )


def _articles_from_json(text: str, path: Path, failures: list[LoadFailure]) -> Iterator[Article]:
    lines_ok = path.suffix.lower() != ".json"  # JSON Lines: one record per line
    if not lines_ok or text.lstrip().startswith("["):
        try:
            data, whole = _parse_json(text), True
        except BadInputError:
            if not lines_ok:
                raise
            data, whole = None, False  # JSON Lines whose first line is an array: line by line
        if whole:
            records = data if isinstance(data, list) else [data]
            for i, record in enumerate(records):
                try:
                    yield article_from_record(record, origin=f"{path}#{i}")
                except BadInputError as exc:
                    failures.append(LoadFailure(f"{path} item {i}", str(exc)))
            return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        if "\x00" in line:
            failures.append(LoadFailure(where, "contains NUL bytes: not a JSON record"))
            continue
        try:
            yield article_from_record(json.loads(line), origin=f"{path}#{lineno}")
        except json.JSONDecodeError as exc:
            failures.append(LoadFailure(where, f"malformed JSON: {exc.msg}"))
        except RecursionError:
            failures.append(LoadFailure(where, _TOO_DEEP))
        except BadInputError as exc:
            failures.append(LoadFailure(where, str(exc)))


_TOO_DEEP = "malformed JSON: nested too deeply to read"


def _parse_json(text: str) -> Any:
    """A whole JSON document, or a BadInputError saying why it is none."""
    if "\x00" in text:
        raise BadInputError("binary file (contains NUL bytes), not text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"malformed JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise BadInputError(_TOO_DEEP) from None


def _read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise BadInputError("empty file")
    if size > MAX_FILE_BYTES:
        raise BadInputError(f"file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} allowed")
    return path.read_bytes()


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(raw: bytes, path: Path | str = "input", *, notes: list[str] | None = None,
                nul_ok: bool = False) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 with a BOM, UTF-8 with a few stray bytes
    (replaced by U+FFFD, said in ``notes``), else a detected legacy encoding. Binary data (NUL
    bytes, unless ``nul_ok``) is refused.

    >>> decode_text(codecs.BOM_UTF16_LE + "Grüße".encode("utf-16-le"))
    'Grüße'
    >>> decode_text("Café ".encode() + bytes([255]) + " déjà vu".encode(), notes=[])
    'Café � déjà vu'
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise BadInputError(f"not valid {encoding.upper()} despite its byte-order mark "
                                    f"(at byte {exc.start})") from None
    if not nul_ok and b"\x00" in raw[:8192]:
        raise BadInputError("binary file (contains NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    repaired = _mostly_utf8(raw)
    if repaired is not None:
        text, bad = repaired
        if notes is not None:
            notes.append(f"read as UTF-8 with {bad} invalid byte sequence(s) replaced by U+FFFD")
        return text
    western = _as_western_european(raw)
    if western is not None:
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.chaos > 0.2:
        raise BadInputError("cannot decode: not UTF-8 and no other text encoding fits")
    return str(best)


def _mostly_utf8(raw: bytes) -> tuple[str, int] | None:
    """(text, number of invalid sequences) when ``raw`` is UTF-8 with a few stray bytes: it has
    valid multi-byte characters, and no more invalid sequences than valid ones. A legacy
    8-bit file (cp1252 "café" is ``caf\xe9``) has no valid multi-byte sequence at all."""
    text = raw.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - raw.count("\ufffd".encode())
    good = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return (text, bad) if 0 < bad <= good else None


# Non-ASCII characters that Windows-1252 text is made of: Latin letters and typography.
_CP1252_TYPOGRAPHY = set("“”‘’‚„–—…•€£°«»·×§©®™¢¥¿¡´¨±½¼¾\u00a0")


def _as_western_european(raw: bytes) -> str | None:
    """``raw`` as Windows-1252 when that reads as Western European text, else None.

    Detectors guess poorly on short Western texts (French "à" came out as Polish "ą"), and
    Windows-1252 is what the web means by Latin-1. It is chosen only when every non-ASCII
    character it yields is a letter or common typography (a Central European cp1250 file would
    give "³" or "¹" mid-word) and letters are mostly ASCII (Cyrillic or Greek read as cp1252 are
    accented letters throughout); otherwise detection decides.

    >>> _as_western_european("Le café était à côté de la gare.".encode("cp1252"))
    'Le café était à côté de la gare.'
    >>> _as_western_european("Вчера правительство объявило".encode("cp1251")) is None
    True
    """
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        return None
    letters = ascii_letters = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            ascii_letters += ch.isascii()
        elif not ch.isascii() and ch not in _CP1252_TYPOGRAPHY:
            return None
    if letters == 0 or ascii_letters < 0.7 * letters:
        return None
    return text


def normalize_date(value: Any) -> str | None:
    """An ISO 8601 date (``YYYY-MM-DD``) or datetime string, or None if absent or unparseable."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raw = str(value).strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        from dateutil import parser

        try:
            parsed = parser.parse(raw)
        except (ValueError, OverflowError):
            return None
    if (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0) and len(raw) <= 10:
        return parsed.date().isoformat()
    return parsed.isoformat()


# Unicode category Cc (C0, DEL, C1) except newline and tab: they break offsets in browsers, and
# ESC/BEL drive terminals. Bidi embeddings, overrides and isolates (U+202A-E, U+2066-9) reorder
# what follows them on screen (a title that reads backwards, a spoofed file name). Lone
# surrogates cannot be encoded at all.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# Characters a URL never holds unencoded (RFC 3986) that would end it early in Markdown or HTML.
_NOT_IN_URL = re.compile(r'[\s<>"`\\]')


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address with a host and no characters a URL must encode,
    else None: no ``javascript:`` or ``data:`` link, nothing that breaks out of a link.

    >>> web_url("https://news.example/a?b=1"), web_url("javascript:alert(1)")
    ('https://news.example/a?b=1', None)
    >>> web_url("https://x.test/a [x](javascript:alert(1))") is None
    True
    """
    if not url or _NOT_IN_URL.search(url) or _LINE_CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return None
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else None


def _clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def clean_line(value: str) -> str:
    """One line of metadata (a title, a source, a question): control characters, bidi
    overrides and lone surrogates removed, whitespace collapsed.

    >>> clean_line("Evil\x1b[2J title\u202e txt.exe \x07")
    'Evil[2J title txt.exe'
    """
    text = " ".join(unicodedata.normalize("NFC", value).split())  # tabs, newlines: spaces
    return " ".join(_LINE_CONTROL.sub("", text).split())


def _first_words(text: str, n: int = 10) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
