"""The shipped seed course as a new user meets it after `bin/up`: the lesson in Korean and, after
switching, in English, with its diagrams drawn and code highlighted, and every exercise opening
with its instructions, its starter and its build context."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from courses.models import Session
from labs.models import Exercise
from tests.browser import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHIPPED = Path(__file__).resolve().parents[2] / "content" / "image-optimisation"
EXERCISES = ["node-multistage", "python-slim", "go-scratch", "build-cache-order", "python-runtime-pgo"]


@pytest.fixture
def seed() -> Session:
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    return Session.objects.get(course__slug="image-optimisation")


def diagrams_drawn(page: Page, body: str) -> None:
    diagrams = page.locator("article.lesson pre.mermaid")
    expect(diagrams).to_have_count(body.count("```mermaid"))
    for i in range(body.count("```mermaid")):
        expect(diagrams.nth(i).locator("svg")).to_have_count(1, timeout=30_000)
    text = page.locator("article.lesson").inner_text()
    assert "Syntax error" not in text and "mermaid version" not in text


def test_the_seed_lesson_reads_in_korean_and_english_with_its_exercises(stack, browser, seed):
    UserFactory(username="jiwoo")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    login(page, stack.base_url, "jiwoo")
    page.goto(f"{stack.base_url}/")
    expect(page.get_by_text("컨테이너 이미지 최적화와 보안").first).to_be_visible()
    page.goto(f"{stack.base_url}/courses/image-optimisation/{seed.slug}/")
    expect(page.locator("article.lesson h1").first).to_be_visible()
    assert seed.body_md.count("```mermaid") >= 1
    diagrams_drawn(page, seed.body_md)
    expect(page.locator("article.lesson .language-dockerfile.highlight").first).to_be_visible()
    links = page.locator("section.card ul li a")
    expect(links).to_have_count(len(EXERCISES))

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    diagrams_drawn(page, seed.body_md_en)
    assert (
        page.locator("article.lesson").inner_text().count("Multi-stage")
        + page.locator("article.lesson").inner_text().count("multi-stage")
        > 0
    )
    page.close()


@pytest.mark.parametrize("slug", EXERCISES)
def test_every_seed_exercise_opens_with_instructions_starter_and_context(stack, browser, seed, slug):
    UserFactory(username=f"u-{slug}"[:30])
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="ko-KR")
    login(page, stack.base_url, f"u-{slug}"[:30])
    page.goto(stack.base_url + Exercise.objects.get(course=seed.course, slug=slug).get_absolute_url())
    expect(page.locator("section.instructions")).to_be_visible()
    starter = page.locator("#dockerfile").input_value()
    assert starter.strip().splitlines()[-1], "the starter Dockerfile is in the editor"
    assert "FROM" in starter
    expect(page.locator("details.context-files summary").first).to_contain_text("빌드 컨텍스트")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.close()
