"""The engine stops in the middle of a build and comes back: the submission is graded in the end,
never left queued, never blamed on the student (real dockerd, real worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs import services
from labs.models import Submission
from sandbox import engine
from tests.conftest import wait_finished

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def dockerd_pid() -> int | None:
    """The default engine's (a second engine, tests/labs/test_build_hosts.py, has its own pidfile)."""
    try:
        pid = int(Path("/var/run/docker.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        return pid if Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd" else None
    except OSError:
        return None


@pytest.fixture
def engine_restarted() -> Iterator[None]:
    """Whatever the test does, the engine is running again afterwards."""
    yield
    if dockerd_pid() is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        subprocess.run([str(ROOT / "bin" / "host-setup")], check=True, capture_output=True)


def test_stopping_dockerd_mid_build_is_retried_once_it_is_back_and_never_left_queued(
    stack, student, exercise, engine_restarted
):
    records_before = set(Path("/run/layerlab/builds").iterdir())
    nonce = uuid.uuid4().hex
    dockerfile = f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 15 && echo slept\n"
    submission = services.submission_create(owner=student, exercise=exercise, dockerfile=dockerfile)
    deadline = time.monotonic() + 90
    while not submission.events.filter(kind="step", payload__name__startswith="RUN echo").exists():
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.2)

    pid = dockerd_pid()
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while dockerd_pid() is not None:
        assert time.monotonic() < deadline, "dockerd did not stop"
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while Submission.objects.get(pk=submission.pk).status == Submission.Status.BUILDING:
        assert time.monotonic() < deadline, "the worker never noticed the engine was gone"
        time.sleep(0.2)
    waiting = Submission.objects.get(pk=submission.pk)
    assert waiting.status == Submission.Status.QUEUED, waiting.events.filter(kind="status").last().payload
    assert waiting.events.filter(kind="status").last().payload["code"] == "retrying"

    subprocess.run([str(ROOT / "bin" / "host-setup")], check=True, capture_output=True)
    finished = wait_finished(submission.pk, timeout=300)

    assert finished.status == Submission.Status.DONE
    assert finished.attempts >= 2
    codes = [e.payload.get("code") for e in finished.events.filter(kind="status")]
    assert "retrying" in codes and "build_error" not in codes
    assert engine.labelled_leftovers(value=str(submission.pk)) == {"containers": [], "images": []}
    assert set(Path("/run/layerlab/builds").iterdir()) - records_before == set()
