"""Redis (the broker and the channel layer, keeping nothing on disk) restarts while a build runs
and another submission waits in its queue: the running grading finishes, the lost queued task is
sent again by the sweep, and a watching page catches up on what it missed by reconnecting
from its last event. Real Redis, real worker and beat, real daphne and websocket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets
from django.conf import settings

from labs import services
from labs.models import Submission
from sandbox import engine
from tests.conftest import Stack, session_cookie, wait_finished
from tests.factories import UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FINAL = ("done", "failed", "error")


def redis_answers() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], capture_output=True)
    deadline = time.monotonic() + 30
    while redis_answers():
        assert time.monotonic() < deadline, "Redis did not stop"
        time.sleep(0.1)
    subprocess.run([str(ROOT / "bin" / "host-setup")], check=True, capture_output=True)
    assert redis_answers()


async def watch(stack: Stack, submission_id: int, cookie: str, timeout: float) -> list[list[dict[str, Any]]]:
    """What a page shows: events until the verdict; when the socket closes first, it reconnects
    from its last event as the live panel does. One list per connection."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    connections: list[list[dict[str, Any]]] = []
    last = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got: list[dict[str, Any]] = []
        connections.append(got)
        url = f"{stack.ws_base}/ws/submissions/{submission_id}/?after={last}"
        try:
            async with websockets.connect(url, origin=stack.base_url, additional_headers=headers) as ws:
                while time.monotonic() < deadline:
                    raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
                    message = json.loads(raw)
                    got.append(message)
                    last = message["seq"]
                    if message["kind"] == "status" and message["payload"]["status"] in FINAL:
                        return connections
        except (websockets.WebSocketException, OSError):  # closed, or refused while Redis is away
            await asyncio.sleep(1)
    return connections


def test_a_redis_restart_mid_build_loses_no_event_no_task_and_blames_no_one(stack, exercise, settings):
    first, second = UserFactory(), UserFactory()
    nonce = uuid.uuid4().hex
    building = services.submission_create(
        owner=first, exercise=exercise, dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce} && sleep 10\n"
    )
    pool = ThreadPoolExecutor(max_workers=1)
    watching = pool.submit(asyncio.run, watch(stack, building.pk, session_cookie(first), timeout=240))
    deadline = time.monotonic() + 120
    while not building.events.filter(kind="step", payload__name__startswith="RUN echo").exists():
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.1)
    # The worker (one process) is busy: this one waits in the broker's queue, which the restart empties.
    waiting = services.submission_create(
        owner=second, exercise=exercise, dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce}-2\n"
    )

    restart_redis()

    done = wait_finished(building.pk, timeout=240)
    later = wait_finished(waiting.pk, timeout=240)
    connections = watching.result(timeout=60)
    pool.shutdown()

    assert (done.status, done.attempts) == (Submission.Status.DONE, 1)
    assert later.status == Submission.Status.DONE
    assert later.attempts == 1
    stored = list(done.events.order_by("seq").values_list("seq", flat=True))
    shown = [m["seq"] for got in connections for m in got]
    assert shown == stored  # every event once, in order, across the reconnects
    for sub in (done, later):
        assert engine.labelled_leftovers(value=str(sub.pk)) == {"containers": [], "images": []}
