"""Reads, with object-level authorisation built in."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Membership
from labs import rules
from labs.models import Assignment, Exercise, Extension, Submission, SubmissionEvent


def user_is_course_staff(user: AbstractBaseUser | AnonymousUser, exercise: Exercise) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return exercise.session.course.staff.filter(pk=user.pk).exists()


def submission_can_view(user: AbstractBaseUser | AnonymousUser, submission: Submission) -> bool:
    if not user.is_authenticated:
        return False
    return submission.owner_id == user.pk or user_is_course_staff(user, submission.exercise)


def submission_get_for_user(user: AbstractBaseUser | AnonymousUser, submission_id: int) -> Submission:
    """The submission if `user` may see it; 404 otherwise (never reveal that it exists)."""
    try:
        submission = Submission.objects.select_related("exercise__session__course", "owner").get(
            pk=submission_id
        )
    except Submission.DoesNotExist as exc:
        raise Http404 from exc
    if not submission_can_view(user, submission):
        raise Http404
    return submission


def submission_list_for_user(
    user: AbstractBaseUser, exercise: Exercise, *, assignment: Assignment | None = None
) -> QuerySet[Submission]:
    """The student's attempts at the exercise: for one assignment, or, without one, all of them."""
    found = Submission.objects.filter(owner=user, exercise=exercise)
    if assignment is not None:
        found = found.filter(assignment=assignment)
    return found.select_related("assignment").order_by("-created_at")


