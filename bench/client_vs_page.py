"""The same submission made two ways, timed as the student sees it: through the terminal client
(`layerlab submit --plain`, a subprocess, its standard output read line by line) and through the
exercise page in a real browser (Playwright driving Debian's chromium: the form posted, the live
panel watched). For each: seconds from starting the submission to the first thing shown (the
client's first printed line; the page's first status event drawn in the live panel) and to the
final score shown (the client's `Score:` line; the page's panel finished with its score line).
Runs alternate, client then page, so drift in the worker or the engine falls on both alike;
one warm-up of each comes first and is not counted. Runs against the platform `bin/up` started
(daphne, the worker, Redis, the Docker engine) on its database; makes its own course, exercises,
student and token, removes them.

    .venv/bin/python bench/client_vs_page.py [--runs 5] [--base http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sessions.models import Session as DjangoSession  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from api.models import Token  # noqa: E402
from api.services import token_create  # noqa: E402
from bench.world import EXERCISES, bench_course  # noqa: E402
from labs.models import Exercise, Submission  # noqa: E402

TIMEOUT_S = 240
CHROMIUM = "/usr/bin/chromium"

# The new page (the redirect after the post carries ?submission=) with its first event drawn:
# the status message is empty in the template and filled by the first status event.
FIRST_SHOWN = """() => {
  if (document.querySelector('[data-role="form-refused"]')) return "refused";
  if (!location.search.includes("submission=")) return false;
  const live = document.getElementById("live");
  const message = live && live.querySelector('[data-role="message"]');
  return Boolean(live && Number(live.dataset.lastSeq || 0) >= 1 && message && message.textContent.trim());
}"""
SCORE_SHOWN = """() => {
  const live = document.getElementById("live");
  if (!live || live.dataset.finished !== "true") return false;
  const score = live.querySelector('[data-role="score"]');
  if (score && !score.hidden && score.textContent.trim()) return "score";
  const status = live.querySelector('[data-role="status"]');
  return status && status.dataset.status !== "done" ? "status:" + status.dataset.status : false;
}"""


def dockerfile() -> str:
    """A fresh nonce in a RUN step: the build cache cannot answer for this submission."""
    return f'FROM debian:bookworm-slim\nRUN echo {uuid.uuid4().hex}\nUSER 1000\nCMD ["true"]\n'


class World:
    def __init__(self) -> None:
        tag, self.course, self.exercises = bench_course()
        self.password = uuid.uuid4().hex
        self.student = get_user_model().objects.create_user(f"bench-student-{tag}", password=self.password)
        self.token, self.raw_token = token_create(user=self.student, name="bench", scope="submit")

    def remove(self) -> None:
        Submission.objects.filter(owner=self.student).delete()
        Token.objects.filter(user=self.student).delete()
        Exercise.objects.filter(course=self.course).delete()
        self.course.delete()
        pk = str(self.student.pk)
        for row in DjangoSession.objects.filter(expire_date__gt=timezone.now()):
            if row.get_decoded().get("_auth_user_id") == pk:
                row.delete()
        self.student.delete()


def client_run(world: World, base: str, exercise: Exercise, workdir: Path) -> tuple[float, float]:
    """Seconds from starting `layerlab submit` to its first printed line, and to its `Score:` line."""
    path = workdir / "Dockerfile"
    path.write_text(dockerfile(), encoding="utf-8")
    env = {
        **os.environ,
        "LAYERLAB_URL": base,
        "LAYERLAB_TOKEN": world.raw_token,
        "LAYERLAB_LANG": "en",
        "LAYERLAB_CONFIG": str(workdir / "config.json"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "layerlab_client.cli",
        "submit",
        str(path),
        "--exercise",
        f"{world.course.slug}/{exercise.slug}",
        "--plain",
    ]
    first = final = None
    lines: list[str] = []
    t0 = time.monotonic()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            now = time.monotonic()
            lines.append(line.rstrip("\n"))
            if first is None:
                first = now - t0
            if final is None and line.startswith("Score:"):
                final = now - t0
        errors = proc.stderr.read()
        code = proc.wait(timeout=TIMEOUT_S)
    if first is None or final is None:
        shown = "\n".join(lines[-10:])
        raise SystemExit(f"the client showed no score (exit {code}):\n{shown}\n{errors.strip()}")
    return first, final


def log_in(page: Page, base: str, world: World) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", world.student.get_username())
    page.fill("#id_password", world.password)
    with page.expect_navigation():
        page.click("form:has(#id_username) button[type=submit]")
    if "/login/" in page.url:
        raise SystemExit("the login form refused the bench student")


def page_run(page: Page, base: str, exercise: Exercise) -> tuple[float, float]:
    """Seconds from clicking Submit on the exercise page to the first status event drawn in the
    live panel, and to the panel finished with its score."""
    page.goto(f"{base}{exercise.get_absolute_url()}", wait_until="load")
    text = dockerfile()
    if page.evaluate("() => typeof window.layerlabEditor === 'object'"):
        page.evaluate("(t) => window.layerlabEditor.setText(t)", text)
    else:
        page.fill("#dockerfile", text)
    if page.input_value("#dockerfile") != text:
        raise SystemExit("the editor did not take the benchmark's Dockerfile")
    timeout = TIMEOUT_S * 1000
    t0 = time.monotonic()
    page.click("#submit-button", no_wait_after=True)
    seen = page.wait_for_function(FIRST_SHOWN, polling="raf", timeout=timeout).json_value()
    first = time.monotonic() - t0
    if seen == "refused":
        refusal = page.locator(".messages, [role=alert]").all_inner_texts()
        raise SystemExit(f"the page refused the submission: {' '.join(refusal) or page.url}")
    shown = page.wait_for_function(SCORE_SHOWN, polling="raf", timeout=timeout).json_value()
    final = time.monotonic() - t0
    if shown != "score":
        raise SystemExit(f"the page's submission ended without a score ({shown}): {page.url}")
    return first, final


def measure(world: World, base: str, runs: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"client": [], "page": []}
    index = 0
    with tempfile.TemporaryDirectory(prefix="layerlab-bench-client-") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(locale="en-US").new_page()
            log_in(page, base, world)
            for n in range(runs + 1):  # the first round is the warm-up
                for path in ("client", "page"):
                    exercise = world.exercises[index % EXERCISES]
                    index += 1
                    if path == "client":
                        times = client_run(world, base, exercise, Path(tmp))
                    else:
                        times = page_run(page, base, exercise)
                    label = "warm-up" if n == 0 else f"run {n}"
                    line = f"  {label:<8} {path:<7} first {times[0]:6.2f} s   final {times[1]:6.2f} s"
                    print(line, flush=True)
                    if n:
                        results[path].append(times)
        finally:
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed submissions on each path (median)")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    world = World()
    try:
        print(f"{args.runs} runs on each path, alternating client and page, after one warm-up of each")
        results = measure(world, base, args.runs)
    finally:
        world.remove()

    def medians(path: str) -> tuple[float, float]:
        rows: list[Any] = results[path]
        return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)

    client, page = medians("client"), medians("page")
    print()
    print(f"{'path':<8}{'first line (s)':>16}{'final score (s)':>18}")
    for name, (first, final) in (("client", client), ("page", page)):
        print(f"{name:<8}{first:>16.2f}{final:>18.2f}")
    print(f"ratio client ÷ page: first {client[0] / page[0]:.2f}, final {client[1] / page[1]:.2f}")
    print(f"(medians of {args.runs} runs each)")


if __name__ == "__main__":
    main()
