"""Loading articles from every supported format, and refusing bad files with a named reason."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest

from rag.articles import (
    Article,
    article_from_record,
    article_from_text,
    decode_text,
    load_file,
    load_path,
    load_paths,
    normalize_date,
)
from rag.errors import BadInputError
from rag.system import SAMPLE_CORPUS

STORY = ("A strong storm hit the northern coast on Tuesday, flooding streets in three towns. "
         "Officials said the harbour wall held, and no injuries were reported by the evening.")

HOSTILE_HTML = """<!doctype html><html><head>
<title>Storm hits coast | Coast News</title>
<meta property="og:title" content="Storm hits coast">
<meta name="author" content="Jane Roe">
<meta property="article:published_time" content="2024-03-05">
<meta property="og:site_name" content="Coast News">
<link rel="canonical" href="https://example.com/storm">
<script>window.stolen = document.cookie; alert('pwned')</script>
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Storm hits coast</h1>
<p>A strong storm hit the northern coast on Tuesday, flooding streets in three towns.</p>
<img src="x" onerror="alert('xss')">
<p>Officials said the harbour wall held, and no injuries were reported by the evening.</p>
<p>Residents were told to stay indoors until the wind dropped below gale force later in the
week, the mayor said at a press conference in the town hall.</p>
<script>document.write('<iframe src=evil></iframe>')</script>
</article></body></html>"""


def test_txt_title_is_first_line(tmp_path: Path) -> None:
    path = tmp_path / "storm.txt"
    path.write_text(f"Storm hits coast\n\n{STORY}\n", encoding="utf-8")
    [article] = load_file(path)
    assert article.title == "Storm hits coast"
    assert article.text == STORY
    assert article.origin == str(path.resolve())
    assert len(article.id) == 16


def test_markdown_heading_becomes_title(tmp_path: Path) -> None:
    path = tmp_path / "storm.md"
    path.write_text(f"# Storm hits coast\n\n{STORY}\n", encoding="utf-8")
    [article] = load_file(path)
    assert article.title == "Storm hits coast"
    assert article.text.startswith("A strong storm")


def test_utf8_bom_and_crlf_are_normalized(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(("Title\r\n" + STORY.replace(". ", ".\r\n")).encode("utf-8-sig"))
    [article] = load_file(path)
    assert article.title == "Title"
    assert "\r" not in article.text and "\ufeff" not in article.title


def test_html_text_and_metadata_via_trafilatura(tmp_path: Path) -> None:
    path = tmp_path / "storm.html"
    path.write_text(HOSTILE_HTML, encoding="utf-8")
    [article] = load_file(path)
    assert article.title == "Storm hits coast"
    assert article.author == "Jane Roe"
    assert article.published_at == "2024-03-05"
    assert article.source == "Coast News"
    assert article.url == "https://example.com/storm"
    assert "harbour wall held" in article.text


def test_hostile_html_keeps_no_script_or_handler(tmp_path: Path) -> None:
    path = tmp_path / "hostile.htm"
    path.write_text(HOSTILE_HTML, encoding="utf-8")
    [article] = load_file(path)
    for needle in ("alert", "script", "onerror", "document.", "iframe", "<"):
        assert needle not in article.text, needle
        assert needle not in article.title, needle


def test_json_list_and_single_object(tmp_path: Path) -> None:
    records = [
        {"title": "One", "text": "First story text here.", "url": "https://a.example/1",
         "source": "A", "published_at": "2024-01-02T10:00:00Z", "author": "X"},
        {"title": "Two", "text": "Second story text here.", "doc_id": "given-id"},
    ]
    many = tmp_path / "many.json"
    many.write_text(json.dumps(records), encoding="utf-8")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(records[0]), encoding="utf-8")

    first, second = load_file(many)
    assert (first.title, first.url, first.source, first.author) == (
        "One", "https://a.example/1", "A", "X")
    assert first.published_at == "2024-01-02T10:00:00+00:00"
    assert second.id == "given-id"
    [single] = load_file(one)
    assert single.id == first.id  # id from the url, the same wherever it is loaded from


def test_jsonl_with_content_field(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"title": "A", "content": "Alpha story."},
        {"title": "B", "body": "Beta story.", "date": "2023-05-06"},
    ]) + "\n\n", encoding="utf-8")
    a, b = load_file(path)
    assert (a.text, b.text, b.published_at) == ("Alpha story.", "Beta story.", "2023-05-06")
    assert a.origin == f"{path.resolve()}#1" and b.origin == f"{path.resolve()}#2"


def test_realtimeqa_corpus_format_loads_as_is(realtimeqa_dir: Path, tmp_path: Path) -> None:
    with open(realtimeqa_dir / "corpus.jsonl", encoding="utf-8") as fh:
        lines = list(islice(fh, 5))
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    report = load_path(path)
    assert not report.failures
    assert len(report.articles) == 5
    for line, article in zip(lines, report.articles, strict=True):
        record = json.loads(line)
        assert article.id == record["doc_id"]
        assert article.url == record["url"]
        assert article.source == record["source"]
        assert article.published_at == record["published_at"]
        assert article.text == record["text"].strip()


def test_folders_load_recursively_and_skip_hidden_and_other_types(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.txt").write_text("Top\nTop story.", encoding="utf-8")
    (tmp_path / "a" / "mid.md").write_text("# Mid\nMid story.", encoding="utf-8")
    (tmp_path / "a" / "b" / "deep.jsonl").write_text(
        json.dumps({"title": "Deep", "text": "Deep story."}), encoding="utf-8")
    (tmp_path / "a" / "b" / "notes.csv").write_text("x,y", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("Secret\nNo.", encoding="utf-8")
    report = load_path(tmp_path)
    assert sorted(a.title for a in report.articles) == ["Deep", "Mid", "Top"]
    assert not report.failures


def test_sample_corpus_has_seven_separate_stories() -> None:
    report = load_paths([SAMPLE_CORPUS])
    assert not report.failures
    titles = [a.title for a in report.articles]
    assert len(titles) == 7 == len(set(titles))
    assert any("Russia and Iran" in t for t in titles)


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "empty file"),
    ("blank.md", b"  \n\n\t \n", "empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    ("undecodable.txt", bytes((0x80 + (i * 37) % 128) for i in range(3000)), "decode"),
    ("broken.json", b'[{"title": "x", "text": "y"', "malformed JSON"),
    ("notext.json", b'{"title": "only a title"}', "no 'text'"),
    ("image.html", b"<html><body><img src=a.png></body></html>", "no article text"),
])
def test_bad_files_fail_with_a_reason_naming_the_file(tmp_path: Path, name: str, content: bytes,
                                                      reason: str) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Good\nA good story.", encoding="utf-8")
    bad = tmp_path / name
    bad.write_bytes(content)
    report = load_path(tmp_path)
    assert [a.title for a in report.articles] == ["Good"]
    [failure] = report.failures
    assert name in str(failure)
    assert reason.lower() in failure.reason.lower()


def test_malformed_jsonl_lines_are_skipped_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join([
        json.dumps({"title": "Fine", "text": "A fine story."}),
        '{"title": "cut off", "text": ',
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "No text"}),
        json.dumps({"title": "Also fine", "text": "Another fine story."}),
    ]), encoding="utf-8")
    report = load_path(path)
    assert [a.title for a in report.articles] == ["Fine", "Also fine"]
    assert [f.input for f in report.failures] == [
        f"{path} line 2", f"{path} line 3", f"{path} line 4"]
    assert "malformed JSON" in report.failures[0].reason


def test_missing_path_and_unsupported_type(tmp_path: Path) -> None:
    report = load_path(tmp_path / "nope")
    assert "no such file" in report.failures[0].reason
    other = tmp_path / "data.csv"
    other.write_text("a,b", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"unsupported file type \.csv"):
        load_file(other)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    assert "no .txt" in load_path(empty_dir).failures[0].reason


def test_article_validation_and_stable_ids() -> None:
    with pytest.raises(BadInputError, match="no text"):
        Article(title="T", text="  \n ")
    with pytest.raises(BadInputError, match="characters"):
        Article(title="T", text="x" * 2_000_001)
    a = Article(title="  Spaced   title ", text="Body\x00 with\x07 controls.")
    assert a.title == "Spaced title" and a.text == "Body with controls."
    assert a.id == Article(title="Spaced title", text="Body with controls.").id
    assert a.id != Article(title="Spaced title", text="Other body.").id
    by_url = Article(title="T", text="v1", url="https://x.example/a")
    assert by_url.id == Article(title="T2", text="v2", url="https://x.example/a").id
    assert by_url.content_hash != Article(title="T", text="v2", url="https://x.example/a").content_hash
    untitled = article_from_text("Only one line of text that serves as both title and body")
    assert untitled.text.startswith("Only one line")


def test_record_must_be_an_object_with_text() -> None:
    with pytest.raises(BadInputError, match="JSON object"):
        article_from_record(["x"])
    with pytest.raises(BadInputError, match="no 'text'"):
        article_from_record({"text": 5})


@pytest.mark.parametrize(("raw", "expected"), [
    ("2022-09-26", "2022-09-26"),
    ("2024-01-02T10:00:00Z", "2024-01-02T10:00:00+00:00"),
    ("March 5, 2024", "2024-03-05"),
    ("not a date", None),
    ("", None),
    (None, None),
])
def test_normalize_date(raw: str | None, expected: str | None) -> None:
    result = normalize_date(raw)
    if expected is None:
        assert result is None
    else:  # a date-only input may come back as midnight of that day
        assert result is not None and result.startswith(expected)


@pytest.mark.parametrize(("text", "encoding"), [
    # Short Western texts that charset_normalizer alone read as mac_latin2, cp775 or cp1250.
    ("Le café était à côté de la gare, où Zoë a dîné.", "cp1252"),
    ("The “quoted” résumé — naïve façade, 5 € only.", "cp1252"),
    ("He said: “It’s à la carte.”", "cp1252"),
    ("Straße, Müller und Größe: die Überraschung.", "cp1252"),
    # Other legacy encodings must still be detected, not read as cp1252.
    ("Zażółć gęślą jaźń. Wczoraj rząd ogłosił nowe przepisy dotyczące podatków, które wejdą "
     "w życie w przyszłym roku.", "cp1250"),
    ("Вчера правительство объявило о новых правилах налогообложения, которые вступят в силу в "
     "следующем году.", "cp1251"),
    ("Η κυβέρνηση ανακοίνωσε χθες νέους κανόνες για τη φορολογία, που θα ισχύσουν από το "
     "επόμενο έτος.", "cp1253"),
])
def test_legacy_encodings_decode_to_the_original_text(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_decode_text_refuses_binary_and_accepts_utf8() -> None:
    assert decode_text("Grüße".encode()) == "Grüße"
    with pytest.raises(BadInputError, match="binary"):
        decode_text(b"abc\x00def")


# --- issue 17: hostile input -------------------------------------------------------------------
def test_titles_and_metadata_lose_terminal_escapes_and_bidi_overrides(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({
        "title": "Evil\x1b[2J\x1b]0;pwned\x07 title\x00 \u202eevil.exe",
        "text": "Body \x1b[31mred\u202e text.", "source": "bad\x1bsource\u2066",
        "author": "A\x07uthor", "doc_id": "id\x1b1"}) + "\n", encoding="utf-8")
    [article] = load_path(path).articles
    for value in (article.title, article.source, article.author, article.id, article.text):
        assert not any(ch in value for ch in "\x00\x07\x1b\u202e\u2066"), repr(value)
    assert article.title == "Evil[2J]0;pwned title evil.exe"


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        path = tmp_path / f"{encoding}.txt"
        bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[encoding]
        path.write_bytes(bom + f"Grüße aus Köln\n{STORY}".encode(encoding))
        [article] = load_file(path)
        assert article.title == "Grüße aus Köln" and article.text == STORY


def test_a_nul_in_a_jsonl_line_fails_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"\n".join([
        json.dumps({"title": "Fine", "text": "A fine story."}).encode(),
        b'{"title": "bad\x00", "text": "nul"}',
        json.dumps({"title": "Also fine", "text": "Another fine story."}).encode()]))
    report = load_path(path)
    assert [a.title for a in report.articles] == ["Fine", "Also fine"]
    [failure] = report.failures
    assert failure.input == f"{path} line 2" and "NUL" in failure.reason


def test_utf8_with_one_stray_byte_stays_utf8_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "cafe.txt"
    path.write_bytes("Le café du coin\nLe café a rouvert lundi".encode() + b"\xff" + b" matin.")
    report = load_path(path)
    [article] = report.articles
    assert article.title == "Le café du coin"  # not "cafÃ©" (cp1252)
    assert article.text == "Le café a rouvert lundi\ufffd matin."
    [note] = report.notes
    assert note.input == str(path) and "1 invalid byte" in note.reason


def test_a_link_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("Secret\nThe password is hunter2.", encoding="utf-8")
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text(f"Good\n{STORY}", encoding="utf-8")
    (folder / "hostname.txt").symlink_to(outside)
    (folder / "inside.txt").symlink_to(folder / "good.txt")  # a link within the folder is fine
    report = load_path(folder)
    assert [a.title for a in report.articles] == ["Good", "Good"]
    [failure] = report.failures
    assert failure.input == str(folder / "hostname.txt") and "outside" in failure.reason


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>",
                                 "file:///etc/passwd", "/news/storm", "https://",
                                 "https://x.example/a [x](javascript:alert(1))"])
def test_only_web_urls_are_accepted(tmp_path: Path, url: str) -> None:
    with pytest.raises(BadInputError, match=r"url .* is not a web address \(http:// or https://"):
        Article(title="Storm", text=STORY, url=url)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"title": "Storm", "text": STORY, "url": url}) + "\n"
                    + json.dumps({"title": "Calm", "text": STORY, "url": "http://x.example/c"}))
    report = load_path(feed)
    assert [a.title for a in report.articles] == ["Calm"]
    assert report.failures[0].input == f"{feed} line 1"
    assert "is not a web address" in report.failures[0].reason


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://example.com/a<b>x"])
def test_a_page_claiming_a_bad_url_is_kept_without_it(tmp_path: Path, url: str) -> None:
    page = tmp_path / "storm.html"
    canonical = '<link rel="canonical" href="https://example.com/storm">'
    page.write_text(HOSTILE_HTML.replace(canonical, f'<meta property="og:url" content="{url}">'),
                    encoding="utf-8")
    [article] = load_file(page)
    assert article.url is None and "harbour wall held" in article.text
