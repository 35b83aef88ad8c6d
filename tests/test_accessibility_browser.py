"""The main pages checked by axe-core in a real browser, at desktop and phone width, in Korean and
English: no critical and no serious finding. The student's pages include the seed course's lesson
(its Mermaid diagrams drawn) and an exercise before and after a real build; the instructor's the
dashboard, the gradebook, the roster, an exercise's statistics, the submissions and a regrade
preview. Every `<details>` is opened first, so what a user unfolds is checked too. Then the
keyboard: tabbing through the exercise page and the lesson reaches the main controls in reading
order, each with a visible focus indicator. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from courses.models import Membership, Session
from labs.models import Assignment, Exercise, Regrade, RegradeItem, Submission
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, axe_report, axe_violations, fill_dockerfile, login
from tests.conftest import Stack, wait_finished
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "content" / "image-optimisation"
CONFIGS = [("ko", DESKTOP), ("ko", PHONE), ("en", DESKTOP), ("en", PHONE)]
LOCALES = {"ko": "ko-KR", "en": "en-US"}

SOLUTION = 'FROM python:3.11-slim\nCOPY app.py /app/app.py\nUSER 10001\nCMD ["python", "/app/app.py"]\n'
"""Builds in seconds: one small COPY on an allowlisted base the engine already has."""

BROKEN = "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n"
"""Fails two criteria, so the graded panel shows failures with line buttons and fixes."""

RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 50}, {"id": "sec.final_user", "weight": 50}]}


@dataclass
class World:
    session: Session
    run_slug: str
    assignment: Assignment
    fresh: Exercise
    graded: Exercise
    submission: Submission | None = None


def world() -> World:
    """The seed course imported, a term of it with a student and an instructor, and an assignment
    of two tiny exercises: one the student has not touched, one they submit to."""
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    session = Session.objects.get(course__slug="image-optimisation")
    fresh, graded = (
        ExerciseFactory(
            session=session,
            slug=slug,
            title=title,
            title_en=title_en,
            starter_dockerfile=BROKEN,
            rubric=RUBRIC,
            position=90 + i,
        )
        for i, (slug, title, title_en) in enumerate(
            [
                ("a11y-fresh", "사용자로 실행", "Run as a user"),
                ("a11y-graded", "작은 이미지", "A small image"),
            ]
        )
    )
    run = CourseRunFactory(course=session.course, slug="a11y-term", title="접근성 학기 / Access term")
    MembershipFactory(run=run, user=UserFactory(username="ari"), role=Membership.Role.STUDENT)
    MembershipFactory(run=run, user=UserFactory(username="prof"), role=Membership.Role.INSTRUCTOR)
    assignment = AssignmentFactory(
        run=run, title="과제 1", title_en="Week 1 homework", exercises=[fresh, graded], max_attempts=5
    )
    return World(session, run.slug, assignment, fresh, graded)


def graded_submission(browser: Browser, stack: Stack, w: World) -> Submission:
    """Two real builds by the student through the page: the counted one passes, the last fails,
    so the exercise page shows history and the panel shows failed criteria."""
    page = browser.new_page()
    login(page, stack.base_url, "ari")
    for text in (SOLUTION, BROKEN):
        page.goto(f"{stack.base_url}{w.graded.get_absolute_url()}?assignment={w.assignment.pk}")
        fill_dockerfile(page, text)
        page.click("#submit-button")
        expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)
    page.close()
    last = Submission.objects.filter(owner__username="ari").latest("pk")
    assert wait_finished(last.pk).status == Submission.Status.DONE
    return last


def ready_live(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=30_000)
    expect(page.locator('#live .check[data-verdict="fail"]').first).to_be_visible()


def ready_lesson(page: Page) -> None:
    diagrams = page.locator("article.lesson pre.mermaid")
    expect(diagrams.first).to_be_visible()
    for i in range(diagrams.count()):
        expect(diagrams.nth(i).locator("svg")).to_have_count(1, timeout=30_000)


def ready_gradebook(page: Page) -> None:
    expect(page.locator('[data-role="live-state"]')).not_to_have_text("Connecting…")
    expect(page.locator('[data-role="live-state"]')).not_to_have_text("연결 중…")


def new_context(browser: Browser, lang: str, viewport: dict[str, int]) -> Any:
    return browser.new_context(
        viewport=viewport, locale=LOCALES[lang], extra_http_headers={"Accept-Language": lang}
    )


def check_pages(
    browser: Browser,
    base_url: str,
    username: str | None,
    pages: dict[str, tuple[str, Callable[[Page], None] | None]],
) -> list[str]:
    """Each page in each language and width: axe's critical and serious findings, as report
    lines naming the page, the language and the width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = []
    for lang, viewport in CONFIGS:
        context = new_context(browser, lang, viewport)
        context.add_cookies([{"name": "django_language", "value": lang, "url": base_url}])
        page = context.new_page()
        if username:
            login(page, base_url, username)
        for name, (path, ready) in pages.items():
            page.goto(base_url + path)
            expect(page.locator("html")).to_have_attribute("lang", lang)
            if ready:
                ready(page)
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            violations = axe_violations(page)
            if violations:
                found.append(axe_report(violations, where=f"{name} ({lang}, {viewport['width']} px) "))
            if lang == "en" or viewport is PHONE:
                width = "phone" if viewport is PHONE else "desktop"
                page.screenshot(path=str(SCREENSHOTS / f"a11y-{name}-{lang}-{width}.png"), full_page=True)
        context.close()
    return found


