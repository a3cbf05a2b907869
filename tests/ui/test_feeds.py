"""The Feeds markup and the Briefing tab's feed menu (ui/feeds.py): one choice per followed
feed, labels on one line and cut short, the choice kept while its feed is followed."""

from __future__ import annotations

from rag.feeds import Feed
from ui.feeds import ALL_ARTICLES, MENU_LABEL_CHARS, chosen_feed, feed_choices


def feed(id_: int, title: str | None, url: str = "https://x.org/rss") -> Feed:
    return Feed(id_, url, title, 1800, None, 0.0)


def test_the_menu_lists_all_articles_then_each_followed_feed() -> None:
    choices = feed_choices([feed(1, "Daily Tidings"), feed(3, None, "https://herald.example/atom")])
    assert choices == [ALL_ARTICLES, ("Daily Tidings (feed 1)", "1"),
                       ("https://herald.example/atom (feed 3)", "3")]
    assert feed_choices([]) == [("All articles", "")]


def test_a_feeds_title_is_one_clean_line_cut_short() -> None:
    hostile = "Evil\x1b[2J\u202e <b>News</b>\n" + "long " * 40
    (label, value), = feed_choices([feed(7, hostile)])[1:]
    assert value == "7" and label.endswith("… (feed 7)")
    assert "\n" not in label and "\x1b" not in label and "\u202e" not in label
    assert len(label) <= MENU_LABEL_CHARS + len(" (feed 7)")
    # The menu shows text, not markup: "<b>" stays as written (Gradio escapes it).
    assert "<b>News</b>" in label


def test_the_choice_is_kept_while_its_feed_is_followed() -> None:
    choices = feed_choices([feed(1, "A"), feed(2, "B")])
    assert chosen_feed(choices, "2") == "2"
    assert chosen_feed(feed_choices([feed(1, "A")]), "2") == ""
    assert chosen_feed(choices, None) == "" and chosen_feed(choices, "") == ""
