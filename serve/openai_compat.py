"""OpenAI chat completions <-> ask(): messages in, a cited answer out (pure functions).

The reply's ``content`` is the answer with its ``[n]`` markers and a short Sources list, so any
client shows usable citations; the structured citations of ``rag ask --json`` ride along in an
extra top-level ``citations`` field, which OpenAI clients keep (``model_extra``) or ignore.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from rag.articles import web_url
from rag.briefing.build import briefing_title
from rag.errors import BadInputError
from rag.types import Answer, Briefing, Citation, Timeline, TimelineEvent

MODEL_ID = "news-rag"
MAX_MESSAGES = 200
_MARKER = re.compile(r"\[(\d+)\]")
_MD_INLINE = re.compile(r"([\\`*_\[\]~])")


def split_messages(messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The question (the last message, which must be the user's) and the earlier user messages
    as the follow-up history; system and assistant messages are not questions.

    >>> split_messages([{"role": "user", "content": "Who won?"},
    ...                 {"role": "assistant", "content": "Japan [1]."},
    ...                 {"role": "user", "content": [{"type": "text", "text": "By how much?"}]}])
    ('By how much?', ['Who won?'])
    """
    if not messages:
        raise BadInputError("messages is empty: send at least one user message")
    if len(messages) > MAX_MESSAGES:
        raise BadInputError(f"messages holds {len(messages)} messages; the limit is {MAX_MESSAGES}")
    last = messages[-1]
    if last.get("role") != "user":
        raise BadInputError(f"the last message must have role 'user' (the question), "
                            f"not {last.get('role')!r}")
    texts = [(m.get("role"), message_text(m.get("content"), i)) for i, m in enumerate(messages)]
    history = [text for role, text in texts[:-1] if role == "user" and text.strip()]
    return texts[-1][1], history