def test_the_main_pages_have_no_critical_or_serious_accessibility_findings(stack, browser):
    w = world()
    submission = graded_submission(browser, stack, w)
    course = w.session.course.slug
    exercise_url = f"{w.graded.get_absolute_url()}?assignment={w.assignment.pk}"
    base = f"/runs/{w.run_slug}"
    regrade = Regrade.objects.create(assignment=w.assignment, status=Regrade.Status.READY)
    for counted in Submission.objects.filter(owner__username="ari"):
        RegradeItem.objects.create(
            regrade=regrade,
            submission=counted,
            status=RegradeItem.Status.DONE,
            old_score=counted.score,
            new_status=Submission.Status.DONE,
            new_score=100.0,
        )

    found = check_pages(browser, stack.base_url, None, {"login": ("/login/", None)})
    found += check_pages(
        browser,
        stack.base_url,
        "ari",
        {
            "courses": ("/", None),
            "course": (f"/courses/{course}/", None),
            "lesson": (f"/courses/{course}/{w.session.slug}/", ready_lesson),
            "exercise-new": (f"{w.fresh.get_absolute_url()}?assignment={w.assignment.pk}", None),
            "exercise-seed": (f"/labs/{course}/exercises/node-multistage/", None),
            "exercise-graded": (exercise_url, ready_live),
            "submission": (f"/labs/submissions/{submission.pk}/", ready_live),
            "assignment": (f"{base}/assignments/{w.assignment.pk}/", None),
        },
    )
    found += check_pages(
        browser,
        stack.base_url,
        "prof",
        {
            "dashboard": (f"{base}/", None),
            "gradebook": (f"{base}/assignments/{w.assignment.pk}/gradebook/", ready_gradebook),
            "roster": (f"{base}/roster/", None),
            "exercise-stats": (f"{base}/exercises/{w.graded.pk}/", None),
            "submissions": (f"{base}/submissions/", None),
            "regrade": (f"{base}/assignments/{w.assignment.pk}/regrades/{regrade.pk}/", None),
        },
    )
    assert not found, "axe-core found critical or serious problems:\n" + "\n".join(found)


_FOCUSED = """(names) => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ring = el.closest(".cm-editor") || el;  // a CodeMirror editor draws focus on its wrapper
  const style = getComputedStyle(ring);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const rect = el.getBoundingClientRect();
  return {
    matches: Object.keys(names).filter((name) => el.closest(names[name])),
    what: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} `
      + `“${(el.innerText || el.value || "").trim().slice(0, 40)}”`,
    visible: outline || style.boxShadow !== "none",
    shown: rect.width > 0 && rect.height > 0,
  };
}"""


