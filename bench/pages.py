"""Server time of each main page on the demo data, against the 300 ms budget and against a trivial
page (the login form, anonymous) measured the same way in the same run. Loads the seed course and
the demo (`import_course`, `load_demo`) into a throwaway SQLite database, then gives the demo
term a class of students with graded attempts at every exercise of its assignment, the demo
student a long history at one exercise, and the assignment a regrade preview. Each page is
fetched through Django's test client (the whole middleware, view and template; no network), one
warm-up, then the median of several runs; the queries of one run are counted too.

    .venv/bin/python bench/pages.py [--runs 9] [--students 60] [--attempts 3] [--history 25]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_DB = tempfile.TemporaryDirectory(prefix="layerlab-bench-pages-")
os.environ["LAYERLAB_SQLITE_PATH"] = str(Path(_DB.name) / "db.sqlite3")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LAYERLAB_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from authoring.demo import DEMO_RUN  # noqa: E402
from courses.models import CourseRun, Membership  # noqa: E402
from labs.models import Assignment, Grading, Regrade, RegradeItem, Submission  # noqa: E402

BUDGET_MS = 300.0
SEED = ROOT / "content" / "image-optimisation"
VERDICTS = ("pass", "partial", "fail")


def results_for(rubric: dict, n: int) -> list[dict]:
    """A graded result per rubric criterion, verdicts varying with `n`, as the grader stores them."""
    out = []
    for i, entry in enumerate(rubric.get("criteria", [])):
        verdict = VERDICTS[(n + i) % 3]
        out.append(
            {
                "criterion": entry["id"],
                "verdict": verdict,
                "value": None,
                "lines": [1 + i % 4],
                "detail": {"en": f"{entry['id']}: {verdict}", "ko": f"{entry['id']}: {verdict}"},
                "credit": {"pass": 1.0, "partial": 0.5, "fail": 0.0}[verdict],
            }
        )
    return out


def load(students: int, attempts: int, history: int) -> dict[str, object]:
    call_command("migrate", verbosity=0)
    call_command("import_course", str(SEED), stdout=StringIO())
    call_command("load_demo", stdout=StringIO())
    User = get_user_model()
    run = CourseRun.objects.get(slug=DEMO_RUN)
    assignment = Assignment.objects.get(run=run)
    exercises = list(assignment.exercises.order_by("assignment_items__position"))
    Assignment.objects.filter(pk=assignment.pk).update(max_attempts=None)
    users = [User(username=f"class-{i:03d}", first_name=f"학생 {i}") for i in range(students)]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__startswith="class-"))
    Membership.objects.bulk_create([Membership(run=run, user=u, role=Membership.Role.STUDENT) for u in users])
    student = User.objects.get(username="student")
    rows = []
    for n, user in enumerate([*users, User.objects.get(username="student2")]):
        for exercise in exercises:
            for a in range(attempts):
                rows.append((user, exercise, n + a))
    first = exercises[0]
    rows += [(student, first, k) for k in range(history)]
    subs = []
    for user, exercise, n in rows:
        rubric = exercise.rubric or {}
        subs.append(
            Submission(
                owner=user,
                exercise=exercise,
                assignment=assignment,
                dockerfile=exercise.starter_dockerfile or "FROM python:3.11-slim\n",
                status=Submission.Status.DONE if n % 5 else Submission.Status.FAILED,
                score=float(40 + (n * 7) % 60) if n % 5 else None,
                image_size=120_000_000 + n * 1_000_000,
                layer_count=6 + n % 4,
                build_seconds=3.5,
                results=results_for(rubric, n),
            )
        )
    Submission.objects.bulk_create(subs, batch_size=500)
    made = list(Submission.objects.filter(assignment=assignment))
    Grading.objects.bulk_create(
        [Grading(submission=s, status=s.status, score=s.score, results=s.results) for s in made],
        batch_size=500,
    )
    instructor = User.objects.get(username="instructor")
    regrade = Regrade.objects.create(
        assignment=assignment, created_by=instructor, status=Regrade.Status.READY, reason="bench"
    )
    RegradeItem.objects.bulk_create(
        [
            RegradeItem(
                regrade=regrade,
                submission=s,
                status=RegradeItem.Status.DONE,
                old_score=s.score,
                new_status=Submission.Status.DONE,
                new_score=min(100.0, (s.score or 0) + 5),
                new_results=s.results,
            )
            for s in made
            if s.status == Submission.Status.DONE
        ],
        batch_size=500,
    )
    latest = Submission.objects.filter(owner=student, exercise=first).latest("pk")
    base = f"/runs/{run.slug}"
    a = f"{base}/assignments/{assignment.pk}"
    course = run.course.slug
    session = first.session.slug
    student_pages = {
        "course list": "/",
        "course page": f"/courses/{course}/",
        "lesson": f"/courses/{course}/{session}/",
        "exercise page with history": f"{first.get_absolute_url()}?assignment={assignment.pk}",
        "submission page": f"/labs/submissions/{latest.pk}/",
        "assignment page": f"{a}/",
    }
    staff_pages = {
        "dashboard": f"{base}/",
        "gradebook": f"{a}/gradebook/",
        "roster": f"{base}/roster/",
        "exercise stats": f"{base}/exercises/{first.pk}/",
        "regrade page": f"{a}/regrades/{regrade.pk}/",
        "submissions list": f"{base}/submissions/",
    }
    return {
        "student": student,
        "instructor": instructor,
        "student_pages": student_pages,
        "staff_pages": staff_pages,
        "counts": (len(users) + 2, len(exercises), len(made), history),
    }


def measure(client: Client, path: str, runs: int) -> tuple[float, int]:
    """Median milliseconds over `runs` fetches after one warm-up, and one fetch's queries."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    count = len(queries)  # read now: the next request empties the connection's log
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9, help="timed fetches of each page (median)")
    parser.add_argument("--students", type=int, default=60, help="students added to the demo term")
    parser.add_argument("--attempts", type=int, default=3, help="graded attempts per student and exercise")
    parser.add_argument("--history", type=int, default=25, help="the demo student's attempts at one exercise")
    args = parser.parse_args()
    world = load(args.students, args.attempts, args.history)
    members, exercises, submissions, history = world["counts"]  # type: ignore[misc]
    print(
        f"demo term: {members} students, {exercises} exercises, {submissions} graded submissions; "
        f"the demo student has {history} attempts at the first exercise; median of {args.runs} runs"
    )
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="ko", HTTP_HOST="localhost")
    baseline, baseline_queries = measure(anonymous, "/login/", args.runs)
    print(f"{'page':<34}{'ms':>8}{'/ budget':>10}{'/ baseline':>12}{'queries':>9}")
    row = "{:<34}{:>8.1f}{:>10.2f}{:>12.1f}{:>9}"
    print(row.format("baseline: login form (anonymous)", baseline, baseline / BUDGET_MS, 1, baseline_queries))
    over = []
    for who, pages in (("student", world["student_pages"]), ("instructor", world["staff_pages"])):
        client = Client(HTTP_ACCEPT_LANGUAGE="ko", HTTP_HOST="localhost")
        client.force_login(world[who])  # type: ignore[arg-type]
        for name, path in pages.items():  # type: ignore[attr-defined]
            ms, queries = measure(client, path, args.runs)
            label = f"{who}: {name}"
            print(row.format(label, ms, ms / BUDGET_MS, ms / baseline, queries))
            if ms > BUDGET_MS:
                over.append(label)
    print(f"over the {BUDGET_MS:.0f} ms budget: {', '.join(over) if over else 'none'}")


if __name__ == "__main__":
    main()
