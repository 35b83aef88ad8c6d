"""Reads, with object-level authorisation built in."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from courses.models import Course, CourseRun, Membership, Session
from courses.templatetags.layerlab import format_when
from labs import pipeline, rules
from labs.charts import megabytes
from labs.grading.catalogue import Text, korean
from labs.grading.registry import all_criteria
from labs.grading.rubric import DEFAULT_PASSING_SCORE, rubric_from_data
from labs.models import Assignment, Exercise, Extension, Regrade, RegradeItem, Submission, SubmissionEvent
from labs.pipeline import ExerciseSpec
from sandbox import engine
from sandbox.limits import BuildLimits
from sandbox.policy import Violation


def user_is_course_staff(user: AbstractBaseUser | AnonymousUser, exercise: Exercise) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return exercise.session.course.staff.filter(pk=user.pk).exists()


def submission_can_view(user: AbstractBaseUser | AnonymousUser, submission: Submission) -> bool:
    if not user.is_authenticated:
        return False
    if submission.owner_id == user.pk or user_is_course_staff(user, submission.exercise):
        return True
    return submission_run_staff_can_view(user.pk, submission)


def submission_run_staff_can_view(user_id: int, submission: Submission) -> bool:
    """Staff of a run see the submissions to its assignments and its students' practice on its
    course since they joined the run; nothing of another run's assignments."""
    staffed = Membership.objects.filter(user_id=user_id, role__in=Membership.STAFF).values("run_id")
    if submission.assignment_id is not None:
        return Assignment.objects.filter(pk=submission.assignment_id, run_id__in=staffed).exists()
    return Membership.objects.filter(
        run_id__in=staffed,
        run__course_id=submission.exercise.course_id,
        user_id=submission.owner_id,
        role=Membership.Role.STUDENT,
        created_at__lte=submission.created_at,  # not what they practised before joining this run
    ).exists()


def submission_get_for_user(user: AbstractBaseUser | AnonymousUser, submission_id: int) -> Submission:
    """The submission if `user` may see it; 404 otherwise (never reveal that it exists)."""
    try:
        submission = Submission.objects.select_related(
            "exercise__session__course", "exercise__course", "owner"
        ).get(pk=submission_id)
    except Submission.DoesNotExist as exc:
        raise Http404 from exc
    if not submission_can_view(user, submission):
        raise Http404
    return submission


def submission_list_for_user(
    user: AbstractBaseUser, exercise: Exercise, *, assignment: Assignment | None = None
) -> QuerySet[Submission]:
    """The student's attempts at the exercise: for one assignment, or, without one, all of them."""
    found = Submission.objects.filter(owner=user, exercise=exercise, trial=Submission.Trial.NONE)
    if assignment is not None:
        found = found.filter(assignment=assignment)
    return found.select_related("assignment").order_by("-created_at").defer("layers")


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


