"""`manage.py check_course DIR`: is every exercise in this course folder actually solvable?

Validates every file (messages name the file and line), fetches the exercises' large files,
then builds and grades each reference solution in the sandbox (it must score 100) and each
starter (it must score lower), and prints a table. Exits 1 on any problem."""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authoring.files import CourseFileError, ExerciseData, course_read
from labs import pipeline
from labs.assets import AssetError, asset_fetch
from labs.management.commands.grade import ConsoleSink
from labs.models import Exercise
from labs.services import cache_namespace_for, spec_make
from sandbox import engine, policy
from sandbox.catalogue import CATALOGUE
from sandbox.network import BuildNetwork, NetworkUnavailable
from sandbox.run.spec import SpecError, validate_spec

FULL_MARKS = 99.95


@dataclass
class Row:
    slug: str
    solution: float | None = None
    starter: float | None = None
    size: int | None = None
    seconds: float = 0.0
    starter_note: str = ""


class HeartbeatSink(ConsoleSink):
    """Prints finished steps, and for a long step a line a minute so nobody wonders if it hung."""

    def __init__(self, out: Any, quiet: bool, label: str) -> None:
        super().__init__(out, quiet)
        self.label = label
        self.running: dict[str, tuple[str, float]] = {}
        self.last_beat = time.monotonic()

    def _say(self, text: str) -> None:
        super()._say(f"{self.label}: {text.strip()}")

    def step(self, payload: dict[str, Any]) -> None:
        if payload.get("internal"):
            return
        if payload["state"] == "running":
            self.running[payload["id"]] = (payload["name"], time.monotonic())
            return
        self.running.pop(payload["id"], None)
        super().step(payload)

    def idle(self) -> None:
        now = time.monotonic()
        if self.running and now - self.last_beat >= 60:
            self.last_beat = now
            name, started = next(iter(self.running.values()))
            self._say(f"still running {name[:80]} ({(now - started) / 60:.0f} min so far)")

    def check(self, payload: dict[str, Any]) -> None:
        if payload["verdict"] != "pass":
            super().check(payload)


