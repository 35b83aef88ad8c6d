"""Many pages watching builds live: how long after an event is stored it reaches each open
websocket. Three rounds against the platform `bin/up` started (daphne, the worker, Redis, the
Docker engine), on its database:

- one watcher on one submission (the baseline),
- 200 watchers on one submission,
- 200 watchers on 40 submissions (5 each), the 40 graded as the worker takes them,

each printing p50/p95 delivery (receipt minus the event's stored time, counted only for events
stored after that watcher connected) and the ratio to the baseline; target p95 under 500 ms.
Then submit to first event: a POST to the API, then the page's websocket opened with the id it
returned, to the first event received (the `queued` status), against the POST alone; target
under 100 ms.

The watchers run in two processes (two cores on the reference machine) so that the client's own
JSON parsing does not stand in for the server's delay. Makes its own course, students and tokens,
removes them.

    .venv/bin/python bench/watchers.py [--watchers 200] [--submissions 40] [--base http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import websockets  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from api.services import token_create  # noqa: E402
from bench.gradebook_latency import cookie_for  # noqa: E402
from bench.world import bench_course  # noqa: E402
from labs.models import Submission  # noqa: E402
from labs.services import submission_create  # noqa: E402

FINAL = ("done", "failed", "error")
# A build with a few steps and a trickle of log lines, so there is something to deliver; its
# first step waits long enough for every watcher to have connected before the lines come.
DOCKERFILE = (
    "FROM debian:bookworm-slim\n"
    "RUN sleep 15 && for i in $(seq 20); do echo line $i; sleep 0.25; done\n"
    "RUN echo {nonce}\n"
    "USER 1000\n"
    'CMD ["true"]\n'
)
PROCESSES = 2
TIMEOUT_S = 900
QUICK = 'FROM debian:bookworm-slim\nUSER 1000\nCMD ["true"]\n'


async def _watch(ws_base: str, origin: str, submission_id: int, cookie: str) -> list[float]:
    """Seconds from stored to received of each event stored after this socket was open."""
    url = f"{ws_base}/ws/submissions/{submission_id}/?after=0"
    delays: list[float] = []
    async with websockets.connect(
        url, origin=origin, additional_headers={"Cookie": cookie}, max_size=2**22
    ) as ws:
        opened = time.time()
        while True:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
            received = time.time()
            message = json.loads(raw)
            stored = datetime.fromisoformat(message["at"]).timestamp()
            if stored > opened:
                delays.append(received - stored)
            if message["kind"] == "status" and message["payload"]["status"] in FINAL:
                return delays


async def _watch_all(ws_base: str, origin: str, jobs: list[tuple[int, str]]) -> list[float]:
    results = await asyncio.gather(*(_watch(ws_base, origin, sid, cookie) for sid, cookie in jobs))
    return [d for delays in results for d in delays]


def _process(ws_base: str, origin: str, jobs: list[tuple[int, str]], out: Any) -> None:
    out.put(asyncio.run(_watch_all(ws_base, origin, jobs)))


def watch(base: str, jobs: list[tuple[int, str]]) -> list[float]:
    """Every (submission, cookie) watcher, spread over the processes, each until the verdict;
    every delivery delay."""
    ws_base = base.replace("http", "ws", 1)
    out: Any = multiprocessing.Queue()
    procs = []
    for n in range(PROCESSES):
        if share := jobs[n::PROCESSES]:
            proc = multiprocessing.Process(target=_process, args=(ws_base, base, share, out))
            proc.start()
            procs.append(proc)
    delays = [d for _ in procs for d in out.get(timeout=TIMEOUT_S)]
    for proc in procs:
        proc.join()
    return delays


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def first_event(
    base: str, token: str, course: str, exercises: list[str], runs: int
) -> tuple[list[float], list[float]]:
    ws_base = base.replace("http", "ws", 1)
    posts, firsts = [], []
    for n in range(runs):
        body = json.dumps({"course": course, "exercise": exercises[n % len(exercises)], "dockerfile": QUICK})
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{base}/api/v1/submissions",
            data=body.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        begun = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            sid = json.loads(response.read())["id"]
        posted = time.perf_counter()

        async def first(sid: int) -> None:
            async with websockets.connect(
                f"{ws_base}/ws/submissions/{sid}/?after=0",
                origin=base,
                additional_headers={"Authorization": f"Bearer {token}"},
            ) as ws:
                await asyncio.wait_for(ws.recv(), 30)

        asyncio.run(first(sid))
        firsts.append(time.perf_counter() - begun)
        posts.append(posted - begun)
        wait_finished([sid])
    return posts, firsts


def wait_finished(ids: list[int]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while Submission.objects.filter(pk__in=ids).exclude(status__in=FINAL).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"submissions {ids[:5]}... did not finish in {TIMEOUT_S} s")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--first-event-runs", type=int, default=10)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    tag, course, exercises = bench_course()
    User = get_user_model()
    students = [User.objects.create_user(f"bench-w-{tag}-{n:02}") for n in range(args.submissions)]
    try:
        cookies = [cookie_for(s) for s in students]
        nonce = 0

        def make(owner: Any, n: int) -> Submission:
            nonlocal nonce
            nonce += 1
            return submission_create(
                owner=owner,
                exercise=exercises[n % len(exercises)],
                dockerfile=DOCKERFILE.format(nonce=f"{tag}-{nonce}"),
            )

        def rounds(count: int, watchers: int) -> list[float]:
            # The sockets need the ids, so the submissions come first (the worker starts on them
            # at once); a socket replays what was stored before it opened, which is not counted.
            subs = [make(students[n], n) for n in range(count)]
            jobs = [(subs[n % count].pk, cookies[n % count]) for n in range(watchers)]
            delays = watch(args.base, jobs)
            wait_finished([s.pk for s in subs])
            return delays

        results = {}
        for label, count, watchers in (
            ("1 watcher, 1 submission", 1, 1),
            (f"{args.watchers} watchers, 1 submission", 1, args.watchers),
            (f"{args.watchers} watchers, {args.submissions} submissions", args.submissions, args.watchers),
        ):
            delays = rounds(count, watchers)
            results[label] = delays
            print(
                f"{label:36} {len(delays):6} deliveries  p50 {pct(delays, 50) * 1000:6.0f} ms"
                f"  p95 {pct(delays, 95) * 1000:6.0f} ms  max {max(delays) * 1000:6.0f} ms",
                flush=True,
            )
        base_p95 = pct(results["1 watcher, 1 submission"], 95)
        for label, delays in list(results.items())[1:]:
            print(f"ratio p95, {label} / 1 watcher: {pct(delays, 95) / base_p95:.2f}x (target: p95 < 500 ms)")

        _, token = token_create(user=students[-1], name="bench", scope="submit")
        slugs = [e.slug for e in exercises]
        posts, firsts = first_event(args.base, token, course.slug, slugs, args.first_event_runs)
        first_ms, post_ms = statistics.median(firsts) * 1000, statistics.median(posts) * 1000
        print(
            f"\nsubmit -> first event: median {first_ms:.0f} ms, max {max(firsts) * 1000:.0f} ms;"
            f" the POST alone: median {post_ms:.0f} ms"
        )
        print(f"ratio, first event / POST alone: {first_ms / post_ms:.2f}x (target: under 100 ms)")
    finally:
        Submission.objects.filter(owner__in=students).delete()
        for user in students:
            user.delete()
        course.delete()


if __name__ == "__main__":
    main()