def submission_events_after(
    submission_id: int, after: int, *, limit: int | None = None
) -> list[SubmissionEvent]:
    found = SubmissionEvent.objects.filter(submission_id=submission_id, seq__gt=after).order_by("seq")
    return list(found[:limit] if limit is not None else found)


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
    their way (they may count; a held one is graded once its exercise is fixed). Our faults
    (error) never do."""
    return Submission.objects.filter(
        owner_id=user_id,
        assignment=assignment,
        exercise=exercise,
        status__in=[*Submission.COUNTED, *Submission.PENDING],
        trial=Submission.Trial.NONE,
    )


def assignment_standing(
    *, user: AbstractBaseUser, assignment: Assignment, exercise: Exercise, at: datetime | None = None
) -> Standing:
    at = at or timezone.now()
    terms = rules.terms_for(assignment, _extension(user.pk, assignment))
    attempts = attempts_in_flight_or_counted(user_id=user.pk, assignment=assignment, exercise=exercise)
    used = attempts.count()
    last = attempts.order_by("-created_at").values_list("created_at", flat=True).first()
    return _standing(assignment, exercise, terms, at=at, used=used, last=last)


def _standing(
    assignment: Assignment,
    exercise: Exercise,
    terms: rules.Terms,
    *,
    at: datetime,
    used: int,
    last: datetime | None,
) -> Standing:
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
    return format_when(when, zone)


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
    max_attempts: int | None = None
    """The student's own cap (their extension's extra attempts included); None: no cap."""

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
    exercises = [item.exercise for item in assignment.items.select_related("exercise__course")]
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
        assignment=assignment,
        owner_id__in=ids,
        status__in=[*Submission.COUNTED, *Submission.PENDING],
        trial=Submission.Trial.NONE,
    ).order_by("created_at", "id")
    for pk, owner_id, exercise_id, status, score, created_at in rows.values_list(
        "pk", "owner_id", "exercise_id", "status", "score", "created_at"
    ):
        key = (owner_id, exercise_id)
        used[key] = used.get(key, 0) + 1
        if status in Submission.PENDING:
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
                max_attempts=terms.max_attempts,
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


def regrade_submission_ids(assignment: Assignment) -> list[int]:
    """What a regrade grades again. With the last attempt counting, each student's counted
    attempt per exercise. With the best counting, every graded attempt: a regrade that lowers
    the best one may make another the best, and that one must carry a new score too."""
    book = gradebook_for(assignment)
    if assignment.counting == Assignment.Counting.LAST:
        return [c.counted.submission_id for row in book.rows for c in row.cells if c.counted is not None]
    students = [row.user_id for row in book.rows]
    return list(
        Submission.objects.filter(assignment=assignment, owner_id__in=students, status__in=Submission.COUNTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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


@dataclass(frozen=True)
class ExerciseProgress:
    exercise: Exercise
    done: bool
    best_score: float | None


@dataclass(frozen=True)
class SessionProgress:
    """One session of a course outline, with the viewer's progress on its exercises."""

    session: Session
    exercises: list[ExerciseProgress]

    @property
    def total(self) -> int:
        return len(self.exercises)

    @property
    def done(self) -> int:
        return sum(1 for e in self.exercises if e.done)

    @property
    def best_score(self) -> float | None:
        scores = [e.best_score for e in self.exercises if e.best_score is not None]
        return max(scores) if scores else None


@dataclass(frozen=True)
class OutlineDay:
    number: int  # 0: the sessions name no day
    sessions: list[SessionProgress]


@dataclass(frozen=True)
class OutlineWeek:
    number: int  # 0: the sessions name no week
    days: list[OutlineDay]


@dataclass(frozen=True)
class CourseOutline:
    course: Course
    weeks: list[OutlineWeek]
    with_progress: bool


def course_outline(course: Course, user: AbstractBaseUser | AnonymousUser) -> CourseOutline:
    """Weeks, days and sessions in teaching order (week, day, session number, position), the
    sessions that name no week after the scheduled ones. For a logged-in user, each exercise
    says whether one of their submissions was graded to the end (done) and their best score;
    any submission counts, practice or for an assignment."""
    sessions = list(
        Session.objects.filter(course=course)
        .prefetch_related(
            Prefetch(
                "exercises", queryset=Exercise.objects.select_related("course").order_by("position", "id")
            )
        )
        .order_by("week", "day", "number", "position", "id")
    )
    best: dict[int, float | None] = {}
    if user.is_authenticated:
        done = (
            Submission.objects.filter(
                owner_id=user.pk,
                exercise__course=course,
                status=Submission.Status.DONE,
                trial=Submission.Trial.NONE,
            )
            .values("exercise_id")
            .annotate(best=Max("score"))
        )
        best = {row["exercise_id"]: row["best"] for row in done}
    weeks: dict[int, dict[int, list[SessionProgress]]] = {}
    for session in sorted(sessions, key=lambda s: s.week == 0):
        rows = [ExerciseProgress(e, e.pk in best, best.get(e.pk)) for e in session.exercises.all()]
        weeks.setdefault(session.week, {}).setdefault(session.day, []).append(SessionProgress(session, rows))
    return CourseOutline(
        course=course,
        weeks=[
            OutlineWeek(week, [OutlineDay(day, found) for day, found in days.items()])
            for week, days in weeks.items()
        ],
        with_progress=user.is_authenticated,
    )


@dataclass(frozen=True)
class RunAssignment:
    """An assignment in a member's list: its terms for them (their extension applied) now."""

    assignment: Assignment
    terms: rules.Terms
    phase: str


@dataclass(frozen=True)
class MemberRun:
    run: CourseRun
    role: str
    assignments: list[RunAssignment]

    @property
    def is_staff_role(self) -> bool:
        return self.role in Membership.STAFF


