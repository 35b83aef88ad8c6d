"""Every case of the hostile corpus (corpus.yaml) graded on the real engine: the right party is
blamed with the right code and line, and nothing is left behind."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from labs import pipeline
from labs.grading.rubric import default_rubric
from sandbox import cgroups, engine
from sandbox.limits import BuildLimits, MiB
from sandbox.rewrite import cache_namespace

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "corpus.yaml").read_text())
BASES = ("debian:bookworm-slim", "python:3.11-slim", "scratch")


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None:
        self.events.append(("status", status))

    def step(self, payload: dict[str, Any]) -> None:
        self.events.append(("step", payload))

    def log(self, step: str, line: str, truncated: bool) -> None:
        self.events.append(("log", line))

    def idle(self) -> None:
        return None

    def check(self, payload: dict[str, Any]) -> None:
        self.events.append(("check", payload))

    def score(self, payload: dict[str, Any]) -> None:
        self.events.append(("score", payload))


def free_bytes() -> int:
    st = os.statvfs("/var/lib/docker")
    return st.f_bavail * st.f_frsize


def build_groups() -> set[str]:
    """Build cgroups and step records on the host (other builds may be running beside)."""
    roots = [Path(f"/sys/fs/cgroup/{c}/layerlab") for c in ("pids", "memory")]
    return {p.name for root in roots for p in root.glob("b-*")} | set(os.listdir(cgroups.RUN_DIR))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case(case: dict[str, Any]) -> None:
    spec = pipeline.ExerciseSpec(
        context_files={"app.py": "print('hello')\n"},
        allowed_bases=BASES,
        limits=BuildLimits(**case.get("limits", {})),
        rubric=default_rubric(["opt.layer_count", "sec.non_root", "run.behaviour"]),
    )
    if "exercise" in case:
        spec = replace(spec, **case["exercise"])
    before, groups = free_bytes(), build_groups()
    owner = f"hostile-{abs(hash(case['name'])) % 10**8}"
    fault: pipeline.ExerciseFault | None = None
    with engine.build_scope(owner) as scope:
        try:
            outcome = pipeline.grade(
                spec=spec,
                dockerfile=case["dockerfile"],
                dockerignore="",
                tag=scope.tag,
                labels=scope.labels,
                sink=Sink(),
                cache_namespace=cache_namespace(b"hostile-corpus", owner),
            )
        except pipeline.ExerciseFault as exc:
            fault = exc

    if case["party"] == "exercise":
        assert fault is not None and fault.kind == case["code"]
    else:
        assert fault is None
        assert outcome.failure is not None, "a hostile case must not pass"
        assert (outcome.failure.code, outcome.failure.line) == (case["code"], case.get("line"))
        assert "/var/lib/docker" not in outcome.failure.message
    assert engine.labelled_leftovers(value=owner) == {"containers": [], "images": []}
    assert build_groups() - groups == set()
    assert free_bytes() > before - 50 * MiB