def tab_through(
    page: Page, names: dict[str, str], shoot: str | None = None, limit: int = 400
) -> tuple[list[str], list[str]]:
    """Presses Tab from the top of the page until focus leaves it: the named controls in the
    order focus reached them (each once, at its first visit), and every stop that had no
    visible focus indicator or was not on screen. From a code editor it leaves as a keyboard
    user does: Escape, then Tab. The viewport is saved as a screenshot when focus first
    reaches the control named `shoot`."""
    page.evaluate("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
    order: list[str] = []
    unseen: list[str] = []
    for _ in range(limit):
        focused = page.evaluate(_FOCUSED, names)
        if focused and page.evaluate("document.activeElement.matches('textarea, [contenteditable=true]')"):
            page.keyboard.press("Escape")
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED, names)
        if focused is None:
            break
        if not (focused["visible"] and focused["shown"]):
            unseen.append(focused["what"])
        for name in focused["matches"]:
            if name not in order:
                order.append(name)
                if name == shoot:
                    page.screenshot(path=str(SCREENSHOTS / f"a11y-focus-{name.replace(' ', '-')}.png"))
    return order, unseen


def test_the_exercise_page_and_the_lesson_are_worked_by_keyboard_in_reading_order(stack, browser):
    w = world()
    page = browser.new_page(viewport=DESKTOP, locale="en-US", extra_http_headers={"Accept-Language": "en"})
    login(page, stack.base_url, "ari")
    page.goto(f"{stack.base_url}{w.graded.get_absolute_url()}?assignment={w.assignment.pk}")
    page.click("#submit-button")  # the starter as it is: it builds and fails two criteria
    ready_live(page)
    page.reload()
    ready_live(page)

    order, unseen = tab_through(
        page,
        {
            "top bar": "header.top a.brand",
            "language": "header.top form.lang button",
            "breadcrumb": ".crumbs a",
            "dockerfile": "#dockerfile, .cm-editor",  # the textarea, or the code editor that replaces it
            "submit": "#submit-button",
            "context files": "details.context-files > summary",
            "history": ".history a",
            "line button": "#live .check .line-link",
            "why and fix": "#live .check .check-more summary",
            "graded dockerfile": "#live details.graded-dockerfile > summary",
        },
        shoot="line button",
    )
    assert order == [
        "top bar",
        "language",
        "breadcrumb",
        "dockerfile",
        "submit",
        "context files",
        "history",
        "line button",
        "why and fix",
        "graded dockerfile",
    ]
    assert unseen == [], "focus stops without a visible focus indicator"

    page.set_viewport_size(PHONE)
    page.goto(f"{stack.base_url}/courses/{w.session.course.slug}/{w.session.slug}/")
    ready_lesson(page)
    order, unseen = tab_through(
        page,
        {
            "breadcrumb": ".crumbs a",
            "contents": "#lesson-toc > summary",
            "wide code": "article.lesson pre[tabindex='0']",
            "exercise": ".lesson-main section.card a",
        },
        shoot="wide code",
    )
    assert order == ["breadcrumb", "contents", "wide code", "exercise"]
    assert unseen == [], "focus stops without a visible focus indicator"
    page.close()


def test_the_authoring_pages_have_no_critical_or_serious_accessibility_findings(stack, browser):
    w = world()
    author = f"/authoring/courses/{w.session.course.slug}"
    session, exercise = f"{author}/sessions/{w.session.slug}", f"{author}/exercises/{w.fresh.slug}"
    found = check_pages(
        browser,
        stack.base_url,
        "prof",
        {
            "author-course": (f"{author}/", None),
            "author-session-edit": (f"{session}/edit/", None),
            "author-session-revisions": (f"{session}/revisions/", None),
            "author-exercise-edit": (f"{exercise}/edit/", None),
            "author-exercise-revisions": (f"{exercise}/revisions/", None),
            "author-try": (f"{exercise}/try/", None),
        },
    )
    assert not found, "axe-core found critical or serious problems:\n" + "\n".join(found)
