"""The classroom in a real browser, with the real worker grading: a student opens an assignment,
submits an exercise of it and sees one attempt fewer left; on a phone the assignment page never
scrolls sideways. Screenshots go to var/test-logs/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from courses.models import Membership
from labs.models import Assignment, Submission
from tests.browser import fill_dockerfile, login
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    UserFactory,
)
from tests.live import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SOLUTION = 'FROM python:3.11-slim\nCOPY app.py /app/app.py\nUSER 10001\nCMD ["python", "/app/app.py"]\n'
"""Builds in seconds: one small COPY on an allowlisted base the engine already has."""

RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 50}, {"id": "sec.final_user", "weight": 50}]}


def classroom(slug: str, max_attempts: int = 3):  # type: ignore[no-untyped-def]
    """A run in Seoul with one assignment of one tiny exercise, due in 3 h 20 min."""
    exercise = ExerciseFactory(
        slug=slug,
        title_en="Run as a user",
        starter_dockerfile="FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n",
        solution_dockerfile=SOLUTION,
        rubric=RUBRIC,
    )
    run = CourseRunFactory(course=exercise.course, slug=f"run-{slug}", time_zone="Asia/Seoul")
    assignment = AssignmentFactory(
        run=run,
        title_en="Week 1 homework",
        exercises=[exercise],
        max_attempts=max_attempts,
        due_at=timezone.now() + timedelta(hours=3, minutes=20),
    )
    return run, assignment, exercise


def assignment_path(assignment) -> str:  # type: ignore[no-untyped-def]
    return f"/runs/{assignment.run.slug}/assignments/{assignment.pk}/"


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_a_student_submits_to_an_assignment_and_sees_one_attempt_fewer_left(stack, browser):
    run, assignment, exercise = classroom("user-ex")
    student = UserFactory(username="hana")
    MembershipFactory(run=run, user=student, role=Membership.Role.STUDENT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, stack.base_url, "hana")

    page.goto(stack.base_url + "/runs/")
    page.get_by_role("link", name="Week 1 homework").click()
    standing = page.locator(f'[data-exercise="{exercise.slug}"] [data-role="standing"]')
    expect(standing).to_have_text("3 of 3 attempts left · due in 3 h (Asia/Seoul)")
    expect(page.locator('[data-role="counted"]')).to_have_text("No graded attempt yet.")

    link = page.get_by_role("link", name="Run as a user")  # by keyboard: focus it, press Enter
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{stack.base_url}{exercise.get_absolute_url()}?assignment={assignment.pk}")
    expect(page.locator('[data-role="standing"]')).to_have_text(
        "3 of 3 attempts left · due in 3 h (Asia/Seoul)"
    )
    fill_dockerfile(page, SOLUTION)
    page.click("#submit-button")

    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)
    expect(page.locator('#live [data-role="status"]')).to_have_attribute("data-status", "done")
    expect(page.locator('#live [data-role="score"] .score-value')).to_have_text("100.0 / 100")
    submission = Submission.objects.get(owner=student)
    assert (submission.assignment_id, submission.score) == (assignment.pk, 100.0)
    expect(page.locator('[data-role="history-title"]')).to_have_text("Your submissions for “Week 1 homework”")
    page.screenshot(path=str(ARTIFACTS / "classroom-exercise-graded.png"), full_page=True)

    page.locator('.crumbs [data-role="assignment"]').click()  # back to the assignment
    expect(page).to_have_url(stack.base_url + assignment_path(assignment))
    expect(standing).to_have_text("2 of 3 attempts left · due in 3 h (Asia/Seoul)")
    expect(page.locator('[data-role="counted"]')).to_have_text(
        f"Counted score: 100.0 (attempt #{submission.pk})"
    )
    expect(page.locator('[data-role="total"]')).to_have_text("Your score so far: 100.0 / 100")
    page.screenshot(path=str(ARTIFACTS / "classroom-assignment-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    expect(standing).to_have_text("2 of 3 attempts left · due in 3 h (Asia/Seoul)")
    page.screenshot(path=str(ARTIFACTS / "classroom-assignment-phone.png"), full_page=True)
    assert no_sideways_scroll(page), "the assignment page does not scroll sideways on a phone"
    page.goto(stack.base_url + "/runs/")
    assert no_sideways_scroll(page), "My course runs does not scroll sideways on a phone"
    page.goto(stack.base_url + f"/courses/{exercise.course.slug}/")
    expect(page.locator('[data-role="progress"]')).to_have_text("1 of 1 exercise done · best score 100.0")
    assert no_sideways_scroll(page), "the course page does not scroll sideways on a phone"
    context.close()


def test_the_instructor_creates_an_assignment_sees_the_score_arrive_live_and_exports_it(stack, browser):
    exercise = ExerciseFactory(
        slug="gradebook-ex",
        title_en="Run as a user",
        starter_dockerfile="FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n",
        rubric=RUBRIC,
    )
    run = CourseRunFactory(course=exercise.course, slug="run-gradebook-ex", time_zone="Asia/Seoul")
    student = UserFactory(username="jiwoo", first_name="지우", last_name="김", email="jiwoo@example.org")
    MembershipFactory(run=run, user=student, role=Membership.Role.STUDENT)
    MembershipFactory(run=run, user=UserFactory(username="prof"), role=Membership.Role.INSTRUCTOR)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    staff_context = browser.new_context(locale="en-US", accept_downloads=True)
    staff = staff_context.new_page()
    login(staff, stack.base_url, "prof")

    # The instructor makes the assignment on the run's dashboard, in the run's local time.
    staff.goto(f"{stack.base_url}/runs/{run.slug}/")
    staff.get_by_role("link", name="New assignment").click()
    now = timezone.localtime(timezone.now(), run.tz)
    staff.get_by_label("Title", exact=True).fill("과제 1")
    staff.get_by_label("Title in English").fill("Week 1 homework")
    staff.get_by_label(f"Run as a user ({exercise.slug})").check()
    staff.get_by_label("Opens at (Asia/Seoul)").fill((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    staff.get_by_label("Due at (Asia/Seoul)").fill(
        (now + timedelta(hours=3, minutes=20)).strftime("%Y-%m-%dT%H:%M")
    )
    staff.get_by_label("Attempts per exercise").fill("3")
    staff.get_by_role("button", name="Create").click()
    assignment = Assignment.objects.get(run=run)
    assert (assignment.title_en, assignment.max_attempts) == ("Week 1 homework", 3)
    assert list(assignment.exercises.all()) == [exercise]
    staff.screenshot(path=str(ARTIFACTS / "classroom-assignment-created.png"), full_page=True)

    staff.goto(stack.base_url + assignment_path(assignment))
    staff.locator('[data-role="gradebook"]').click()  # the student's page links staff to the gradebook
    expect(staff).to_have_url(f"{stack.base_url}/runs/{run.slug}/assignments/{assignment.pk}/gradebook/")
    expect(staff.locator('[data-role="live-state"]')).to_have_text("Live: scores appear as they are graded.")
    cell = staff.locator(f'tr[data-username="jiwoo"] td[data-exercise-id="{exercise.pk}"]')
    expect(cell.locator('[data-role="score"]')).to_have_text("—")
    staff.evaluate("window.__sameDocument = true")

    student_context = browser.new_context(locale="en-US")
    page = student_context.new_page()
    login(page, stack.base_url, "jiwoo")
    page.goto(stack.base_url + assignment_path(assignment))
    page.get_by_role("link", name="Run as a user").click()
    fill_dockerfile(page, SOLUTION)
    page.click("#submit-button")
    expect(page.locator('#live [data-role="score"] .score-value')).to_have_text(
        "100.0 / 100", timeout=240_000
    )

    expect(cell.locator('[data-role="score"]')).to_have_text("100.0", timeout=30_000)
    expect(cell.locator('[data-role="attempts"]')).to_have_text("1/3 attempts")
    expect(staff.locator('tr[data-username="jiwoo"] [data-role="total"]')).to_have_text("100.0")
    assert staff.evaluate("window.__sameDocument === true"), "the row changed without a reload"
    staff.screenshot(path=str(ARTIFACTS / "classroom-gradebook-live.png"), full_page=True)

    with staff.expect_download() as download:
        staff.get_by_role("link", name="Export CSV").click()
    saved = ARTIFACTS / "classroom-gradebook.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"{run.slug}-assignment-{assignment.pk}-gradebook.csv"
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so spreadsheets read Korean names"
    assert data.decode("utf-8-sig").splitlines() == [
        f"username,name,email,{exercise.slug} score,{exercise.slug} attempts,{exercise.slug} late,total",
        "jiwoo,지우 김,jiwoo@example.org,100.0,1,no,100.0",
    ]
    student_context.close()
    staff_context.close()
