"""HTML/Markdown for the chat page, built from the library's Answer; all article text escaped.

Article text is untrusted (an uploaded article may contain ``<script>``), so every string that
comes from the index goes through :func:`html.escape` before it is put into markup.

>>> from rag.types import Answer
>>> answer_markdown(Answer(question="q", text="<b>Hi</b> [1]"))
'&lt;b&gt;Hi&lt;/b&gt; \\\\[1\\\\]'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.articles import web_url
from rag.briefing.build import briefing_title
from rag.index.base import IndexStats
from rag.ingest import IngestReport
from rag.types import Answer, Briefing, Citation, Passage, Timeline, TimelineEvent

_MARKER = re.compile(r"\[(\d+)\]")
# Characters Markdown would interpret; escaped so article text is shown as written.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")
# Words per streamed update of an answer.
STREAM_WORDS = 4
UNCITED_PREVIEW_CHARS = 320


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown: HTML escaped, then Markdown punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer, text: str | None = None) -> str:
    """The chat bubble for ``answer`` (or a streamed prefix ``text`` of it).

    [n] markers of known citations become superscript links; an abstained answer is boxed; a
    timeline is a dated list (:func:`timeline_html`), a briefing a list of stories
    (:func:`briefing_html`), growing line by line with ``text``.
    """
    final = text is None
    text = answer.text if text is None else text
    by_n = {c.n: c for c in answer.citations}
    parts: list[str] = []
    last = 0
    for m in _MARKER.finditer(text):
        citation = by_n.get(int(m.group(1)))
        if citation is None:
            continue
        parts.append(escape_markdown(text[last:m.start()]))
        parts.append(citation_marker(citation))
        last = m.end()
    parts.append(escape_markdown(text[last:]))
    # Notes (e.g. "searched for: ..." of a follow-up) under the finished answer only.
    notes = ("".join(f'\n\n<div class="rag-notes">{esc(n)}</div>' for n in answer.notes)
             if final else "")
    if answer.abstained:  # inside an HTML block Markdown is not parsed: escape HTML only
        return (f'<div class="rag-abstain">⚠ <strong>Not in the articles</strong><br>'
                f"{html.escape(text, quote=False)}</div>{notes}")
    if answer.timeline is not None:
        lines = text.count("\n") + (text == answer.text)  # the events whose line is complete
        return timeline_html(answer.timeline, lines) + notes
    if answer.briefing is not None:
        lines = text.count("\n") + (text == answer.text)  # the stories whose line is complete
        return briefing_html(answer.briefing, lines) + notes
    return short_answer_html(answer) + "".join(parts) + notes


def timeline_html(timeline: Timeline, shown: int | None = None) -> str:
    """A timeline as a dated list (the first ``shown`` events; None: all), all text escaped:
    each event's day, where it comes from, its headline in bold if it has one, its sentence
    with its [n] and how many sources reported it. An undated event says "undated" and the
    date its sentence states, as stated; the timeline's note (how undated events are ordered)
    is under its heading. One HTML block: no blank line, so Markdown leaves it whole.

    >>> from rag.types import TimelineEvent
    >>> c = Citation(1, "a", "Polo", "Japan <b>won</b>.", 0, 17)
    >>> shown = timeline_html(Timeline("Iran polo", None, None, (
    ...     TimelineEvent("2025-02-27", "stated", c.quote, c, 2, ("a", "b")),)))
    >>> "Japan &lt;b&gt;won&lt;/b&gt;." in shown, '<time datetime="2025-02-27">' in shown
    (True, True)
    >>> e = TimelineEvent("2025-02-27", "stated", c.quote, c, 2, ("a", "b"), headline="<i>J</i>")
    >>> '<strong class="rag-event-headline">&lt;i&gt;J&lt;/i&gt;</strong>' in timeline_html(
    ...     Timeline("Iran polo", None, None, (e,)))
    True
    >>> u = TimelineEvent(None, "undated", c.quote, c, 1, ("a",), stated="until <March> 2")
    >>> shown = timeline_html(Timeline("Iran polo", None, None, (u,), "Undated: <no> dates."))
    >>> "<time" in shown, '<span class="rag-stated-date"' in shown, "until &lt;March&gt; 2" in shown
    (False, True, True)
    >>> '<div class="rag-timeline-note">Undated: &lt;no&gt; dates.</div>' in shown
    True
    """
    since, until = timeline.since, timeline.until
    window = (f"{since} to {until}" if since and until else f"since {since}" if since
              else f"until {until}" if until else "")
    head = (f'<div class="rag-timeline-head">Timeline: <strong>{esc(timeline.topic)}</strong>'
            + (f' <span class="rag-window">({esc(window)})</span>' if window else "")
            + "</div>"
            + (f'<div class="rag-timeline-note">{esc(timeline.note)}</div>' if timeline.note
               else ""))
    items = []
    for e in timeline.events[:shown]:
        items.append(
            f'<li class="rag-event{" rag-undated" if e.day is None else ""}">{event_when_html(e)}'
            + ("" if e.headline is None
               else f'<strong class="rag-event-headline">{esc(e.headline)}</strong> — ')
            + f'<span class="rag-event-text">{esc(e.text)}</span> {citation_marker(e.citation)} '
            f'<span class="rag-reach">{e.sources} source{"s" * (e.sources != 1)}</span></li>')
    kind = "rag-events rag-undated-events" if timeline.undated else "rag-events"
    return (f'<div class="rag-timeline">{head}<ol class="{kind}">{"".join(items)}</ol>'
            "</div>")


def event_when_html(e: TimelineEvent) -> str:
    """An event's day and where it comes from, or "undated" and the date its sentence
    states, as stated (escaped), each followed by a space."""
    if e.day is None:
        return ('<span class="rag-date-source" title="its article carries no date: shown in '
                'the order its article reports it">undated</span> '
                + ("" if e.stated is None else
                   f'<span class="rag-stated-date" title="the date its sentence states, as it '
                   f'states it">{esc(e.stated)}</span> '))
    told = ("the day its sentence states" if e.date_source == "stated"
            else "its article's publication day")
    return (f'<time datetime="{esc(e.day)}">{esc(e.day)}</time> '
            f'<span class="rag-date-source" title="{esc(told)}">{esc(e.date_source)}</span> ')


def briefing_html(briefing: Briefing, shown: int | None = None) -> str:
    """A briefing as a list of stories (the first ``shown``; None: all), all text escaped: each
    story's sentence with its [n], how many sources reported it and the last day they did.
    One HTML block: no blank line, so Markdown leaves it whole.

    >>> from rag.types import BriefingStory
    >>> c = Citation(1, "a", "Queen", "Queen <b>Elizabeth</b> II died.", 0, 32)
    >>> shown = briefing_html(Briefing("2022-09-05", "2022-09-11", "<i>x</i>", (
    ...     BriefingStory(c.quote, c, 4, ("a", "b", "c", "d"), "2022-09-09", 2),)))
    >>> "Queen &lt;b&gt;Elizabeth&lt;/b&gt; II died." in shown, "&lt;i&gt;x&lt;/i&gt;" in shown
    (True, True)
    >>> "4 sources" in shown, '<time datetime="2022-09-09">' in shown
    (True, True)
    """
    built = built_text(briefing)
    head = (f'<div class="rag-briefing-head"><strong>{esc(briefing_title(briefing))}</strong>'
            + (f' <span class="rag-window rag-built">({esc(built)})</span>' if built else "")
            + "</div>")
    items = [
        f'<li class="rag-story"><span class="rag-story-text">{esc(s.headline_text)}</span> '
        f'{citation_marker(s.citation)} '
        f'<span class="rag-reach">{s.sources} source{"s" * (s.sources != 1)} · '
        f'<time datetime="{esc(s.day)}">{esc(s.day)}</time></span></li>'
        for s in briefing.stories[:shown]]
    return (f'<div class="rag-briefing">{head}<ol class="rag-stories">{"".join(items)}</ol>'
            "</div>")


def built_text(briefing: Briefing) -> str | None:
    """When a stored briefing (a followed feed's of the last 24 hours, a followed topic's over
    its period) was built, and whether this one came from the store; None for any other
    briefing.

    >>> b = Briefing("2022-09-10", "2022-09-11", feed="2", built_at="2022-09-11T08:05:09+00:00")
    >>> built_text(b), built_text(Briefing("2022-09-10", "2022-09-11"))
    ('built 2022-09-11 08:05 UTC', None)
    >>> import dataclasses
    >>> built_text(dataclasses.replace(b, cached=True))
    "the feed's stored briefing, built 2022-09-11 08:05 UTC"
    >>> built_text(dataclasses.replace(b, feed=None, topic="Valby storm", cached=True))
    "the topic's stored briefing, built 2022-09-11 08:05 UTC"
    """
    if not briefing.built_at:
        return None
    try:
        when = datetime.fromisoformat(briefing.built_at).astimezone(UTC).strftime(
            "%Y-%m-%d %H:%M UTC")
    except ValueError:
        when = briefing.built_at
    if briefing.cached:
        return f"the {'feed' if briefing.feed else 'topic'}'s stored briefing, built {when}"
    return f"built {when}"


def briefing_panel(answer: Answer | None, error: str | None = None,
                   note: str | None = None) -> str:
    """The Briefing tab's panel: the briefing's stories (:func:`briefing_html`), the boxed
    note of one without stories or of an ``error``, or (no answer) what the tab does; a
    ``note`` (what period was read, and why) above it.

    >>> briefing_panel(None, error="since '<x>' is not a date")
    '<div class="rag-abstain">⚠ since &#x27;&lt;x&gt;&#x27; is not a date</div>'
    """
    if error is not None:
        return f'<div class="rag-abstain">⚠ {esc(error)}</div>'
    if answer is None:
        return ('<div class="rag-empty">Press “What\'s new” for the period\'s main stories, '
                "the most widely reported first, each a cited sentence.</div>")
    head = f'<p class="rag-note">{esc(note)}</p>' if note else ""
    if answer.briefing is not None and answer.briefing.stories:
        return head + briefing_html(answer.briefing)
    return f'{head}<div class="rag-abstain">⚠ {esc(answer.text)}</div>'


def short_answer_html(answer: Answer) -> str:
    """The short answer in bold with the [n] of the sentence that holds it, then a blank line;
    empty when the answer has none."""
    evidence = answer.short_answer_citation()
    if evidence is None or not answer.short_answer:
        return ""
    return (f'<strong class="rag-short">{esc(answer.short_answer)}</strong> '
            f"{citation_marker(evidence)}\n\n")


def citation_marker(c: Citation) -> str:
    tip = esc(f"{c.title}: {c.quote}")
    return f'<sup class="rag-cite"><a href="#rag-src-{c.n}" title="{tip}">[{c.n}]</a></sup>'


def stream_prefixes(text: str, words: int = STREAM_WORDS) -> Iterator[str]:
    """Growing prefixes of ``text``, ``words`` words at a time, ending with the whole text."""
    tokens = re.findall(r"\S+\s*", text)
    for i in range(words, len(tokens), words):
        yield "".join(tokens[:i])
    yield text


def line_prefixes(text: str) -> Iterator[str]:
    """Growing prefixes of ``text``, a line at a time (each with its newline), ending with the
    whole text: a timeline shown event by event.

    >>> list(line_prefixes("a\\nb"))
    ['a\\n', 'a\\nb']
    """
    lines = text.splitlines(keepends=True)
    for i in range(1, len(lines)):
        yield "".join(lines[:i])
    yield text


def sources_html(answer: Answer | None) -> str:
    """The sources panel: cited passages with the cited sentences marked, then the rest folded."""
    if answer is None:
        return ('<div class="rag-sources rag-empty">Ask a question: the passages an answer '
                'is drawn from show here, with the cited sentences highlighted. Click an '
                'earlier answer to see its sources again.</div>')
    cited: list[tuple[Passage, list[Citation]]] = []
    placed: set[int] = set()
    uncited: list[Passage] = []
    for p in answer.passages:
        inside = [c for c in answer.citations
                  if c.n not in placed and c.article_id == p.article_id
                  and p.start <= c.start and c.end <= p.end]
        placed.update(c.n for c in inside)
        if inside:
            cited.append((p, inside))
        else:
            uncited.append(p)
    # A briefing's passages were listed by date, not retrieved for a query: no score to show.
    scored = answer.briefing is None
    # Drawn from several collections: each source says its own.
    several = len({p.collection for p in answer.passages}
                  | {c.collection for c in answer.citations}) > 1
    items = [_cited_item(p, cs, scored, several) for p, cs in cited]
    items += [_orphan_item(c, several) for c in answer.citations if c.n not in placed]
    parts = ['<div class="rag-sources">']
    if items:
        parts.append(f'<h4>Cited ({len(answer.citations)})</h4><ol class="rag-cited">')
        parts += items
        parts.append("</ol>")
    elif not answer.passages:
        parts.append('<p class="rag-note">Nothing was retrieved: is the index empty? Add '
                     'articles in the Articles tab.</p>')
    elif answer.abstained:
        parts.append('<p class="rag-note">No passage supports an answer; the closest ones '
                     'are below.</p>')
    if uncited:
        parts.append(f'<details class="rag-uncited"{"" if items else " open"}><summary>'
                     f'{"Other retrieved" if items else "Retrieved"} passages ({len(uncited)})'
                     "</summary><ul>")
        parts += [_uncited_item(p, scored, several) for p in uncited]
        parts.append("</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def _meta(title: str, source: str | None, url: str | None, date: str | None,
          collection: str | None = None) -> str:
    link = web_url(url)  # no javascript: link from an index built before urls were checked
    head = (f'<a href="{esc(link)}" target="_blank" rel="noopener noreferrer">{esc(title)}</a>'
            if link else esc(title))
    extra = " · ".join(esc(x) for x in (collection, source, date) if x)
    return (f'<div class="rag-title">{head}</div>'
            + (f'<div class="rag-meta">{extra}</div>' if extra else ""))


def _cited_item(p: Passage, citations: list[Citation], scored: bool = True,
                several: bool = False) -> str:
    numbers = " ".join(f"[{c.n}]" for c in citations)
    score = f'<div class="rag-score">retrieval score {p.score:.3f}</div>' if scored else ""
    return (f'<li class="rag-source" id="rag-src-{citations[0].n}">'
            f'<span class="rag-n">{numbers}</span>'
            + _meta(p.title, p.source, p.url, p.published_at, p.collection if several else None)
            + f'<blockquote class="rag-passage">{highlight(p, citations)}</blockquote>'
            f"{score}</li>")


def _orphan_item(c: Citation, several: bool = False) -> str:
    return (f'<li class="rag-source" id="rag-src-{c.n}"><span class="rag-n">[{c.n}]</span>'
            + _meta(c.title, c.source, c.url, c.published_at, c.collection if several else None)
            + f'<blockquote class="rag-passage"><mark class="rag-hl">{esc(c.quote)}</mark>'
            "</blockquote></li>")


def _uncited_item(p: Passage, scored: bool = True, several: bool = False) -> str:
    text = p.text if len(p.text) <= UNCITED_PREVIEW_CHARS else (
        p.text[:UNCITED_PREVIEW_CHARS].rsplit(" ", 1)[0] + " …")
    score = f'<span class="rag-score">{p.score:.3f}</span>' if scored else ""
    return (f"<li>{score}"
            + _meta(p.title, p.source, p.url, p.published_at, p.collection if several else None)
            + f'<div class="rag-passage">{esc(text)}</div></li>')


def highlight(p: Passage, citations: list[Citation]) -> str:
    """``p``'s text escaped, each cited sentence (by its article offsets) in a ``<mark>``."""
    out: list[str] = []
    pos = 0
    for c in sorted(citations, key=lambda c: c.start):
        start, end = c.start - p.start, c.end - p.start
        if start < pos:  # overlapping citations: keep the first mark
            continue
        out.append(esc(p.text[pos:start]))
        out.append(f'<mark class="rag-hl" id="rag-hl-{c.n}">{esc(p.text[start:end])}'
                   f'<sup>{c.n}</sup></mark>')
        pos = end
    out.append(esc(p.text[pos:]))
    return "".join(out)


