"""Reads for authoring in the browser. Every page starts from `course_get_for_author`: the
course's authors, the instructors of its runs and superusers may edit; its assistants are
refused (403, as an assistant is on an instructor-only staff page); anyone else gets 404."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from authoring import validation
from authoring.models import ExerciseCheck, ExerciseRevision, SessionRevision
from courses.models import Course, Session
from courses.selectors import course_can_author, course_is_staff
from labs.models import Exercise, Submission

FULL_MARKS = 99.95  # as check_course: a solution at 99.95 or more scores 100


def course_get_for_author(user: Any, slug: str) -> Course:
    course = Course.objects.filter(slug=slug).first()
    if course is None or not course_is_staff(user, course):
        raise Http404("no such course")
    if not course_can_author(user, course):
        raise PermissionDenied(_("Only the course's authors and instructors may edit it."))
    return course


def session_get_for_author(user: Any, course_slug: str, session_slug: str) -> Session:
    course = course_get_for_author(user, course_slug)
    session = Session.objects.filter(course=course, slug=session_slug).select_related("course").first()
    if session is None:
        raise Http404("no such session")
    return session


def exercise_get_for_author(user: Any, course_slug: str, exercise_slug: str) -> Exercise:
    course = course_get_for_author(user, course_slug)
    exercise = (
        Exercise.objects.filter(course=course, slug=exercise_slug).select_related("course", "session").first()
    )
    if exercise is None:
        raise Http404("no such exercise")
    return exercise


def course_outline_for_author(course: Course) -> list[tuple[Session, list[Exercise]]]:
    sessions = list(course.sessions.order_by("position", "id").prefetch_related("exercises"))
    return [(s, sorted(s.exercises.all(), key=lambda e: (e.position, e.pk))) for s in sessions]


def session_revisions(session: Session, field: str) -> list[SessionRevision]:
    return list(SessionRevision.objects.filter(session=session, field=field).select_related("author"))


def session_revision_get(session: Session, revision_id: int) -> SessionRevision:
    revision = (
        SessionRevision.objects.filter(session=session, pk=revision_id).select_related("author").first()
    )
    if revision is None:
        raise Http404("no such revision")
    return revision


def exercise_revisions(exercise: Exercise) -> list[ExerciseRevision]:
    return list(ExerciseRevision.objects.filter(exercise=exercise).select_related("author"))


def exercise_revision_get(exercise: Exercise, revision_id: int) -> ExerciseRevision:
    revision = (
        ExerciseRevision.objects.filter(exercise=exercise, pk=revision_id).select_related("author").first()
    )
    if revision is None:
        raise Http404("no such revision")
    return revision


@dataclass(frozen=True)
class EditableExercise:
    """What the exercise form starts with. The rubric and tests are the YAML the author last
    saved when that still says what the exercise holds (their comments and layout kept), else
    the exercise's data written as export_course writes it."""

    instructions_md: str
    instructions_en: str
    rubric_yaml: str
    tests_yaml: str


def exercise_editable(exercise: Exercise) -> EditableExercise:
    rubric_yaml = validation.dump(exercise.rubric)
    tests_yaml = validation.dump(exercise.behaviour_tests)
    last = ExerciseRevision.objects.filter(exercise=exercise).first()
    if last is not None:
        if validation.rubric_check(last.rubric_yaml).data == exercise.rubric:
            rubric_yaml = last.rubric_yaml
        if validation.tests_check(last.tests_yaml).data == exercise.behaviour_tests:
            tests_yaml = last.tests_yaml
    return EditableExercise(exercise.instructions_md, exercise.instructions_en, rubric_yaml, tests_yaml)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add" | "del" | "same" | "hunk"
    text: str


DIFF_MAX_LINES = 4000


def text_diff(old: str, new: str, *, old_label: str, new_label: str) -> list[DiffLine]:
    """A unified diff of two texts (three lines of context), as lines a template marks up."""
    out = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
    ):
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "same")
        out.append(DiffLine(kind, line))
        if len(out) >= DIFF_MAX_LINES:
            out.append(DiffLine("hunk", _("… the rest of the diff is left out")))
            break
    return out


