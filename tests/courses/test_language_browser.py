"""In Debian's chromium: the language chosen in one browser is found in a fresh one after logging
in; the seed lesson on a phone keeps its diagrams and tables readable, each scrolling sideways in
its own box, reachable by keyboard; screenshots of the course and lesson pages at phone and
desktop width in both languages."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from courses.models import Session
from tests.browser import SCREENSHOTS, login
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "image-optimisation"


@pytest.fixture
def seed() -> Session:
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    return Session.objects.get(course__slug="image-optimisation")


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def test_english_chosen_in_one_browser_is_found_in_a_fresh_one(stack, browser: Browser) -> None:
    UserFactory(username="yuna")
    first = browser.new_context(locale="ko-KR")
    page = first.new_page()
    login(page, stack.base_url, "yuna")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    first.close()

    fresh = browser.new_context(locale="ko-KR")  # no cookies; the browser asks for Korean
    page = fresh.new_page()
    page.goto(f"{stack.base_url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    login(page, stack.base_url, "yuna")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Courses")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # Back to Korean here, and the first browser's next login finds Korean.
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    fresh.close()
    again = browser.new_context(locale="en-US")
    page = again.new_page()
    login(page, stack.base_url, "yuna")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("강좌")
    again.close()


def open_lesson(browser: Browser, stack, seed: Session, lang: str, width: int) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": width, "height": 844 if width < 500 else 900},
        locale="ko-KR" if lang == "ko" else "en-US",
    )
    page = context.new_page()
    login(page, stack.base_url, f"reader-{lang}-{width}")
    page.goto(f"{stack.base_url}/courses/image-optimisation/{seed.slug}/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("data-diagrams", "drawn", timeout=30_000)
    return page


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_seed_lesson_on_a_phone_scrolls_wide_boxes_instead_of_shrinking(
    stack, browser: Browser, seed: Session, lang: str
) -> None:
    UserFactory(username=f"reader-{lang}-390")
    page = open_lesson(browser, stack, seed, lang, 390)
    diagrams = page.locator("article.lesson pre.mermaid")
    expect(diagrams).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") == 390, "the page never scrolls sideways"
    label = "다이어그램" if lang == "ko" else "Diagram"
    widths = []
    for i in range(5):
        box = diagrams.nth(i)
        expect(box).to_have_attribute("aria-label", label)
        expect(box).to_have_attribute("role", "region")
        svg = box.locator("svg")
        natural = svg.evaluate("s => s.viewBox.baseVal.width")
        drawn = svg.evaluate("s => s.getBoundingClientRect().width")
        column = box.evaluate(
            "e => e.clientWidth - parseFloat(getComputedStyle(e).paddingLeft)"
            " - parseFloat(getComputedStyle(e).paddingRight)"
        )
        # Shrunk to the column at most to 85 % of its own width; past that the box scrolls.
        expected = max(round(natural * 0.85), min(natural, column))
        assert abs(drawn - expected) < 1, (drawn, natural, column)
        widths.append(natural)
    wide = [i for i, w in enumerate(widths) if w > 360]
    assert wide, "the seed lesson has diagrams wider than a phone"
    box = diagrams.nth(wide[0])
    expect(box).to_have_attribute("tabindex", "0")
    box.focus()
    assert box.evaluate("e => e === document.activeElement")
    assert box.evaluate("e => getComputedStyle(e).outlineStyle") == "solid", "focus is visible"
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "i => document.querySelectorAll('article.lesson pre.mermaid')[i].scrollLeft > 0", arg=wide[0]
    )
    tables = page.locator("article.lesson .scroll-box")
    assert tables.count() >= 1
    expect(tables.first).to_have_attribute("aria-label", "표" if lang == "ko" else "Table")
    # Code keeps its lines: a long line scrolls, it is not wrapped or broken mid-word.
    code = page.locator("article.lesson .highlight pre").first
    assert code.evaluate("e => getComputedStyle(e.querySelector('code')).whiteSpace") == "pre"
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, f"lesson-{lang}-phone", full_page=False)  # the whole lesson is 30 000 px tall
    for i in range(5):  # each diagram's box as it looks on the phone, to be looked at
        diagrams.nth(i).screenshot(path=str(SCREENSHOTS / f"lesson-{lang}-phone-diagram-{i + 1}.png"))
    tables.first.screenshot(path=str(SCREENSHOTS / f"lesson-{lang}-phone-table.png"))
    page.context.close()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_lesson_and_course_pages_at_desktop_width(
    stack, browser: Browser, seed: Session, lang: str
) -> None:
    UserFactory(username=f"reader-{lang}-1280")
    page = open_lesson(browser, stack, seed, lang, 1280)
    assert page.evaluate("document.documentElement.scrollWidth") == 1280
    shot(page, f"lesson-{lang}-desktop", full_page=False)
    page.locator("article.lesson pre.mermaid").first.screenshot(
        path=str(SCREENSHOTS / f"lesson-{lang}-desktop-diagram-1.png")
    )
    for width, name in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{stack.base_url}/courses/image-optimisation/")
        description = page.locator("[data-role=course-description]")
        if lang == "ko":
            expect(description).to_have_text(
                "멀티 스테이지 빌드, 빌드 캐시, 이미지 보안, 그리고 PGO·LTO로 "
                "소스에서 빌드하는 파이썬 런타임 레이어."
            )
        else:
            expect(description).to_have_text(
                "Multi-stage builds, the build cache, image security, and a Python runtime layer "
                "built from source with PGO and LTO."
            )
        assert page.evaluate("document.documentElement.scrollWidth") == width
        shot(page, f"course-{lang}-{name}")
    page.context.close()


def test_the_page_has_a_favicon(stack, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{stack.base_url}/login/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href == "/static/favicon.svg"
    response = page.request.get(f"{stack.base_url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
    page.close()
