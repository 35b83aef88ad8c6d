"""An assignment's rules, enforced on the server when a student submits: membership, the
exercise set, the window, the attempt cap (an error never uses one; a held one keeps its own
until graded), the interval, extensions. The standing and the gradebook they are read from are
tests/labs/test_selectors.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from labs import selectors, services
from labs.models import Extension, Submission
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    with translation.override("en"):
        yield


Status = Submission.Status


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course, time_zone="Asia/Seoul")
    student = MembershipFactory(run=run).user
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=2)
    return assignment, exercise, student


def submit(student, exercise, assignment):  # type: ignore[no-untyped-def]
    return services.submission_create(
        owner=student, exercise=exercise, assignment=assignment, dockerfile="FROM scratch\n"
    )


def refused(student, exercise, assignment) -> ValidationError:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        submit(student, exercise, assignment)
    return caught.value


def test_the_cap_refuses_the_attempt_after_the_last_and_says_which_rule(setup) -> None:
    assignment, exercise, student = setup
    submit(student, exercise, assignment)
    Submission.objects.update(status=Status.DONE, score=40.0)
    submit(student, exercise, assignment)
    error = refused(student, exercise, assignment)
    assert error.code == "no_attempts"
    assert error.messages == [
        "You have used all 2 attempts at this exercise for this assignment; no more are possible."
    ]
    assert Submission.objects.filter(owner=student).count() == 2


def test_our_fault_never_uses_up_an_attempt(setup) -> None:
    assignment, exercise, student = setup
    for _ in range(3):
        SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.ERROR)
    standing = selectors.assignment_standing(user=student, assignment=assignment, exercise=exercise)
    assert (standing.used, standing.left) == (0, 2)
    assert submit(student, exercise, assignment).status == Status.QUEUED


def test_a_held_submission_keeps_its_attempt_until_the_fixed_exercise_grades_it(setup) -> None:
    """A broken exercise must not let a student submit past the cap: each held one is graded
    (and counts) once the exercise is fixed."""
    assignment, exercise, student = setup
    for _ in range(2):
        SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.HELD)
    assert refused(student, exercise, assignment).code == "no_attempts"
    cell = selectors.gradebook_for(assignment).rows[0].cells[0]
    assert (cell.used, cell.pending, cell.counted) == (2, True, None)


def test_a_submission_still_being_graded_holds_its_attempt(setup) -> None:
    assignment, exercise, student = setup
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.BUILDING)
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.FAILED)
    assert refused(student, exercise, assignment).code == "no_attempts"


def test_someone_outside_the_run_and_an_exercise_outside_the_assignment_are_refused(setup) -> None:
    assignment, exercise, student = setup
    stranger = UserFactory()
    assert refused(stranger, exercise, assignment).code == "not_member"
    other = ExerciseFactory(session=exercise.session, course=exercise.course)
    assert refused(student, other, assignment).code == "not_in_assignment"
    assert not Submission.objects.exists()


def test_before_opening_and_after_closing_the_refusal_gives_the_time_in_the_runs_zone(setup) -> None:
    assignment, exercise, student = setup
    now = timezone.now()
    assignment.opens_at = now.replace(microsecond=0) + timedelta(days=1)
    assignment.due_at = now + timedelta(days=2)
    assignment.save()
    error = refused(student, exercise, assignment)
    local = timezone.localtime(assignment.opens_at, assignment.run.tz).strftime("%Y-%m-%d %H:%M KST")
    assert error.code == "not_open"
    assert error.messages == [f"This assignment opens at {local} (Asia/Seoul); you can submit from then on."]
    assignment.opens_at = now - timedelta(days=3)
    assignment.due_at = now - timedelta(hours=1)
    assignment.save()
    assert refused(student, exercise, assignment).code == "closed"


def test_the_interval_refusal_says_when_the_next_attempt_is_possible(setup) -> None:
    assignment, exercise, student = setup
    assignment.min_interval_seconds = 600
    assignment.save()
    first = submit(student, exercise, assignment)
    error = refused(student, exercise, assignment)
    next_at = timezone.localtime(first.created_at + timedelta(minutes=10), assignment.run.tz)
    assert error.code == "too_soon"
    assert error.messages == [
        "Attempts at this exercise must be 10 min apart: your next attempt is possible at "
        f"{next_at:%Y-%m-%d %H:%M} KST (Asia/Seoul)."
    ]
    with translation.override("ko"):
        korean = refused(student, exercise, assignment).messages[0]
    assert korean == (
        "이 실습은 시도 사이에 10분 간격이 필요합니다. "
        f"다음 시도는 {next_at:%Y-%m-%d %H:%M} KST (Asia/Seoul)부터 가능합니다."
    )


def test_an_extension_moves_the_due_time_and_adds_attempts_for_that_student_only(setup) -> None:
    assignment, exercise, student = setup
    classmate = MembershipFactory(run=assignment.run).user
    now = timezone.now()
    assignment.opens_at = now - timedelta(days=5)
    assignment.due_at = now - timedelta(days=1)
    assignment.save()
    Extension.objects.create(
        assignment=assignment, user=student, due_at=now + timedelta(days=1), extra_attempts=1
    )
    assert refused(classmate, exercise, assignment).code == "closed"
    for _ in range(3):
        submit(student, exercise, assignment)
        Submission.objects.filter(owner=student).update(status=Status.DONE)
    assert refused(student, exercise, assignment).code == "no_attempts"
