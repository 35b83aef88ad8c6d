"""Deadline, late-window and counting arithmetic at its boundaries, in a time zone without
daylight saving time (Asia/Seoul) and one with it (Europe/Berlin, which moves its clocks on
the last Sunday of March and of October)."""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from labs import rules

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SECOND = timedelta(seconds=1)


def terms(due: datetime, **changes: object) -> rules.Terms:
    base = rules.Terms(
        opens_at=due - timedelta(days=7),
        due_at=due,
        late_until=due + timedelta(days=3),
        penalty="per_day",
        penalty_percent=Decimal(10),
        penalty_cap_percent=None,
        max_attempts=5,
        min_interval=timedelta(0),
        counting="best",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


SEOUL_DUE = datetime(2026, 12, 4, 23, 59, tzinfo=SEOUL)


def test_the_due_minute_itself_is_on_time_and_a_second_later_is_one_day_late() -> None:
    t = terms(SEOUL_DUE)
    assert rules.phase(t, SEOUL_DUE) == "open"
    assert rules.late_penalty(t, SEOUL_DUE) == Decimal(0)
    assert rules.phase(t, SEOUL_DUE + SECOND) == "late"
    assert rules.days_late(t, SEOUL_DUE + SECOND) == 1
    assert rules.late_penalty(t, SEOUL_DUE + SECOND) == Decimal(10)


def test_exactly_24_hours_late_is_one_day_and_a_second_more_is_two() -> None:
    t = terms(SEOUL_DUE)
    assert rules.days_late(t, SEOUL_DUE + timedelta(hours=24)) == 1
    assert rules.days_late(t, SEOUL_DUE + timedelta(hours=24) + SECOND) == 2
    assert rules.late_penalty(t, SEOUL_DUE + timedelta(hours=24) + SECOND) == Decimal(20)


def test_the_late_window_includes_its_last_second_and_closes_after_it() -> None:
    t = terms(SEOUL_DUE)
    end = SEOUL_DUE + timedelta(days=3)
    assert rules.phase(t, end) == "late"
    assert rules.phase(t, end + SECOND) == "closed"
    assert rules.refusal(t, used=0, last_at=None, at=end + SECOND) == rules.Refusal("closed")


def test_without_a_late_window_nothing_is_accepted_after_the_due_time() -> None:
    t = terms(SEOUL_DUE, late_until=None)
    assert rules.phase(t, SEOUL_DUE + SECOND) == "closed"


def test_before_the_opening_time_the_refusal_says_when_it_opens() -> None:
    t = terms(SEOUL_DUE)
    assert rules.refusal(t, used=0, last_at=None, at=t.opens_at - SECOND) == rules.Refusal(
        "not_open", t.opens_at
    )
    assert rules.refusal(t, used=0, last_at=None, at=t.opens_at) is None


def test_a_per_day_penalty_stops_at_its_cap_and_a_flat_one_is_taken_once() -> None:
    capped = terms(SEOUL_DUE, penalty_cap_percent=Decimal(25), late_until=SEOUL_DUE + timedelta(days=10))
    assert rules.late_penalty(capped, SEOUL_DUE + timedelta(days=2)) == Decimal(20)
    assert rules.late_penalty(capped, SEOUL_DUE + timedelta(days=5)) == Decimal(25)
    flat = terms(SEOUL_DUE, penalty="flat", penalty_percent=Decimal(30))
    assert rules.late_penalty(flat, SEOUL_DUE + SECOND) == Decimal(30)
    assert rules.late_penalty(flat, SEOUL_DUE + timedelta(days=3)) == Decimal(30)


def test_a_penalty_never_takes_more_than_the_whole_score() -> None:
    t = terms(SEOUL_DUE, penalty_percent=Decimal(60), late_until=SEOUL_DUE + timedelta(days=9))
    assert rules.late_penalty(t, SEOUL_DUE + timedelta(days=3)) == Decimal(100)
    assert rules.penalised(88.0, Decimal(100)) == 0.0


def test_a_penalty_is_a_share_of_the_score() -> None:
    assert rules.penalised(90.0, Decimal(20)) == 72.0
    assert rules.penalised(87.5, Decimal("12.5")) == 76.6
    assert rules.penalised(None, Decimal(20)) is None


# Berlin moved from CEST (+02:00) to CET (+01:00) at 03:00 on 2026-10-25: that calendar day has
# 25 hours. A day late is 24 hours of real time, whatever the wall clock does.
BERLIN_DUE = datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)


