"""The course page at /courses/<slug>/: weeks, days and sessions in teaching order, for
everyone; a logged-in student's progress on each session."""

from __future__ import annotations

import pytest
from django.test import Client

from labs.models import Submission
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    CourseRunFactory,
    ExerciseFactory,
    SessionFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.pages import attr_values, headings, text, texts

pytestmark = pytest.mark.django_db

Status = Submission.Status
ORDER = ["w1-d1-s1", "w1-d1-s2", "w1-d2-s1", "w2-d1-s1", "extra"]


@pytest.fixture
def course():  # type: ignore[no-untyped-def]
    """Sessions created out of teaching order, one without a week, as a course folder may."""
    course = CourseFactory(slug="images", title="이미지 만들기", title_en="Building images")
    for slug, week, day, number, position in [
        ("w2-d1-s1", 2, 1, 1, 1),
        ("w1-d2-s1", 1, 2, 1, 2),
        ("extra", 0, 0, 0, 0),
        ("w1-d1-s2", 1, 1, 2, 3),
        ("w1-d1-s1", 1, 1, 1, 4),
    ]:
        SessionFactory(
            course=course,
            slug=slug,
            title=f"세션 {slug}",
            title_en=f"Session {slug}",
            week=week,
            day=day,
            number=number,
            position=position,
            duration_minutes=50 if slug == "w1-d1-s1" else None,
        )
    return course


def session(course, slug):  # type: ignore[no-untyped-def]
    return course.sessions.get(slug=slug)


def get(client: Client, slug: str = "images", lang: str = "en") -> str:
    response = client.get(f"/courses/{slug}/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_sessions_come_by_week_day_and_number_with_the_unscheduled_ones_last(course) -> None:
    html = get(Client())
    assert headings(html) == [
        "Building images",
        "Week 1",
        "Day 1",
        "Day 2",
        "Week 2",
        "Day 1",
        "More sessions",
    ]
    assert attr_values(html, "data-session") == ORDER
    lessons = [h for h in attr_values(html, "href") if h.startswith("/courses/images/")]
    assert lessons == [f"/courses/images/{slug}/" for slug in ORDER]
    titles = [t for t in texts(html, attr="class", value="outline-title")]
    assert titles == [
        "Session 1 Session w1-d1-s1 50 min",
        "Session 2 Session w1-d1-s2",
        "Session 1 Session w1-d2-s1",
        "Session 1 Session w2-d1-s1",
        "Session extra",
    ]


def test_the_page_speaks_korean_to_a_korean_browser(course) -> None:
    html = get(Client(), lang="ko")
    assert headings(html) == ["이미지 만들기", "1주차", "1일차", "2일차", "2주차", "1일차", "그 밖의 수업"]
    assert texts(html, attr="class", value="outline-title")[0] == "1교시 세션 w1-d1-s1 50분"


def test_anonymous_visitors_see_the_outline_without_progress(course) -> None:
    ExerciseFactory(session=session(course, "w1-d1-s1"), title="Slim it", title_en="Slim it")
    html = get(Client())
    assert texts(html, "progress") == []
    assert text(html, "login-hint") == "Log in to see your progress."
    assert "/login/?next=/courses/images/" in attr_values(html, "href")
    assert "Slim it" in texts(html, attr="class", value="outline-exercises")[0]


def test_a_student_sees_exercises_done_and_the_best_score_per_session(course) -> None:
    first, second = session(course, "w1-d1-s1"), session(course, "w1-d2-s1")
    a = ExerciseFactory(session=first, position=1, title_en="Alpha")
    b = ExerciseFactory(session=first, position=2, title_en="Beta")
    ExerciseFactory(session=first, position=3, title_en="Gamma")  # only a failed build
    ExerciseFactory(session=second, title_en="Delta")
    student, classmate = UserFactory(username="ara"), UserFactory(username="bom")
    run = CourseRunFactory(course=course)
    assignment = AssignmentFactory(run=run, exercises=[a])
    SubmissionFactory(owner=student, exercise=a, status=Status.DONE, score=60.0)  # practice
    SubmissionFactory(owner=student, exercise=a, assignment=assignment, status=Status.DONE, score=87.5)
    SubmissionFactory(owner=student, exercise=b, status=Status.DONE, score=40.0)
    SubmissionFactory(owner=student, exercise=b, status=Status.ERROR, score=None)
    gamma = course.exercises.get(title_en="Gamma")
    SubmissionFactory(owner=student, exercise=gamma, status=Status.FAILED, score=None)
    SubmissionFactory(owner=student, exercise=gamma, status=Status.BUILDING)
    SubmissionFactory(
        owner=classmate, exercise=course.exercises.get(title_en="Delta"), status=Status.DONE, score=99.0
    )
    other_course_exercise = ExerciseFactory()
    SubmissionFactory(owner=student, exercise=other_course_exercise, status=Status.DONE, score=100.0)

    html = get(logged_in(student))
    assert texts(html, "progress") == [
        "2 of 3 exercises done · best score 87.5",
        "0 of 1 exercise done",
    ]
    assert texts(html, "exercise-done") == ["done · 87.5", "done · 40.0"]
    assert texts(html, "login-hint") == []
    korean = get(logged_in(student), lang="ko")
    assert texts(korean, "progress") == ["실습 3개 중 2개 완료 · 최고 점수 87.5", "실습 1개 중 0개 완료"]


def test_an_unknown_course_is_a_404() -> None:
    assert Client().get("/courses/no-such-course/").status_code == 404


def test_the_lesson_breadcrumb_and_the_course_list_link_to_the_course_page(course) -> None:
    client = logged_in(UserFactory())
    lesson = client.get("/courses/images/w1-d1-s1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    crumbs = [h for h in attr_values(lesson, "href") if h == "/courses/images/"]
    assert crumbs == ["/courses/images/"]
    crumb = text(lesson, "crumbs", attr="class")
    assert crumb.startswith("Building images \u203a Week 1 \u203a Day 1 \u203a Session 1 · 50 min")
    listing = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/courses/images/" in attr_values(listing, "href")
