"""Reads for a course run's staff pages: the dashboard, submissions, per-exercise statistics,
one student's attempts and a regrade's progress and preview. Who may open a page is decided
before these are called (`courses.selectors.run_get_for_staff`); each lookup here is confined
to the run it is given, so an id of another run's object is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from courses.models import CourseRun, Membership
from labs import rules
from labs.grading.catalogue import NO_TEXT, Text
from labs.grading.registry import all_criteria
from labs.models import Assignment, Exercise, Extension, Regrade, RegradeItem, Submission
from labs.selectors import (
    Cell,
    Gradebook,
    GradebookRow,
    gradebook_for,
    graded_score,
    regrade_preview_overrides,
)

PASSING_SCORE = 60.0
"""A counted total at or above this passes. Exercises have no passing score of their own."""


def run_students(run: CourseRun) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(run=run, role=Membership.Role.STUDENT)
        .select_related("user")
        .order_by("user__username")
    )


def run_exercises(run: CourseRun) -> QuerySet[Exercise]:
    """The run's course's exercises in teaching order."""
    return (
        Exercise.objects.filter(course_id=run.course_id)
        .select_related("session")
        .order_by("session__week", "session__day", "session__number", "session__position", "position", "id")
    )


def exercise_get_in_run(run: CourseRun, exercise_id: int) -> Exercise:
    found = run_exercises(run).filter(pk=exercise_id).first()
    if found is None:
        raise Http404("no such exercise in this run")
    return found


def assignment_list_for_run(run: CourseRun) -> QuerySet[Assignment]:
    return Assignment.objects.filter(run=run).prefetch_related("items__exercise").order_by("due_at", "id")


def assignment_get_in_run(run: CourseRun, assignment_id: int) -> Assignment:
    found = Assignment.objects.filter(run=run, pk=assignment_id).first()
    if found is None:
        raise Http404("no such assignment in this run")
    found.run = run  # the caller's run carries the viewer's role
    return found


def student_get_in_run(run: CourseRun, user_id: int) -> Membership:
    found = run_students(run).filter(user_id=user_id).first()
    if found is None:
        raise Http404("no such student in this run")
    return found


@dataclass(frozen=True)
class AssignmentSummary:
    """One line of the dashboard: the class's phase now and how many students pass."""

    assignment: Assignment
    phase: str
    students: int
    passing: int
    started: int  # students with at least one counted attempt

    @property
    def passing_percent(self) -> int:
        return round(100 * self.passing / self.students) if self.students else 0


@dataclass(frozen=True)
class Dashboard:
    run: CourseRun
    assignments: list[AssignmentSummary]
    students: int
    staff: int
    exercises: list[Exercise]
    passing_score: float


def run_dashboard(run: CourseRun, *, at: datetime | None = None) -> Dashboard:
    at = at or timezone.now()
    summaries = []
    for assignment in assignment_list_for_run(run):
        book = gradebook_for(assignment)
        summaries.append(
            AssignmentSummary(
                assignment=assignment,
                phase=rules.phase(rules.terms_for(assignment), at),
                students=len(book.rows),
                passing=sum(1 for row in book.rows if row.total >= PASSING_SCORE),
                started=sum(1 for row in book.rows if any(c.counted for c in row.cells)),
            )
        )
    roles = list(Membership.objects.filter(run=run).values_list("role", flat=True))
    return Dashboard(
        run=run,
        assignments=summaries,
        students=sum(1 for r in roles if r == Membership.Role.STUDENT),
        staff=sum(1 for r in roles if r in Membership.STAFF),
        exercises=list(run_exercises(run)),
        passing_score=PASSING_SCORE,
    )


def run_submissions(run: CourseRun) -> QuerySet[Submission]:
    """Everything of the run: submissions to its assignments, and its students' practice on
    its course since they joined it. Another run's assignments are never in it, even for the
    same course."""
    joined = Membership.objects.filter(
        run=run,
        role=Membership.Role.STUDENT,
        user_id=OuterRef("owner_id"),
        created_at__lte=OuterRef("created_at"),
    )
    # Lists never show the layer view: it is the largest field.
    return (
        Submission.objects.filter(
            Q(assignment__run=run)
            | Q(Exists(joined), assignment__isnull=True, exercise__course_id=run.course_id)
        )
        .filter(trial=Submission.Trial.NONE)
        .defer("layers")
    )


