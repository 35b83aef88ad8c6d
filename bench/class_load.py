"""A class at once: forty students each submit a seed exercise's starter and its solution within
one second through the API, and the platform grades them all. Prints what was lost, duplicated or
built twice at once for one student (each must be 0), p50/p95 queue wait and time to verdict, and
the last verdict against the ideal: the same gradings' single-run times (each kind graded alone,
warm, just before) summed and divided by the build concurrency. Target: at most 1.2x.

Runs against the platform `bin/up` started (daphne, the worker, Redis, the Docker engine) on its
database; loopback only, a bounded number of requests (one POST per submission; the verdicts are
read from the database). Makes its own students and tokens, removes them and their submissions.
The seed course must be imported (bin/up does it); python-runtime-pgo (an 18-minute build) is
left out.

    .venv/bin/python bench/class_load.py [--students 40] [--base http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from api.services import token_create  # noqa: E402
from labs.models import Exercise, Submission  # noqa: E402

COURSE = "image-optimisation"
EXERCISES = ("python-slim", "node-multistage", "go-scratch", "build-cache-order")
TIMEOUT_S = 3600
FINAL = ("done", "failed", "error")


@dataclass(frozen=True)
class Kind:
    exercise: str
    which: str  # "starter" or "solution"
    dockerfile: str
    dockerignore: str


def kinds() -> list[Kind]:
    found = []
    for slug in EXERCISES:
        exercise = Exercise.objects.get(course__slug=COURSE, slug=slug)
        found.append(Kind(slug, "starter", exercise.starter_dockerfile, ""))
        found.append(Kind(slug, "solution", exercise.solution_dockerfile, exercise.solution_dockerignore))
    return found


def post(base: str, token: str, kind: Kind) -> tuple[int, dict[str, Any]]:
    body = {"course": COURSE, "exercise": kind.exercise, "dockerfile": kind.dockerfile}
    if kind.dockerignore:
        body["dockerignore"] = kind.dockerignore
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base}/api/v1/submissions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_all(ids: list[int], timeout: float = TIMEOUT_S) -> dict[int, Submission]:
    deadline = time.monotonic() + timeout
    while True:
        rows = {s.pk: s for s in Submission.objects.filter(pk__in=ids)}
        if all(rows[i].status in FINAL for i in ids):
            return rows
        if time.monotonic() > deadline:
            stuck = [i for i in ids if rows[i].status not in FINAL]
            raise SystemExit(f"{len(stuck)} submissions did not finish within {timeout:.0f} s: {stuck[:10]}")
        time.sleep(0.5)


def single_runs(base: str, token: str, every: list[Kind]) -> dict[Kind, float]:
    """Each kind graded alone, twice: the first warms the engine's cache, the second is timed
    (seconds from the POST to the verdict stored)."""
    times = {}
    for kind in every:
        for timed in (False, True):
            status, body = post(base, token, kind)
            if status != 201:
                raise SystemExit(f"{kind.exercise} {kind.which}: the API answered {status} {body}")
            sent = time.time()
            row = wait_all([body["id"]])[body["id"]]
            if timed:
                times[kind] = row.finished_at.timestamp() - sent
        print(f"  alone: {kind.exercise:18} {kind.which:8} {times[kind]:6.1f} s  ({row.status})", flush=True)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def overlaps(rows: list[Submission]) -> int:
    """Pairs of one student's submissions whose builds ran at the same time."""
    by_owner: dict[int, list[Submission]] = {}
    for row in rows:
        by_owner.setdefault(row.owner_id, []).append(row)
    count = 0
    for own in by_owner.values():
        spans = sorted((r.started_at, r.finished_at) for r in own if r.started_at and r.finished_at)
        count += sum(1 for (_, end), (start, _) in itertools.pairwise(spans) if start < end)
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    concurrency = settings.LAYERLAB_BUILD_CONCURRENCY
    every = kinds()
    User = get_user_model()
    tag = uuid.uuid4().hex[:6]
    solo = User.objects.create_user(f"bench-solo-{tag}")
    students = [User.objects.create_user(f"bench-{tag}-{n:02}") for n in range(args.students)]
    try:
        _, solo_token = token_create(user=solo, name="bench", scope="submit")
        tokens = [token_create(user=s, name="bench", scope="submit")[1] for s in students]
        print(f"{len(every)} kinds of submission (seed exercises' starters and solutions), each alone first:")
        alone = single_runs(args.base, solo_token, every)

        # Each student: one exercise's starter and its solution, the exercises rotated.
        plan = [
            (tokens[n], every[2 * (n % len(EXERCISES)) + which])
            for n in range(args.students)
            for which in (0, 1)
        ]
        ideal = sum(alone[kind] for _, kind in plan) / concurrency
        print(f"\n{len(plan)} submissions from {args.students} students at once, {concurrency} at a time")
        begun = time.time()
        with ThreadPoolExecutor(max_workers=len(plan)) as pool:
            answers = list(pool.map(lambda job: post(args.base, *job), plan))
        sent_in = time.time() - begun
        refused = [(status, body.get("code")) for status, body in answers if status != 201]
        ids = [body["id"] for status, body in answers if status == 201]
        rows = wait_all(ids)
        last = max(row.finished_at.timestamp() for row in rows.values()) - begun

        finished = list(rows.values())
        graded_twice = [r.pk for r in finished if r.gradings.count() != 1]
        final_events = [
            r.pk
            for r in finished
            if sum(1 for e in r.events.filter(kind="status") if e.payload.get("status") in FINAL) != 1
        ]
        retried = [r.pk for r in finished if r.attempts != 1]
        waits = [(r.started_at - r.created_at).total_seconds() for r in finished if r.started_at]
        verdicts = [(r.finished_at - r.created_at).total_seconds() for r in finished]
        statuses = {s: sum(1 for r in finished if r.status == s) for s in FINAL}

        print(f"sent in {sent_in:.2f} s; refused: {len(refused)} {refused[:5]}")
        print(f"lost (never finished): {len(plan) - len(refused) - len(finished)}")
        duplicated = len(graded_twice) + len(final_events)
        print(f"duplicated (graded more than once, or more than one final event): {duplicated}")
        print(f"retried: {len(retried)}; outcomes: {statuses}")
        print(f"one student's builds at the same time: {overlaps(finished)}")
        print(f"queue wait: p50 {pct(waits, 50):.1f} s, p95 {pct(waits, 95):.1f} s")
        print(f"time to verdict: p50 {pct(verdicts, 50):.1f} s, p95 {pct(verdicts, 95):.1f} s")
        print(f"last verdict {last:.1f} s after the first request; ideal {ideal:.1f} s")
        print(f"ratio, last verdict / ideal: {last / ideal:.2f}x (target 1.2x)")
        print(f"mean grading alone {statistics.mean(alone.values()):.1f} s")
    finally:
        Submission.objects.filter(owner__in=[solo, *students]).delete()
        for user in (solo, *students):
            user.delete()


if __name__ == "__main__":
    main()