def test_a_day_late_is_24_real_hours_across_the_autumn_clock_change() -> None:
    t = terms(BERLIN_DUE)
    next_noon_wall_clock = datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN)
    assert next_noon_wall_clock - BERLIN_DUE == timedelta(hours=24)  # Python's wall-clock arithmetic
    real = next_noon_wall_clock.astimezone(zoneinfo.ZoneInfo("UTC")) - BERLIN_DUE.astimezone(
        zoneinfo.ZoneInfo("UTC")
    )
    assert real == timedelta(hours=25)
    assert rules.days_late(t, next_noon_wall_clock) == 2  # 25 real hours: into the second day
    assert rules.days_late(t, datetime(2026, 10, 25, 11, 0, tzinfo=BERLIN)) == 1  # 24 real hours


def test_a_day_late_is_24_real_hours_across_the_spring_clock_change() -> None:
    due = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)  # clocks go forward 02:00 -> 03:00 on the 29th
    t = terms(due)
    assert rules.days_late(t, datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)) == 1  # 23 real hours
    assert rules.days_late(t, datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)) == 1  # 24 real hours
    assert rules.days_late(t, datetime(2026, 3, 29, 13, 0, 1, tzinfo=BERLIN)) == 2


def test_the_attempt_cap_and_the_interval_refuse_with_the_next_possible_time() -> None:
    t = terms(SEOUL_DUE, max_attempts=2, min_interval=timedelta(minutes=10))
    at = SEOUL_DUE - timedelta(hours=3)
    assert rules.refusal(t, used=2, last_at=at - timedelta(hours=1), at=at) == rules.Refusal("no_attempts")
    last = at - timedelta(minutes=4)
    assert rules.refusal(t, used=1, last_at=last, at=at) == rules.Refusal(
        "too_soon", last + timedelta(minutes=10)
    )
    assert rules.refusal(t, used=1, last_at=at - timedelta(minutes=10), at=at) is None
    assert rules.attempts_left(t, 1) == 1
    assert rules.attempts_left(replace(t, max_attempts=None), 7) is None


@pytest.mark.parametrize(
    ("counting", "expected_id", "expected_score"),
    [("best", 2, 90.0), ("last", 3, 54.0)],
)
def test_best_counts_the_highest_after_penalties_and_last_counts_the_last(
    counting: str, expected_id: int, expected_score: float
) -> None:
    t = terms(SEOUL_DUE, counting=counting)
    attempts = [
        (1, SEOUL_DUE - timedelta(days=1), 70.0),
        (2, SEOUL_DUE - timedelta(hours=1), 90.0),
        (3, SEOUL_DUE + timedelta(hours=30), 67.5),  # two days late: 20 % off
    ]
    chosen = rules.counted(t, attempts)
    assert chosen is not None
    assert (chosen.submission_id, chosen.score) == (expected_id, expected_score)
    assert chosen.late is (counting == "last")


def test_a_late_perfect_score_loses_to_an_on_time_one_that_beats_it_after_the_penalty() -> None:
    t = terms(SEOUL_DUE)
    chosen = rules.counted(t, [(1, SEOUL_DUE - SECOND, 85.0), (2, SEOUL_DUE + SECOND, 100.0)])
    assert chosen is not None and (chosen.submission_id, chosen.score, chosen.penalty) == (
        2,
        90.0,
        Decimal(10),
    )
    chosen = rules.counted(t, [(1, SEOUL_DUE - SECOND, 95.0), (2, SEOUL_DUE + SECOND, 100.0)])
    assert chosen is not None and (chosen.submission_id, chosen.score) == (1, 95.0)


def test_equal_best_scores_count_the_earlier_attempt() -> None:
    t = terms(SEOUL_DUE)
    chosen = rules.counted(t, [(1, SEOUL_DUE - timedelta(hours=2), 80.0), (2, SEOUL_DUE - SECOND, 80.0)])
    assert chosen is not None and chosen.submission_id == 1
