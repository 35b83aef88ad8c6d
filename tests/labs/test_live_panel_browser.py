"""The live build panel in a real browser (Debian's chromium driven by Playwright) on a real
build: steps as a progress bar in Dockerfile order, a log that can be searched and narrowed to
one step, colours drawn from a fixed set of classes, only status changes spoken, and refusals
that say what happened instead of showing an older result."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from labs.events import event_emit
from labs.models import Submission
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, fill_dockerfile, login
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

TICKS = 16


def two_stage(nonce: str) -> str:
    # The final stage's WORKDIR can run while the first stage's RUN is still printing, so the
    # steps arrive out of Dockerfile order; the sleeps keep one step running long enough to see.
    return (
        "FROM python:3.11-slim AS build\n"
        "WORKDIR /src\n"
        f"RUN echo {nonce}-build && printf '\\033[31mred {nonce}\\033[0m\\n' && "
        f"for i in $(seq 1 {TICKS}); do echo tick-$i; sleep 0.5; done\n"
        "\n"
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY --from=build /src /src\n"
        f"RUN echo {nonce}-final\n"
        'CMD ["python", "-c", "print(1)"]\n'
    )


def student_page(browser, stack, username: str, viewport: dict[str, int], locale: str = "en-US") -> Page:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=viewport, locale=locale)
    login(page, stack.base_url, username)
    return page


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_a_two_stage_build_shows_its_steps_in_order_a_searchable_coloured_log_and_speaks_only_status(
    stack, browser
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    UserFactory(username="minji")
    exercise = ExerciseFactory()
    nonce = uuid.uuid4().hex[:10]
    page = student_page(browser, stack, "minji", DESKTOP)
    page.goto(stack.base_url + exercise.get_absolute_url())
    fill_dockerfile(page, two_stage(nonce))
    page.click("#submit-button")

    live = page.locator("#live")
    expect(live.locator(".step.running")).to_have_count(1, timeout=120_000)
    expect(live.locator('[data-role="log"]')).to_contain_text("tick-2", timeout=60_000)
    submission = Submission.objects.get(owner__username="minji")
    phone = student_page(browser, stack, "minji", PHONE)
    phone.goto(f"{stack.base_url}/labs/submissions/{submission.pk}/")
    expect(phone.locator("#live .step.running")).to_have_count(1, timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "live-panel-running-desktop.png"), full_page=True)
    live.locator('[data-role="build"]').screenshot(
        path=str(SCREENSHOTS / "live-panel-running-steps-desktop.png")
    )
    phone.screenshot(path=str(SCREENSHOTS / "live-panel-running-phone.png"), full_page=True)
    phone.locator('#live [data-role="build"]').scroll_into_view_if_needed()
    phone.screenshot(path=str(SCREENSHOTS / "live-panel-running-phone-steps.png"))
    assert no_sideways_scroll(phone), "nothing overflows a phone sideways while building"

    expect(live).to_have_attribute("data-finished", "true", timeout=240_000)
    expect(live.locator('[data-role="status"]')).to_have_attribute("data-status", "done")

    # Seven steps: FROM, WORKDIR, RUN; FROM, WORKDIR, COPY, RUN (CMD builds nothing).
    rows = live.locator(".step")
    expect(rows).to_have_count(7)
    expect(live.locator('[data-role="progress-text"]')).to_have_text("7 of 7 steps done")
    bar = live.locator('progress[data-role="progress"]')
    assert (bar.get_attribute("max"), bar.evaluate("b => b.value")) == ("7", 7)
    expect(bar).to_have_attribute("aria-valuetext", "7 of 7 steps done")
    expect(bar).to_have_accessible_name("Build steps")
    assert rows.evaluate_all("rs => rs.map(r => r.querySelector('.step-no').textContent)") == [
        str(n) for n in range(1, 8)
    ]
    assert live.locator(".stage-name").all_inner_texts() == ["Stage “build”", "Stage 2"]
    names = live.locator(".step-name").all_text_contents()
    assert names == [
        "FROM python:3.11-slim AS build (line 1)",
        "WORKDIR /src (line 2)",
        names[2],
        "FROM python:3.11-slim (line 5)",
        "WORKDIR /app (line 6)",
        "COPY --from=build /src /src (line 7)",
        f"RUN echo {nonce}-final (line 8)",
    ]
    assert names[2].startswith(f"RUN echo {nonce}-build") and names[2].endswith("(line 3)")
    for state in live.locator(".step-state").all_text_contents():
        assert re.fullmatch(r"CACHED|DONE \d+\.\d s", state), state
    expect(live.locator(".step").nth(2).locator(".step-state")).to_have_text(re.compile(r"^DONE \d+\.\d s$"))

    # The log folded away once the build worked; one click opens it. Each line is tagged with
    # its step's number, the colour is a class, no escape code is left.
    log = live.locator('[data-role="log"]')
    expect(log).to_be_hidden()
    live.locator('[data-role="log-section"] > summary').click()
    expect(log).to_be_visible()
    total = 1 + 1 + TICKS + 1
    expect(live.locator('[data-role="log-count"]')).to_have_text(f"{total} lines")
    red = log.locator(".log-line", has_text=f"red {nonce}")
    expect(red.locator("span.ansi-fg-31")).to_have_text(f"red {nonce}")
    assert red.get_attribute("data-no") == "3"
    assert red.evaluate("n => getComputedStyle(n, '::before').content") == '"3"'
    final_line = log.locator(".log-line", has_text=f"{nonce}-final")
    assert final_line.get_attribute("data-no") == "7"
    text = log.text_content() or ""
    assert "\x1b" not in text and "[31m" not in text and "[0m" not in text

    # Search: a labelled field, a count, Enter to the next match, Escape to clear.
    search = page.get_by_label("Search the log")
    search.fill(nonce)
    expect(log.locator(".log-line:visible")).to_have_count(3)
    expect(live.locator('[data-role="log-count"]')).to_have_text(f"3 of {total} lines")
    expect(log.locator("mark.log-hit")).to_have_text([nonce, nonce, nonce])
    search.press("Enter")
    expect(live.locator('[data-role="log-count"]')).to_have_text("match 1 of 3")
    expect(log.locator(".log-line.current")).to_have_text(f"{nonce}-build\n")
    search.press("Escape")
    expect(search).to_have_value("")
    expect(live.locator('[data-role="log-count"]')).to_have_text(f"{total} lines")
    expect(log.locator("mark")).to_have_count(0)

    # One step's lines only, from its row.
    pick = live.locator(".step").nth(2).locator(".step-log")
    expect(pick).to_have_text(f"{TICKS + 2} log lines")
    pick.click()
    expect(pick).to_have_attribute("aria-pressed", "true")
    expect(log.locator(".log-line:visible")).to_have_count(TICKS + 2)
    count = live.locator('[data-role="log-count"]')
    expect(count).to_have_text(f"{TICKS + 2} of {total} lines · only step 3")
    live.locator('[data-role="log-all"]').click()
    expect(log.locator(".log-line:visible")).to_have_count(total)

    # Scroll boxes are reachable by keyboard and named.
    expect(log).to_have_attribute("tabindex", "0")
    expect(log).to_have_accessible_name("Build log")
    expect(live.locator(".steps-box")).to_have_attribute("tabindex", "0")
    expect(live.locator(".steps-box")).to_have_accessible_name("Build steps")

    # Only the status region is live, and it said the final status with the score.
    live_regions = page.locator("#live[aria-live], #live [aria-live]")
    expect(live_regions).to_have_count(1)
    expect(live_regions).to_have_attribute("data-role", "announce")
    submission.refresh_from_db()
    expect(live_regions).to_have_text(f"Done: Built and measured. Score {submission.score:.1f} / 100")
    layers = submission.layer_count
    expect(live.locator('[data-role="layer-count"]')).to_have_text(f"{layers} layers")
    expect(live.locator('[data-role="build-time"]')).to_have_text(re.compile(r"^built in \d+\.\d s$"))
    expect(live.locator('[data-role="image-size"]')).to_have_text(re.compile(r"^\d+\.\d MB$"))

    search.fill("tick-1")
    live.locator('[data-role="build"]').screenshot(
        path=str(SCREENSHOTS / "live-panel-finished-steps-desktop.png")
    )
    live.locator('[data-role="log-section"]').screenshot(
        path=str(SCREENSHOTS / "live-panel-search-desktop.png")
    )
    search.fill("")
    page.screenshot(path=str(SCREENSHOTS / "live-panel-finished-desktop.png"), full_page=True)
    phone.reload()
    expect(phone.locator("#live")).to_have_attribute("data-finished", "true", timeout=60_000)
    expect(phone.locator("#live .step")).to_have_count(7)
    expect(phone.locator('#live [data-role="announce"]')).to_have_text("")  # loaded finished: nothing to say
    phone.locator('#live [data-role="log-section"] > summary').click()
    phone.locator('#live [data-role="log"]').scroll_into_view_if_needed()
    phone.screenshot(path=str(SCREENSHOTS / "live-panel-finished-phone-log.png"))
    phone.screenshot(path=str(SCREENSHOTS / "live-panel-finished-phone.png"), full_page=True)
    steps = phone.locator('#live [data-role="build"]')
    steps.screenshot(path=str(SCREENSHOTS / "live-panel-finished-steps-phone.png"))
    assert no_sideways_scroll(phone), "nothing overflows a phone sideways once finished"
    page.close()
    phone.close()


def test_a_refused_base_is_not_built_and_says_why_with_its_lines(stack, browser):
    UserFactory(username="jiho")
    exercise = ExerciseFactory()
    page = student_page(browser, stack, "jiho", DESKTOP)
    page.goto(stack.base_url + exercise.get_absolute_url())
    fill_dockerfile(page, "FROM ubuntu:latest\nRUN apt-get update\nFROM alpine:3\n")
    page.click("#submit-button")

    live = page.locator("#live")
    expect(live).to_have_attribute("data-finished", "true", timeout=60_000)
    expect(live.locator('[data-role="status"]')).to_have_text("Not built")
    message = live.locator('[data-role="message"]')
    expect(message).to_have_text("Refused before building. See the problems below.")
    violations = live.locator('[data-role="failure"] .violation')
    expect(violations).to_have_count(2)
    expect(violations.nth(0).locator(".line-link")).to_have_text("line 1")
    expect(violations.nth(0)).to_contain_text("ubuntu:latest")
    expect(violations.nth(1).locator(".line-link")).to_have_text("line 3")
    expect(live.get_by_role("heading", name="Build steps")).to_be_hidden()
    expect(live.locator('[data-role="build"]')).to_be_hidden()
    expect(live.locator('[data-role="log-section"]')).to_be_hidden()
    expect(live).not_to_contain_text("build cache")
    page.screenshot(path=str(SCREENSHOTS / "live-panel-refused-desktop.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(
    ("dockerfile", "reason"),
    [
        ("   \n", "The Dockerfile is empty."),
        ("FROM python:3.11-slim\n# " + "x" * 70_000 + "\n", "The Dockerfile is larger than 64 KiB."),
    ],
    ids=["empty", "too-big"],
)
def test_a_refused_form_shows_the_refusal_and_no_earlier_result(stack, browser, dockerfile, reason):
    user = UserFactory(username=f"yuna-{len(dockerfile)}")
    exercise = ExerciseFactory()
    earlier = SubmissionFactory(owner=user, exercise=exercise, status=Submission.Status.DONE, score=55.0)
    page = student_page(browser, stack, user.username, PHONE)
    page.goto(stack.base_url + exercise.get_absolute_url())
    expect(page.locator('#live [data-role="live-title"]')).to_have_text(f"Submission #{earlier.pk}")
    fill_dockerfile(page, dockerfile)
    page.click("#submit-button")

    expect(page.locator(".msg-error")).to_have_text(reason)
    expect(page.locator("#live")).to_have_count(0)
    refused = page.locator('[data-role="form-refused"]')
    expect(refused.get_by_role("heading")).to_have_text("Not submitted")
    link = refused.locator('[data-role="previous-link"]')
    expect(link).to_have_text(f"Your previous submission, #{earlier.pk}")
    expect(link).to_have_attribute("href", f"/labs/submissions/{earlier.pk}/")
    expect(page.locator("body")).not_to_contain_text("55.0 / 100")
    assert Submission.objects.filter(owner=user).count() == 1
    assert no_sideways_scroll(page)
    if dockerfile.strip() == "":
        page.screenshot(path=str(SCREENSHOTS / "live-panel-form-refused-phone.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(
    ("locale", "one", "three"),
    [("en-US", "1 layer", "3 layers"), ("ko-KR", "레이어 1개", "레이어 3개")],
)
def test_layer_counts_are_pluralised_in_both_languages(stack, browser, locale, one, three):
    user = UserFactory(username=f"sora-{locale}")
    pages = []
    for layers in (1, 3):
        submission = SubmissionFactory(owner=user, status=Submission.Status.DONE, score=90.0)
        for state in ("waiting", "done"):
            for n, name in ((1, "FROM python:3.11-slim"), (2, "RUN make")):
                event_emit(
                    submission_id=submission.pk,
                    kind="step",
                    payload={"id": f"s0.{n}", "name": name, "stage": "", "index": n, "total": 2, "line": n,
                             "internal": False, "state": state, "seconds": 61.0 if n == 2 else 0.25,
                             "order": n, "steps": 2},
                )  # fmt: skip
        event_emit(
            submission_id=submission.pk,
            kind="log",
            payload={"lines": [{"step": "s0.2", "line": "\x1b[1;32mbuilt\x1b[0m \x1b]0;title\x07ok"}]},
        )
        event_emit(
            submission_id=submission.pk,
            kind="status",
            payload={"status": "done", "message": "Built and measured.", "message_code": "done",
                     "image_size": 1_234_567, "layer_count": layers, "build_seconds": 83.456},
        )  # fmt: skip
        pages.append(submission)
    page = student_page(browser, stack, user.username, DESKTOP, locale=locale)
    for submission, text in zip(pages, (one, three), strict=True):
        page.goto(f"{stack.base_url}/labs/submissions/{submission.pk}/")
        expect(page.locator("#live")).to_have_attribute("data-finished", "true", timeout=30_000)
        expect(page.locator('[data-role="layer-count"]')).to_have_text(text)
        expect(page.locator('[data-role="image-size"]')).to_have_text("1.2 MB")
        minutes = "built in 1 min 23 s" if locale == "en-US" else "빌드 1분 23초"
        expect(page.locator('[data-role="build-time"]')).to_have_text(minutes)
        english = locale == "en-US"
        expect(page.locator('[data-role="progress-text"]')).to_have_text(
            "2 of 2 steps done" if english else "2단계 중 2단계 완료"
        )
        expect(page.locator(".step-state")).to_have_text(
            ["DONE 0.3 s", "DONE 1 min 01 s"] if english else ["완료 0.3초", "완료 1분 01초"]
        )
        line = page.locator('[data-role="log"] .log-line')
        expect(line.locator("span.ansi-bold.ansi-fg-32")).to_have_text("built")
        assert line.text_content() == "built ok\n"
    page.locator('[data-role="log-section"] > summary').click()
    page.screenshot(path=str(SCREENSHOTS / f"live-panel-replayed-{locale}.png"), full_page=True)
    page.close()


def test_a_failed_build_shows_the_step_that_failed(stack, browser):
    UserFactory(username="taeyang")
    exercise = ExerciseFactory()
    nonce = uuid.uuid4().hex[:10]
    page = student_page(browser, stack, "taeyang", PHONE)
    page.goto(stack.base_url + exercise.get_absolute_url())
    fill_dockerfile(page, f"FROM python:3.11-slim\nRUN echo {nonce} && exit 3\nRUN echo never\n")
    page.click("#submit-button")

    live = page.locator("#live")
    expect(live).to_have_attribute("data-finished", "true", timeout=120_000)
    expect(live.locator('[data-role="status"]')).to_have_text("Failed")
    expect(live.locator('[data-role="failed-step"]')).to_have_text(
        f"Step 2 of 3 failed: RUN echo {nonce} && exit 3"
    )
    assert live.locator(".step-state").all_text_contents()[1:] == ["FAILED", "NOT RUN"]
    expect(live.locator('[data-role="progress-text"]')).to_have_text("1 of 3 steps done · step 2 failed")
    expect(live.locator(".step").nth(1)).to_have_attribute("data-state", "error")
    expect(live.locator('[data-role="log"]')).to_be_visible()  # a failure keeps its log open
    expect(live.locator('[data-role="log"] .log-line')).to_have_text([f"{nonce}"])
    assert no_sideways_scroll(page)
    live.scroll_into_view_if_needed()
    page.evaluate("document.getElementById('live').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "live-panel-build-failed-phone.png"))
    page.close()
