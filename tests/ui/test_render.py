"""Markup of the chat page: escaping, citation markers, highlighted sentences, folded passages."""

from __future__ import annotations

import dataclasses
import re

import pytest

from rag.types import Answer, Citation, Passage
from rag.uploads import check_uploads
from ui.render import (
    Turn,
    answer_markdown,
    chat_messages,
    escape_markdown,
    highlight,
    sources_html,
    stream_prefixes,
)

HOSTILE = "Crowds <img src=x onerror=alert(1)> cheered. <script>alert(2)</script> Then rain."


def hostile_answer() -> Answer:
    text = "Intro line.\n" + HOSTILE
    start = text.index("Crowds")
    end = text.index("cheered.") + len("cheered.")
    passage = Passage(article_id="a1", title="<b>Title</b>", text=text, score=0.8, start=0,
                      end=len(text), source="<i>src</i>", url="javascript:alert(3)")
    other = Passage(article_id="a2", title="Other", text="<svg onload=alert(4)>", score=0.12,
                    start=0, end=21)
    cite = Citation(n=1, article_id="a1", title="<b>Title</b>", quote=text[start:end],
                    start=start, end=end)
    return Answer(question="q", text=f"{text[start:end]} [1]", citations=[cite],
                  passages=[passage, other])


def test_sources_escape_article_text_and_metadata():
    html = sources_html(hostile_answer())
    assert "<img" not in html and "<script" not in html and "<svg" not in html
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html  # unsafe url is not linked


def test_cited_sentence_is_highlighted_from_its_offsets():
    answer = hostile_answer()
    html = sources_html(answer)
    marked = re.findall(r'<mark class="rag-hl" id="rag-hl-1">(.*?)<sup>1</sup></mark>', html)
    assert marked == ["Crowds &lt;img src=x onerror=alert(1)&gt; cheered."]
    assert 'id="rag-src-1"' in html


def test_sources_name_their_collection_when_an_answer_draws_on_several():
    answer = hostile_answer()
    assert "desk" not in sources_html(answer)  # one collection: not said
    other = dataclasses.replace(answer.passages[1], collection="<b>desk</b>")
    html = sources_html(dataclasses.replace(answer, passages=[answer.passages[0], other]))
    assert '<div class="rag-meta">default · &lt;i&gt;src&lt;/i&gt;</div>' in html
    assert "&lt;b&gt;desk&lt;/b&gt;" in html and "<b>desk" not in html


def test_highlight_uses_article_offsets_of_a_later_passage():
    text = "First sentence here. Second sentence there."
    p = Passage(article_id="a", title="t", text=text, score=1.0, start=100, end=100 + len(text))
    c = Citation(n=2, article_id="a", title="t", quote="Second sentence there.",
                 start=121, end=121 + len("Second sentence there."))
    assert highlight(p, [c]) == ('First sentence here. <mark class="rag-hl" id="rag-hl-2">'
                                 "Second sentence there.<sup>2</sup></mark>")


def test_uncited_passages_are_folded_with_scores():
    html = sources_html(hostile_answer())
    folded = html.split('<details class="rag-uncited">', 1)[1]
    assert "Other retrieved passages (1)" in folded and "0.120" in folded
    assert "&lt;svg onload=alert(4)&gt;" in folded


def test_answer_markers_become_superscript_links_and_text_is_escaped():
    md = answer_markdown(hostile_answer())
    assert md.count('<sup class="rag-cite"><a href="#rag-src-1"') == 1
    assert "<img" not in md and "<script" not in md
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in md


def test_abstained_answer_is_boxed_and_escaped():
    md = answer_markdown(Answer(question="q", text="The articles don't say <b>x</b>.",
                                abstained=True))
    assert md.startswith('<div class="rag-abstain">') and "&lt;b&gt;" in md


def test_unknown_markers_stay_text():
    assert "rag-cite" not in answer_markdown(Answer(question="q", text="See [7]."))


def test_escape_markdown_keeps_entities_intact():
    assert escape_markdown("it's <a> & *b*") == "it's &lt;a&gt; &amp; \\*b\\*"


def test_stream_prefixes_grow_to_the_whole_text():
    text = "one two three four five six seven eight nine [1]"
    prefixes = list(stream_prefixes(text, words=3))
    assert prefixes[-1] == text
    assert all(text.startswith(p) for p in prefixes)
    assert [len(p) for p in prefixes] == sorted({len(p) for p in prefixes})


def test_chat_messages_pair_questions_with_answers_errors_and_pending():
    turns = [Turn("<b>q1</b>", answer=Answer(question="q1", text="A.")),
             Turn("q2", error="the question is empty"), Turn("q3")]
    messages = chat_messages(turns, pending="…")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert messages[0]["content"] == "&lt;b&gt;q1&lt;/b&gt;"
    assert "rag-error" in messages[3]["content"]
    assert messages[5]["content"] == "…"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://x.org/a", True), ("http://x.org", True), ("HTTPS://x.org/a_(b)", True),
    ("javascript:alert(1)", False), ("data:text/html,x", False), (None, False),
    ("https:///no-host", False), ("https://x.org/a [x](javascript:alert(1))", False),
    ('https://x.org/"onmouseover="alert(1)', False), ("https://x.org/<b>", False),
    ("//x.org/a", False), ("www.x.org/a", False)])
