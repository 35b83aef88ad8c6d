"""Two build hosts on one machine: the default engine with its worker (host `local`, the `stack`
fixture) and a second dockerd with its own data root, socket, cgroup parent and no bridge (host
`b`, started by bin/test with `LAYERLAB_ENGINE=b bin/host-setup` and seeded from the first with
`seed_base_images --from-engine`), with a worker of its own. Real engines, real workers."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from celery import current_app

from labs import services
from labs.models import BuildHost, Submission
from sandbox import engine
from tests import live
from tests.conftest import Stack, wait_finished
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ENGINES = {"local": "unix:///var/run/docker.sock", "b": live.SECOND_ENGINE}


@pytest.fixture(scope="module")
def second_host(stack: Stack, django_db_blocker) -> Iterator[live.Process]:  # type: ignore[no-untyped-def]
    probe = subprocess.run(["docker", "--host", live.SECOND_ENGINE, "info"], capture_output=True, text=True)
    assert probe.returncode == 0, f"the second engine is not running (bin/test starts it): {probe.stderr}"
    with django_db_blocker.unblock():
        env = live.test_database_env()
    worker = live.start_worker(env, host="b", engine=live.SECOND_ENGINE)
    yield worker
    worker.stop()


def leftovers(submission_id: int) -> dict[str, list[str]]:
    """Containers and images labelled with the submission, on each engine."""
    found: dict[str, list[str]] = {}
    for name, address in ENGINES.items():
        label = f"label={engine.LABEL_SUBMISSION}={submission_id}"
        ids = []
        for kind in (["ps", "-aq"], ["images", "-q"]):
            out = subprocess.run(
                ["docker", "--host", address, *kind, "--filter", label],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            ids += out
        found[name] = ids
    return found


def wait_host_reported(name: str, timeout: float = 30) -> BuildHost:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        host = BuildHost.objects.filter(name=name).first()
        if host is not None and host.engine_ok:
            return host
        time.sleep(0.2)
    raise AssertionError(f"build host {name} never reported a working engine")


def test_a_burst_is_built_on_both_hosts_each_submission_once_and_nothing_is_left_on_either(
    stack, second_host
):
    wait_host_reported("local")
    host_b = wait_host_reported("b")
    assert host_b.queue == "sandbox.b"
    assert "debian:bookworm-slim" in host_b.bases and host_b.missing == []
    assert host_b.package_network is False

    exercise = ExerciseFactory(allowed_base_images=["debian:bookworm-slim"], context_files={"a.txt": "a\n"})
    nonce = uuid.uuid4().hex
    made = [
        services.submission_create(
            owner=UserFactory(),
            exercise=exercise,
            dockerfile=f"FROM debian:bookworm-slim\nRUN echo {nonce}-{i} && sleep 3\nCOPY a.txt /a.txt\n",
        )
        for i in range(6)
    ]

    finished = [wait_finished(s.pk, timeout=300) for s in made]

    assert [s.status for s in finished] == [Submission.Status.DONE] * 6
    assert [s.attempts for s in finished] == [1] * 6
    assert {s.build_host for s in finished} == {"local", "b"}
    for s in finished:
        building = [e for e in s.events.filter(kind="status") if e.payload["status"] == "building"]
        assert len(building) == 1, s.pk
        assert s.events.filter(kind="score").count() == 1
        assert leftovers(s.pk) == {"local": [], "b": []}


def test_a_host_that_cannot_build_an_exercise_passes_it_to_one_that_can(stack, second_host):
    """Host b has no package network: a `network: packages` exercise sent to its own queue is
    passed to host `local`, built once there, and costs the student nothing."""
    wait_host_reported("local")
    wait_host_reported("b")
    exercise = ExerciseFactory(
        network="packages", allowed_base_images=["debian:bookworm-slim"], context_files={"a.txt": "a\n"}
    )
    nonce = uuid.uuid4().hex
    submission = SubmissionFactory(
        owner=UserFactory(), exercise=exercise, dockerfile=f"FROM debian:bookworm-slim\nRUN echo {nonce}\n"
    )
    current_app.send_task(services.GRADE_TASK, args=[submission.pk], queue="sandbox.b")

    finished = wait_finished(submission.pk, timeout=180)

    assert finished.status == Submission.Status.DONE, (finished.failure_code, finished.failure_message)
    assert finished.build_host == "local"
    assert finished.attempts == 1
    codes = [e.payload.get("code") for e in finished.events.filter(kind="status")]
    assert "no_host" not in codes and "retrying" not in codes
    assert "cannot grade exercise" in second_host.log()
    assert "passing it to local" in second_host.log()
    assert leftovers(submission.pk) == {"local": [], "b": []}
