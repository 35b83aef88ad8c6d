"""Authoring in a real browser (Debian's chromium, Playwright) against the real stack: an
instructor edits a lesson and watches the preview follow the typing (a Mermaid diagram drawn in
it, a <script> never run), saves, and finds the lesson page changed; a rubric typo is named
beside its field with its line as it is typed; "check this exercise" streams both builds to a
verdict. Screenshots at desktop and phone width go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from authoring.models import ExerciseCheck, SessionRevision
from courses.models import Membership
from labs.models import Submission
from tests.browser import SCREENSHOTS, login
from tests.factories import CourseRunFactory, ExerciseFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOLUTION = 'FROM python:3.11-slim\nCOPY app.py /app/app.py\nUSER 10001\nCMD ["python", "/app/app.py"]\n'
STARTER = "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n"
RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 50}, {"id": "sec.final_user", "weight": 50}]}


def instructor_of(slug: str):  # type: ignore[no-untyped-def]
    exercise = ExerciseFactory(
        slug=slug,
        title_en="Run as a user",
        starter_dockerfile=STARTER,
        solution_dockerfile=SOLUTION,
        rubric=RUBRIC,
    )
    exercise.session.title_en = "Users and images"
    exercise.session.body_md = "# 사용자\n\n본문."
    exercise.session.save()
    run = CourseRunFactory(course=exercise.course, slug=f"run-{slug}")
    MembershipFactory(run=run, role=Membership.Role.INSTRUCTOR, user=UserFactory(username=f"prof-{slug}"))
    return exercise, f"prof-{slug}"


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_an_instructor_edits_a_lesson_with_a_live_preview_and_the_lesson_page_changes(stack, browser) -> None:  # type: ignore[no-untyped-def]
    exercise, username = instructor_of("lesson-edit")
    session, course = exercise.session, exercise.course
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, stack.base_url, username)

    page.goto(f"{stack.base_url}/courses/{course.slug}/{session.slug}/")
    page.locator('[data-role="edit-lesson"]').click()
    expect(page).to_have_url(
        f"{stack.base_url}/authoring/courses/{course.slug}/sessions/{session.slug}/edit/"
    )
    editor = page.get_by_label("강의 Markdown (한국어)")
    preview = page.locator('[data-role="preview"]')
    expect(preview.locator("h1")).to_have_text("사용자¶")

    editor.fill("")
    editor.press_sequentially("# 새 제목\n\n본문을 고칩니다.", delay=20)
    expect(preview.locator("h1")).to_have_text("새 제목¶")
    expect(preview.locator("p")).to_have_text("본문을 고칩니다.")
    editor.press("End")
    editor.press_sequentially("\n\n<script>window.ran = 1; alert('x')</script>\n\n", delay=5)
    editor.type("```mermaid\ngraph LR\n  Build --> Run\n```\n")
    expect(preview.locator("pre.mermaid svg")).to_have_count(1, timeout=30_000)
    expect(preview.locator("pre.mermaid svg")).to_contain_text("Build")
    assert preview.locator("script").count() == 0
    assert page.evaluate("window.ran") is None and dialogs == []
    expect(page.locator('[data-role="size"]')).to_have_text("256 KiB 중 0.1 KiB")
    page.screenshot(path=str(SCREENSHOTS / "authoring-lesson-editor-desktop.png"), full_page=True)

    page.get_by_label("바뀐 점 (선택)").fill("제목을 바꿈")
    page.locator('[data-role="save"]').click()
    expect(page.locator(".messages")).to_have_text("강의를 저장했습니다. 이제 학생에게 새 텍스트가 보입니다.")
    expect(page.locator('[data-role="revision"]')).to_have_count(2)
    expect(page.locator('[data-role="revision"]').first).to_contain_text(f"{username} · 제목을 바꿈")
    saved = SessionRevision.objects.filter(session=session).order_by("-id").first()
    assert saved.text.startswith("# 새 제목\n\n본문을 고칩니다.\n\n<script>")

    page.goto(f"{stack.base_url}/courses/{course.slug}/{session.slug}/")
    expect(page.locator("article.lesson h1")).to_have_text("새 제목¶")
    expect(page.locator("article.lesson pre.mermaid svg")).to_have_count(1, timeout=30_000)
    assert page.evaluate("window.ran") is None and dialogs == []

    page.goto(f"{stack.base_url}/authoring/courses/{course.slug}/sessions/{session.slug}/edit/")
    page.locator('[data-role="revision"] a').last.click()  # the oldest: the text from the files
    expect(page.locator("h1")).to_have_text(f"리비전 {SessionRevision.objects.order_by('id').first().pk}")
    expect(page.locator('[data-role="diff"] .diff-del')).to_have_text(["-# 사용자", "-본문."])
    expect(page.locator('[data-role="diff"] .diff-add').first).to_have_text("+# 새 제목")
    page.screenshot(path=str(SCREENSHOTS / "authoring-revision-diff-desktop.png"), full_page=True)
    page.get_by_role("button", name="이 리비전 복원").click()
    expect(preview.locator("h1")).to_have_text("사용자¶")
    expect(page.locator('[data-role="revision"]')).to_have_count(3)
    session.refresh_from_db()
    assert session.body_md == "# 사용자\n\n본문."

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{stack.base_url}/authoring/courses/{course.slug}/sessions/{session.slug}/edit/")
    expect(preview.locator("h1")).to_have_text("사용자¶")
    page.goto(
        f"{stack.base_url}/authoring/courses/{course.slug}/sessions/{session.slug}/revisions/{saved.pk}/"
    )
    page.screenshot(path=str(SCREENSHOTS / "authoring-revision-diff-phone.png"), full_page=True)
    assert no_sideways_scroll(page), "a revision's diff scrolls in its own box on a phone"
    page.get_by_role("button", name="이 리비전 복원").click()
    expect(preview.locator("pre.mermaid svg")).to_have_count(1, timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "authoring-lesson-editor-phone.png"), full_page=True)
    assert no_sideways_scroll(page), "the lesson editor does not scroll sideways on a phone"
    context.close()


def test_a_rubric_typo_is_named_beside_the_field_with_its_line_as_it_is_typed(stack, browser) -> None:  # type: ignore[no-untyped-def]
    exercise, username = instructor_of("rubric-typo")
    course = exercise.course
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, stack.base_url, username)
    page.goto(f"{stack.base_url}/authoring/courses/{course.slug}/exercises/{exercise.slug}/edit/")
    rubric = page.get_by_label("Rubric (YAML, the rubric: key of exercise.yaml)")
    problems = page.locator('[data-problems-for="rubric_yaml"]')
    rubric.fill("")
    rubric.press_sequentially(
        "criteria:\n  - id: opt.exec_form\n    weight: 50\n  - id: sec.final_usr\n", delay=5
    )
    expect(problems).to_have_text(
        "Line 4 unknown criterion id 'sec.final_usr' (did you mean sec.final_user?)Go to line 4"
    )
    expect(rubric).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SCREENSHOTS / "authoring-exercise-editor-desktop.png"), full_page=True)
    problems.get_by_role("button", name="Go to line 4").click()
    assert (
        page.evaluate(
            "(() => { const a = document.activeElement;"
            " return a.value.slice(a.selectionStart, a.selectionEnd); })()"
        )
        == "  - id: sec.final_usr"
    )
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.type("er")  # final_usr -> final_user
    expect(problems).to_have_text("Valid.")
    expect(rubric).to_have_attribute("aria-invalid", "false")
    page.locator('[data-role="save"]').click()
    expect(page.locator(".messages")).to_have_text("Exercise saved. The next submission is graded with it.")
    exercise.refresh_from_db()
    assert [c["id"] for c in exercise.rubric["criteria"]] == ["opt.exec_form", "sec.final_user"]
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(SCREENSHOTS / "authoring-exercise-editor-phone.png"), full_page=True)
    assert no_sideways_scroll(page), "the exercise editor does not scroll sideways on a phone"
    context.close()


@pytest.mark.docker
def test_check_this_exercise_streams_both_builds_to_a_verdict(stack, browser) -> None:  # type: ignore[no-untyped-def]
    exercise, username = instructor_of("check-me")
    course = exercise.course
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, stack.base_url, username)
    page.goto(f"{stack.base_url}/authoring/courses/{course.slug}/exercises/{exercise.slug}/edit/")
    page.get_by_role("button", name="Check this exercise").click()
    check = ExerciseCheck.objects.get(exercise=exercise)
    expect(page).to_have_url(
        f"{stack.base_url}/authoring/courses/{course.slug}/exercises/{exercise.slug}/checks/{check.pk}/"
    )
    solution = page.frame_locator('[data-role="frame-solution"]').locator("#live")
    starter = page.frame_locator('[data-role="frame-starter"]').locator("#live")
    expect(solution.locator('[data-role="steps"] li').first).to_be_visible(timeout=240_000)
    expect(solution).to_have_attribute("data-finished", "true", timeout=240_000)
    expect(starter).to_have_attribute("data-finished", "true", timeout=240_000)
    expect(solution.locator('[data-role="score"] .score-value')).to_have_text("100.0 / 100")
    expect(starter.locator('[data-role="steps"] li').first).to_be_visible()
    verdict = page.locator('[data-role="verdict"]')
    expect(verdict).to_have_text("solution 100 ✓, starter 0 < 100 ✓")
    expect(verdict).to_have_class("verdict-line card ok")
    page.screenshot(path=str(SCREENSHOTS / "authoring-check-desktop.png"), full_page=True)

    check.solution.refresh_from_db()
    check.starter.refresh_from_db()
    assert (check.solution.trial, check.solution.score, check.starter.trial) == ("solution", 100.0, "starter")
    exercise.refresh_from_db()
    assert exercise.reference_image_size == check.solution.image_size
    assert not Submission.objects.filter(exercise=exercise, trial="").exists()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator('[data-role="verdict"]')).to_have_text("solution 100 ✓, starter 0 < 100 ✓")
    page.screenshot(path=str(SCREENSHOTS / "authoring-check-phone.png"), full_page=True)
    assert no_sideways_scroll(page), "the check page does not scroll sideways on a phone"
    context.close()
