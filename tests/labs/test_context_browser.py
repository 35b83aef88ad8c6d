"""In Debian's chromium: the exercise page's build context as a tree, browsed by mouse and by
keyboard, each file shown highlighted in the viewer; screenshots of the exercise page at phone
and desktop width in both languages."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, expect

from tests.browser import SCREENSHOTS, login
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "image-optimisation"


@pytest.fixture
def seed() -> None:
    call_command("import_course", str(SHIPPED), stdout=StringIO())


@pytest.mark.parametrize(("lang", "width"), [("ko", 390), ("en", 390), ("ko", 1280), ("en", 1280)])
def test_the_context_tree_opens_each_file_highlighted_by_mouse_and_keyboard(
    stack, browser: Browser, seed: None, lang: str, width: int
) -> None:
    name = f"ctx-{lang}-{width}"
    UserFactory(username=name)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="ko-KR" if lang == "ko" else "en-US"
    )
    page = context.new_page()
    login(page, stack.base_url, name)
    page.goto(f"{stack.base_url}/labs/image-optimisation/exercises/node-multistage/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator(".context-files > summary").click()
    tree = page.locator(".context-tree")
    expect(tree.locator("summary", has_text="src/")).to_be_visible()
    viewer = page.locator(".context-view:visible")
    expect(viewer).to_have_count(1)
    first_path = tree.locator("a").first.get_attribute("data-path")
    expect(viewer).to_have_attribute("data-path", first_path or "")
    expect(tree.locator("a[aria-current=true]")).to_have_attribute("data-path", first_path or "")

    tree.get_by_role("link", name="package.json", exact=True).click()
    expect(viewer).to_have_attribute("data-path", "package.json")
    expect(viewer.locator(".context-view-head")).to_contain_text("JSON")
    expect(viewer.locator(".highlight .nt").first).to_be_visible()  # a JSON key, in Pygments' colour
    assert (
        viewer.locator(".highlight .nt").first.evaluate("e => getComputedStyle(e).color") == "rgb(0, 128, 0)"
    )
    expect(tree.locator("a[aria-current=true]")).to_have_attribute("data-path", "package.json")

    # By keyboard: fold the src/ directory with Enter, open it again, then open a file in it.
    folder = tree.locator("summary", has_text="src/")
    folder.focus()
    page.keyboard.press("Enter")
    expect(folder.locator("..")).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(folder.locator("..")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.path")
    assert focused.startswith("src/")
    page.keyboard.press("Enter")
    expect(viewer).to_have_attribute("data-path", focused)
    code = viewer.locator(".context-code")
    code.focus()
    assert code.evaluate("e => getComputedStyle(e).outlineStyle") == "solid", "focus is visible"
    widest = page.evaluate(
        "() => [...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth)"
        ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") == width, ("no sideways page scroll", widest)
    page.goto(f"{stack.base_url}/labs/image-optimisation/exercises/node-multistage/")
    page.locator(".context-files > summary").click()
    tree.get_by_role("link", name="package.json", exact=True).click()
    page.screenshot(
        path=str(SCREENSHOTS / f"exercise-{lang}-{'phone' if width < 500 else 'desktop'}.png"), full_page=True
    )
    context.close()


def test_the_platforms_large_files_are_named_not_shown(stack, browser: Browser, seed: None) -> None:
    UserFactory(username="pgo")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    login(page, stack.base_url, "pgo")
    page.goto(f"{stack.base_url}/labs/image-optimisation/exercises/python-runtime-pgo/")
    page.locator(".context-files > summary").click()
    link = page.locator(".context-tree a", has_text="Python-")
    expect(link).to_have_count(1)
    expect(page.locator(".context-tree [data-role=provided-tag]")).to_have_text(["provided"])
    link.click()
    viewer = page.locator(".context-view:visible")
    expect(viewer.locator("[data-role=provided]")).to_have_text(
        "Provided by the platform (too large to show)."
    )
    expect(viewer.locator(".context-code")).to_have_count(0)
    page.close()