def stats_markdown(stats: IndexStats) -> str:
    size = stats.size_bytes / 1_048_576
    return (f"**{stats.articles:,}** articles · **{stats.chunks:,}** chunks · "
            f"`{stats.model}` · {stats.backend} · {size:.1f} MB")


def upload_markdown(report: IngestReport) -> str:
    """An upload's outcome: the counts, then each note and refused file by its file name.

    >>> from rag.articles import LoadFailure
    >>> print(upload_markdown(IngestReport(failures=[LoadFailure("/tmp/x/a_b.pdf", "no")])))
    **added 0, updated 0, skipped 0 unchanged, failed 1; 0 chunks (0 embedded) in 0.0s**
    - skipped **a\\_b\\.pdf**: no
    """
    lines = [f"**{report.summary()}**"]
    lines += [f"- note on **{escape_markdown(Path(n.input).name)}**: {escape_markdown(n.reason)}"
              for n in report.notes]
    lines += [f"- skipped **{escape_markdown(Path(f.input).name)}**: "
              f"{escape_markdown(f.reason)}" for f in report.failures]
    return "\n".join(lines)


def error_markdown(message: str) -> str:
    return f'<div class="rag-error">⚠ {esc(message)}</div>'


@dataclass(frozen=True)
class Turn:
    """One exchange of the chat: the question and its answer, or the error it raised."""

    question: str
    answer: Answer | None = None
    error: str | None = None


def chat_messages(turns: list[Turn], pending: str | None = None) -> list[dict[str, str]]:
    """The Chatbot value (messages format) for ``turns``; ``pending`` fills an unanswered last
    turn (a status line, or a streamed prefix already rendered by :func:`answer_markdown`)."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        messages.append({"role": "user", "content": escape_markdown(turn.question)})
        if turn.answer is not None:
            content = answer_markdown(turn.answer)
        elif turn.error is not None:
            content = error_markdown(turn.error)
        else:
            content = pending or ""
        messages.append({"role": "assistant", "content": content})
    return messages