def exercise_revision_diff(
    exercise: Exercise, revision: ExerciseRevision
) -> list[tuple[str, list[DiffLine]]]:
    """Each field that differs between the revision and the exercise now: (label, diff)."""
    now = exercise_editable(exercise)
    fields = [
        (_("Instructions (Korean)"), revision.instructions_md, now.instructions_md),
        (_("Instructions (English)"), revision.instructions_en, now.instructions_en),
        (_("Rubric"), revision.rubric_yaml, now.rubric_yaml),
        (_("Behaviour tests"), revision.tests_yaml, now.tests_yaml),
    ]
    label_old, label_new = _("revision %(id)s") % {"id": revision.pk}, _("current")
    return [
        (label, text_diff(old, new, old_label=label_old, new_label=label_new))
        for label, old, new in fields
        if old != new
    ]


def check_get(exercise: Exercise, check_id: int) -> ExerciseCheck:
    check = (
        ExerciseCheck.objects.filter(exercise=exercise, pk=check_id)
        .select_related("solution", "starter")
        .first()
    )
    if check is None:
        raise Http404("no such check")
    return check


def check_latest(exercise: Exercise) -> ExerciseCheck | None:
    return ExerciseCheck.objects.filter(exercise=exercise).select_related("solution", "starter").first()


@dataclass(frozen=True)
class Verdict:
    """check_course's two rules for one exercise, as far as its builds have got."""

    finished: bool
    ok: bool | None  # None until both are graded
    solution_score: float | None
    starter_score: float | None
    line: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "ok": self.ok,
            "solution_score": self.solution_score,
            "starter_score": self.starter_score,
            "line": self.line,
        }


def _trial_score(submission: Submission) -> float | None:
    """A graded trial's score; a build that failed is 0, as check_course counts a starter that
    does not build; not graded (yet, or on our side) is None."""
    if submission.status == Submission.Status.DONE:
        return submission.score
    if submission.status == Submission.Status.FAILED:
        return 0.0
    return None


def _points(value: float) -> str:
    """35.4 as "35.4", 100.0 as "100": one decimal, as the score line shows it, without a bare .0."""
    return f"{value:.1f}".removesuffix(".0")


def check_verdict(check: ExerciseCheck) -> Verdict:
    solution, starter = check.solution, check.starter
    sol = _trial_score(solution)
    sta = _trial_score(starter) if starter is not None else 0.0
    stuck = [
        s
        for s in (solution, starter)
        if s is not None and s.status in (Submission.Status.ERROR, Submission.Status.HELD)
    ]
    if stuck:
        s = stuck[0]
        if s is solution:
            line = _("The solution could not be graded: %(status)s.") % {"status": s.get_status_display()}
        else:
            line = _("The starter could not be graded: %(status)s.") % {"status": s.get_status_display()}
        return Verdict(True, False, sol, sta, line)
    if sol is None or sta is None:
        return Verdict(
            False, None, sol, sta, _("Checking: the solution must score 100 and the starter lower…")
        )
    sol_ok = solution.status == Submission.Status.DONE and sol >= FULL_MARKS
    sta_ok = sta < sol
    if solution.status == Submission.Status.FAILED:
        sol_text = _("solution does not build ✗")
    else:
        sol_text = _("solution %(score)s %(mark)s") % {
            "score": "100" if sol_ok else _points(sol),
            "mark": "✓" if sol_ok else "✗ (< 100)",
        }
    if starter is None:
        sta_text = _("no starter (students begin from an empty file) ✓")
    else:
        sta_text = _("starter %(score)s %(cmp)s %(solution)s %(mark)s") % {
            "score": _points(sta),
            "cmp": "<" if sta_ok else "≥",
            "solution": _points(sol),
            "mark": "✓" if sta_ok else "✗",
        }
    return Verdict(True, sol_ok and sta_ok, sol, sta, f"{sol_text}, {sta_text}")


def trials_for(exercise: Exercise, user: Any, *, limit: int = 10) -> list[Submission]:
    """The author's own recent tries of the exercise ("as a student would")."""
    return list(
        Submission.objects.filter(exercise=exercise, owner=user, trial=Submission.Trial.TRY).order_by(
            "-created_at"
        )[:limit]
    )


def trial_get(exercise: Exercise, submission_id: int) -> Submission:
    """A trial of the exercise (any of its authors may watch it); never a student's submission."""
    found = (
        Submission.objects.filter(pk=submission_id, exercise=exercise)
        .exclude(trial=Submission.Trial.NONE)
        .select_related("exercise__session__course", "owner")
        .first()
    )
    if found is None:
        raise Http404("not a trial of this exercise")
    return found