def assignment_for_exercise_page(
    user: AbstractBaseUser | AnonymousUser, exercise: Exercise, raw_id: str | None
) -> Assignment | None:
    """The assignment named on the exercise page, if it is one the user belongs to and the
    exercise is in it; 404 otherwise (never reveal another run's assignment)."""
    if not raw_id:
        return None
    if not raw_id.isdigit() or not user.is_authenticated:
        raise Http404
    found = (
        Assignment.objects.select_related("run")
        .filter(pk=int(raw_id), items__exercise=exercise, run__memberships__user_id=user.pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


def submission_events_after(submission_id: int, after: int) -> list[SubmissionEvent]:
    return list(SubmissionEvent.objects.filter(submission_id=submission_id, seq__gt=after).order_by("seq"))


@dataclass(frozen=True)
class Standing:
    """Where one student stands on one exercise of an assignment, at one moment."""

    assignment: Assignment
    exercise: Exercise
    terms: rules.Terms
    at: datetime
    used: int
    left: int | None
    phase: str
    refusal: rules.Refusal | None
    penalty_now: Decimal

    @property
    def zone(self) -> str:
        return self.assignment.run.time_zone


def _extension(user_id: int, assignment: Assignment) -> Extension | None:
    return Extension.objects.filter(assignment=assignment, user_id=user_id).first()


def attempts_in_flight_or_counted(
    *, user_id: int, assignment: Assignment, exercise: Exercise
) -> QuerySet[Submission]:
    """The submissions that use up an attempt: graded by the student's Dockerfile, or still on
    their way (they may count). Our faults (error) and the exercise's (held) never do."""
    return Submission.objects.filter(
        owner_id=user_id,
        assignment=assignment,
        exercise=exercise,
        status__in=[*Submission.COUNTED, *Submission.ACTIVE],
    )


def assignment_standing(
    *, user: AbstractBaseUser, assignment: Assignment, exercise: Exercise, at: datetime | None = None
) -> Standing:
    at = at or timezone.now()
    terms = rules.terms_for(assignment, _extension(user.pk, assignment))
    attempts = attempts_in_flight_or_counted(user_id=user.pk, assignment=assignment, exercise=exercise)
    used = attempts.count()
    last = attempts.order_by("-created_at").values_list("created_at", flat=True).first()
    return Standing(
        assignment=assignment,
        exercise=exercise,
        terms=terms,
        at=at,
        used=used,
        left=rules.attempts_left(terms, used),
        phase=rules.phase(terms, at),
        refusal=rules.refusal(terms, used=used, last_at=last, at=at),
        penalty_now=rules.late_penalty(terms, at),
    )


def local_time(when: datetime, zone: str) -> str:
    return timezone.localtime(when, zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    """A short human duration: 3 h, 2 d 4 h, 12 min (rounded down, never below a minute)."""
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours} if hours else _("%(d)s d") % {"d": days}
    if hours:
        return _("%(h)s h") % {"h": hours}
    return _("%(m)s min") % {"m": minutes}


def standing_line(standing: Standing) -> str:
    """What the student reads above the submit button: "2 of 5 attempts left · due in 3 h
    (Asia/Seoul)"."""
    s, t = standing, standing.terms
    parts = []
    if s.left is not None:
        parts.append(_("%(left)s of %(max)s attempts left") % {"left": s.left, "max": t.max_attempts})
    else:
        parts.append(_("unlimited attempts"))
    if s.phase == "not_open":
        parts.append(_("opens in %(span)s (%(zone)s)") % {"span": _span(t.opens_at - s.at), "zone": s.zone})
    elif s.phase == "open":
        parts.append(_("due in %(span)s (%(zone)s)") % {"span": _span(t.due_at - s.at), "zone": s.zone})
    elif s.phase == "late" and t.late_until is not None:
        parts.append(
            _("late: %(penalty)s%% off · late window ends in %(span)s (%(zone)s)")
            % {"penalty": _percent(s.penalty_now), "span": _span(t.late_until - s.at), "zone": s.zone}
        )
    else:
        parts.append(
            _("closed %(when)s (%(zone)s)")
            % {"when": local_time(t.late_until or t.due_at, s.zone), "zone": s.zone}
        )
    return " · ".join(parts)


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


def standing_refusal_text(standing: Standing) -> str:
    """Which rule refused the submission and when the next attempt is possible."""
    r, t, zone = standing.refusal, standing.terms, standing.zone
    assert r is not None
    if r.code == "not_open":
        return _("This assignment opens at %(when)s (%(zone)s); you can submit from then on.") % {
            "when": local_time(t.opens_at, zone),
            "zone": zone,
        }
    if r.code == "closed":
        return _("This assignment closed at %(when)s (%(zone)s); it no longer accepts submissions.") % {
            "when": local_time(t.late_until or t.due_at, zone),
            "zone": zone,
        }
    if r.code == "no_attempts":
        return _(
            "You have used all %(max)s attempts at this exercise for this assignment; no more are possible."
        ) % {"max": t.max_attempts}
    assert r.next_at is not None
    return _(
        "Attempts at this exercise must be %(interval)s apart: "
        "your next attempt is possible at %(when)s (%(zone)s)."
    ) % {"interval": _span(t.min_interval), "when": local_time(r.next_at, zone), "zone": zone}


@dataclass(frozen=True)
class Cell:
    """One student's result on one exercise of an assignment."""

    exercise_id: int
    used: int
    pending: bool
    counted: rules.Counted | None

    @property
    def score(self) -> float | None:
        return self.counted.score if self.counted else None


@dataclass(frozen=True)
class GradebookRow:
    user_id: int
    username: str
    name: str
    email: str
    cells: list[Cell]
    extension_due_at: datetime | None

    @property
    def total(self) -> float:
        """The mean of the counted scores, an exercise without one counting 0."""
        if not self.cells:
            return 0.0
        return round(sum(c.score or 0.0 for c in self.cells) / len(self.cells), 1)

    @property
    def late(self) -> bool:
        return any(c.counted is not None and c.counted.late for c in self.cells)


@dataclass(frozen=True)
class Gradebook:
    assignment: Assignment
    exercises: list[Exercise]
    rows: list[GradebookRow]


def graded_score(status: str, score: float | None) -> float | None:
    """A failed build is a graded attempt worth 0; a finished grading keeps its score."""
    return 0.0 if status == Submission.Status.FAILED else score


def gradebook_for(
    assignment: Assignment,
    *,
    user_ids: list[int] | None = None,
    overrides: dict[int, tuple[str, float | None]] | None = None,
) -> Gradebook:
    """Students by exercises: the counted score (after the late penalty), attempts used, late.
    `overrides` replaces some submissions' (status, score), to show what a regrade would make
    of the gradebook with exactly the rules applying it uses."""
    exercises = [item.exercise for item in assignment.items.select_related("exercise")]
    students = (
        Membership.objects.filter(run_id=assignment.run_id, role=Membership.Role.STUDENT)
        .select_related("user")
        .order_by("user__username")
    )
    if user_ids is not None:
        students = students.filter(user_id__in=user_ids)
    members = list(students)
    ids = [m.user_id for m in members]
    extensions = {e.user_id: e for e in Extension.objects.filter(assignment=assignment, user_id__in=ids)}
    graded: dict[tuple[int, int], list[tuple[int, datetime, float | None]]] = {}
    used: dict[tuple[int, int], int] = {}
    pending: set[tuple[int, int]] = set()
    rows = Submission.objects.filter(
        assignment=assignment, owner_id__in=ids, status__in=[*Submission.COUNTED, *Submission.ACTIVE]
    ).order_by("created_at", "id")
    for pk, owner_id, exercise_id, status, score, created_at in rows.values_list(
        "pk", "owner_id", "exercise_id", "status", "score", "created_at"
    ):
        key = (owner_id, exercise_id)
        used[key] = used.get(key, 0) + 1
        if status in Submission.ACTIVE:
            pending.add(key)
            continue
        if overrides and pk in overrides:
            status, score = overrides[pk]
        graded.setdefault(key, []).append((pk, created_at, graded_score(status, score)))
    out = []
    for m in members:
        terms = rules.terms_for(assignment, extensions.get(m.user_id))
        cells = [
            Cell(
                exercise_id=e.pk,
                used=used.get((m.user_id, e.pk), 0),
                pending=(m.user_id, e.pk) in pending,
                counted=rules.counted(terms, graded.get((m.user_id, e.pk), [])),
            )
            for e in exercises
        ]
        ext = extensions.get(m.user_id)
        out.append(
            GradebookRow(
                user_id=m.user_id,
                username=m.user.get_username(),
                name=m.user.get_full_name(),
                email=m.user.email,
                cells=cells,
                extension_due_at=ext.due_at if ext else None,
            )
        )
    return Gradebook(assignment=assignment, exercises=exercises, rows=out)


def counted_submission_ids(assignment: Assignment) -> list[int]:
    """The submission that counts for each student and exercise now: what a regrade regrades."""
    book = gradebook_for(assignment)
    return [c.counted.submission_id for row in book.rows for c in row.cells if c.counted is not None]


def assignments_to_regrade(exercise: Exercise) -> list[tuple[Assignment, int]]:
    """Assignments with graded attempts at the exercise, and how many: what a change to its
    grading would change."""
    found = []
    assignments = Assignment.objects.filter(items__exercise=exercise).select_related("run").order_by("pk")
    for assignment in assignments:
        count = Submission.objects.filter(
            assignment=assignment, exercise=exercise, status__in=Submission.COUNTED
        ).count()
        if count:
            found.append((assignment, count))
    return found
