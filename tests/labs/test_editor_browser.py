"""The code editor on the exercise page, in a real browser against a real stack: the seed
course's Node exercise opens with its starter in CodeMirror, findings appear before building as
the student types, the draft survives a reload, "Restore starter" asks first, the keyboard can
leave the editor, and after a real grading the findings sit on their lines."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from labs.models import Exercise, Submission, SubmissionEvent
from labs.selectors import exercise_static_findings
from tests.browser import DESKTOP, EDITOR_SELECTION, PHONE, SCREENSHOTS, fill_dockerfile, login
from tests.conftest import wait_finished
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "image-optimisation"
# Builds in seconds without the network (no install): fails the multi-stage, user and exec-form
# criteria, each on its line.
QUICK = "FROM node:18-bookworm-slim\nWORKDIR /app\nCOPY . .\nCMD node dist/server.js\n"

EDITOR_TEXT = "window.layerlabEditor.text()"
DIAGNOSTICS = "window.layerlabEditor.diagnostics().filter((d) => d.source === source)"


def diagnostics(page, source: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    found = page.evaluate(f"(source) => {DIAGNOSTICS}", source)
    return sorted((d["line"], d["severity"]) for d in found)


def worst_by_line(findings: list[dict]) -> dict[int, str]:
    """Each line a failed or partial finding names, with the worst severity on it."""
    worst: dict[int, str] = {}
    for f in findings:
        if f["verdict"] in ("fail", "partial"):
            for line in f["lines"]:
                bad = f["verdict"] == "fail" or worst.get(line) == "error"
                worst[line] = "error" if bad else "warning"
    return worst


def test_the_editor_from_typing_to_graded_findings(stack, browser):
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    exercise = Exercise.objects.get(course__slug="image-optimisation", slug="node-multistage")
    starter = exercise.starter_dockerfile
    UserFactory(username="hana")
    page = browser.new_page(viewport=DESKTOP, locale="en-US", extra_http_headers={"Accept-Language": "en"})
    login(page, stack.base_url, "hana")
    page.goto(stack.base_url + exercise.get_absolute_url())

    # The starter, in the editor, with line numbers; the textarea it replaces is hidden.
    editor = page.locator(".cm-editor.cm-dockerfile")
    expect(editor).to_be_visible()
    expect(page.locator("#dockerfile")).to_be_hidden()
    assert page.evaluate(EDITOR_TEXT) == starter
    numbers = editor.locator(".cm-lineNumbers .cm-gutterElement:not([style*='visibility: hidden'])")
    expect(numbers.filter(has_text="7")).to_have_count(1)
    expect(editor.locator(".cm-content")).to_have_attribute("aria-labelledby", "dockerfile-label")
    # This exercise's rubric does not grade a .dockerignore: the field is folded, and labelled.
    expect(page.locator('details[data-role="dockerignore-field"] summary')).to_have_text(
        ".dockerignore (optional): files to keep out of the build context"
    )

    # The label puts the cursor in the editor; a typed shell-form ENTRYPOINT is found before building.
    page.click("#dockerfile-label")
    page.keyboard.press("Control+End")
    page.keyboard.type("\nENTRYPOINT npm start")
    typed = starter + "\nENTRYPOINT npm start"
    assert page.evaluate(EDITOR_TEXT) == typed
    assert page.locator("#dockerfile").input_value() == typed  # the form posts what is shown
    expect(page.locator('[data-role="lint-state"]')).to_have_attribute("data-state", "ok")
    page.wait_for_function(
        "window.layerlabEditor.diagnostics().some((d) => d.line === 9 && d.source === 'Before building')"
    )
    before = worst_by_line(exercise_static_findings(exercise=exercise, dockerfile=typed, dockerignore=""))
    assert before[9] == "error" and before[7] == "error"  # the typed ENTRYPOINT and the starter's CMD
    assert diagnostics(page, "Before building") == sorted(before.items())
    line9 = editor.locator(".cm-line").nth(8)
    expect(line9.locator(".cm-lintRange-error.cm-lint-before")).to_have_text("ENTRYPOINT npm start")
    line9.locator(".cm-lintRange").hover()
    tip = page.locator(".cm-tooltip-lint")
    expect(tip).to_contain_text("CMD and ENTRYPOINT in exec form")
    expect(tip).to_contain_text("Before building")
    expect(tip).to_contain_text("How to fix")
    page.screenshot(path=str(SCREENSHOTS / "editor-before-building-desktop.png"))

    # Tab indents in the editor; Escape, then Tab, leaves it.
    page.keyboard.press("Tab")
    assert page.evaluate(EDITOR_TEXT) != typed
    page.keyboard.press("Control+z")
    assert page.evaluate(EDITOR_TEXT) == typed
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.cm-editor') === null")
    assert page.evaluate(EDITOR_TEXT) == typed

    # A reload brings the draft back, and says so.
    page.reload()
    expect(page.locator('[data-role="draft-note"]')).to_contain_text("Your unsubmitted draft from")
    assert page.evaluate(EDITOR_TEXT) == typed
    page.locator('[data-role="draft-note"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "editor-draft-restored-desktop.png"))

    # "Restore starter" asks first, with Cancel focused; Cancel keeps the text, Restore puts the starter back.
    restore = page.locator('[data-role="restore-starter"]')
    restore.click()
    dialog = page.locator('dialog[data-role="restore-dialog"]')
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.value") == "cancel"
    page.screenshot(path=str(SCREENSHOTS / "editor-restore-dialog-desktop.png"))
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert page.evaluate(EDITOR_TEXT) == typed
    restore.click()
    dialog.get_by_role("button", name="Restore starter").click()
    expect(page.locator('[data-role="draft-note"]')).to_have_text("The starter was restored.")
    assert page.evaluate(EDITOR_TEXT) == starter

    # A real submission: once graded, each failed or partial check sits on the lines it names.
    fill_dockerfile(page, QUICK)
    page.click("#submit-button")
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=240_000)
    submission = Submission.objects.get(owner__username="hana")
    assert wait_finished(submission.pk).status == Submission.Status.DONE
    events = SubmissionEvent.objects.filter(submission=submission, kind="check")
    named = worst_by_line([e.payload for e in events])
    assert named, "the quick Dockerfile fails criteria that name lines"
    page.wait_for_function("window.layerlabEditor.diagnostics().some((d) => d.source === 'Graded')")
    assert diagnostics(page, "Graded") == sorted(named.items())
    markers = editor.locator(".cm-gutter-lint .cm-gutterElement .cm-lint-marker")
    expect(markers).to_have_count(len(named))  # one marker per line, the worst verdict's
    check = page.locator('#live .check[data-criterion="opt.exec_form"]')
    expect(check).to_have_attribute("data-verdict", "fail")
    check.locator(".line-link").first.click()
    assert page.evaluate(EDITOR_SELECTION) == [True, "CMD node dist/server.js", True]
    page.screenshot(path=str(SCREENSHOTS / "editor-graded-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto(stack.base_url + exercise.get_absolute_url())
    expect(editor).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-finished", "true")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SCREENSHOTS / "editor-phone.png"), full_page=True)
    page.close()
