"""The main path, end to end with real parts: the exercise page, a real Celery worker building
with the real Docker engine, events over a real websocket served by daphne."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
import websockets
from django.test import Client
from django.urls import reverse

from labs.models import Submission, SubmissionEvent
from sandbox import engine
from tests.conftest import session_cookie, wait_finished, ws_collect
from tests.factories import ExerciseFactory, UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GOOD_MULTI_STAGE = """\
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY app.py .
RUN python -m py_compile app.py

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --no-create-home app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /src/app.py .
USER 10001
ENV PATH=/venv/bin:$PATH
CMD ["python", "app.py"]
"""


def submit(user, exercise, dockerfile: str) -> Submission:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    url = exercise.get_absolute_url()
    response = client.post(url, {"dockerfile": dockerfile})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Submission.objects.filter(owner=user, exercise=exercise).latest("id")


def final_score_is_high(value: float) -> bool:
    return 80 <= value <= 100


def statuses(events):  # type: ignore[no-untyped-def]
    return [e["payload"]["status"] for e in events if e["kind"] == "status"]


def test_good_multi_stage_dockerfile_is_built_by_the_worker_and_streamed_in_order(stack, student, exercise):
    submission = submit(student, exercise, GOOD_MULTI_STAGE)
    events = ws_collect(stack, submission.pk, cookie=session_cookie(student), after=0)

    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "events arrive in seq order, none lost or repeated"
    assert statuses(events) == ["queued", "building", "analysing", "done"]
    steps = [e["payload"] for e in events if e["kind"] == "step" and not e["payload"]["internal"]]
    finished = {(s["stage"], s["index"]) for s in steps if s["state"] in ("done", "cached")}
    assert ("build", 4) in finished or ("build", 5) in finished
    assert any(s["name"].startswith("RUN useradd") and s["line"] == 10 for s in steps)

    kinds = [e["kind"] for e in events]
    checks = {e["payload"]["criterion"]: e["payload"] for e in events if e["kind"] == "check"}
    assert {"opt.multi_stage", "sec.final_user", "sec.non_root", "opt.image_size"} <= set(checks)
    assert checks["opt.multi_stage"]["verdict"] == "pass" and checks["sec.non_root"]["value"] == 10001
    assert kinds.index("score") < len(kinds) - 1, "the score arrives before the final status"
    score = next(e["payload"] for e in events if e["kind"] == "score")

    submission.refresh_from_db()
    assert submission.status == Submission.Status.DONE
    assert submission.score == score["score"] and final_score_is_high(score["score"])
    assert submission.image_size and submission.image_size > 50_000_000
    assert submission.layer_count and submission.layer_count >= 2
    final = events[-1]["payload"]
    assert final["image_size"] == submission.image_size
    assert final["layer_count"] == submission.layer_count
    assert engine.labelled_leftovers(value=str(submission.pk)) == {"containers": [], "images": []}


def test_build_error_ends_failed_with_the_failing_steps_output(stack, student, exercise):
    dockerfile = "FROM python:3.11-slim\nRUN echo preparing\nRUN echo boom-output-here && exit 3\n"
    submission = wait_finished(submit(student, exercise, dockerfile).pk)

    assert submission.status == Submission.Status.FAILED
    assert submission.failure_code == "run_failed"
    assert submission.failure_line == 3
    assert submission.failure_message.startswith(
        "line 3: the command `echo boom-output-here && exit 3` exited with status 3"
    )
    final = submission.events.filter(kind="status").last().payload
    assert "boom-output-here" in "\n".join(final["output"])


def test_base_outside_the_allowlist_fails_before_any_build(stack, student, exercise):
    submission = wait_finished(submit(student, exercise, "FROM ubuntu:latest\nRUN true\n").pk)

    assert submission.status == Submission.Status.FAILED
    assert submission.failure_code == "base_not_allowed"
    assert submission.failure_line == 1
    assert "python:3.11-slim" in submission.failure_message  # lists what is available
    assert not submission.events.filter(kind="step").exists(), "nothing was built"


def test_syntax_directive_is_refused(stack, student, exercise):
    dockerfile = "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\n"
    submission = wait_finished(submit(student, exercise, dockerfile).pk)

    assert submission.status == Submission.Status.FAILED
    assert submission.failure_code == "syntax_directive"
    assert submission.failure_line == 1
    assert not submission.events.filter(kind="step").exists()


def test_build_over_its_time_limit_is_cancelled_and_leaves_nothing_behind(stack, student):
    exercise = ExerciseFactory(build_timeout_seconds=5)
    submission = wait_finished(submit(student, exercise, "FROM python:3.11-slim\nRUN sleep 1000\n").pk)

    assert submission.status == Submission.Status.FAILED
    assert submission.failure_code == "timeout"
    assert "5 s limit" in submission.failure_message
    assert submission.failure_line == 2
    assert engine.labelled_leftovers(value=str(submission.pk)) == {"containers": [], "images": []}
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "sleep 1000" not in processes, "the cancelled RUN step is no longer running"


def test_a_client_connecting_after_the_build_gets_every_event_and_after_gives_only_later_ones(
    stack, student, exercise
):
    submission = wait_finished(submit(student, exercise, GOOD_MULTI_STAGE).pk)
    stored = list(SubmissionEvent.objects.filter(submission=submission).values_list("seq", flat=True))
    cookie = session_cookie(student)

    everything = ws_collect(stack, submission.pk, cookie=cookie, until_final=False, timeout=3)
    assert [e["seq"] for e in everything] == stored

    middle = stored[len(stored) // 2]
    later = ws_collect(stack, submission.pk, cookie=cookie, after=middle, until_final=False, timeout=3)
    assert [e["seq"] for e in later] == [s for s in stored if s > middle]


def test_another_students_websocket_and_page_are_refused_but_course_staff_get_in(
    stack, student, other_student, exercise
):
    submission = wait_finished(submit(student, exercise, "FROM ubuntu:latest\n").pk)

    with pytest.raises(websockets.ConnectionClosed) as refused:
        ws_collect(stack, submission.pk, cookie=session_cookie(other_student), until_final=False, timeout=2)
    assert refused.value.rcvd.code == 4403

    client = Client()
    client.force_login(other_student)
    page = client.get(reverse("labs:submission", kwargs={"submission_id": submission.pk}))
    assert page.status_code == 404

    teacher = UserFactory(username="teacher")
    exercise.session.course.staff.add(teacher)
    events = ws_collect(stack, submission.pk, cookie=session_cookie(teacher), until_final=False, timeout=2)
    assert statuses(events)[-1] == "failed"


def test_an_anonymous_websocket_is_refused(stack, student, exercise):
    submission = wait_finished(submit(student, exercise, "FROM ubuntu:latest\n").pk)
    with pytest.raises(websockets.ConnectionClosed) as refused:
        ws_collect(stack, submission.pk, cookie=None, until_final=False, timeout=2)
    assert refused.value.rcvd.code == 4401


def test_a_websocket_from_a_foreign_origin_is_refused(stack, student, exercise):
    submission = wait_finished(submit(student, exercise, "FROM ubuntu:latest\n").pk)
    with pytest.raises(websockets.InvalidStatus):
        ws_collect(
            stack,
            submission.pk,
            cookie=session_cookie(student),
            until_final=False,
            timeout=2,
            origin="http://evil.example",
        )


def test_a_build_whose_worker_is_killed_is_retried_by_another_worker_process_and_finishes(
    stack, student, exercise
):
    nonce = uuid.uuid4().hex
    dockerfile = f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 8 && echo slept\n"
    submission = submit(student, exercise, dockerfile)
    deadline = time.monotonic() + 60
    while not submission.events.filter(kind="step", payload__name__startswith="RUN echo").exists():
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.2)
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(stack.worker.popen.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "the worker has a pool process"
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)

    finished = wait_finished(submission.pk)
    assert finished.status == Submission.Status.DONE
    assert finished.attempts == 2
    building = [e for e in finished.events.filter(kind="status") if e.payload["status"] == "building"]
    assert len(building) == 2
    assert engine.labelled_leftovers(value=str(submission.pk)) == {"containers": [], "images": []}


def test_the_reaper_removes_labelled_leftovers_of_killed_runs(db):
    from labs.services import leftovers_reap

    name = f"layerlab-leftover-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker",
            "create",
            "--name",
            name,
            "--label",
            f"{engine.LABEL_SUBMISSION}=999999",
            "debian:bookworm-slim",
            "true",
        ],
        check=True,
        capture_output=True,
    )
    assert engine.labelled_leftovers(value="999999")["containers"]
    removed = leftovers_reap(older_than_seconds=0)
    assert removed["containers"] >= 1
    assert engine.labelled_leftovers(value="999999") == {"containers": [], "images": []}