def test_only_web_urls_are_linked(url, ok):
    from rag.articles import web_url

    assert (web_url(url) is not None) == ok


def test_check_uploads_refuses_type_and_size(tmp_path):
    small = tmp_path / "a.txt"
    small.write_text("Title\n\nBody.")
    big = tmp_path / "b.md"
    big.write_text("x" * 2048)
    pdf = tmp_path / "c.pdf"
    pdf.write_text("%PDF")
    accepted, refused = check_uploads([small, big, pdf], max_bytes=1024)
    assert accepted == [small]
    reasons = {f.input: f.reason for f in refused}
    assert "upload limit" in reasons["b.md"] and "unsupported file type .pdf" in reasons["c.pdf"]


@pytest.mark.slow
def test_sources_of_the_real_sample_answer(sample_system):
    answer = sample_system.ask("Where is the nuclear plant being built?")
    html = sources_html(answer)
    for c in answer.citations:
        assert f'id="rag-hl-{c.n}">' in html
        assert re.search(rf'<mark class="rag-hl" id="rag-hl-{c.n}">(.*?)<sup>', html,
                         re.S).group(1) == escape_html(c.quote)


def escape_html(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_notes_show_under_the_finished_answer_only():
    answer = Answer(question="q", text="A b c d e f.", notes=["searched for: <x> q"])
    assert 'class="rag-notes">searched for: &lt;x&gt; q</div>' in answer_markdown(answer)
    assert "rag-notes" not in answer_markdown(answer, "A b")


def test_sources_say_when_nothing_was_retrieved():
    html = sources_html(Answer(question="q", text="The articles don't say.", abstained=True))
    assert "Nothing was retrieved" in html and "<details" not in html


# --- issue 27: a timeline is a dated list ---------------------------------------------------------
def timeline_answer() -> Answer:
    from rag.types import Timeline, TimelineEvent

    events = []
    for n, (day, source, text, sources) in enumerate([
            ("2022-08-29", "stated", "The tunnel closed <script>alert(1)</script>.", 3),
            ("2022-09-20", "published", "The tunnel reopened.", 1)], start=1):
        c = Citation(n=n, article_id=f"a{n}", title=f"T{n}", quote=text, start=0,
                     end=len(text), published_at=day)
        events.append(TimelineEvent(day, source, text, c, sources,  # type: ignore[arg-type]
                                    tuple(f"s{i}" for i in range(sources))))
    text = "\n".join(f"- {e.day} ({e.date_source}): {e.text} [{e.citation.n}] (x)"
                     for e in events)
    passages = [Passage(article_id=e.citation.article_id, title=e.citation.title, text=e.text,
                        score=0.5, start=0, end=len(e.text)) for e in events]
    return Answer(question="What happened with <b>the tunnel</b>?", text=text,
                  citations=[e.citation for e in events], passages=passages,
                  timeline=Timeline("<b>the tunnel</b>", "2022-08-01", None, tuple(events)))


def test_a_timeline_is_a_dated_list_all_text_escaped():
    html = answer_markdown(timeline_answer())
    assert "<script" not in html and "<b>" not in html
    assert "Timeline: <strong>&lt;b&gt;the tunnel&lt;/b&gt;</strong>" in html
    assert '<span class="rag-window">(since 2022-08-01)</span>' in html
    items = re.findall(r'<li class="rag-event">(.*?)</li>', html)
    assert len(items) == 2
    assert items[0].startswith('<time datetime="2022-08-29">2022-08-29</time> '
                               '<span class="rag-date-source" title="the day its sentence '
                               'states">stated</span> ')
    assert "The tunnel closed &lt;script&gt;alert(1)&lt;/script&gt;." in items[0]
    assert 'href="#rag-src-1"' in items[0] and items[0].endswith(
        '<span class="rag-reach">3 sources</span>')
    assert "its article&#x27;s publication day" in items[1] and "1 source<" in items[1]
    assert "\n\n" not in html, "one HTML block"


def test_an_event_headline_is_bold_before_its_sentence_and_escaped():
    from dataclasses import replace

    answer = timeline_answer()
    assert "rag-event-headline" not in answer_markdown(answer)
    first = replace(answer.timeline.events[0], headline="Tunnel <i>closed</i>")
    timeline = replace(answer.timeline, events=(first, *answer.timeline.events[1:]))
    items = re.findall(r'<li class="rag-event">(.*?)</li>',
                       answer_markdown(replace(answer, timeline=timeline)))
    assert ('stated</span> <strong class="rag-event-headline">Tunnel &lt;i&gt;closed&lt;/i&gt;'
            '</strong> — <span class="rag-event-text">The tunnel closed') in items[0]
    assert "rag-event-headline" not in items[1]


def test_a_timeline_grows_an_event_at_a_time_and_shows_its_sources():
    from ui.render import line_prefixes

    answer = timeline_answer()
    shown = [answer_markdown(answer, p).count('<li class="rag-event">')
             for p in line_prefixes(answer.text)]
    assert shown == [1, 2]
    sources = sources_html(answer)
    assert sources.count('<mark class="rag-hl"') == 2 and "&lt;script&gt;" in sources


def test_a_timeline_without_events_is_boxed():
    from rag.types import Timeline

    answer = Answer(question="q", text="The articles report no dated event of the tunnel.",
                    abstained=True, timeline=Timeline("the tunnel", None, None, ()))
    assert answer_markdown(answer).startswith('<div class="rag-abstain">')


# --- issue 27: briefings --------------------------------------------------------------------------
def hostile_briefing_answer() -> Answer:
    from rag.briefing.build import briefing_text
    from rag.types import Briefing, BriefingStory

    quote = "Crowds <img src=x onerror=alert(1)> cheered."
    stories = tuple(
        BriefingStory(quote, Citation(n, f"a{n}", "<script>t()</script>", quote, 0, len(quote)),
                      sources, tuple(f"a{i}" for i in range(sources)), day, 1)
        for n, sources, day in ((1, 3, "2022-09-10"), (2, 1, "2022-09-11")))
    briefing = Briefing("2022-09-05", "2022-09-11", "<b>topic</b>", stories)
    return Answer(question="What's new?", text=briefing_text(briefing),
                  citations=[s.citation for s in stories], briefing=briefing)


def test_a_briefing_is_a_list_of_stories_all_escaped() -> None:
    from ui.render import briefing_panel

    answer = hostile_briefing_answer()
    for shown in (answer_markdown(answer), briefing_panel(answer)):
        assert "<img" not in shown and "<script>" not in shown and "<b>topic" not in shown
        assert "&lt;img src=x onerror=alert(1)&gt;" in shown
        assert "What&#x27;s new on &lt;b&gt;topic&lt;/b&gt;, 2022-09-05 to 2022-09-11" in shown
        assert shown.count('<li class="rag-story">') == 2
        assert "3 sources · <time" in shown and "1 source · <time" in shown
        assert re.search(r'href="#rag-src-2"[^>]*>\[2\]</a>', shown)
        assert "\n\n" not in shown.split('<div class="rag-briefing">', 1)[1]  # one HTML block


def test_a_briefing_grows_a_story_at_a_time() -> None:
    answer = hostile_briefing_answer()
    first = answer.text.splitlines(keepends=True)[0]
    assert answer_markdown(answer, first).count('<li class="rag-story">') == 1


def test_an_empty_briefing_and_an_error_are_boxed_and_escaped() -> None:
    from rag.types import Briefing
    from ui.render import briefing_panel

    empty = Answer(question="q", text="No articles were published from <x> to y.",
                   abstained=True, briefing=Briefing("2022-09-10", "2022-09-11"))
    assert briefing_panel(empty) == ('<div class="rag-abstain">⚠ No articles were published '
                                     'from &lt;x&gt; to y.</div>')
    assert "&lt;script&gt;" in briefing_panel(None, error="<script>")
    assert "What's new" in briefing_panel(None)


def test_a_briefings_sources_show_no_retrieval_score() -> None:
    """Its passages were listed by date, not retrieved for a query: a score of 0.000 beside
    each would read as "irrelevant"."""
    answer = hostile_briefing_answer()
    passages = [Passage(c.article_id, c.title, c.quote, 0.0, 0, len(c.quote))
                for c in answer.citations]
    briefing = dataclasses.replace(answer, passages=passages)
    assert "rag-score" not in sources_html(briefing)
    asked = dataclasses.replace(briefing, briefing=None)
    assert sources_html(asked).count("retrieval score 0.000") == 2


def test_a_feeds_stored_briefing_says_when_it_was_built() -> None:
    from rag.types import Briefing, BriefingStory
    from ui.render import briefing_html, briefing_panel

    cite = Citation(1, "a", "Cup", "Norrvik Rovers won the county cup final on Sunday.", 0, 50)
    story = BriefingStory(cite.quote, cite, 1, ("a",), "2022-09-11")
    stored = Briefing("2022-09-10", "2022-09-11", None, (story,), "2",
                      built_at="2022-09-11T08:05:09+00:00", cached=True)
    shown = briefing_html(stored)
    assert "from feed 2" in shown
    assert "the feed&#x27;s stored briefing, built 2022-09-11 08:05 UTC" in shown
    fresh = briefing_panel(Answer(question="q", text="- x [1]", citations=[cite],
                                  briefing=dataclasses.replace(stored, cached=False)))
    assert "(built 2022-09-11 08:05 UTC)" in fresh and "stored" not in fresh
    assert "built" not in briefing_html(dataclasses.replace(stored, built_at=None))
