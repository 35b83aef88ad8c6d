"""Wall time of grading one submission (policy, BuildKit build with step events stored and
pushed, image facts, cleanup) against a plain `docker build` of the same Dockerfile, measured in
the same run, cold (build cache pruned) and warm. Prints the ratio.

    .venv/bin/python bench/grading_vs_docker_build.py [--rounds 3]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from authoring.demo import APP_PY, SOLUTION  # noqa: E402
from courses.models import Course, Session  # noqa: E402
from labs.models import Exercise, Submission  # noqa: E402
from labs.services import submission_create, submission_grade  # noqa: E402
from sandbox.engine import build_cli  # noqa: E402

DOCKERFILE = SOLUTION  # the demo exercise's reference solution: multi-stage, non-root
FILES = {"app.py": APP_PY, "requirements.txt": ""}


def prune_cache() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], check=True, capture_output=True)


def raw_build() -> float:
    cli = build_cli()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        for name, text in FILES.items():
            (ctx / name).write_text(text)
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        tag = f"bench-raw:{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        subprocess.run(
            [*cli.argv, "--progress=plain", "--network=none", "-t", tag, str(ctx)],
            env={**os.environ, **cli.env},
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        subprocess.run(["docker", "rmi", "-f", tag], check=True, capture_output=True)
    return seconds


def graded(exercise: Exercise, owner: object, *, via_worker: bool) -> float:
    started = time.perf_counter()
    if via_worker:
        submission = submission_create(owner=owner, exercise=exercise, dockerfile=DOCKERFILE)
        while not submission.is_finished:
            time.sleep(0.02)
            submission.refresh_from_db()
    else:
        submission = Submission.objects.create(owner=owner, exercise=exercise, dockerfile=DOCKERFILE)
        submission_grade(submission_id=submission.pk)
    seconds = time.perf_counter() - started
    submission.refresh_from_db()
    assert submission.status == Submission.Status.DONE, submission.failure_message
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--via-worker",
        action="store_true",
        help="submit as the page does and wait for a running Celery worker (bin/up starts one)",
    )
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    owner = get_user_model().objects.create(username=f"bench-{suffix}")
    course = Course.objects.create(slug=f"bench-{suffix}", title="bench")
    session = Session.objects.create(course=course, slug="bench", title="bench")
    exercise = Exercise.objects.create(
        session=session, slug=f"bench-{suffix}", title="bench", context_files=FILES
    )
    results: dict[str, list[float]] = {"raw cold": [], "graded cold": [], "raw warm": [], "graded warm": []}
    try:
        for _ in range(args.rounds):
            prune_cache()
            results["raw cold"].append(raw_build())
            prune_cache()
            results["graded cold"].append(graded(exercise, owner, via_worker=args.via_worker))
            results["raw warm"].append(raw_build())
            results["graded warm"].append(graded(exercise, owner, via_worker=args.via_worker))
    finally:
        course.delete()
        owner.delete()
    med = {k: statistics.median(v) for k, v in results.items()}
    how = "submitted to the Celery worker" if args.via_worker else "graded in process"
    print(f"engine build CLI: {' '.join(build_cli().argv)}; rounds: {args.rounds}; {how}")
    for kind in ("cold", "warm"):
        raw, grade = med[f"raw {kind}"], med[f"graded {kind}"]
        print(f"{kind:>4}: docker build {raw:6.2f} s   grading {grade:6.2f} s   ratio {grade / raw:5.2f}x")


if __name__ == "__main__":
    main()
