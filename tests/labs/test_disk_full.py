"""The engine's disk fills up: a build host whose engine keeps its data on a 700 MB filesystem
(a third engine, `c`, on tmpfs) that something else has nearly filled. A student's build that
could not write fails in the student's words ("No space left on device", exit 1), but it is ours:
retried, then "we could not grade this", never an attempt; the health endpoint tells staff which
host and how little is left; what the failed builds wrote is reclaimed. Real engine, real worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import current_app

from labs import services
from labs.models import Submission
from sandbox import engine
from tests import live
from tests.conftest import Stack, wait_finished
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
NAME = "c"
DATA = Path(f"/var/lib/layerlab/engines/{NAME}/data")
SOCKET = f"unix:///run/layerlab-engines/{NAME}/docker.sock"
PIDFILE = Path(f"/run/layerlab-engines/{NAME}/docker.pid")
MIN_FREE = 64 * 1024 * 1024
LABEL = engine.LABEL_SUBMISSION


def free_bytes() -> int:
    stat = os.statvfs(DATA)
    return stat.f_bavail * stat.f_frsize


def stop_engine() -> None:
    try:
        pid = int(PIDFILE.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture(scope="module")
def small_host(stack: Stack, django_db_blocker) -> Iterator[live.Process]:  # type: ignore[no-untyped-def]
    DATA.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700m", "tmpfs", str(DATA)], check=True)
    worker = None
    try:
        env = {**os.environ, "LAYERLAB_ENGINE": NAME, "LAYERLAB_ENGINE_SUBNET": "172.31.253.1/24"}
        subprocess.run([str(ROOT / "bin" / "host-setup")], check=True, capture_output=True, env=env)
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "manage.py",
                "seed_base_images",
                "--only",
                "debian:bookworm-slim",
                "--from-engine",
                "unix:///var/run/docker.sock",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "DOCKER_HOST": SOCKET, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
        )
        with django_db_blocker.unblock():
            db_env = live.test_database_env()
        worker = live.start_worker(
            {
                **db_env,
                "LAYERLAB_ENGINE_MIN_FREE_BYTES": str(MIN_FREE),
                "LAYERLAB_MAX_GRADE_ATTEMPTS": "2",
            },
            host=NAME,
            engine=SOCKET,
        )
        yield worker
    finally:
        if worker is not None:
            worker.stop()
        stop_engine()
        subprocess.run(["umount", str(DATA)], check=False)
        shutil.rmtree(DATA.parent, ignore_errors=True)
        bridge = f"ll-{NAME}"
        for chain in ("INPUT", "DOCKER-USER", "FORWARD"):
            subprocess.run(["iptables", "-D", chain, "-i", bridge, "-j", "REJECT"], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def healthz(stack: Stack) -> dict:  # type: ignore[type-arg]
    try:
        with urllib.request.urlopen(stack.base_url + "/healthz", timeout=15) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def test_a_full_engine_disk_is_our_fault_shown_to_staff_and_reclaimed(stack, small_host):
    filler = DATA / "filler"
    chunk = b"\0" * (8 * 1024 * 1024)
    with filler.open("wb") as out:  # everything but ~40 MB, as logs or other images would
        for _ in range(max(0, free_bytes() - 40 * 1024 * 1024) // len(chunk)):
            out.write(chunk)
    try:
        deadline = time.monotonic() + 30
        while True:  # the host reports its disk every 2 s
            host = healthz(stack)["checks"]["build_hosts"]["hosts"].get(NAME)
            if host and host["ok"] is False:
                break
            assert time.monotonic() < deadline, f"host {NAME} never reported its full disk: {host}"
            time.sleep(0.5)
        assert host["error"].startswith("the engine's disk is nearly full: ")
        assert host["error"].endswith(" MB free")

        before = free_bytes()
        exercise = ExerciseFactory(
            allowed_base_images=["debian:bookworm-slim"], context_files={"a.txt": "a\n"}
        )
        nonce = uuid.uuid4().hex
        submission = SubmissionFactory(
            owner=UserFactory(),
            exercise=exercise,
            dockerfile=f"FROM debian:bookworm-slim\nRUN echo {nonce} && head -c 80000000 /dev/zero > /big\n",
        )
        current_app.send_task(services.GRADE_TASK, args=[submission.pk], queue=f"sandbox.{NAME}")

        finished = wait_finished(submission.pk, timeout=240)

        assert finished.status == Submission.Status.ERROR
        assert finished.failure_code == "our_fault"
        assert finished.counts_as_attempt is False
        assert finished.build_host == NAME
        codes = [e.payload.get("code") for e in finished.events.filter(kind="status")]
        assert codes.count("retrying") == 1
        assert "run_failed" not in codes
        assert "the engine's disk is full" in small_host.log()
        # What the two failed builds wrote is gone again (a few MB of engine bookkeeping aside).
        assert free_bytes() >= before - 8 * 1024 * 1024
        images = subprocess.run(
            [
                "docker",
                "--host",
                SOCKET,
                "images",
                "-q",
                "--filter",
                f"label={LABEL}={submission.pk}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert images == []
    finally:
        filler.unlink(missing_ok=True)
    deadline = time.monotonic() + 30
    while (host := healthz(stack)["checks"]["build_hosts"]["hosts"][NAME])["ok"] is not True:
        assert time.monotonic() < deadline, f"the host never reported its disk freed: {host}"
        time.sleep(0.5)
    assert Submission.objects.get(pk=submission.pk).status == Submission.Status.ERROR
    assert Submission.objects.filter(status__in=Submission.ACTIVE).count() == 0
