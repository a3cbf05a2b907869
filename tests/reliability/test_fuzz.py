"""Fuzzed input with hypothesis: the loaders and question input either work or raise a named
BadInputError, never anything else. Bounded (few examples, no deadline) to stay quick."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import BadInputError, RagSystem
from rag.articles import clean_line, load_path

SUFFIXES = [".txt", ".md", ".html", ".json", ".jsonl"]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
RECORD = st.fixed_dictionaries({}, optional={
    "doc_id": JSON, "id": JSON, "title": JSON | st.text(), "text": st.text() | JSON,
    "content": JSON, "source": JSON, "url": JSON, "published_at": JSON | st.text(max_size=30),
    "author": JSON})


def _check(report, folder: Path) -> None:  # type: ignore[no-untyped-def]
    for failure in report.failures:
        assert failure.input.startswith(str(folder)) and failure.reason
    for article in report.articles:
        assert article.text.strip() and article.id
        assert clean_line(article.title) == article.title
        assert "\x1b" not in article.text and "\u202e" not in article.text
        article.text.encode("utf-8")  # no lone surrogates


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_any_bytes_load_or_fail_by_name(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / f"input{suffix}").write_bytes(data)
        _check(load_path(folder), folder)


@FUZZ
@given(records=st.lists(RECORD | JSON, max_size=5), suffix=st.sampled_from([".json", ".jsonl"]),
       encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]), ascii_only=st.booleans())
def test_any_json_records_load_or_fail_by_name(records: list, suffix: str, encoding: str,
                                               ascii_only: bool) -> None:
    dumps = [json.dumps(r, ensure_ascii=ascii_only) for r in records]
    raw = f"[{', '.join(dumps)}]" if suffix == ".json" else "\n".join(dumps)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / f"feed{suffix}").write_bytes(raw.encode(encoding, errors="surrogatepass"))
        _check(load_path(folder), folder)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(question=st.text(max_size=200) | st.sampled_from([
           "What happened in December 9999?", "Who won in January 0001?", "\ud800?", "\x00",
           "What happened yesterday?", "in 9999", "last week " * 50]),
       k=st.none() | st.integers(-5, 40) | st.text(max_size=2) | st.floats(),
       as_of=st.none() | st.dates().map(str) | st.text(max_size=12))
def test_any_question_is_answered_or_refused_by_name(sample_system: RagSystem, question: str,
                                                     k, as_of) -> None:
    try:
        answer = sample_system.ask(question, k=k, reference_date=as_of)
    except BadInputError as exc:
        assert str(exc)
        return
    assert isinstance(answer.text, str) and answer.text
    assert isinstance(k, int) or k is None
