"""The Feeds tab's table and messages, from rag.feeds' state and sync reports (all text from
feeds and pages escaped: a feed's title or an error message is untrusted).

>>> from rag.feeds import FeedSyncReport
>>> sync_markdown([FeedSyncReport("https://x.org/rss", status="failed", error="<b>boom</b>")])
'- `https://x.org/rss`: failed: &lt;b&gt;boom&lt;/b&gt;'
"""

from __future__ import annotations

import re
import time

from rag.articles import LoadFailure, clean_line
from rag.feeds import Feed, FeedSyncReport, FollowedTopic, format_interval
from ui.render import escape_markdown

FEED_HEADERS = ["ID", "URL", "Title", "Every", "Keep", "Last sync", "Status"]
MAX_LINKS = 50
# The Briefing tab's feed menu: its first choice reads every article.
ALL_ARTICLES = ("All articles", "")
MENU_LABEL_CHARS = 80


def _ago(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "never"
    seconds = max(0, int(now - epoch))
    return "just now" if seconds < 60 else f"{format_interval(seconds - seconds % 60)} ago"


def feed_rows(feeds: list[Feed], now: float | None = None) -> list[list[str | int]]:
    """One row per feed (a Dataframe shows cell text as text, not markup)."""
    now = time.time() if now is None else now
    return [[f.id, f.url, f.title or "", format_interval(f.every_s),
             f"{f.keep_days:g} days" if f.keep_days else "all", _ago(f.last_sync_at, now),
             f.status()] for f in feeds]


def code(text: str) -> str:
    """``text`` (a URL) as a Markdown code span: shown as written, never a link or markup."""
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def sync_markdown(reports: list[FeedSyncReport]) -> str:
    if not reports:
        return "No feed to sync."
    lines = []
    for r in reports:
        summary = r.summary().removeprefix(r.url + ": ")
        lines.append(f"- {code(r.url)}: {escape_markdown(summary)}")
        lines += [f"  - skipped {code(f.input)}: {escape_markdown(f.reason)}"
                  for f in r.failures]
    return "\n".join(lines)


def failures_markdown(failures: list[LoadFailure]) -> list[str]:
    return [f"- skipped {code(f.input)}: {escape_markdown(f.reason)}" for f in failures]


def split_links(text: str | None) -> list[str]:
    """The links pasted in a box: one per line (or separated by spaces or commas).

    >>> split_links("https://a.org/1\\n https://b.org/2, https://a.org/1")
    ['https://a.org/1', 'https://b.org/2']
    """
    return list(dict.fromkeys(t for t in re.split(r"[\s,]+", text or "") if t))


def feed_choices(feeds: list[Feed]) -> list[tuple[str, str]]:
    """The Briefing tab's feed menu: "All articles" (value ""), then each followed feed as
    (label, its id): its title (else its URL) on one line, cut short, and its id. The menu
    shows labels as text, never markup.

    >>> feed = Feed(2, "https://x.org/rss", "X\\u202e News\\n", 1800, None, 0.0)
    >>> feed_choices([feed])
    [('All articles', ''), ('X News (feed 2)', '2')]
    """
    choices = [ALL_ARTICLES]
    for f in feeds:
        name = clean_line(f.title or "") or clean_line(f.url)
        if len(name) > MENU_LABEL_CHARS:
            name = name[: MENU_LABEL_CHARS - 1].rstrip() + "…"
        choices.append((f"{name} (feed {f.id})", str(f.id)))
    return choices


def chosen_feed(choices: list[tuple[str, str]], current: str | None) -> str:
    """The menu's value once its choices change: the feed chosen before while it is still
    followed, else "All articles".

    >>> chosen_feed([ALL_ARTICLES, ("X (feed 2)", "2")], "2"), chosen_feed([ALL_ARTICLES], "2")
    ('2', '')
    """
    values = {value for _, value in choices}
    return current if current in values else ALL_ARTICLES[1]


def topic_choices(topics: list[FollowedTopic]) -> list[tuple[str, str]]:
    """The Briefing tab's menu of followed topics: each as (label, its id): the topic on one
    line, cut short, its period and its id. The menu shows labels as text, never markup.

    >>> topic_choices([FollowedTopic(3, "Valby\u202e storm", "7d", 0.0)])
    [('Valby storm (the last 7d, topic 3)', '3')]
    """
    choices = []
    for t in topics:
        name = clean_line(t.topic)
        if len(name) > MENU_LABEL_CHARS:
            name = name[: MENU_LABEL_CHARS - 1].rstrip() + "…"
        choices.append((f"{name} ({t.period}, topic {t.id})", str(t.id)))
    return choices


def chosen_topic(choices: list[tuple[str, str]], current: str | None) -> str | None:
    """The topic menu's value once its choices change: the topic chosen before while it is
    still followed, else none.

    >>> chosen_topic([("Valby storm (the last 7d, topic 3)", "3")], "3"), chosen_topic([], "3")
    ('3', None)
    """
    return current if current in {value for _, value in choices} else None
