"""The student's assignment pages, without a browser: who may open them, the terms in the
run's time zone, each exercise's standing and counted score, and the exercise page that an
assignment link opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from courses.models import Membership
from labs.models import Assignment, Extension, Submission
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.pages import attr_values, headings, text, texts

pytestmark = pytest.mark.django_db

Status = Submission.Status
Role = Membership.Role


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    """A run in Seoul with one assignment of two exercises, due in 3 h 20 min; one student."""
    first = ExerciseFactory(slug="slim", title="슬림 이미지", title_en="A slim image")
    second = ExerciseFactory(slug="cache", session=first.session, course=first.course, title_en="Cache order")
    run = CourseRunFactory(course=first.course, slug="spring", title="Spring 2025", time_zone="Asia/Seoul")
    assignment = AssignmentFactory(
        run=run,
        title="과제 1",
        title_en="Assignment 1",
        exercises=[first, second],
        max_attempts=2,
        due_at=timezone.now() + timedelta(hours=3, minutes=20),
    )
    student = MembershipFactory(run=run, user=UserFactory(username="ara")).user
    return assignment, first, second, student


def url(assignment: Assignment) -> str:
    return f"/runs/{assignment.run.slug}/assignments/{assignment.pk}/"


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def get(client: Client, path: str, lang: str = "en") -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(setup) -> None:
    assignment, *_ = setup
    response = Client().get(url(assignment))
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url(assignment)}"
    assert Client().get("/runs/")["Location"] == "/login/?next=/runs/"


@pytest.mark.parametrize("who", ["stranger", "student of another run", "staff of another run"])
def test_someone_outside_the_run_gets_a_404(setup, who: str) -> None:
    assignment, *_ = setup
    user = UserFactory()
    if who != "stranger":
        role = Role.STUDENT if who.startswith("student") else Role.INSTRUCTOR
        MembershipFactory(run=CourseRunFactory(course=assignment.run.course), user=user, role=role)
    assert client_for(user).get(url(assignment)).status_code == 404


def test_the_assignment_is_not_found_under_another_runs_slug(setup) -> None:
    assignment, _, _, student = setup
    other = CourseRunFactory(course=assignment.run.course, slug="autumn")
    MembershipFactory(run=other, user=student)
    response = client_for(student).get(f"/runs/autumn/assignments/{assignment.pk}/")
    assert response.status_code == 404
    assert client_for(student).get(f"/runs/spring/assignments/{assignment.pk + 1000}/").status_code == 404


@pytest.mark.parametrize("role", [Role.STUDENT, Role.ASSISTANT, Role.INSTRUCTOR])
def test_every_member_of_the_run_may_open_it(setup, role: str) -> None:
    assignment, *_ = setup
    member = MembershipFactory(run=assignment.run, role=role).user
    html = get(client_for(member), url(assignment))
    assert headings(html)[0] == "Assignment 1"
    assert len(texts(html, "staff-note")) == (0 if role == Role.STUDENT else 1)


def test_a_student_sees_each_exercise_with_standing_counted_score_and_link(setup) -> None:
    assignment, first, second, student = setup
    counted = SubmissionFactory(
        owner=student, exercise=first, assignment=assignment, status=Status.DONE, score=50.0
    )
    SubmissionFactory(
        owner=student, exercise=first, assignment=assignment, status=Status.ERROR
    )  # not counted
    SubmissionFactory(
        owner=student, exercise=first, status=Status.DONE, score=100.0
    )  # practice: counts for nothing
    html = get(client_for(student), url(assignment))

    assert texts(html, "standing") == [
        "1 of 2 attempts left · due in 3 h (Asia/Seoul)",
        "2 of 2 attempts left · due in 3 h (Asia/Seoul)",
    ]
    assert texts(html, "counted") == [
        f"Counted score: 50.0 (attempt #{counted.pk})",
        "No graded attempt yet.",
    ]
    assert f"/labs/submissions/{counted.pk}/" in attr_values(html, "href")
    assert text(html, "total") == "Your score so far: 25.0 / 100"
    links = [h for h in attr_values(html, "href") if "?assignment=" in h]
    assert links == [
        f"{first.get_absolute_url()}?assignment={assignment.pk}",
        f"{second.get_absolute_url()}?assignment={assignment.pk}",
    ]
    korean = get(client_for(student), url(assignment), lang="ko")
    assert texts(korean, "standing")[0] == "시도 2회 중 1회 남음 · 3시간 후 마감 (Asia/Seoul)"
    assert text(korean, "total") == "지금까지의 점수: 25.0 / 100"


def test_the_terms_are_shown_in_the_runs_time_zone_and_name_it(setup) -> None:
    assignment, _, _, student = setup
    Assignment.objects.filter(pk=assignment.pk).update(
        opens_at=datetime(2020, 3, 2, 0, 0, tzinfo=UTC),
        due_at=datetime(2099, 3, 1, 14, 59, tzinfo=UTC),
        late_until=datetime(2099, 3, 4, 14, 59, tzinfo=UTC),
        late_penalty_percent=Decimal("10.00"),
        late_penalty_cap_percent=Decimal("25.50"),
        min_interval_seconds=600,
    )
    html = get(client_for(student), url(assignment))
    assert text(html, "opens") == "2020-03-02 09:00 KST (Asia/Seoul)"
    assert text(html, "due") == "2099-03-01 23:59 KST (Asia/Seoul)"
    assert text(html, "late") == (
        "accepted until 2099-03-04 23:59 KST (Asia/Seoul); "
        "each started day late takes 10% off the score, at most 25.5%."
    )
    assert text(html, "attempts") == (
        "at most 2 at each exercise. At least 10 min between two attempts at one exercise. "
        "An attempt we could not grade does not use one up."
    )
    assert text(html, "counting") == "your best attempt at each exercise, after any late penalty."
    korean = get(client_for(student), url(assignment), lang="ko")
    assert text(korean, "late") == (
        "2099-03-04 23:59 KST (Asia/Seoul)까지 받음; "
        "늦은 날마다(하루가 안 되어도 하루로 셈) 점수의 10%를 감점하며, 최대 25.5%까지입니다."
    )


def test_other_rules_say_what_they_are(setup) -> None:
    assignment, _, _, student = setup
    Assignment.objects.filter(pk=assignment.pk).update(
        max_attempts=None, counting=Assignment.Counting.LAST, late_until=None
    )
    html = get(client_for(student), url(assignment))
    assert text(html, "late") == "none: nothing is accepted after the due time."
    assert (
        text(html, "attempts")
        == "unlimited at each exercise. An attempt we could not grade does not use one up."
    )
    assert text(html, "counting") == "your last graded attempt at each exercise, after any late penalty."
    assert texts(html, "standing")[0] == "unlimited attempts · due in 3 h (Asia/Seoul)"
    assignment.refresh_from_db()
    assignment.late_until = assignment.due_at + timedelta(days=2)
    assignment.late_penalty = Assignment.Penalty.FLAT
    assignment.late_penalty_percent = Decimal(20)
    assignment.save()
    html = get(client_for(student), url(assignment))
    assert text(html, "late").endswith("(Asia/Seoul); a late attempt loses 20% of its score.")


def test_before_the_opening_time_the_page_says_when_it_opens(setup) -> None:
    assignment, _, _, student = setup
    opens = (timezone.now() + timedelta(days=2, hours=3, minutes=30)).replace(second=0, microsecond=0)
    Assignment.objects.filter(pk=assignment.pk).update(opens_at=opens, due_at=opens + timedelta(days=7))
    html = get(client_for(student), url(assignment))
    when = timezone.localtime(opens, assignment.run.tz).strftime("%Y-%m-%d %H:%M KST")
    assert text(html, "phase") == (
        f"This assignment opens at {when} (Asia/Seoul). "
        "You can read the exercises now and submit from then on."
    )
    assert texts(html, "standing") == ["2 of 2 attempts left · opens in 2 d 3 h (Asia/Seoul)"] * 2
    runs = get(client_for(student), "/runs/")
    assert text(runs, "when") == f"opens {when} (Asia/Seoul)"


def test_after_the_late_window_the_page_says_it_is_closed(setup) -> None:
    assignment, _, _, student = setup
    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk).update(
        opens_at=now - timedelta(days=5), due_at=now - timedelta(days=2), late_until=now - timedelta(days=1)
    )
    html = get(client_for(student), url(assignment))
    assert text(html, "phase") == "This assignment is closed: it no longer accepts submissions."
    assert text(get(client_for(student), "/runs/"), "when") == "closed"


def test_an_extension_is_the_students_own_due_time(setup) -> None:
    assignment, _, _, student = setup
    Assignment.objects.filter(pk=assignment.pk).update(due_at=datetime(2099, 3, 1, 14, 59, tzinfo=UTC))
    Extension.objects.create(
        assignment=assignment, user=student, due_at=datetime(2099, 3, 8, 14, 59, tzinfo=UTC), extra_attempts=1
    )
    html = get(client_for(student), url(assignment))
    assert text(html, "due") == (
        "2099-03-08 23:59 KST (Asia/Seoul) · your extension (the class's due time is 2099-03-01 23:59 KST)"
    )
    assert texts(html, "standing")[0].startswith("3 of 3 attempts left · due in ")


def test_staff_see_the_students_page_with_a_note_and_no_score_of_their_own(setup) -> None:
    assignment, *_ = setup
    instructor = MembershipFactory(run=assignment.run, role=Role.INSTRUCTOR).user
    html = get(client_for(instructor), url(assignment))
    assert text(html, "staff-note").startswith(
        "You are staff of this run: this is the page its students see, with your own standing."
    )
    assert texts(html, "total") == []
    assert texts(html, "standing")[0] == "2 of 2 attempts left · due in 3 h (Asia/Seoul)"
    gradebook = f"/runs/spring/assignments/{assignment.pk}/gradebook/"
    assert text(html, "gradebook") == "Open the gradebook"
    assert gradebook in attr_values(html, "href")
    runs = get(client_for(instructor), "/runs/")
    assert text(runs, "dashboard") == "Staff dashboard"
    assert "/runs/spring/" in attr_values(runs, "href")


def test_my_course_runs_lists_only_my_runs_with_their_assignments(setup) -> None:
    assignment, _, _, student = setup
    Assignment.objects.filter(pk=assignment.pk).update(due_at=datetime(2099, 3, 1, 14, 59, tzinfo=UTC))
    AssignmentFactory(run=CourseRunFactory(title="Not mine"), title_en="Someone else's")
    html = get(client_for(student), "/runs/")
    assert headings(html) == ["My course runs", "Spring 2025 Student"]
    assert text(html, "when") == "due 2099-03-01 23:59 KST (Asia/Seoul)"
    assert url(assignment) in attr_values(html, "href")
    assert "/join/" in attr_values(html, "href")
    assert texts(html, "dashboard") == []  # a student has no staff pages
    assert "My course runs" in texts(html, attr="class", value="nav-link")


def exercise_page(client: Client, exercise, assignment, lang: str = "en") -> str:  # type: ignore[no-untyped-def]
    return get(client, f"{exercise.get_absolute_url()}?assignment={assignment.pk}", lang)


def test_the_exercise_page_of_an_assignment_lists_only_its_attempts_and_names_it(setup) -> None:
    assignment, first, _, student = setup
    mine = SubmissionFactory(
        owner=student, exercise=first, assignment=assignment, status=Status.DONE, score=50.0
    )
    practice = SubmissionFactory(owner=student, exercise=first, status=Status.DONE, score=90.0)
    html = exercise_page(client_for(student), first, assignment)
    assert text(html, "history-title") == "Your submissions for “Assignment 1”"
    history = [h for h in attr_values(html, "href") if h.startswith("/labs/submissions/")]
    assert history == [f"/labs/submissions/{mine.pk}/"]
    assert text(html, "assignment") == "Assignment 1"
    assert url(assignment) in attr_values(html, "href")
    everything = get(client_for(student), first.get_absolute_url())
    assert text(everything, "history-title") == "Your submissions"
    assert texts(everything, "history-assignment") == ["Assignment 1"]  # the practice one names none
    assert [h for h in attr_values(everything, "href") if h.startswith("/labs/submissions/")] == [
        f"/labs/submissions/{practice.pk}/",
        f"/labs/submissions/{mine.pk}/",
    ]


def test_the_standing_line_speaks_the_browsers_language(setup) -> None:
    assignment, first, _, student = setup
    client = client_for(student)
    assert text(exercise_page(client, first, assignment, "en"), "standing") == (
        "2 of 2 attempts left · due in 3 h (Asia/Seoul)"
    )
    assert text(exercise_page(client, first, assignment, "ko"), "standing") == (
        "시도 2회 중 2회 남음 · 3시간 후 마감 (Asia/Seoul)"
    )


def test_a_refused_form_says_why_once_and_shows_no_earlier_result_only_a_link_to_it(setup) -> None:
    assignment, first, _, student = setup
    for score in (30.0, 40.0):
        last = SubmissionFactory(
            owner=student, exercise=first, assignment=assignment, status=Status.DONE, score=score
        )
    client = client_for(student)
    before = exercise_page(client, first, assignment)
    refusal = "You have used all 2 attempts at this exercise for this assignment; no more are possible."
    assert text(before, "refusal") == refusal
    assert text(before, "live-title") == f"Submission #{last.pk}"

    response = client.post(
        f"{first.get_absolute_url()}?assignment={assignment.pk}",
        {"dockerfile": "FROM scratch\n", "assignment": assignment.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert texts(html, attr="class", value="msg-error") == [refusal]
    assert html.count(refusal) == 1
    assert texts(html, "live-title") == []  # no panel: the earlier result is not beside the new text
    assert text(html, "previous-link") == f"Your previous submission, #{last.pk}"
    assert f'href="/labs/submissions/{last.pk}/" data-role="previous-link"' in html
    assert Submission.objects.filter(owner=student).count() == 2
    korean = client.post(
        f"{first.get_absolute_url()}?assignment={assignment.pk}",
        {"dockerfile": "FROM scratch\n", "assignment": assignment.pk},
        HTTP_ACCEPT_LANGUAGE="ko",
    ).content.decode()
    assert texts(korean, attr="class", value="msg-error") == [
        "이 과제에서 이 실습의 시도 2회를 모두 썼습니다. 더 이상 제출할 수 없습니다."
    ]
    assert texts(korean, "live-title") == []
    assert text(korean, "previous-link") == f"이전 제출 #{last.pk}"


def test_a_practice_attempt_says_where_it_would_count(setup) -> None:
    assignment, first, _, student = setup
    closed = AssignmentFactory(
        run=assignment.run,
        title_en="Last week",
        exercises=[first],
        opens_at=timezone.now() - timedelta(days=9),
        due_at=timezone.now() - timedelta(days=2),
    )
    html = get(client_for(student), first.get_absolute_url())
    assert text(html, "practice") == (
        "Practice: an attempt here counts for no assignment. Submit it for “Assignment 1”"
    )
    assert f"{first.get_absolute_url()}?assignment={assignment.pk}" in attr_values(html, "href")
    assert f"{first.get_absolute_url()}?assignment={closed.pk}" not in attr_values(html, "href")
    assert texts(exercise_page(client_for(student), first, assignment), "practice") == []
    korean = get(client_for(student), first.get_absolute_url(), lang="ko")
    assert (
        text(korean, "practice")
        == "연습: 여기서 한 시도는 어떤 과제에도 반영되지 않습니다. “과제 1”에 제출하기"
    )
    assert texts(get(client_for(UserFactory()), first.get_absolute_url()), "practice") == []


def test_a_superuser_outside_the_run_sees_the_page_and_plain_exercise_links(setup) -> None:
    assignment, first, second, _ = setup
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    html = get(client_for(admin), url(assignment))
    assert len(texts(html, "staff-note")) == 1
    links = [h for h in attr_values(html, "href") if h.startswith("/labs/") and "/exercises/" in h]
    assert links == [first.get_absolute_url(), second.get_absolute_url()]
    assert client_for(admin).get(first.get_absolute_url()).status_code == 200


def test_a_held_attempt_is_named_in_the_pages_language(setup) -> None:
    assignment, first, _, student = setup
    held = SubmissionFactory(owner=student, exercise=first, assignment=assignment, status=Status.HELD)
    html = exercise_page(client_for(student), first, assignment, "ko")
    assert texts(html, str(held.pk), attr="data-history-status") == ["보류: 실습 자체를 고쳐야 합니다"]


def test_the_history_of_an_assignment_shows_times_in_the_runs_zone(setup) -> None:
    assignment, first, _, student = setup
    Assignment.objects.filter(pk=assignment.pk).update(due_at=datetime(2099, 3, 1, tzinfo=UTC))
    assignment.run.time_zone = "Europe/Berlin"
    assignment.run.save()
    made = SubmissionFactory(
        owner=student, exercise=first, assignment=assignment, status=Status.DONE, score=1.0
    )
    Submission.objects.filter(pk=made.pk).update(created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    html = exercise_page(client_for(student), first, assignment)
    assert texts(html, "history-time") == ["2026-07-01 14:00 CEST"]  # summer time in Berlin
    assert text(html, "standing").endswith("(Europe/Berlin)")