class Command(BaseCommand):
    help = (
        "Checks a course folder: validates its files, builds every reference solution (must score "
        "100) and starter (must score lower) in the sandbox, and prints a table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--exercise", action="append", default=[], metavar="SLUG", help="check only this exercise"
        )
        parser.add_argument(
            "--build-arg",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="pass a build argument to every build (e.g. a shorter PGO profiling task)",
        )
        parser.add_argument("--no-build", action="store_true", help="validate the files only")
        parser.add_argument("--quiet", action="store_true", help="print only problems and the table")

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["directory"]
        if not (root / "course.yaml").is_file():
            raise CommandError(f"{root}: no course.yaml here; give the course folder")
        try:
            course = course_read(root)
        except CourseFileError as exc:
            raise CommandError(str(exc)) from exc
        extra_args = self._build_args(options["build_arg"])
        wanted = options["exercise"]
        unknown = [s for s in wanted if s not in course.exercises]
        if unknown:
            raise CommandError(f"not in this course: {', '.join(unknown)}")
        exercises = [e for slug, e in course.exercises.items() if not wanted or slug in wanted]

        problems: list[str] = []
        for ex in exercises:
            problems += self._validate(ex)
        if problems or options["no_build"]:
            self._finish(problems, [], course.slug)
            return

        rows: list[Row] = []
        for ex in exercises:
            row = Row(ex.slug)
            rows.append(row)
            try:
                problems += self._check(ex, row, extra_args, quiet=options["quiet"])
            except pipeline.ExerciseFault as fault:
                problems.append(f"exercises/{ex.slug}: {fault.detail}")
            except (AssetError, NetworkUnavailable, engine.EngineError) as exc:
                problems.append(
                    f"exercises/{ex.slug}: could not check it here (not the exercise's fault): {exc}"
                )
        self._finish(problems, rows, course.slug)

    @staticmethod
    def _build_args(pairs: list[str]) -> dict[str, str]:
        out = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise CommandError(f"--build-arg {pair!r}: expected KEY=VALUE")
            out[key] = value
        return out

    def _validate(self, ex: ExerciseData) -> list[str]:
        folder = f"exercises/{ex.slug}"
        problems = []
        known = {image.ref for image in CATALOGUE}
        normal = {policy.normalize_image(ref) for ref in known}
        for ref in ex.allowed_base_images:
            if policy.normalize_image(ref) not in normal:
                problems.append(
                    f"{folder}/exercise.yaml: allowed base image {ref!r} is not one this platform "
                    f"provides ({', '.join(sorted(known))})"
                )
        if ex.behaviour_tests:
            try:
                validate_spec(ex.behaviour_tests)
            except SpecError as exc:
                problems.append(f"{folder}/exercise.yaml: tests: {exc}")
        dockerfiles = {
            f"{folder}/solution/Dockerfile": ex.solution_dockerfile,
            f"{folder}/starter/Dockerfile": ex.starter_dockerfile,
        }
        if ex.benchmark:
            dockerfiles[f"{folder}/{ex.benchmark['baseline']}"] = ex.benchmark["baseline_dockerfile"]
        for path, text in dockerfiles.items():
            for v in policy.check_dockerfile(
                text.encode("utf-8"),
                allowed_bases=list(ex.allowed_base_images),
                engine_supports_heredocs=engine.supports_heredocs(),
            ):
                problems.append(f"{path}{f':{v.line}' if v.line else ''}: {v.message}")
        return problems

    def _check(self, ex: ExerciseData, row: Row, extra_args: dict[str, str], *, quiet: bool) -> list[str]:
        folder = f"exercises/{ex.slug}"
        say = (
            (lambda _m: None) if quiet else (lambda m: print(f"{ex.slug}: {m}", file=sys.stderr, flush=True))
        )
        for asset in ex.assets:
            if asset_fetch(asset, progress=say):
                say(f"fetched {asset['path']} ({asset['size']} bytes, sha256 verified)")
        spec = spec_make(
            slug=ex.slug,
            context_files=ex.context_files,
            assets=ex.assets,
            allowed_base_images=ex.allowed_base_images,
            build_timeout_seconds=ex.build_timeout_seconds,
            rubric=ex.rubric,
            behaviour_tests=ex.behaviour_tests,
            reference_size=None,
            network=ex.network,
            benchmark=ex.benchmark,
        )
        if extra_args:
            spec = replace(
                spec, network=BuildNetwork(spec.network.mode, {**spec.network.build_args, **extra_args})
            )
        problems = []
        started = time.monotonic()
        solution = self._grade(
            spec, ex.solution_dockerfile, ex.solution_dockerignore, f"{ex.slug} solution", quiet
        )
        row.seconds = time.monotonic() - started
        if not solution.ok:
            assert solution.failure is not None
            line = f":{solution.failure.line}" if solution.failure.line else ""
            problems.append(
                f"{folder}/solution/Dockerfile{line}: the reference solution does not build "
                f"({solution.failure.code}): {solution.failure.message}"
            )
            return problems
        assert solution.score is not None and solution.facts is not None
        row.solution, row.size = solution.score.total, solution.facts.size
        if solution.score.total < FULL_MARKS:
            lost = "; ".join(
                f"{s.result.criterion} {s.points:.1f}/{s.max_points:.1f}"
                + (f": {s.result.detail.en}" if s.result.detail.en else "")
                for s in solution.score.items
                if s.points < s.max_points
            )
            problems.append(
                f"{folder}/solution/Dockerfile: the reference solution scores {solution.score.total:.1f}, "
                f"not 100 (lost: {lost})"
            )
        spec = replace(spec, reference_size=solution.facts.size)
        starter = self._grade(spec, ex.starter_dockerfile, "", f"{ex.slug} starter", quiet)
        if starter.ok and starter.score is not None:
            row.starter = starter.score.total
        else:
            assert starter.failure is not None
            row.starter = 0.0
            row.starter_note = f"does not build: {starter.failure.code}"
        if row.starter >= solution.score.total:
            problems.append(
                f"{folder}/starter/Dockerfile: the starter scores {row.starter:.1f}, not lower than the "
                f"solution's {solution.score.total:.1f}; it leaves students nothing to do"
            )
        self._record(ex, solution.facts.size, say)
        return problems

    @staticmethod
    def _grade(spec: pipeline.ExerciseSpec, dockerfile: str, ignore: str, label: str, quiet: bool) -> Any:
        sink = HeartbeatSink(sys.stderr, quiet, label)
        with engine.build_scope(f"check-{uuid.uuid4().hex[:12]}") as scope:
            return pipeline.grade(
                spec=spec,
                dockerfile=dockerfile,
                dockerignore=ignore,
                tag=scope.tag,
                labels=scope.labels,
                sink=sink,
                as_reference=label.endswith("solution"),
                cache_namespace=cache_namespace_for("check-course"),
            )

    @staticmethod
    def _record(ex: ExerciseData, size: int, say: Any) -> None:
        """The imported exercise, if it is this one, learns its reference image size."""
        updated = Exercise.objects.filter(slug=ex.slug, solution_dockerfile=ex.solution_dockerfile).update(
            reference_image_size=size
        )
        if updated:
            say(f"recorded the reference image size ({size / 1e6:.1f} MB) in the database")

    def _finish(self, problems: list[str], rows: list[Row], slug: str) -> None:
        w = self.stdout.write
        if rows:
            w(f"{'exercise':<24} {'solution':>8} {'starter':>8} {'image':>10} {'time':>8}")
            for r in rows:
                sol = "-" if r.solution is None else f"{r.solution:.1f}"
                sta = "-" if r.starter is None else f"{r.starter:.1f}"
                size = "-" if r.size is None else f"{r.size / 1e6:.1f} MB"
                note = f"  (starter {r.starter_note})" if r.starter_note else ""
                w(f"{r.slug:<24} {sol:>8} {sta:>8} {size:>10} {r.seconds:>7.0f}s{note}")
        for problem in problems:
            self.stderr.write(self.style.ERROR(problem))
        if problems:
            raise CommandError(f"course {slug}: {len(problems)} problem(s)")
        if rows:
            w(self.style.SUCCESS(f"course {slug}: every solution scores 100 and every starter lower"))
        else:
            w(self.style.SUCCESS(f"course {slug}: every file is valid (nothing built: --no-build)"))
