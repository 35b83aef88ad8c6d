"""`kill -9` of the worker in the middle of a build, twenty times in a row on one student's stream
of submissions: every other time only the pool process that is building (the worker's main
process sends the task again), and every other time the whole worker, main process and pool at
once, as a crashed machine would (nothing sends it again but the sweep, once the submission's
heartbeat is stale). Real worker, real engine, real beat, a real websocket watching each one."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from labs import services
from labs.models import Submission
from sandbox import engine
from tests.conftest import session_cookie, wait_finished, ws_collect
from tests.factories import UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
FINAL = ("done", "failed", "error")


def pool_pids(worker_pid: int) -> list[int]:
    ps = ["ps", "-o", "pid=", "--ppid", str(worker_pid)]
    out = subprocess.run(ps, capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def wait_building(submission_id: int, timeout: float = 120) -> None:
    """Until the build's RUN step has started (its step event is stored)."""
    deadline = time.monotonic() + timeout
    sub = Submission.objects.get(pk=submission_id)
    while not sub.events.filter(kind="step", payload__name__startswith="RUN echo").exists():
        assert time.monotonic() < deadline, f"submission {submission_id} never started building"
        time.sleep(0.1)


def test_twenty_kills_mid_build_each_submission_ends_once_with_one_result_and_no_leftovers(
    stack, exercise, settings
):
    settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE = 100  # the stream is faster than a student's pace
    student = UserFactory()
    cookie = session_cookie(student)
    watchers = ThreadPoolExecutor(max_workers=1)
    seen: dict[int, list[dict]] = {}
    for round_ in range(ROUNDS):
        nonce = uuid.uuid4().hex
        submission = services.submission_create(
            owner=student,
            exercise=exercise,
            dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 3 && echo slept\n",
        )
        watching = watchers.submit(ws_collect, stack, submission.pk, cookie=cookie, after=0, timeout=240)
        wait_building(submission.pk)
        worker_pid = stack.worker.popen.pid
        pool = pool_pids(worker_pid)
        assert pool, "the worker has a pool process"
        whole = round_ % 2 == 1
        for pid in pool:
            os.kill(pid, signal.SIGKILL)
        if whole:
            os.kill(worker_pid, signal.SIGKILL)
            stack.worker.popen.wait()
            stack.restart_worker()
        finished = wait_finished(submission.pk, timeout=240)
        seen[submission.pk] = watching.result(timeout=60)
        assert finished.status == Submission.Status.DONE, (round_, finished.failure_code)
    watchers.shutdown()

    for pk, received in seen.items():
        sub = Submission.objects.get(pk=pk)
        stored = list(sub.events.order_by("seq").values_list("seq", "kind"))
        assert [seq for seq, _ in stored] == list(range(1, sub.last_event_seq + 1)), pk
        # What the page was shown: every stored event in order, once, ending at the verdict.
        assert [m["seq"] for m in received] == [seq for seq, _ in stored], pk
        statuses = [m["payload"]["status"] for m in received if m["kind"] == "status"]
        assert [s for s in statuses if s in FINAL] == ["done"], pk
        assert [kind for _, kind in stored].count("score") == 1, pk
        assert sub.attempts == 2, pk
        assert statuses.count("building") == 2, pk
        assert sub.gradings.count() == 1, pk
        assert sub.counts_as_attempt is True
        assert engine.labelled_leftovers(value=str(pk)) == {"containers": [], "images": []}
