"""What the page does with text that is not what it seems, in a real browser (Debian's chromium
driven by Playwright): invisible direction controls in the graded Dockerfile are shown as
markers, notices arrive with their line buttons, and terminal escape codes never show."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labs.events import event_emit
from labs.models import Submission
from tests.browser import fill_dockerfile, login
from tests.factories import SubmissionFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,  # the stack's worker
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# Reads "safe" on screen but ends in .sh: the override reverses what follows it.
TROJAN = 'FROM python:3.11-slim\nRUN echo "safe \u202ehs.lave"\nCMD ["python"]\n'


def test_a_direction_override_shows_as_a_marker_and_its_notice_points_at_the_line(stack, browser):
    user = UserFactory(username="hana")
    submission = SubmissionFactory(
        owner=user,
        dockerfile=TROJAN,
        status=Submission.Status.FAILED,
        failure_code="run_failed",
        failure_line=2,
    )
    bidi = "U+202E RIGHT-TO-LEFT OVERRIDE"
    korean = f"2번째 줄: 이 줄에 글자가 표시되는 방향을 바꾸는 보이지 않는 문자가 있습니다: {bidi}."
    event_emit(
        submission_id=submission.pk,
        kind="step",
        payload={"id": "5", "name": 'RUN echo "safe \u202ehs.lave"', "stage": "", "index": 2, "total": 2,
                 "line": 2, "internal": False, "state": "error", "seconds": None},
    )  # fmt: skip
    event_emit(
        submission_id=submission.pk,
        kind="log",
        payload={"lines": [{"step": "5", "line": "\x1b[31mcoloured\x1b[0m output"}]},
    )
    event_emit(
        submission_id=submission.pk,
        kind="status",
        payload={
            "status": "failed",
            "message": "line 2: the command failed.",
            "code": "run_failed",
            "line": 2,
            "message_ko": "2번째 줄: 명령이 실패했습니다.",
            "notices": [
                {
                    "code": "bidi_control",
                    "line": 2,
                    "message": f"line 2: this line contains invisible characters ...: {bidi}.",
                    "message_ko": korean,
                }
            ],
        },
    )
    page = browser.new_page(locale="ko-KR")
    login(page, stack.base_url, "hana")
    page.goto(f"{stack.base_url}/labs/submissions/{submission.pk}/")
    expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=30_000)

    row = page.locator('[data-role="dockerfile"] #L2')
    expect(row).to_have_text('RUN echo "safe ⟨U+202E⟩hs.lave"')
    expect(row.locator(".bidi-mark")).to_have_attribute("title", bidi)
    expect(page.locator('[data-role="dockerfile"] #L3')).to_have_text('CMD ["python"]')
    expect(page.locator("#live .step-name")).to_have_text('RUN echo "safe ⟨U+202E⟩hs.lave" (줄 2)')

    notices = page.locator('#live [data-role="notices"]')
    expect(notices).to_be_visible()
    notice = notices.locator('.notice[data-code="bidi_control"]')
    expect(notice).to_have_text(
        f"줄 2 2번째 줄: 이 줄에 글자가 표시되는 방향을 바꾸는 보이지 않는 문자가 있습니다: {bidi}."
    )
    notice.locator(".line-link").click()
    expect(row).to_have_class("flagged flagged-check")

    expect(page.locator('#live [data-role="log"]')).to_have_text("coloured output\n")

    # The editor starts with the last submission, and says what it holds that cannot be seen.
    page.goto(stack.base_url + submission.exercise.get_absolute_url())
    warning = page.locator('[data-role="bidi-warning"]')
    expect(warning).to_have_text(
        "보이지 않는 방향 제어 문자가 있습니다. 화면에 보이는 것과 실행되는 것이 다를 수 있습니다 — "
        f"줄 2: {bidi}"
    )
    fill_dockerfile(page, TROJAN.replace("\u202e", ""))
    expect(warning).to_be_hidden()
    page.close()