def member_runs(user: AbstractBaseUser, *, at: datetime | None = None) -> list[MemberRun]:
    """The runs the user belongs to, newest first, each with its assignments in due order."""
    at = at or timezone.now()
    memberships = list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("run__course")
        .order_by("-run__starts_on", "-run__created_at", "run__title")
    )
    run_ids = [m.run_id for m in memberships]
    by_run: dict[int, list[Assignment]] = {}
    for assignment in Assignment.objects.filter(run_id__in=run_ids).order_by("due_at", "id"):
        by_run.setdefault(assignment.run_id, []).append(assignment)
    extensions = {
        e.assignment_id: e for e in Extension.objects.filter(user_id=user.pk, assignment__run_id__in=run_ids)
    }
    out = []
    for m in memberships:
        listed = []
        for assignment in by_run.get(m.run_id, []):
            assignment.run = m.run
            terms = rules.terms_for(assignment, extensions.get(assignment.pk))
            listed.append(RunAssignment(assignment, terms, rules.phase(terms, at)))
        out.append(MemberRun(run=m.run, role=m.role, assignments=listed))
    return out


@dataclass(frozen=True)
class AssignmentViewer:
    """Who opened a student's assignment page: a member of the run (any role) or a superuser."""

    assignment: Assignment
    role: str | None  # None: a superuser who is not a member

    @property
    def is_staff(self) -> bool:
        return self.role is None or self.role in Membership.STAFF


