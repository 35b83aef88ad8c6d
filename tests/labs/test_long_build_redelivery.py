"""A build that runs longer than the broker's visibility timeout. With Redis as the broker and
`acks_late`, a task unacknowledged for that long is handed to a worker again while the first one
still builds (the CPython PGO exercise may run 45 minutes; by default the timeout is twice the
task time limit, so it is not reached). Here a second worker restores unacknowledged tasks after
3 s: the redelivered task finds the submission alive and waits, so the build runs once, to its
end, and nothing is lost. Real Redis, two real workers, real engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from labs import services
from labs.models import Submission
from sandbox import engine
from tests import live
from tests.conftest import Stack, wait_finished

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHORT = 3


@pytest.fixture(scope="module")
def impatient_worker(stack: Stack, django_db_blocker) -> Iterator[live.Process]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        env = live.test_database_env()
    worker = live.start_worker({**env, "LAYERLAB_VISIBILITY_TIMEOUT": str(SHORT)}, host="impatient")
    yield worker
    worker.stop()


def test_a_build_longer_than_the_visibility_timeout_runs_once_and_ends_once(
    stack, impatient_worker, student, exercise
):
    nonce = uuid.uuid4().hex
    submission = services.submission_create(
        owner=student,
        exercise=exercise,
        dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 15 && echo slept\n",
    )

    finished = wait_finished(submission.pk, timeout=240)

    assert finished.status == Submission.Status.DONE
    assert finished.attempts == 1
    building = [e for e in finished.events.filter(kind="status") if e.payload["status"] == "building"]
    assert len(building) == 1
    assert finished.events.filter(kind="score").count() == 1
    assert finished.gradings.count() == 1
    # The scenario happened: some worker got the task again while the build ran, and waited.
    logs = stack.worker.log() + impatient_worker.log()
    assert f"submission {submission.pk} is being graded by a live worker" in logs
    assert engine.labelled_leftovers(value=str(finished.pk)) == {"containers": [], "images": []}


def test_the_system_check_warns_when_the_visibility_timeout_is_shorter_than_a_grading(settings, capsys):
    settings.LAYERLAB_VISIBILITY_TIMEOUT = 60
    call_command("check", "--tag", "layerlab")
    said = capsys.readouterr()
    assert "layerlab.W006" in said.out + said.err