def message_text(content: Any, index: int = 0) -> str:
    """The text of a message's ``content``: a string, or a list of parts of which only
    ``{"type": "text"}`` ones are read."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadInputError(f"messages[{index}].content has a {kind!r} part; only text "
                                    "parts are supported")
            parts.append(str(part.get("text") or ""))
        return "\n".join(parts)
    raise BadInputError(f"messages[{index}].content must be a string or a list of text parts")


def inline_markdown(text: str) -> str:
    """Article text as literal Markdown that still reads as plain text: no HTML tag, link,
    image, code span or emphasis can start in it (``<`` and ``>`` become entities; ``[ ] * _ ~``
    backticks and backslashes are backslash-escaped); other punctuation is left as written.

    >>> inline_markdown("<img src=x onerror=alert(1)> [x](javascript:alert(1)) 16-13.")
    '&lt;img src=x onerror=alert(1)&gt; \\\\[x\\\\](javascript:alert(1)) 16-13.'
    """
    return _MD_INLINE.sub(r"\\\1", text.replace("<", "&lt;").replace(">", "&gt;"))


def answer_markdown(text: str, numbers: set[int]) -> str:
    """The answer ``text`` through :func:`inline_markdown`, its ``[n]`` markers of the
    citations ``numbers`` kept as they are.

    >>> answer_markdown("Japan won [1] *16-13* [7].", {1})
    'Japan won [1] \\\\*16-13\\\\* \\\\[7\\\\].'
    """
    pieces = _MARKER.split(text)  # text, number, text, number, ..., text
    return "".join(f"[{piece}]" if i % 2 and int(piece) in numbers
                   else inline_markdown(f"[{piece}]" if i % 2 else piece)
                   for i, piece in enumerate(pieces))


def sources_markdown(citations: list[Citation]) -> str:
    """The Sources list under an answer: ``[n] title (source, date) <url>`` per citation,
    metadata escaped (:func:`inline_markdown`); a url that is not http(s) is left out. Citing
    several collections, each says its collection first.

    >>> print(sources_markdown([Citation(1, "a", "T", "Q.", 0, 2, source="cnn.com",
    ...                                  published_at="2022-06-01", url="https://x.test/a")]))
    Sources:
    - [1] T (cnn.com, 2022-06-01) <https://x.test/a>
    >>> print(sources_markdown([Citation(1, "a", "T", "Q.", 0, 2, collection="desk"),
    ...                         Citation(2, "b", "U", "R.", 0, 2)]))
    Sources:
    - [1] T (desk)
    - [2] U (default)
    """
    if not citations:
        return ""
    several = len({c.collection for c in citations}) > 1
    lines = ["Sources:"]
    for c in citations:
        meta = ", ".join(inline_markdown(str(x)) for x in (
            c.collection if several else None, c.source, c.published_at) if x)
        line = f"- [{c.n}] {inline_markdown(str(c.title))}" + (f" ({meta})" if meta else "")
        url = web_url(c.url)
        lines.append(line + (f" <{url}>" if url else ""))
    return "\n".join(lines)


def timeline_markdown(timeline: Timeline) -> str:
    """A timeline as Markdown: its topic and window in bold, its note in italics if it has one
    (undated events: how they are ordered), then one list item per event, oldest first (undated
    ones in the order their articles report them): the day in bold and where it comes from
    (or **undated** and the date its sentence states, as stated), its headline in italics if
    it has one, the sentence (escaped) with its [n], and how many sources reported it.

    >>> from rag.types import TimelineEvent
    >>> c = Citation(1, "a", "Polo", "Japan beat *Iran* 16-13.", 0, 24)
    >>> print(timeline_markdown(Timeline("Iran water polo", "2025-02-01", None, (
    ...     TimelineEvent("2025-02-27", "stated", c.quote, c, 2, ("a", "b")),))))
    **Timeline: Iran water polo** (since 2025-02-01)
    <BLANKLINE>
    - **2025-02-27** (stated) Japan beat \\*Iran\\* 16-13. [1] · 2 sources
    >>> print(timeline_markdown(Timeline("Iran water polo", None, None, (TimelineEvent(
    ...     "2025-02-27", "stated", c.quote, c, 2, ("a", "b"), headline="Japan beat Iran"),))))
    **Timeline: Iran water polo**
    <BLANKLINE>
    - **2025-02-27** (stated) *Japan beat Iran* — Japan beat \\*Iran\\* 16-13. [1] · 2 sources
    >>> print(timeline_markdown(Timeline("Iran water polo", None, None, (
    ...     TimelineEvent(None, "undated", c.quote, c, 1, ("a",), stated="until March 2"),),
    ...     "Undated: the article carries no date.")))
    **Timeline: Iran water polo**
    <BLANKLINE>
    *Undated: the article carries no date.*
    <BLANKLINE>
    - **undated** (states "until March 2") Japan beat \\*Iran\\* 16-13. [1] · 1 source
    """
    since, until = timeline.since, timeline.until
    window = (f" ({since} to {until})" if since and until else f" (since {since})" if since
              else f" (until {until})" if until else "")
    lines = [f"**Timeline: {inline_markdown(timeline.topic)}**{window}", ""]
    if timeline.note:
        lines += [f"*{inline_markdown(timeline.note)}*", ""]
    lines += [f"- {event_when_markdown(e)} "
              f"{'' if e.headline is None else f'*{inline_markdown(e.headline)}* — '}"
              f"{inline_markdown(e.text)} [{e.citation.n}] · "
              f"{e.sources} source{'s' * (e.sources != 1)}" for e in timeline.events]
    return "\n".join(lines).rstrip()


def event_when_markdown(e: TimelineEvent) -> str:
    """``**2022-08-29** (stated)``, or ``**undated**`` and the date its sentence states, as
    stated (escaped)."""
    if e.day is None:
        return "**undated**" + ("" if e.stated is None
                                else f' (states "{inline_markdown(e.stated)}")')
    return f"**{e.day}** ({e.date_source})"


def briefing_markdown(briefing: Briefing) -> str:
    """A briefing as Markdown: what it covers in bold, then one list item per story, the most
    widely reported first: the sentence (escaped) with its [n], how many sources reported it
    and the last day they did.

    >>> from rag.types import BriefingStory
    >>> c = Citation(1, "a", "Queen", "Queen *Elizabeth* II died at 96.", 0, 32)
    >>> print(briefing_markdown(Briefing("2022-09-05", "2022-09-11", None, (
    ...     BriefingStory(c.quote, c, 4, ("a", "b", "c", "d"), "2022-09-09", 2),))))
    **What's new, 2022-09-05 to 2022-09-11**
    <BLANKLINE>
    - Queen \\*Elizabeth\\* II died at 96. [1] · 4 sources · 2022-09-09
    """
    lines = [f"**{inline_markdown(briefing_title(briefing))}**", ""]
    lines += [f"- {inline_markdown(s.headline_text)} [{s.citation.n}] · "
              f"{s.sources} source{'s' * (s.sources != 1)} · {s.day}" for s in briefing.stories]
    return "\n".join(lines).rstrip()


def reply_content(answer: Answer) -> str:
    """What an OpenAI client shows: the short answer in bold with the [n] of the citation
    holding it (none: no short answer line), the answer text, then its Sources list. A
    timeline answer shows its dated list (:func:`timeline_markdown`) instead of the text, a
    briefing its stories (:func:`briefing_markdown`).

    >>> polo = Citation(1, "a", "Polo", "Japan won 16-13.", 0, 16)
    >>> print(reply_content(Answer(question="q", text="Japan won 16-13. [1]", short_answer="16-13",
    ...                            citations=[polo])))
    **16-13** [1]
    <BLANKLINE>
    Japan won 16-13. [1]
    <BLANKLINE>
    Sources:
    - [1] Polo
    """
    evidence = answer.short_answer_citation()
    lead = (f"**{inline_markdown(answer.short_answer or '')}** [{evidence.n}]\n\n"
            if evidence else "")
    sources = sources_markdown(answer.citations)
    text = answer_markdown(answer.text, {c.n for c in answer.citations})
    if answer.timeline is not None:
        shown = timeline_markdown(answer.timeline)
        text = shown if answer.timeline.events else f"{shown}\n\n{text}"
    if answer.briefing is not None:
        shown = briefing_markdown(answer.briefing)
        text = shown if answer.briefing.stories else f"{shown}\n\n{text}"
    return lead + text + (f"\n\n{sources}" if sources else "")


def completion(answer: Answer, *, model: str = MODEL_ID) -> dict[str, Any]:
    """A ``chat.completion`` object for ``answer``."""
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": reply_content(answer),
                                 "refusal": None}}],
        "citations": [c.to_json() for c in answer.citations],
    }


def chunk(completion_id: str, delta: dict[str, Any], *, model: str = MODEL_ID,
          finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    return {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                         "logprobs": None}],
            **extra}


def content_pieces(text: str, words: int = 4) -> Iterator[str]:
    """``text`` in pieces of a few words whose concatenation is exactly ``text``.

    >>> list(content_pieces("a b  c\\nd e", words=2))
    ['a b  ', 'c\\nd ', 'e']
    """
    piece, count = "", 0
    for token in _tokens(text):
        piece += token
        if not token.isspace():
            count += 1
        elif count >= words:
            yield piece
            piece, count = "", 0
    if piece:
        yield piece


def _tokens(text: str) -> Iterator[str]:
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or text[i].isspace() != text[start].isspace():
            yield text[start:i]
            start = i


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def error_body(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error object, which its clients turn into a typed exception.

    >>> error_body("bad k", param="k")["error"]["param"]
    'k'
    """
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
