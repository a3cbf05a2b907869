"""The day of an event (rag/timeline/dating.py): the date its sentence states, resolved against
the article's publication date, else the publication date."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rag.timeline.dating import event_day, stated_day, stated_phrase, weekday_before

WEDNESDAY = "2022-09-14"  # a Wednesday


@pytest.mark.parametrize(("sentence", "published", "day", "source"), [
    # Weekdays: the latest such day on or before publication.
    ("Police said on Monday that the suspect fled.", WEDNESDAY, "2022-09-12", "stated"),
    ("The vote on Wednesday was close.", WEDNESDAY, "2022-09-14", "stated"),
    ("Thursday's vote was close.", WEDNESDAY, "2022-09-08", "stated"),
    ("The talks resumed last Friday.", WEDNESDAY, "2022-09-09", "stated"),
    # Month and day: the publication year, or the year before for a date after publication.
    ("The vote, held Sept. 8, was close.", WEDNESDAY, "2022-09-08", "stated"),
    ("The vote, held on 8 September, was close.", WEDNESDAY, "2022-09-08", "stated"),
    ("The vote was held on September 8th.", WEDNESDAY, "2022-09-08", "stated"),
    ("The fire began Dec. 28 and burned for days.", "2023-01-03", "2022-12-28", "stated"),
    ("On March 2, the tournament began.", WEDNESDAY, "2022-03-02", "stated"),
    # With a year, and ISO dates.
    ("The treaty was signed on Aug. 30, 2022.", WEDNESDAY, "2022-08-30", "stated"),
    ("The filing is dated 2022-09-01.", WEDNESDAY, "2022-09-01", "stated"),
    # Relative days.
    ("It happened yesterday.", WEDNESDAY, "2022-09-13", "stated"),
    ("Shots were heard last night.", WEDNESDAY, "2022-09-13", "stated"),
    ("The mayor resigned today.", WEDNESDAY, "2022-09-14", "stated"),
    # A weekday naming a month day is that day; a plan's weekday is no event's day.
    ("It launched on Monday, Aug. 29, after two delays.", WEDNESDAY, "2022-08-29", "stated"),
    ("NASA is aiming to launch on Saturday.", WEDNESDAY, WEDNESDAY, "published"),
    ("The vote will be held on Friday.", WEDNESDAY, WEDNESDAY, "published"),
    # The first plausible date wins; implausible ones are skipped.
    ("The summit, set for Sept. 21, was agreed on Monday.", WEDNESDAY, "2022-09-12", "stated"),
    # No stated date that can be the event's: the publication day.
    ("The summit will open on Sept. 21.", WEDNESDAY, WEDNESDAY, "published"),
    ("The summit will open next Monday.", WEDNESDAY, WEDNESDAY, "published"),
    ("The summit will open this Friday.", WEDNESDAY, WEDNESDAY, "published"),
    ("The law of Aug. 30, 2020 still holds.", WEDNESDAY, WEDNESDAY, "published"),  # > a year
    ("Iran lost to Japan 16-13.", WEDNESDAY, WEDNESDAY, "published"),
    ("Prices may 5 times higher march 2 miles ahead.", WEDNESDAY, WEDNESDAY, "published"),
    ("Shares rose 3% on the day.", "2022-09-14T18:30:00+00:00", WEDNESDAY, "published"),
])
def test_event_day(sentence: str, published: str, day: str, source: str) -> None:
    found = event_day(sentence, published)
    assert found is not None
    assert (found[0].isoformat(), found[1]) == (day, source)


@pytest.mark.parametrize(("sentence", "day"), [
    ("The match on May 13, 2025 was close.", "2025-05-13"),  # a full date needs no base
    ("The filing is dated 2022-09-01.", "2022-09-01"),
    ("The match on Monday was close.", None),
    ("The match on May 13 was close.", None),
    ("Iran lost to Japan 16-13.", None),
])
def test_an_undated_article_gives_only_full_dates(sentence: str, day: str | None) -> None:
    found = stated_day(sentence, None)
    assert (found.isoformat() if found else None) == day
    assert event_day(sentence, None) == (None if day is None else (found, "stated"))


@pytest.mark.parametrize(("sentence", "phrase"), [
    # An undated event shows the date its sentence states as it states it: no year made up.
    ("The tournament, ongoing in Zhaoqing, runs until March 2 and is vital.", "until March 2"),
    ("The final is on Sunday in Zhaoqing.", "on Sunday"),
    ("Talks resume on Monday, Aug. 29, in Vienna.", "on Monday, Aug. 29"),
    ("The league starts 5 May with eight teams.", "5 May"),
    ("On May 13, 2025, the sports world experienced thrilling developments.", "On May 13, 2025"),
    ("Iran lost to Japan 16-13.", None),
    ("Fans may march 2 miles to the stadium.", None),  # no month: lower-case words
])
def test_the_date_a_sentence_states_as_it_states_it(sentence: str, phrase: str | None) -> None:
    assert stated_phrase(sentence) == phrase
    if phrase and not re.search(r"\d{4}", phrase):  # no year, no publication day: no day
        assert event_day(sentence, None) is None


def test_weekday_before_counts_the_day_itself() -> None:
    wednesday = date(2022, 9, 14)
    assert [weekday_before(d, wednesday).day for d in
            ("monday", "tuesday", "wednesday", "thursday", "sunday")] == [12, 13, 14, 8, 11]