def _with_late_and_score(found: QuerySet[Submission]) -> QuerySet[Submission]:
    """`is_late`: made after the due time that held for its owner (their extension's, if any);
    `graded` : the score the gradebook reads (a failed build is 0)."""
    extended = Extension.objects.filter(assignment_id=OuterRef("assignment_id"), user_id=OuterRef("owner_id"))
    return found.annotate(
        due=Coalesce(Subquery(extended.values("due_at")[:1]), F("assignment__due_at")),
        is_late=Case(
            When(assignment__isnull=False, created_at__gt=F("due"), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        graded=Case(
            When(status=Submission.Status.FAILED, then=Value(0.0)),
            default=F("score"),
            output_field=FloatField(),
        ),
    )


def run_submission_list(
    run: CourseRun,
    *,
    user_id: int | None = None,
    exercise_id: int | None = None,
    assignment_id: int | None = None,
    status: str | None = None,
    score_min: float | None = None,
    score_max: float | None = None,
    late: bool | None = None,
) -> QuerySet[Submission]:
    found = _with_late_and_score(run_submissions(run))
    if user_id is not None:
        found = found.filter(owner_id=user_id)
    if exercise_id is not None:
        found = found.filter(exercise_id=exercise_id)
    if assignment_id is not None:
        found = found.filter(assignment_id=assignment_id)
    if status:
        found = found.filter(status=status)
    if score_min is not None:
        found = found.filter(graded__gte=score_min)
    if score_max is not None:
        found = found.filter(graded__lte=score_max)
    if late is not None:
        found = found.filter(is_late=late)
    return found.select_related("owner", "exercise", "assignment").order_by("-created_at", "-id")


@dataclass(frozen=True)
class Bucket:
    low: int
    high: int  # inclusive: 90 to 100 is the last bucket
    count: int
    width: int  # percent of the largest bucket, for the bar


@dataclass(frozen=True)
class Example:
    submission_id: int
    username: str


@dataclass(frozen=True)
class CriterionMisses:
    criterion: str
    title: Text
    failed: int
    partial: int
    students: int
    examples: list[Example]


@dataclass(frozen=True)
class ExerciseStats:
    exercise: Exercise
    graded: int
    students: int
    mean: float | None
    buckets: list[Bucket]
    misses: list[CriterionMisses]


def exercise_stats(run: CourseRun, exercise: Exercise, *, examples: int = 3, top: int = 10) -> ExerciseStats:
    """What to teach again: each student's best graded score on the exercise in buckets of 10,
    and the criteria the run's graded submissions most often failed (fully, then partly), with
    a few recent submissions that failed each."""
    graded = list(
        run_submissions(run)
        .filter(exercise=exercise, status__in=Submission.COUNTED)
        .order_by("-created_at", "-id")
        .values_list("pk", "owner_id", "owner__username", "status", "score", "results")
    )
    best: dict[int, float] = {}
    for _pk, owner_id, _name, status, score, _results in graded:
        value = graded_score(status, score) or 0.0
        best[owner_id] = max(best.get(owner_id, 0.0), value)
    counts = [0] * 10
    for value in best.values():
        counts[min(9, int(value // 10))] += 1
    peak = max(counts) or 1
    buckets = [
        Bucket(low=10 * i, high=10 * i + (10 if i == 9 else 9), count=n, width=round(100 * n / peak))
        for i, n in enumerate(counts)
    ]
    tally: dict[str, dict[str, Any]] = {}
    for pk, owner_id, username, _status, _score, results in graded:
        for result in results or []:
            if not isinstance(result, dict) or result.get("verdict") not in ("fail", "partial"):
                continue
            cid = str(result.get("criterion", ""))
            entry = tally.setdefault(cid, {"fail": 0, "partial": 0, "students": set(), "examples": []})
            entry[result["verdict"]] += 1
            entry["students"].add(owner_id)
            if len(entry["examples"]) < examples and all(e.username != username for e in entry["examples"]):
                entry["examples"].append(Example(pk, username))
    registry = all_criteria()
    misses = [
        CriterionMisses(
            criterion=cid,
            title=registry[cid].criterion.title if cid in registry else NO_TEXT,
            failed=e["fail"],
            partial=e["partial"],
            students=len(e["students"]),
            examples=e["examples"],
        )
        for cid, e in tally.items()
    ]
    misses.sort(key=lambda m: (-m.failed, -m.partial, m.criterion))
    return ExerciseStats(
        exercise=exercise,
        graded=len(graded),
        students=len(best),
        mean=round(sum(best.values()) / len(best), 1) if best else None,
        buckets=buckets,
        misses=misses[:top],
    )


@dataclass(frozen=True)
class Attempt:
    submission: Submission
    penalty: Decimal
    score: float | None  # after the penalty; None while it is graded, or when it never counts
    late: bool
    counts: bool  # the attempt the gradebook counts
    uses_attempt: bool


@dataclass(frozen=True)
class ExerciseAttempts:
    exercise: Exercise
    cell: Cell
    attempts: list[Attempt]


@dataclass(frozen=True)
class StudentDetail:
    assignment: Assignment
    membership: Membership
    row: GradebookRow
    terms: rules.Terms
    extension: Extension | None
    exercises: list[ExerciseAttempts]


def gradebook_student(assignment: Assignment, membership: Membership) -> StudentDetail:
    """One student's row with every attempt behind it, oldest first, the counted one marked."""
    book = gradebook_for(assignment, user_ids=[membership.user_id])
    row = book.rows[0]
    extension = Extension.objects.filter(assignment=assignment, user_id=membership.user_id).first()
    terms = rules.terms_for(assignment, extension)
    submissions = (
        Submission.objects.filter(assignment=assignment, owner_id=membership.user_id)
        .order_by("created_at", "id")
        .defer("layers")
    )
    by_exercise: dict[int, list[Submission]] = {}
    for s in submissions:
        by_exercise.setdefault(s.exercise_id, []).append(s)
    out = []
    for exercise, cell in zip(book.exercises, row.cells, strict=True):
        counted_id = cell.counted.submission_id if cell.counted else None
        attempts = []
        for s in by_exercise.get(exercise.pk, []):
            penalty = rules.late_penalty(terms, s.created_at)
            counted = s.status in Submission.COUNTED
            attempts.append(
                Attempt(
                    submission=s,
                    penalty=penalty,
                    score=rules.penalised(graded_score(s.status, s.score), penalty) if counted else None,
                    late=rules.days_late(terms, s.created_at) > 0,
                    counts=s.pk == counted_id,
                    uses_attempt=counted or s.status in Submission.ACTIVE,
                )
            )
        out.append(ExerciseAttempts(exercise, cell, attempts))
    return StudentDetail(assignment, membership, row, terms, extension, out)


def extension_list(assignment: Assignment) -> QuerySet[Extension]:
    return Extension.objects.filter(assignment=assignment).select_related("user").order_by("user__username")


def extension_get_in_assignment(assignment: Assignment, extension_id: int) -> Extension:
    found = extension_list(assignment).filter(pk=extension_id).first()
    if found is None:
        raise Http404("no such extension")
    return found


def regrade_latest(assignment: Assignment) -> Regrade | None:
    return Regrade.objects.filter(assignment=assignment).order_by("-created_at", "-id").first()


def regrade_get_in_assignment(assignment: Assignment, regrade_id: int) -> Regrade:
    found = Regrade.objects.filter(assignment=assignment, pk=regrade_id).first()
    if found is None:
        raise Http404("no such regrade")
    return found


@dataclass(frozen=True)
class RegradeProgress:
    status: str
    total: int
    done: int
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "total": self.total, "done": self.done, "errors": self.errors}


def regrade_progress(regrade: Regrade) -> RegradeProgress:
    statuses = list(regrade.items.values_list("status", flat=True))
    return RegradeProgress(
        status=regrade.status,
        total=len(statuses),
        done=sum(1 for s in statuses if s != RegradeItem.Status.PENDING),
        errors=sum(1 for s in statuses if s == RegradeItem.Status.ERROR),
    )


@dataclass(frozen=True)
class CellChange:
    exercise: Exercise
    old: Cell
    new: Cell

    @property
    def direction(self) -> str:
        return _direction(self.old.score or 0.0, self.new.score or 0.0)


@dataclass(frozen=True)
class PreviewRow:
    old: GradebookRow
    new: GradebookRow
    cells: list[CellChange]

    @property
    def direction(self) -> str:
        return _direction(self.old.total, self.new.total)


def _direction(old: float, new: float) -> str:
    return "up" if new > old else "down" if new < old else "same"


@dataclass(frozen=True)
class RegradePreview:
    regrade: Regrade
    exercises: list[Exercise]
    rows: list[PreviewRow]
    new_book: Gradebook
    errors: list[RegradeItem]

    @property
    def up(self) -> int:
        return sum(1 for r in self.rows if r.direction == "up")

    @property
    def down(self) -> int:
        return sum(1 for r in self.rows if r.direction == "down")

    @property
    def same(self) -> int:
        return sum(1 for r in self.rows if r.direction == "same")


def regrade_preview(regrade: Regrade) -> RegradePreview:
    """The gradebook now beside the gradebook applying the regrade would make: both from
    `gradebook_for`, the second with the regrade's results in place of the submissions' own,
    exactly what `regrade_apply` writes (`regrade_preview_overrides`), so the two agree."""

    assignment = regrade.assignment
    old = gradebook_for(assignment)
    new = gradebook_for(assignment, overrides=regrade_preview_overrides(regrade))
    rows = [
        PreviewRow(
            old=o,
            new=n,
            cells=[CellChange(e, oc, nc) for e, oc, nc in zip(old.exercises, o.cells, n.cells, strict=True)],
        )
        for o, n in zip(old.rows, new.rows, strict=True)
    ]
    errors = list(
        regrade.items.filter(status=RegradeItem.Status.ERROR)
        .select_related("submission__owner", "submission__exercise")
        .order_by("submission__owner__username", "submission_id")
    )
    return RegradePreview(regrade, old.exercises, rows, new, errors)


def regrade_items_applied(regrade: Regrade) -> QuerySet[RegradeItem]:
    return (
        regrade.items.filter(status=RegradeItem.Status.DONE)
        .select_related("submission__owner", "submission__exercise")
        .order_by("submission__owner__username", "submission_id")
    )
