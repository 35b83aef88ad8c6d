"""A lesson page in a real browser (Debian's chromium driven by Playwright): the seed lesson's
Mermaid diagrams are drawn by the vendored Mermaid, its code is highlighted, and a phone never
has to scroll the page sideways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import login
from tests.factories import SessionFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SEED_LESSON = Path(__file__).parent / "data" / "week2-day2-session2-image-optimization.ko.md"


@pytest.fixture
def seed_session():
    text = SEED_LESSON.read_text(encoding="utf-8")
    session = SessionFactory(title="이미지 최적화 및 빌드 전략", body_md=text)
    return session, text


def open_lesson(browser: Browser, stack, session, username: str, width: int, height: int) -> Page:
    UserFactory(username=username)
    page = browser.new_page(viewport={"width": width, "height": height})
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(stack.base_url) else None,
    )
    page.external_requests = external  # type: ignore[attr-defined]
    login(page, stack.base_url, username)
    page.goto(f"{stack.base_url}/courses/{session.course.slug}/{session.slug}/")
    return page


def assert_diagrams_drawn(page: Page, expected: int) -> None:
    diagrams = page.locator("article.lesson pre.mermaid")
    expect(diagrams).to_have_count(expected)
    for i in range(expected):
        expect(diagrams.nth(i).locator("svg")).to_have_count(1, timeout=30_000)
    text = page.locator("article.lesson").inner_text()
    assert "Syntax error" not in text
    assert "mermaid version" not in text  # Mermaid's error diagram says "... mermaid version x"


def test_the_seed_lesson_draws_its_diagrams_and_highlights_its_code(stack, browser, seed_session):
    session, text = seed_session
    page = open_lesson(browser, stack, session, "hana", 1280, 900)
    expect(page.locator("article.lesson h1")).to_contain_text("이미지 최적화 및 빌드 전략")
    assert_diagrams_drawn(page, text.count("```mermaid"))
    first = page.locator("article.lesson pre.mermaid").first
    expect(first.locator("svg")).to_contain_text("Build Stage")
    expect(page.locator("article.lesson pre.mermaid").nth(1).locator("svg")).to_contain_text("Docker Daemon")

    dockerfile = page.locator("article.lesson .language-dockerfile.highlight").first
    keyword = dockerfile.locator("span.k", has_text="FROM").first
    expect(keyword).to_be_visible()
    plain = dockerfile.locator("span.w").first.evaluate("e => getComputedStyle(e).color")
    assert keyword.evaluate("e => getComputedStyle(e).color") != plain, "Pygments CSS is applied"
    expect(page.locator("article.lesson .language-bash.highlight")).to_have_count(1)

    toc = page.locator("#lesson-toc")
    expect(toc).to_have_attribute("open", "")
    toc.get_by_role("link", name="학습 목표 (5분)").click()
    expect(page).to_have_url(re.compile(r"#%ED%95%99%EC%8A%B5|#학습"))
    assert page.external_requests == [], "nothing is fetched from outside the site"  # type: ignore[attr-defined]
    page.close()


def test_the_lesson_page_does_not_scroll_sideways_on_a_phone(stack, browser, seed_session):
    session, text = seed_session
    page = open_lesson(browser, stack, session, "minsu", 390, 844)
    assert_diagrams_drawn(page, text.count("```mermaid"))
    toc = page.locator("#lesson-toc")
    expect(toc).not_to_have_attribute("open", "")  # folded on a phone
    toc.locator("summary").click()
    expect(toc.get_by_role("link", name="학습 목표 (5분)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "no sideways scrolling on a phone"
    )
    tree = page.locator("article.lesson pre", has_text="├── Alpine Linux").first
    assert tree.evaluate("e => e.scrollWidth > e.clientWidth"), "a wide code block scrolls in its own box"
    page.close()
