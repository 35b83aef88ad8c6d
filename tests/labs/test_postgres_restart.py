"""PostgreSQL stops in the middle of a build and starts again: during the gap the pages and the
API answer 503 with Retry-After at once (not a hang, not a traceback) and /healthz says the
database is down; afterwards they answer again, and the worker reconnects and grades the
submission in the end, never as the student's failure. Real PostgreSQL (CI's database), real
daphne, worker and beat, real engine."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from labs import services
from labs.models import Submission
from sandbox import engine
from tests.conftest import session_cookie, wait_finished

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def cluster() -> list[str]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    return [version, "main"]


def pg(action: str) -> None:
    fast = ["-m", "fast"] if action == "stop" else []
    argv = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster(), action, *fast]
    subprocess.run(argv, check=True, capture_output=True)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def postgres_back():
    yield
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode != 0:
        pg("start")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="restarts PostgreSQL: CI runs on it")
def test_a_postgres_restart_mid_build_answers_503_then_recovers_and_grades_the_submission(
    stack, student, exercise, postgres_back
):
    nonce = uuid.uuid4().hex
    submission = services.submission_create(
        owner=student, exercise=exercise, dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 8\n"
    )
    deadline = time.monotonic() + 120
    while not submission.events.filter(kind="step", payload__name__startswith="RUN echo").exists():
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.1)
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_cookie(student)}"}
    connection.close()

    pg("stop")
    try:
        status, headers, body = get(stack.base_url + "/healthz")
        assert status == 503
        assert json.loads(body)["checks"]["database"]["ok"] is False
        status, headers, body = get(stack.base_url + exercise.get_absolute_url(), cookie)
        assert status == 503
        assert headers["Retry-After"] == "30"
        assert "잠시 후 다시 시도해 주세요" in body.decode()
        assert "Traceback" not in body.decode()
        status, headers, body = get(stack.base_url + "/api/v1/exercises", {"Authorization": "Bearer ll_x"})
        assert status == 503
        assert json.loads(body)["code"] == "unavailable"
        time.sleep(3)  # the worker's heartbeat and events meet the gap too
    finally:
        pg("start")

    deadline = time.monotonic() + 60
    while get(stack.base_url + "/healthz")[0] != 200:
        assert time.monotonic() < deadline, "the site did not recover"
        time.sleep(0.5)
    assert get(stack.base_url + exercise.get_absolute_url(), cookie)[0] == 200

    finished = wait_finished(submission.pk, timeout=240)
    assert finished.status == Submission.Status.DONE, (finished.failure_code, finished.failure_message)
    assert finished.counts_as_attempt is True
    statuses = [e.payload["status"] for e in finished.events.filter(kind="status")]
    assert "failed" not in statuses and "error" not in statuses
    # The grading that met the gap could not even record its failure; the sweep took it over.
    assert finished.attempts == 2
    assert [e.payload.get("code") for e in finished.events.filter(kind="status")].count("retrying") == 1
    assert finished.gradings.count() == 1
    assert engine.labelled_leftovers(value=str(finished.pk)) == {"containers": [], "images": []}
