"""`manage.py grade --exercise SLUG PATH [--json]`: the same grading a submission gets, run
synchronously in this process (no worker), for instructors trying a rubric and for scripts."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labs import pipeline
from labs.models import Exercise
from labs.services import cache_namespace_for, exercise_spec
from sandbox import engine

VERDICT_MARK = {"pass": "PASS", "partial": "PART", "fail": "FAIL", "skip": "SKIP"}


class ConsoleSink:
    def __init__(self, out: Any, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.out, flush=True)

    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None:
        self._say(f"[{status}] {message}")

    def step(self, payload: dict[str, Any]) -> None:
        if payload.get("internal") or payload["state"] == "running":
            return
        where = f"[{payload['stage'] + ' ' if payload['stage'] else ''}{payload['index']}/{payload['total']}]"
        line = f" (line {payload['line']})" if payload.get("line") else ""
        self._say(f"  {where} {payload['name']}{line} {payload['state'].upper()}")

    def log(self, step: str, line: str, truncated: bool) -> None:
        pass

    def idle(self) -> None:
        pass

    def check(self, payload: dict[str, Any]) -> None:
        lines = ",".join(str(x) for x in payload["lines"])
        where = f" line {lines}" if lines else ""
        self._say(
            f"  {VERDICT_MARK[payload['verdict']]} {payload['criterion']}{where}: {payload['detail']['en']}"
        )

    def score(self, payload: dict[str, Any]) -> None:
        pass


def exercise_by_name(name: str) -> Exercise:
    """`course/slug`, or a bare slug when only one course has an exercise by that name."""
    course, _, slug = name.rpartition("/")
    found = Exercise.objects.filter(slug=slug)
    if course:
        found = found.filter(course__slug=course)
    matches = list(found.select_related("course")[:2])
    if not matches:
        raise CommandError(f"no exercise {name!r}")
    if len(matches) > 1:
        raise CommandError(f"several courses have an exercise {slug!r}: name it as course/{slug}")
    return matches[0]


class Command(BaseCommand):
    help = "Grades a Dockerfile against an exercise's rubric, synchronously, and prints the results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exercise", required=True, help="exercise slug, or course/slug")
        parser.add_argument("dockerfile", type=Path)
        parser.add_argument("--dockerignore", type=Path, help="a .dockerignore to submit with it")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: Any, **options: Any) -> None:
        exercise = exercise_by_name(options["exercise"])
        path: Path = options["dockerfile"]
        try:
            dockerfile = path.read_text(encoding="utf-8")
            ignore_path: Path | None = options.get("dockerignore")
            dockerignore = ignore_path.read_text(encoding="utf-8") if ignore_path else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {exc.filename or path}: {exc}") from exc

        sink = ConsoleSink(sys.stderr, quiet=options["json"])
        try:
            with engine.build_scope(f"cli-{uuid.uuid4().hex[:12]}") as scope:
                outcome = pipeline.grade(
                    spec=exercise_spec(exercise),
                    dockerfile=dockerfile,
                    dockerignore=dockerignore,
                    tag=scope.tag,
                    labels=scope.labels,
                    sink=sink,
                    cache_namespace=cache_namespace_for("grade-cli"),
                )
        except engine.EngineError as exc:
            raise CommandError(f"the Docker engine failed (not the Dockerfile's fault): {exc}") from exc
        except pipeline.ExerciseFault as fault:
            raise CommandError(f"the exercise is broken, not the Dockerfile: {fault.detail}") from fault

        points = {s.result.criterion: s for s in outcome.score.items} if outcome.score else {}
        document = {
            "exercise": exercise.slug,
            "dockerfile": str(path),
            "status": "done" if outcome.ok else "failed",
            "score": outcome.score.total if outcome.score else 0,
            "capped": bool(outcome.score and outcome.score.capped),
            "failed_required": list(outcome.score.failed_required) if outcome.score else [],
            "failure": None
            if outcome.ok
            else {
                "code": outcome.failure.code,
                "message": outcome.failure.message,
                "line": outcome.failure.line,
            },
            "image_size": outcome.facts.size if outcome.facts else None,
            "criteria": [
                {
                    "id": r.criterion,
                    "verdict": r.verdict,
                    "value": r.value,
                    "line": r.lines[0] if r.lines else None,
                    "lines": list(r.lines),
                    "points": points[r.criterion].points if r.criterion in points else 0,
                    "max_points": points[r.criterion].max_points if r.criterion in points else 0,
                    "detail": r.detail.en,
                }
                for r in outcome.results
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        else:
            self._table(document)
        if not outcome.ok:
            raise SystemExit(1)

    def _table(self, doc: dict[str, Any]) -> None:
        w = self.stdout.write
        if doc["failure"]:
            f = doc["failure"]
            w(self.style.ERROR(f"FAILED ({f['code']}) line {f['line']}: {f['message']}"))
        w(f"{'criterion':<28} {'verdict':<8} {'points':>13}  line  detail")
        for c in doc["criteria"]:
            pts = f"{c['points']:.1f}/{c['max_points']:.1f}"
            line = str(c["line"] or "")
            w(f"{c['id']:<28} {c['verdict']:<8} {pts:>13}  {line:>4}  {c['detail'][:90]}")
        capped = " (capped: a required criterion failed)" if doc["capped"] else ""
        w(self.style.SUCCESS(f"Score: {doc['score']:.1f}/100{capped}"))
