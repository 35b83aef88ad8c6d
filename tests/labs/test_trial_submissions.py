"""Staff's trial submissions (checking an exercise, trying it as a student would) count nowhere:
each selector that counts or lists submissions is shown one real and one trial submission made
exactly alike, and sees only the real one."""

from __future__ import annotations

from typing import Any

import pytest

from courses.models import Membership
from labs import selectors, selectors_staff
from labs.models import Submission
from labs.services import submission_create
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup() -> dict[str, Any]:
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course)
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=3)
    student = MembershipFactory(run=run, role=Membership.Role.STUDENT, user=UserFactory(username="sora")).user
    return {"exercise": exercise, "run": run, "assignment": assignment, "student": student}


def make(s: dict[str, Any], *, trial: str, score: float, assignment: bool = True) -> Submission:
    return Submission.objects.create(
        owner=s["student"],
        exercise=s["exercise"],
        assignment=s["assignment"] if assignment else None,
        dockerfile="FROM python:3.11-slim\n",
        status=Submission.Status.DONE,
        score=score,
        trial=trial,
    )


def test_the_gradebook_counts_no_trial(setup: dict[str, Any]) -> None:
    make(setup, trial="", score=40.0)
    make(setup, trial="try", score=100.0)
    (row,) = selectors.gradebook_for(setup["assignment"]).rows
    (cell,) = row.cells
    assert (cell.used, cell.score) == (1, 40.0)


def test_a_trial_uses_no_attempt(setup: dict[str, Any]) -> None:
    real = make(setup, trial="", score=40.0)
    make(setup, trial="solution", score=100.0)
    make(setup, trial="starter", score=10.0)
    used = selectors.attempts_in_flight_or_counted(
        user_id=setup["student"].pk, assignment=setup["assignment"], exercise=setup["exercise"]
    )
    assert list(used) == [real]


def test_statistics_and_the_runs_submissions_leave_trials_out(setup: dict[str, Any]) -> None:
    real = make(setup, trial="", score=40.0, assignment=False)
    make(setup, trial="try", score=100.0, assignment=False)
    assert list(selectors_staff.run_submissions(setup["run"])) == [real]
    stats = selectors_staff.exercise_stats(setup["run"], setup["exercise"])
    assert (stats.graded, stats.students, stats.mean) == (1, 1, 40.0)


def test_the_students_history_and_progress_leave_trials_out(setup: dict[str, Any]) -> None:
    real = make(setup, trial="", score=40.0, assignment=False)
    make(setup, trial="try", score=100.0, assignment=False)
    assert list(selectors.submission_list_for_user(setup["student"], setup["exercise"])) == [real]
    outline = selectors.course_outline(setup["exercise"].course, setup["student"])
    (progress,) = [e for w in outline.weeks for d in w.days for s in d.sessions for e in s.exercises]
    assert progress.best_score == 40.0


def test_a_trial_is_never_made_for_an_assignment(setup: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="never made for an assignment"):
        submission_create(
            owner=setup["student"],
            exercise=setup["exercise"],
            dockerfile="FROM python:3.11-slim\n",
            assignment=setup["assignment"],
            trial=Submission.Trial.TRY,
        )
    assert Submission.objects.count() == 0
