"""What an assignment allows one student at one moment: pure arithmetic on times and counts, no
database, so the boundaries are tested exactly. Times are aware datetimes (stored in UTC);
they are shown in the run's time zone by the caller."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labs.models import Assignment, Extension

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Terms:
    """An assignment's rules as they hold for one student (their extension applied)."""

    opens_at: datetime
    due_at: datetime
    late_until: datetime | None
    penalty: str  # "per_day" | "flat"
    penalty_percent: Decimal
    penalty_cap_percent: Decimal | None
    max_attempts: int | None
    min_interval: timedelta
    counting: str  # "best" | "last"


@dataclass(frozen=True)
class Refusal:
    """Why a submission is not accepted now, and when one would be (None: never again)."""

    code: str  # not_open | closed | no_attempts | too_soon
    next_at: datetime | None = None


def terms_for(assignment: Assignment, extension: Extension | None = None) -> Terms:
    """The student's terms: the assignment's, with their extension's due time, late window and
    extra attempts in place of the class's. An extension without its own late window keeps the
    class's window length after the new due time."""
    a = assignment
    due_at, late_until, max_attempts = a.due_at, a.late_until, a.max_attempts
    if extension is not None:
        due_at = extension.due_at
        if extension.late_until is not None:
            late_until = extension.late_until
        elif a.late_until is not None:
            late_until = _utc(due_at) + (_utc(a.late_until) - _utc(a.due_at))
        if late_until is not None and _utc(late_until) <= _utc(due_at):
            late_until = None
        if max_attempts is not None:
            max_attempts += extension.extra_attempts
    return Terms(
        opens_at=a.opens_at,
        due_at=due_at,
        late_until=late_until,
        penalty=a.late_penalty,
        penalty_percent=Decimal(a.late_penalty_percent),
        penalty_cap_percent=_percent(a.late_penalty_cap_percent),
        max_attempts=max_attempts,
        min_interval=timedelta(seconds=a.min_interval_seconds),
        counting=a.counting,
    )


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _utc(when: datetime) -> datetime:
    """Python compares and subtracts two datetimes of the same zone by their wall clocks, which
    is wrong across a clock change; in UTC the arithmetic is real time."""
    return when.astimezone(UTC)


def phase(terms: Terms, at: datetime) -> str:
    """not_open before the opening time; open up to and including the due time; late within the
    late window (up to and including its end); closed after."""
    now = _utc(at)
    if now < _utc(terms.opens_at):
        return "not_open"
    if now <= _utc(terms.due_at):
        return "open"
    if terms.late_until is not None and now <= _utc(terms.late_until):
        return "late"
    return "closed"


def days_late(terms: Terms, at: datetime) -> int:
    """Started days after the due time: one second late is one day, exactly 24 h is one day,
    24 h and a second is two."""
    late = _utc(at) - _utc(terms.due_at)
    if late <= timedelta(0):
        return 0
    return math.ceil(late / DAY)


def late_penalty(terms: Terms, at: datetime) -> Decimal:
    """Percentage points taken off a score submitted at `at` (0 when on time), never over 100."""
    days = days_late(terms, at)
    if days == 0:
        return Decimal(0)
    if terms.penalty == "flat":
        taken = terms.penalty_percent
    else:
        taken = terms.penalty_percent * days
        if terms.penalty_cap_percent is not None:
            taken = min(taken, terms.penalty_cap_percent)
    return min(taken, Decimal(100))


def penalised(score: float | None, penalty: Decimal) -> float | None:
    """The score after a late penalty, as a percentage of it (a 20 % penalty makes 90 into 72)."""
    if score is None:
        return None
    kept = (Decimal(100) - penalty) / Decimal(100)
    return float((Decimal(str(score)) * kept).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def refusal(terms: Terms, *, used: int, last_at: datetime | None, at: datetime) -> Refusal | None:
    """Whether a student who has `used` attempts (the last at `last_at`) may submit at `at`."""
    now = phase(terms, at)
    if now == "not_open":
        return Refusal("not_open", terms.opens_at)
    if now == "closed":
        return Refusal("closed")
    if terms.max_attempts is not None and used >= terms.max_attempts:
        return Refusal("no_attempts")
    if last_at is not None and terms.min_interval and _utc(at) < _utc(last_at) + terms.min_interval:
        return Refusal("too_soon", _utc(last_at) + terms.min_interval)
    return None


def attempts_left(terms: Terms, used: int) -> int | None:
    if terms.max_attempts is None:
        return None
    return max(0, terms.max_attempts - used)


@dataclass(frozen=True)
class Counted:
    """The attempt that counts for one exercise, and the score after its late penalty."""

    submission_id: int
    raw_score: float | None
    penalty: Decimal
    score: float | None
    late: bool


def counted(terms: Terms, attempts: list[tuple[int, datetime, float | None]]) -> Counted | None:
    """From (id, submitted at, raw score) of the graded attempts, oldest first: the one that
    counts (the best after penalties, ties to the earliest; or the last) and its score."""
    if not attempts:
        return None
    rows = []
    for submission_id, at, raw in attempts:
        penalty = late_penalty(terms, at)
        rows.append(Counted(submission_id, raw, penalty, penalised(raw, penalty), days_late(terms, at) > 0))
    if terms.counting == "last":
        return rows[-1]
    best = rows[0]
    for row in rows[1:]:
        if (row.score or 0.0) > (best.score or 0.0):
            best = row
    return best
