"""The pages with lists ask the database a fixed number of questions, however long the list: a
query per row (an N+1) fails here long before it is slow. Each page is filled with more rows
than its query budget, so one query a row cannot fit under it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from courses.models import Membership
from labs.models import Submission
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SessionFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STUDENTS = 30
DONE = Submission.Status.DONE
RESULTS = [
    {
        "criterion": "opt.exec_form",
        "verdict": "fail",
        "value": None,
        "lines": [3],
        "detail": {},
        "credit": 0.0,
    },
    {
        "criterion": "sec.final_user",
        "verdict": "pass",
        "value": None,
        "lines": [],
        "detail": {},
        "credit": 1.0,
    },
]


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def classroom(exercises: int = 3) -> tuple[Any, Any, list[Any], Any, list[Any]]:
    """A run with an instructor, 30 students, an assignment of `exercises` exercises, and two
    graded attempts by every student at each exercise."""
    session = SessionFactory()
    items = [ExerciseFactory(session=session, slug=f"ex-{i}") for i in range(exercises)]
    run = CourseRunFactory(course=session.course)
    instructor = MembershipFactory(run=run, role=Membership.Role.INSTRUCTOR).user
    assignment = AssignmentFactory(run=run, exercises=items)
    students = [
        MembershipFactory(run=run, user=UserFactory(first_name=f"학생 {i}")).user for i in range(STUDENTS)
    ]
    for n, student in enumerate(students):
        for exercise in items:
            for score in (40.0 + n, 60.0 + n):
                SubmissionFactory(
                    owner=student,
                    exercise=exercise,
                    assignment=assignment,
                    status=DONE,
                    score=score,
                    results=RESULTS,
                )
    return run, instructor, items, assignment, students


def get(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_the_gradebook_of_thirty_students_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    run, instructor, _, assignment, _ = classroom()
    client = client_for(instructor)
    with django_assert_max_num_queries(12):
        page = get(client, f"/runs/{run.slug}/assignments/{assignment.pk}/gradebook/")
    assert page.count("<tr data-user-id=") == STUDENTS


def test_the_roster_of_thirty_students_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    run, instructor, *_ = classroom(exercises=1)
    client = client_for(instructor)
    with django_assert_max_num_queries(7):
        page = get(client, f"/runs/{run.slug}/roster/")
    assert page.count("<tr data-username=") == STUDENTS + 1  # the students and the instructor


def test_the_exercise_page_with_twenty_attempts_takes_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    _, _, items, assignment, students = classroom(exercises=1)
    student, exercise = students[0], items[0]
    for i in range(20):
        SubmissionFactory(
            owner=student, exercise=exercise, assignment=assignment, status=DONE, score=float(i)
        )
    client = client_for(student)
    with django_assert_max_num_queries(11):
        page = get(client, f"{exercise.get_absolute_url()}?assignment={assignment.pk}")
    assert page.count("data-history-status=") == 20


def test_the_assignment_page_of_six_exercises_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    run, _, _, assignment, students = classroom(exercises=6)
    client = client_for(students[0])
    with django_assert_max_num_queries(10):
        page = get(client, f"/runs/{run.slug}/assignments/{assignment.pk}/")
    assert page.count('data-role="standing"') == 6
    assert page.count("Counted score: ") == 6


def test_the_course_list_and_a_lesson_with_eight_exercises_take_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    session = SessionFactory()
    for i in range(8):
        ExerciseFactory(session=session, slug=f"ex-{i}")
    SessionFactory(course=session.course, slug="second")
    client = client_for(UserFactory())
    with django_assert_max_num_queries(6):
        page = get(client, "/")
    assert page.count(f'href="/labs/{session.course.slug}/exercises/') == 8
    with django_assert_max_num_queries(6):
        page = get(client, f"/courses/{session.course.slug}/{session.slug}/")
    assert page.count(f'href="/labs/{session.course.slug}/exercises/') == 8
