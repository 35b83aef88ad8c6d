"""How long after a submission is graded its score reaches an open gradebook, against how long the
same grading's final event takes to reach the student's own page (the baseline: the event stream
the gradebook's hint rides beside). Runs against the platform `bin/up` started (daphne, the
worker, Redis) on its database; makes its own course, run, student and exercises, removes them.

    .venv/bin/python bench/gradebook_latency.py [--submissions 10] [--base http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.world import EXERCISES, bench_course  # noqa: E402
from courses.models import CourseRun, Membership  # noqa: E402
from labs.models import Assignment, AssignmentExercise, Submission  # noqa: E402
from labs.services import submission_create  # noqa: E402

DOCKERFILE = 'FROM debian:bookworm-slim\nUSER 1000\nCMD ["true"]\n'


def cookie_for(user: Any) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


class World:
    def __init__(self) -> None:
        tag, self.course, self.exercises = bench_course()
        self.run = CourseRun.objects.create(course=self.course, slug=f"bench-{tag}", title="bench")
        User = get_user_model()
        self.staff = User.objects.create_user(f"bench-staff-{tag}")
        self.student = User.objects.create_user(f"bench-student-{tag}")
        Membership.objects.create(run=self.run, user=self.staff, role=Membership.Role.INSTRUCTOR)
        Membership.objects.create(run=self.run, user=self.student, role=Membership.Role.STUDENT)
        now = timezone.now()
        self.assignment = Assignment.objects.create(
            run=self.run, title="bench", opens_at=now - timedelta(hours=1), due_at=now + timedelta(days=1)
        )
        for position, exercise in enumerate(self.exercises):
            AssignmentExercise.objects.create(
                assignment=self.assignment, exercise=exercise, position=position
            )

    def remove(self) -> None:
        Submission.objects.filter(assignment=self.assignment).delete()
        self.assignment.delete()
        self.run.delete()
        self.course.delete()
        self.staff.delete()
        self.student.delete()


async def one(world: World, base: str, index: int, cookies: tuple[str, str]) -> tuple[float, float]:
    """Seconds from the final event's storage to the student's page, and to the gradebook."""
    ws = base.replace("http", "ws", 1)
    staff_cookie, student_cookie = cookies
    exercise = world.exercises[index % EXERCISES]
    expected_attempts = index // EXERCISES + 1
    book_url = f"{ws}/ws/runs/{world.run.slug}/assignments/{world.assignment.pk}/gradebook/"
    async with websockets.connect(book_url, origin=base, additional_headers={"Cookie": staff_cookie}) as book:
        submission = await asyncio.to_thread(
            submission_create,
            owner=world.student,
            exercise=exercise,
            assignment=world.assignment,
            dockerfile=DOCKERFILE,
        )
        stream_url = f"{ws}/ws/submissions/{submission.pk}/"
        async with websockets.connect(
            stream_url, origin=base, additional_headers={"Cookie": student_cookie}
        ) as stream:
            while True:
                msg = json.loads(await asyncio.wait_for(stream.recv(), 300))
                if msg.get("kind") == "status" and msg["payload"].get("status") in (
                    "done",
                    "failed",
                    "error",
                ):
                    page_at, stored_at = time.time(), datetime.fromisoformat(msg["at"]).timestamp()
                    break
        while True:
            msg = json.loads(await asyncio.wait_for(book.recv(), 60))
            if msg.get("type") != "row" or msg.get("user_id") != world.student.pk:
                continue
            cell = next(c for c in msg["row"]["cells"] if c["exercise_id"] == exercise.pk)
            if cell["attempts"] == expected_attempts and not cell["pending"] and cell["score"] is not None:
                return page_at - stored_at, time.time() - stored_at


async def measure(world: World, base: str, rounds: int) -> tuple[list[float], list[float]]:
    cookies = (
        await asyncio.to_thread(cookie_for, world.staff),
        await asyncio.to_thread(cookie_for, world.student),
    )
    page, book = [], []
    for index in range(rounds):
        to_page, to_book = await one(world, base, index, cookies)
        page.append(to_page)
        book.append(to_book)
    return page, book


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    world = World()
    try:
        page, book = asyncio.run(measure(world, args.base, args.submissions))
    finally:
        world.remove()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"

    print(f"{len(book)} gradings through the running platform")
    print(f"final event stored -> the student's page: {ms(page)}")
    print(f"final event stored -> an open gradebook:  {ms(book)}")
    ratio = statistics.median(book) / statistics.median(page)
    print(f"ratio, gradebook / student's page (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
