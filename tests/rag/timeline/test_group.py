"""Which passages report one happening, and how events rank (rag/timeline/group.py), on
hand-made vectors."""

from __future__ import annotations

from datetime import date

import numpy as np

from rag.timeline.group import Report, group_reports, rank, reach


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


CLOSED, CLOSED_AGAIN, REOPENED, RATES = unit(1, 0, 0), unit(0.95, 0.3, 0), unit(0.6, 0.8, 0), \
    unit(0, 0, 1)
SEPT = [date(2022, 9, d) for d in range(1, 31)]


def report(article: str, day: date | None, vector: np.ndarray, *copies: str) -> Report:
    return Report(article, day, vector, frozenset({article, *copies}))


def test_similar_reports_within_two_days_are_one_event() -> None:
    reports = [report("a", SEPT[0], CLOSED), report("b", SEPT[2], CLOSED_AGAIN),
               report("c", SEPT[0], RATES)]
    assert group_reports(reports, same_event=0.8) == [[0, 1], [2]]


def test_the_same_words_days_apart_are_two_events() -> None:
    reports = [report("a", SEPT[0], CLOSED), report("b", SEPT[3], CLOSED)]
    assert group_reports(reports, same_event=0.8) == [[0], [1]]


def test_every_member_must_be_close_in_time() -> None:
    # b is within two days of a and of c, but a and c are four days apart: c starts a group.
    reports = [report("a", SEPT[0], CLOSED), report("b", SEPT[2], CLOSED),
               report("c", SEPT[4], CLOSED)]
    assert group_reports(reports, same_event=0.8) == [[0, 1], [2]]


def test_a_report_joins_the_group_it_is_closest_to_on_average() -> None:
    # c is close enough to both (0.8 and 0.6): it joins a, the closer.
    reports = [report("a", SEPT[0], unit(1, 0, 0)), report("b", SEPT[0], unit(0, 1, 0)),
               report("c", SEPT[0], unit(0.8, 0.6, 0))]
    assert group_reports(reports, same_event=0.5) == [[0, 2], [1]]


def test_the_threshold_decides() -> None:
    reports = [report("a", SEPT[0], CLOSED), report("b", SEPT[0], REOPENED)]
    assert group_reports(reports, same_event=0.7) == [[0], [1]]
    assert group_reports(reports, same_event=0.5) == [[0, 1]]


def test_the_passages_of_one_article_stay_together() -> None:
    reports = [report("a", SEPT[0], CLOSED), report("a", SEPT[0], RATES)]
    assert group_reports(reports, same_event=0.9) == [[0, 1]]


def test_undated_reports_group_only_with_undated_ones() -> None:
    reports = [report("a", SEPT[0], CLOSED), report("b", None, CLOSED),
               report("c", None, CLOSED_AGAIN)]
    assert group_reports(reports, same_event=0.8) == [[0], [1, 2]]


def test_reach_counts_each_article_and_wire_copy_once() -> None:
    reports = [report("a", SEPT[0], CLOSED, "a-copy"), report("b", SEPT[0], CLOSED, "a-copy")]
    assert reach(reports, [0, 1]) == ["a", "a-copy", "b"]


def test_wide_reporting_lifts_an_event_a_little() -> None:
    assert rank(0.6, 1) == 0.6
    assert rank(0.55, 4) > rank(0.6, 1) > rank(0.45, 4)
    assert rank(0.6, 0) == rank(0.6, 1)