def assignment_get_for_member(
    user: AbstractBaseUser | AnonymousUser, *, run_slug: str, assignment_id: int
) -> AssignmentViewer:
    """The assignment for a member of its run (students, assistants, instructors) or a
    superuser; 404 for anyone else, so an assignment's existence is not learnt from outside."""
    assignment = (
        Assignment.objects.select_related("run__course").filter(pk=assignment_id, run__slug=run_slug).first()
    )
    if assignment is None or not user.is_authenticated:
        raise Http404
    role = (
        Membership.objects.filter(run_id=assignment.run_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role is None and not (user.is_superuser and user.is_active):
        raise Http404
    return AssignmentViewer(assignment=assignment, role=role)


@dataclass(frozen=True)
class AssignmentItem:
    """One exercise of the assignment as one student stands on it."""

    exercise: Exercise
    standing: Standing
    line: str
    cell: Cell | None

    @property
    def penalty(self) -> str:
        """The late penalty taken off the counted attempt, in percent."""
        counted = self.cell.counted if self.cell else None
        return _percent(counted.penalty) if counted else "0"


@dataclass(frozen=True)
class AssignmentPage:
    """What a student's assignment page shows: their terms (an extension applied), each
    exercise's standing and counted score, and the total the gradebook gives them."""

    assignment: Assignment
    terms: rules.Terms
    extension: Extension | None
    phase: str
    items: list[AssignmentItem]
    total: float | None  # None: not a student of the run, so not in the gradebook

    @property
    def zone(self) -> str:
        return self.assignment.run.time_zone

    @property
    def penalty_percent(self) -> str:
        return _percent(self.terms.penalty_percent)

    @property
    def penalty_cap_percent(self) -> str | None:
        cap = self.terms.penalty_cap_percent
        return None if cap is None else _percent(cap)

    @property
    def interval(self) -> str | None:
        return _span(self.terms.min_interval) if self.terms.min_interval else None


def assignment_page(
    user: AbstractBaseUser, assignment: Assignment, *, at: datetime | None = None
) -> AssignmentPage:
    at = at or timezone.now()
    extension = _extension(user.pk, assignment)
    terms = rules.terms_for(assignment, extension)
    book = gradebook_for(assignment, user_ids=[user.pk])
    row = book.rows[0] if book.rows else None
    cells = {c.exercise_id: c for c in row.cells} if row else {}
    items = [
        AssignmentItem(standing.exercise, standing, standing_line(standing), cells.get(standing.exercise.pk))
        for standing in _standings(user, assignment, book.exercises, terms, at)
    ]
    return AssignmentPage(
        assignment=assignment,
        terms=terms,
        extension=extension,
        phase=rules.phase(terms, at),
        items=items,
        total=row.total if row else None,
    )


def assignment_standings(
    user: AbstractBaseUser, assignment: Assignment, *, at: datetime | None = None
) -> list[Standing]:
    """Where the user stands on each of the assignment's exercises (their extension applied)."""
    at = at or timezone.now()
    terms = rules.terms_for(assignment, _extension(user.pk, assignment))
    exercises = [item.exercise for item in assignment.items.select_related("exercise__course")]
    return _standings(user, assignment, exercises, terms, at)


def _standings(
    user: AbstractBaseUser,
    assignment: Assignment,
    exercises: list[Exercise],
    terms: rules.Terms,
    at: datetime,
) -> list[Standing]:
    # Every exercise's attempts in one query, not three queries an exercise.
    attempts = (
        Submission.objects.filter(
            owner_id=user.pk,
            assignment=assignment,
            status__in=[*Submission.COUNTED, *Submission.PENDING],
        )
        .order_by()
        .values("exercise_id")
        .annotate(used=Count("pk"), last=Max("created_at"))
    )
    usage = {a["exercise_id"]: (a["used"], a["last"]) for a in attempts}
    standings = []
    for exercise in exercises:
        used, last = usage.get(exercise.pk, (0, None))
        standings.append(_standing(assignment, exercise, terms, at=at, used=used, last=last))
    return standings


def violation_text(refused: Violation) -> str:
    """A refusal before any build, as a sentence in the request's language."""
    if translation.get_language() == "ko":
        return korean(refused.code, refused.message, refused.params, refused.line)
    return refused.message[:1].upper() + refused.message[1:]


def exercise_passing_score(exercise: Exercise) -> float:
    """The score that passes the exercise (its rubric's, or the default)."""
    return float((exercise.rubric or {}).get("passing_score", DEFAULT_PASSING_SCORE))


def submission_result_rows(submission: Submission) -> list[dict[str, Any]]:
    """Each criterion's result as kept on the submission, with the points it earned out of
    what the exercise's rubric gives it (the weights that made the score)."""
    rubric = pipeline.effective_rubric(_lint_spec(submission.exercise))
    total = sum(i.weight for i in rubric.items) or 1.0
    registry = all_criteria()
    rows = []
    for result in submission.results or []:
        item = rubric.item(result["criterion"])
        registered = registry.get(result["criterion"])
        max_points = round(100 * item.weight / total, 2) if item else 0.0
        rows.append(
            {
                "criterion": result["criterion"],
                "title": {"en": registered.criterion.title.en, "ko": registered.criterion.title.ko}
                if registered
                else {"en": result["criterion"], "ko": result["criterion"]},
                "verdict": result["verdict"],
                "lines": list(result.get("lines") or []),
                "detail": result.get("detail") or {"en": "", "ko": ""},
                "required": bool(item and item.required),
                "max_points": max_points,
                "points": 0.0 if result["verdict"] == "skip" else round(result["credit"] * max_points, 2),
            }
        )
    return rows


def assignments_accepting(
    user: AbstractBaseUser, exercise: Exercise, *, at: datetime | None = None
) -> list[Assignment]:
    """The assignments of the user's runs that hold the exercise and accept a submission of it
    now (open or late, by the user's own terms): where an attempt would count, which a
    practice attempt does not."""
    at = at or timezone.now()
    found = list(
        Assignment.objects.select_related("run")
        .filter(items__exercise=exercise, run__memberships__user_id=user.pk)
        .order_by("due_at", "id")
        .distinct()
    )
    extensions = {e.assignment_id: e for e in Extension.objects.filter(user_id=user.pk, assignment__in=found)}
    return [a for a in found if rules.phase(rules.terms_for(a, extensions.get(a.pk)), at) in ("open", "late")]


def regrade_preview_overrides(regrade: Regrade) -> dict[int, tuple[str, float | None]]:
    """What applying the regrade sets on each submission: (status, score)."""
    done = regrade.items.filter(status=RegradeItem.Status.DONE)
    # Only the three columns: each item's stored results are large and not needed here.
    return {
        pk: (status, score)
        for pk, status, score in done.values_list("submission_id", "new_status", "new_score")
    }


def _lint_spec(exercise: Exercise) -> ExerciseSpec:
    """As much of the grading spec as the Dockerfile criteria read: the context's paths (a
    large provided file by its path only, never read), the allowlist and the rubric."""
    files: dict[str, str | bytes] = dict(exercise.context_files)
    files.update({a["path"]: b"" for a in exercise.assets or []})
    return ExerciseSpec(
        context_files=files,
        allowed_bases=tuple(exercise.allowed_base_images),
        limits=BuildLimits(),
        rubric=rubric_from_data(exercise.rubric, filename=f"exercise {exercise.slug}")
        if exercise.rubric
        else None,
        behaviour_tests=exercise.behaviour_tests or {},
        benchmark=exercise.benchmark or {},
    )


def _engine_info() -> tuple[bool, str]:
    """Whether the engine builds heredocs, and its platform; the engine's defaults when it
    cannot be asked (the findings before a build are advice, the build checks again)."""
    try:
        return engine.supports_heredocs(), engine.host_platform()
    except Exception:  # an engine that is down is not the student's problem
        return True, "linux/amd64"


def exercise_static_findings(
    *, exercise: Exercise, dockerfile: str, dockerignore: str
) -> list[dict[str, Any]]:
    """What grading would say of this text before building it: the policy's refusals, or the
    exercise's Dockerfile criteria, in the shape of the live panel's check events."""
    heredocs, platform = _engine_info()
    return pipeline.static_findings(
        spec=_lint_spec(exercise),
        dockerfile=dockerfile.replace("\r\n", "\n"),
        dockerignore=dockerignore.replace("\r\n", "\n"),
        engine_supports_heredocs=heredocs,
        host_platform=platform,
    )


@dataclass(frozen=True)
class DockerignoreExpected:
    """Why an exercise's page shows the .dockerignore field open: the criterion that grades it
    (with its points) or the reference solution that has one."""

    title: Text | None
    points: float


def exercise_expects_dockerignore(*, exercise: Exercise) -> DockerignoreExpected | None:
    """An exercise expects a .dockerignore when its rubric scores the criterion about one
    (`opt.dockerignore`, or `sec.no_secret_files`, which a .dockerignore answers) or its
    reference solution ships one."""
    rubric = pipeline.effective_rubric(_lint_spec(exercise))
    total = sum(i.weight for i in rubric.items) or 1.0
    registry = all_criteria()
    for cid in ("opt.dockerignore", "sec.no_secret_files"):
        item = rubric.item(cid)
        if item is not None and item.weight > 0:
            return DockerignoreExpected(registry[cid].criterion.title, round(100 * item.weight / total, 1))
    if exercise.solution_dockerignore.strip():
        return DockerignoreExpected(None, 0.0)
    return None


SUMMARY_KEYS = ("index", "size", "wasted", "instruction", "line", "files_total", "trimmed", "changes")


def submission_layers(*, user: AbstractBaseUser | AnonymousUser, submission_id: int) -> dict[str, Any]:
    """The bars of the submission's image: every layer's instruction, line, bytes and wasted
    bytes, the base's apart; the files of a layer come one layer at a time
    (`submission_layer_files`). Empty lists when the image was never built."""
    submission = submission_get_for_user(user, submission_id)
    kept: dict[str, Any] = submission.layers or {}
    return {
        "submission": submission.pk,
        "status": submission.status,
        "size": kept.get("size"),
        "wasted": kept.get("wasted"),
        "keep": kept.get("keep"),
        "base": kept.get("base") or {"ref": "", "size": 0, "layers": []},
        "layers": [{k: layer.get(k) for k in SUMMARY_KEYS} for layer in kept.get("layers") or []],
    }


def submission_layer_files(
    *, user: AbstractBaseUser | AnonymousUser, submission_id: int, index: int
) -> dict[str, Any]:
    """One of the student's layers with its kept files and directory totals; 404 for a layer
    the submission does not keep (a base layer, or no such layer)."""
    submission = submission_get_for_user(user, submission_id)
    kept: dict[str, Any] = submission.layers or {}
    for layer in kept.get("layers") or []:
        if layer.get("index") == index:
            return {**{k: layer.get(k) for k in SUMMARY_KEYS}, "files": layer["files"], "dirs": layer["dirs"]}
    raise Http404


@dataclass(frozen=True)
class Attempt:
    """One attempt at an exercise as the history lists it; `number` counts from 1 in the order
    the student made them."""

    submission: Submission
    number: int

    @property
    def score(self) -> float | None:
        return graded_score(self.submission.status, self.submission.score)

    @property
    def size_text(self) -> str:
        """As the chart and the live update (history.js) write it."""
        size = self.submission.image_size
        return megabytes(size) if size else ""


def exercise_attempts(*, user: AbstractBaseUser, exercise: Exercise) -> list[Attempt]:
    """Every attempt the student made at the exercise, oldest first, with the assignment it
    counted for (none for practice)."""
    found = (
        Submission.objects.filter(owner=user, exercise=exercise, trial=Submission.Trial.NONE)
        .select_related("assignment", "exercise__session__course")
        .order_by("created_at", "id")
        .defer("layers")
    )
    return [Attempt(submission=s, number=n) for n, s in enumerate(found, start=1)]


@dataclass(frozen=True)
class Neighbours:
    number: int
    previous: Submission | None
    next: Submission | None


def submission_neighbours(*, submission: Submission) -> Neighbours:
    """Where the submission stands among its owner's attempts at the exercise: its number and
    the attempts just before and after it."""
    mine = Submission.objects.filter(
        owner_id=submission.owner_id, exercise_id=submission.exercise_id, trial=submission.trial
    )
    earlier = mine.filter(
        Q(created_at__lt=submission.created_at) | Q(created_at=submission.created_at, id__lt=submission.pk)
    )
    later = mine.filter(
        Q(created_at__gt=submission.created_at) | Q(created_at=submission.created_at, id__gt=submission.pk)
    )
    return Neighbours(
        number=earlier.count() + 1,
        previous=earlier.order_by("-created_at", "-id").only("pk").first(),
        next=later.order_by("created_at", "id").only("pk").first(),
    )


DIFF_MAX_LINES = 2000
"""Lines of each Dockerfile compared (the upload cap allows about that many short lines)."""
DIFF_MAX_ROWS = 600
DIFF_CONTEXT = 3


@dataclass(frozen=True)
class DiffRow:
    """One line of a unified diff: `kind` is "same", "removed", "added" or "gap" (unchanged
    lines left out); `old`/`new` are line numbers in each Dockerfile."""

    kind: str
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class VerdictChange:
    criterion: str
    title: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Comparison:
    before: Attempt
    after: Attempt
    rows: list[DiffRow]
    truncated: bool
    changes: list[VerdictChange]

    @property
    def identical(self) -> bool:
        return all(r.kind == "same" for r in self.rows)


def dockerfile_diff(before: str, after: str) -> tuple[list[DiffRow], bool]:
    """A unified diff of two Dockerfiles, three lines of context, bounded in lines read and
    rows returned; True when a bound left something out."""
    old, new = before.removesuffix("\n").split("\n"), after.removesuffix("\n").split("\n")
    truncated = len(old) > DIFF_MAX_LINES or len(new) > DIFF_MAX_LINES
    old, new = old[:DIFF_MAX_LINES], new[:DIFF_MAX_LINES]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    rows: list[DiffRow] = []
    groups = list(matcher.get_grouped_opcodes(DIFF_CONTEXT))
    for g, group in enumerate(groups):
        if g or group[0][1] > 0:
            rows.append(DiffRow("gap", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffRow("same", i + 1, j1 + (i - i1) + 1, old[i]) for i in range(i1, i2)]
                continue
            rows += [DiffRow("removed", i + 1, None, old[i]) for i in range(i1, i2)]
            rows += [DiffRow("added", None, j + 1, new[j]) for j in range(j1, j2)]
    if groups and groups[-1][-1][2] < len(old):
        rows.append(DiffRow("gap", None, None, ""))
    if not groups:
        rows = [DiffRow("same", i + 1, i + 1, line) for i, line in enumerate(old)]
    if len(rows) > DIFF_MAX_ROWS:
        rows, truncated = rows[:DIFF_MAX_ROWS], True
    return rows, truncated


def verdict_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[VerdictChange]:
    """The criteria whose verdict differs between two stored results (one side None where the
    criterion was not judged), in catalogue order."""
    was = {str(r.get("criterion")): r.get("verdict") for r in before or []}
    now = {str(r.get("criterion")): r.get("verdict") for r in after or []}
    registry = all_criteria()
    english = (translation.get_language() or "").startswith("en")
    out = []
    known = [c for c in registry if c in was or c in now]
    retired = sorted(c for c in {*was, *now} if c not in registry)  # criteria since removed
    for cid in known + retired:
        if was.get(cid) != now.get(cid):
            title = registry[cid].criterion.title if cid in registry else None
            name = cid if title is None else title.en if english else title.ko
            out.append(VerdictChange(cid, name, was.get(cid), now.get(cid)))
    return out


def attempts_compare(*, attempts: list[Attempt], before_id: int, after_id: int) -> Comparison:
    """Two of the student's attempts side by side: the Dockerfile's diff and the verdicts that
    changed. 404 for an id not among `attempts` (the page's own, access already decided)."""
    by_id = {a.submission.pk: a for a in attempts}
    if before_id not in by_id or after_id not in by_id:
        raise Http404
    before, after = by_id[before_id], by_id[after_id]
    rows, truncated = dockerfile_diff(before.submission.dockerfile, after.submission.dockerfile)
    return Comparison(
        before=before,
        after=after,
        rows=rows,
        truncated=truncated,
        changes=verdict_changes(before.submission.results, after.submission.results),
    )
