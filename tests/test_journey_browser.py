"""One student's way through the seed course's Node exercise in a real browser against the real
stack (daphne, a Celery worker, the Docker engine): the editor shows a finding before anything is
built, the build streams, a reload in the middle of it resumes without losing or repeating a line,
the graded findings sit on their lines beside the layer bars, and a second attempt is compared
with the first. Then the instructor opens the same lesson in the browser editor and watches the
preview follow the typing. Screenshots of each main page at desktop and phone width go to
test-artifacts/screenshots/journey-*.png."""

from __future__ import annotations

import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from courses.models import Membership
from labs.models import Exercise, Submission, SubmissionEvent
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, fill_dockerfile, login
from tests.conftest import wait_finished
from tests.factories import CourseRunFactory, MembershipFactory, UserFactory
from tests.labs.test_editor_browser import worst_by_line

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "content" / "image-optimisation"

# No download and a pause long enough to reload in: builds in about ten seconds (the nonce keeps
# the engine's build cache from answering for the pause). Line 5 is in shell form, a finding the
# editor shows before building.
NONCE = uuid.uuid4().hex[:12]
FIRST = f"FROM node:18-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN sleep 6 && echo slept-once-{NONCE}\n"
FIRST_CMD = "CMD node dist/server.js"
SECOND = FIRST + 'USER node\nCMD ["node", "dist/server.js"]\n'


def shoot(page: Page, name: str) -> None:
    """The page at desktop and phone width, whole; the page never scrolls sideways on a phone."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def finished(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)


def test_a_student_edits_builds_reloads_and_compares_then_the_instructor_edits_the_lesson(stack, browser):
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    exercise = Exercise.objects.get(course__slug="image-optimisation", slug="node-multistage")
    session = exercise.session
    UserFactory(username="jun")
    run = CourseRunFactory(course=exercise.course, slug="journey-term")
    MembershipFactory(run=run, role=Membership.Role.INSTRUCTOR, user=UserFactory(username="prof-jun"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(locale="en-US", viewport=DESKTOP)
    page = context.new_page()
    login(page, stack.base_url, "jun")
    page.goto(f"{stack.base_url}/courses/{exercise.course.slug}/")
    shoot(page, "course")
    page.goto(f"{stack.base_url}/courses/{exercise.course.slug}/{session.slug}/")
    expect(page.locator("article.lesson pre.mermaid svg")).to_have_count(5, timeout=30_000)
    shoot(page, "lesson")

    # The editor holds the starter; typed text is checked before anything is built.
    page.goto(stack.base_url + exercise.get_absolute_url())
    assert page.evaluate("window.layerlabEditor.text()") == exercise.starter_dockerfile
    fill_dockerfile(page, FIRST)
    page.click("#dockerfile-label")
    page.keyboard.press("Control+End")
    page.keyboard.type(FIRST_CMD)
    assert page.evaluate("window.layerlabEditor.text()") == FIRST + FIRST_CMD
    page.wait_for_function(
        "window.layerlabEditor.diagnostics().some((d) => d.line === 5 && d.source === 'Before building')"
    )
    assert not Submission.objects.exists(), "nothing was built for the findings before building"
    shoot(page, "exercise-before-building")

    # Submitted: the steps stream; a reload in the middle of the build resumes it.
    page.click("#submit-button")
    first = Submission.objects.get(owner__username="jun")
    expect(page.locator("#live")).to_have_attribute("data-submission", str(first.pk))
    expect(page.locator("#live .step.running")).to_have_count(1, timeout=120_000)
    page.reload()
    finished(page)
    first = wait_finished(first.pk)
    assert first.status == Submission.Status.DONE
    rows = page.locator("#live .step").count()
    expect(page.locator('#live [data-role="progress-text"]')).to_have_text(f"{rows} of {rows} steps done")
    expect(page.locator("#live .log-line", has_text=f"slept-once-{NONCE}")).to_have_count(1)

    # The graded findings on their lines, the panel's line button moving the cursor, the layer bars.
    named = worst_by_line([e.payload for e in SubmissionEvent.objects.filter(submission=first, kind="check")])
    page.wait_for_function("window.layerlabEditor.diagnostics().some((d) => d.source === 'Graded')")
    graded = page.evaluate(
        "window.layerlabEditor.diagnostics().filter((d) => d.source === 'Graded')"
        ".map((d) => [d.line, d.severity])"
    )
    assert sorted(map(tuple, graded)) == sorted(named.items())
    assert named[5] == "error"  # the shell-form CMD
    page.locator('#live .check[data-criterion="opt.exec_form"] .line-link').first.click()
    assert (
        page.evaluate(
            "(() => { const v = window.layerlabEditor.view; const s = v.state.selection.main;"
            " return v.state.sliceDoc(s.from, s.to); })()"
        )
        == FIRST_CMD
    )
    expect(page.locator("#layers")).to_have_attribute("data-loaded", "true")
    student_layers = len(first.layers["layers"])
    expect(page.locator('#layers [data-role="layer-bars"] > li.layer')).to_have_count(student_layers)
    expect(page.locator('#layers [data-role="base-layers"] li.layer')).to_have_count(
        len(first.layers["base"]["layers"])
    )
    shoot(page, "exercise-graded")

    # A second attempt, then the two compared.
    fill_dockerfile(page, SECOND)
    page.click("#submit-button")
    second = Submission.objects.exclude(pk=first.pk).get(owner__username="jun")
    expect(page.locator("#live")).to_have_attribute("data-submission", str(second.pk))
    finished(page)
    second = wait_finished(second.pk)
    expect(page.locator(f'[data-history-score="{second.pk}"]')).to_have_text(f"{second.score:.1f}")
    page.goto(f"{stack.base_url}/labs/submissions/{second.pk}/")
    expect(page.locator("h1")).to_have_text(f"{exercise.title_en}: attempt 2")
    shoot(page, "submission")
    page.locator('[data-role="previous-attempt"]').click()
    expect(page).to_have_url(f"{stack.base_url}/labs/submissions/{first.pk}/")
    page.goto(stack.base_url + exercise.get_absolute_url())
    page.click('[data-role="history-link"]')
    page.click(".compare-form button")
    diff = page.locator('[data-role="diff"]')
    expect(diff.locator("tr.removed .code")).to_have_text([FIRST_CMD])
    expect(diff.locator("tr.added .code")).to_have_text(["USER node", 'CMD ["node", "dist/server.js"]'])
    expect(page.locator('[data-role="verdict-changes"] tr[data-criterion="opt.exec_form"]')).to_have_count(1)
    shoot(page, "history")
    context.close()

    # The instructor edits the same lesson, in Korean, and the preview follows the typing.
    context = browser.new_context(locale="ko-KR", viewport=DESKTOP)
    page = context.new_page()
    login(page, stack.base_url, "prof-jun")
    page.goto(f"{stack.base_url}/courses/{exercise.course.slug}/{session.slug}/")
    page.locator('[data-role="edit-lesson"]').click()
    preview = page.locator('[data-role="preview"]')
    expect(preview.locator("pre.mermaid svg")).to_have_count(5, timeout=30_000)
    editor = page.get_by_label("강의 Markdown (한국어)")
    editor.press("Control+Home")
    editor.press_sequentially("## 여정 테스트\n\n", delay=10)
    expect(preview.locator("h2").first).to_have_text("여정 테스트¶")
    shoot(page, "lesson-editor")
    context.close()
