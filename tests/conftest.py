from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import websockets
from django.conf import settings
from django.test import Client

from labs.models import Submission
from tests import live
from tests.factories import ExerciseFactory, UserFactory

pytest_plugins = ["tests.browser"]  # the shared `browser` fixture


@pytest.fixture(scope="session")
def clean_redis() -> None:
    """The test Redis database (Celery's broker, the channel layer), emptied once per session
    before the first test that asks for it: no stale jobs or groups from an aborted run. Only
    tests that reach Redis ask, so the pure ones run with Redis stopped."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@dataclass
class Stack:
    base_url: str
    web: live.Process
    worker: live.Process
    env: dict[str, str]

    def restart_worker(self) -> live.Process:
        """A fresh worker for host `local` in place of one a test killed or stopped."""
        self.worker.stop()
        self.worker = live.start_worker(self.env)
        return self.worker

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://")


@pytest.fixture(scope="session")
def stack(clean_redis: None, django_db_setup: None, django_db_blocker: Any) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        env = live.test_database_env()
    web, base = live.start_web(env)
    started = [web]
    try:
        worker = live.start_worker(env)
        started.append(worker)
        beat = live.start_beat(env)
    except Exception:
        for proc in started:
            proc.stop()
        raise
    stack = Stack(base, web, worker, env)
    yield stack
    for proc in (beat, stack.worker, web):
        proc.stop()


@pytest.fixture
def student(db: None) -> Any:
    return UserFactory(username="alice")


@pytest.fixture
def other_student(db: None) -> Any:
    return UserFactory(username="mallory")


@pytest.fixture
def exercise(db: None) -> Any:
    return ExerciseFactory()


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def wait_finished(submission_id: int, timeout: float = 240) -> Submission:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sub = Submission.objects.get(pk=submission_id)
        if sub.is_finished:
            return sub
        time.sleep(0.2)
    raise AssertionError(f"submission {submission_id} still {sub.status} after {timeout} s")


async def _ws_collect(
    url: str, origin: str, cookie: str | None, until_final: bool, timeout: float
) -> list[dict[str, Any]]:
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else {}
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, origin=origin, additional_headers=headers) as ws:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            msg = json.loads(raw)
            received.append(msg)
            if (
                until_final
                and msg["kind"] == "status"
                and msg["payload"]["status"] in ("done", "failed", "error")
            ):
                break
    return received


def ws_collect(
    stack: Stack,
    submission_id: int,
    *,
    cookie: str | None,
    after: int | None = None,
    until_final: bool = True,
    timeout: float = 240,
    origin: str | None = None,
) -> list[dict[str, Any]]:
    query = f"?after={after}" if after is not None else ""
    url = f"{stack.ws_base}/ws/submissions/{submission_id}/{query}"
    return asyncio.run(_ws_collect(url, origin or stack.base_url, cookie, until_final, timeout))
