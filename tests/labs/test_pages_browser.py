"""The pages in a real browser (Debian's chromium driven by Playwright): a student logs in,
submits on the exercise page and watches the build arrive live."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from labs.models import Submission
from tests.browser import EDITOR_SELECTION, fill_dockerfile, login
from tests.factories import ExerciseFactory, UserFactory
from tests.labs.test_submission_flow import GOOD_MULTI_STAGE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def open_exercise(browser, stack, username: str, **page_options):  # type: ignore[no-untyped-def]
    """A new student on a new exercise's page, logged in."""
    UserFactory(username=username)
    exercise = ExerciseFactory()
    page = browser.new_page(**page_options)
    login(page, stack.base_url, username)
    page.goto(stack.base_url + exercise.get_absolute_url())
    return page, exercise


def submit(page, dockerfile: str) -> None:  # type: ignore[no-untyped-def]
    fill_dockerfile(page, dockerfile)
    page.click("#submit-button")


def test_student_submits_on_the_exercise_page_and_watches_the_build_finish(stack, browser):
    page, exercise = open_exercise(browser, stack, "bora", viewport={"width": 390, "height": 844})  # a phone
    expect(page.locator("#dockerfile")).to_have_value(exercise.starter_dockerfile)

    submit(page, GOOD_MULTI_STAGE)

    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)
    expect(page.locator('#live [data-role="status"]')).to_have_attribute("data-status", "done")
    # Six steps in the first stage, five in the last (ENV, USER and CMD build nothing).
    expect(page.locator("#live .step")).to_have_count(11)
    expect(page.locator('#live [data-role="progress-text"]')).to_have_text("11 of 11 steps done")
    expect(page.locator("#live .step", has_text="RUN useradd")).to_contain_text("(line 10)")
    submission = Submission.objects.get(owner__username="bora")
    expect(page.locator('[data-role="layer-count"]')).to_have_text(f"{submission.layer_count} layers")
    score = page.locator('#live [data-role="score"]')
    expect(score).to_contain_text("/ 100")
    for category in ("optimisation", "security"):
        expect(page.locator(f'#live [data-category="{category}"] .check').first).to_be_visible()
    user_check = page.locator('#live .check[data-criterion="sec.final_user"]')
    expect(user_check).to_have_attribute("data-verdict", "pass")
    expect(user_check.locator('[data-role="points"]')).to_contain_text("points")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "no sideways scrolling on a phone"
    )
    page.close()


def test_a_failing_criterion_links_to_its_line_in_the_editor(stack, browser):
    page, _ = open_exercise(browser, stack, "eun")
    submit(page, "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n")
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)
    check = page.locator('#live .check[data-criterion="opt.exec_form"]')
    expect(check).to_have_attribute("data-verdict", "fail")
    check.locator(".line-link").first.click()
    assert page.evaluate(EDITOR_SELECTION) == [True, "CMD python /app/app.py", True]
    check.locator("summary").click()
    expect(check.locator(".fix")).to_contain_text("CMD")
    page.close()


def test_a_refused_base_is_shown_with_its_line_and_the_allowed_images(stack, browser):
    page, _ = open_exercise(browser, stack, "chul")
    submit(page, "FROM ubuntu:latest\nRUN apt-get update\n")

    expect(page.locator('#live [data-role="status"]')).to_have_attribute(
        "data-status", "failed", timeout=60_000
    )
    failure = page.locator('#live [data-role="failure"]')
    expect(failure).to_contain_text("line 1")
    expect(failure).to_contain_text("python:3.11-slim")
    page.close()


def test_the_live_panel_resumes_after_a_reload_without_repeating_lines(stack, browser):
    page, _ = open_exercise(browser, stack, "dana")
    nonce = uuid.uuid4().hex  # a fresh RUN step: a cached one would print nothing
    submit(
        page,
        f"FROM python:3.11-slim\nRUN echo {nonce}; for i in $(seq 1 30); do echo tick-$i; sleep 0.1; done\n",
    )
    expect(page.locator('#live [data-role="log"]')).to_contain_text("tick-3", timeout=60_000)
    page.reload()  # a new socket that replays from the store, then streams
    expect(page.locator('#live [data-role="status"]')).to_have_attribute(
        "data-status", "done", timeout=120_000
    )
    log = page.locator('#live [data-role="log"]').text_content() or ""  # folded once done: not inner_text
    for i in range(1, 31):
        assert log.count(f"tick-{i}\n") == 1, f"tick-{i} shown exactly once"
    page.close()
