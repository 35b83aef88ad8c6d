"""Layers and history in a real browser with a real build: the bars of the student's layers
apart from the base's, one layer's files, live scores, and two attempts compared."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from labs.models import Submission
from sandbox import engine
from tests.browser import SCREENSHOTS, axe_report, axe_violations, fill_dockerfile, login
from tests.factories import ExerciseFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _dockerfile(nonce: str, *, user: bool) -> str:
    return (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY app.py /app/\n"
        f"RUN echo {nonce} > /app/built.txt && mkdir -p /app/data && echo x > /app/data/one.txt\n"
        + ("USER nobody\n" if user else "")
        + 'CMD ["python", "/app/app.py"]\n'
    )


def _finished(page, submission_id: int) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator("#live")).to_have_attribute("data-submission", str(submission_id))
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)


def test_layer_bars_a_layers_files_live_scores_and_two_attempts_compared(stack, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    UserFactory(username="layla")
    exercise = ExerciseFactory()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    login(page, stack.base_url, "layla")
    page.goto(stack.base_url + exercise.get_absolute_url())
    nonce = uuid.uuid4().hex

    fill_dockerfile(page, _dockerfile(nonce, user=False))
    page.click("#submit-button")
    first = Submission.objects.get(owner__username="layla")
    _finished(page, first.pk)
    first.refresh_from_db()
    base_layers = len(engine.image_attrs("python:3.11-slim")["RootFS"]["Layers"])

    section = page.locator("#layers")
    expect(section).to_have_attribute("data-loaded", "true")
    yours = section.locator('[data-role="layer-bars"] > li.layer')
    expect(yours).to_have_count(3)  # WORKDIR, COPY, RUN
    assert first.layer_count == base_layers + 3
    expect(yours.nth(0).locator(".layer-instruction")).to_have_text("WORKDIR /app")
    expect(yours.nth(2).locator(".layer-instruction")).to_contain_text(f"RUN echo {nonce}")
    expect(yours.nth(2).locator(".layer-line")).to_have_attribute("href", "#L4")
    base = section.locator('[data-role="base-layers"]')
    expect(base.locator("summary")).to_contain_text(f"python:3.11-slim: {base_layers} layers")
    expect(base.locator("li.layer")).to_have_count(base_layers)
    expect(base.locator("li.layer").first).not_to_be_visible()  # collapsed until asked

    toggle = yours.nth(2).locator('[data-role="layer-files-toggle"]')
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    tree = yours.nth(2).locator('[data-role="file-tree"]')
    expect(tree.locator("li.file", has_text="built.txt")).to_contain_text("added")
    data_dir = tree.locator("summary", has_text="data/")
    expect(tree.locator("li.file", has_text="one.txt")).not_to_be_visible()
    data_dir.focus()
    page.keyboard.press("Enter")  # a directory opens from the keyboard
    expect(tree.locator("li.file", has_text="one.txt")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "layers-exercise-desktop.png"), full_page=True)
    found = axe_violations(page)
    assert found == [], axe_report(found, "exercise page with layers: ")
    section.screenshot(path=str(SCREENSHOTS / "layers-section-desktop.png"))

    fill_dockerfile(page, _dockerfile(nonce, user=True))
    page.click("#submit-button")
    second = Submission.objects.filter(owner__username="layla").exclude(pk=first.pk).get()
    _finished(page, second.pk)
    second.refresh_from_db()
    # The list of attempts took the score from the live stream.
    expect(page.locator(f'[data-history-score="{second.pk}"]')).to_have_text(f"{second.score:.1f}")
    expect(page.locator("#layers")).to_have_attribute("data-loaded", "true")

    page.click('[data-role="history-link"]')
    rows = page.locator('[data-role="attempts"] tbody tr')
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator(f'[data-history-score="{second.pk}"]')).to_have_text(f"{second.score:.1f}")
    page.click(".compare-form button")
    diff = page.locator('[data-role="diff"]')
    expect(diff.locator("tr.added")).to_have_count(1)
    expect(diff.locator("tr.added .code")).to_have_text("USER nobody")
    expect(diff.locator("tr.removed")).to_have_count(0)
    changes = page.locator('[data-role="verdict-changes"] tbody tr')
    expect(page.locator('[data-role="verdict-changes"] tr[data-criterion="sec.final_user"]')).to_have_count(1)
    assert changes.count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "history-desktop.png"), full_page=True)
    found = axe_violations(page)
    assert found == [], axe_report(found, "history page: ")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="en-US")
    login(phone, stack.base_url, "layla")
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.screenshot(path=str(SCREENSHOTS / "history-phone.png"), full_page=True)
    phone.goto(f"{stack.base_url}/labs/submissions/{first.pk}/")
    expect(phone.locator("h1")).to_have_text(f"{exercise.title}: attempt 1")
    expect(phone.locator('[data-role="next-attempt"]')).to_have_attribute(
        "href", f"/labs/submissions/{second.pk}/"
    )
    expect(phone.locator("#layers")).to_have_attribute("data-loaded", "true")
    phone.locator('#layers [data-role="layer-bars"] > li.layer').nth(2).locator("button").click()
    expect(phone.locator('#layers [data-role="file-tree"]')).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.screenshot(path=str(SCREENSHOTS / "layers-submission-phone.png"), full_page=True)
    phone.locator("#layers").screenshot(path=str(SCREENSHOTS / "layers-section-phone.png"))
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(SCREENSHOTS / "submission-top-phone.png"))
    phone.close()
    page.close()
