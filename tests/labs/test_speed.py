"""run.speed on the real engine: the student's interpreter is timed against a baseline image the
platform builds once from the exercise's baseline Dockerfile, in alternating runs; a faster image
passes, a slower one fails, and a broken one is told what went wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from labs import pipeline
from labs.grading.rubric import rubric_from_data
from sandbox import engine
from sandbox.limits import BuildLimits
from sandbox.speed import compare_speed

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Stands in for a real workload: it "runs" for longer when the image says it is slow, and times
# itself, as the exercise's benchmark script does.
SCRIPT = (
    "import os, time\n"
    "start = time.perf_counter()\n"
    "time.sleep(0.40 if os.path.exists('/slow') else 0.12)\n"
    "print(f'{time.perf_counter() - start:.4f}')\n"
)
FAST = "FROM python:3.11-slim\nRUN echo {nonce} > /fast\n"
SLOW = "FROM python:3.11-slim\nRUN echo {nonce} > /slow\n"


class Sink:
    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.checks: dict[str, dict[str, Any]] = {}

    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None:
        self.statuses.append(message_code)

    def step(self, payload: dict[str, Any]) -> None: ...
    def log(self, step: str, line: str, truncated: bool) -> None: ...
    def idle(self) -> None: ...

    def check(self, payload: dict[str, Any]) -> None:
        self.checks[payload["criterion"]] = payload

    def score(self, payload: dict[str, Any]) -> None: ...


def spec(baseline: str) -> pipeline.ExerciseSpec:
    return pipeline.ExerciseSpec(
        context_files={"README": "x"},
        allowed_bases=("python:3.11-slim", "debian:bookworm-slim"),
        limits=BuildLimits(timeout_seconds=120),
        rubric=rubric_from_data({"criteria": [{"id": "run.speed", "weight": 1}]}),
        benchmark={"script_text": SCRIPT, "baseline_dockerfile": baseline, "runs": 3},
    )


@pytest.fixture
def nonce() -> Iterator[str]:
    value = uuid.uuid4().hex[:12]
    yield value
    for dockerfile in (FAST, SLOW):
        engine.image_remove(pipeline.baseline_ref(spec(dockerfile.format(nonce=value))))


def grade(exercise: pipeline.ExerciseSpec, dockerfile: str) -> tuple[pipeline.Outcome, Sink]:
    sink = Sink()
    tag = f"layerlab-test/speed:{uuid.uuid4().hex[:10]}"
    try:
        outcome = pipeline.grade(
            spec=exercise,
            dockerfile=dockerfile,
            dockerignore="",
            tag=tag,
            labels={engine.LABEL_SUBMISSION: f"test-{tag[-10:]}"},
            sink=sink,
            cache_namespace="0" * 24,
        )
    finally:
        engine.image_remove(tag)
    return outcome, sink


def test_a_faster_interpreter_passes_and_the_baseline_is_built_once(nonce: str) -> None:
    exercise = spec(SLOW.format(nonce=nonce))
    outcome, sink = grade(exercise, FAST.format(nonce=nonce))
    assert outcome.ok
    check = sink.checks["run.speed"]
    assert check["verdict"] == "pass", check["detail"]
    assert 0.2 < check["value"]["ratio"] < 0.5
    assert "baseline" in sink.statuses and "benchmark" in sink.statuses
    assert outcome.score is not None and outcome.score.total == 100

    _, again = grade(exercise, FAST.format(nonce=nonce))
    assert "baseline" not in again.statuses  # kept from the first grading
    assert again.checks["run.speed"]["verdict"] == "pass"


def test_a_slower_interpreter_fails_with_the_measured_ratio(nonce: str) -> None:
    outcome, sink = grade(spec(FAST.format(nonce=nonce)), SLOW.format(nonce=nonce))
    check = sink.checks["run.speed"]
    assert check["verdict"] == "fail"
    assert check["value"]["ratio"] > 2
    assert "plain source build" in check["detail"]["en"]
    assert outcome.score is not None and outcome.score.total == 0


def test_an_image_without_the_interpreter_is_told_so(nonce: str) -> None:
    _, sink = grade(spec(FAST.format(nonce=nonce)), f"FROM debian:bookworm-slim\nRUN echo {nonce} > /x\n")
    check = sink.checks["run.speed"]
    assert check["verdict"] == "fail"
    assert "your image" in check["detail"]["en"]
    assert "could not start" in check["detail"]["en"] or "exited" in check["detail"]["en"]


def test_runs_alternate_and_the_ratio_is_of_the_lower_quartiles() -> None:
    nonce = uuid.uuid4().hex[:10]
    tags = []
    try:
        for name, dockerfile in (("fast", FAST), ("slow", SLOW)):
            tag = f"layerlab-test/speed-{name}:{nonce}"
            lines = list(engine.build_trusted(dockerfile.format(nonce=nonce), tag, network="none"))
            assert lines
            tags.append(tag)
        result = compare_speed(tags[0], tags[1], ["python3", "-c", SCRIPT], pairs=4)
    finally:
        for tag in tags:
            engine.image_remove(tag)
    assert len(result.image_seconds) == len(result.baseline_seconds) == 4
    assert result.ratio is not None and 0.2 < result.ratio < 0.5
    assert all(t < 0.3 for t in result.image_seconds) and all(t > 0.35 for t in result.baseline_seconds)


def test_a_slow_spell_on_a_shared_machine_does_not_flip_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timings as measured on this kind of machine: a run lands in a slow spell (about 1.7x) now and
    then, for its whole length. Here the faster image is caught by one in 6 of its 10 runs; the
    verdict must still be that it is faster. (The engine is not what this test is about.)"""
    from sandbox import speed
    from sandbox.run.locked import RunResult

    image_times = iter([0.29, 0.17, 0.29, 0.29, 0.17, 0.29, 0.17, 0.29, 0.17, 0.29])
    baseline_times = iter([0.20] * 10)

    def fake_run(ref: str, argv: list[str], **_: Any) -> RunResult:
        seconds = next(image_times if ref == "image" else baseline_times)
        return RunResult(0, f"{seconds}\n", "", False, False, False, seconds + 1.0)

    monkeypatch.setattr(speed, "run_command", fake_run)
    result = speed.compare_speed("image", "baseline", ["python3", "-c", "..."], pairs=10)
    assert result.ratio == pytest.approx(0.85)


def test_a_fast_outlier_on_a_shared_machine_does_not_flip_the_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Timings as check_course measured them on another host of this kind: the PGO build is
    0.87x the plain one, but one baseline run in ten came out 30 % fast (by the fastest runs alone
    the solution scored 0.98x and lost the criterion)."""
    from sandbox import speed
    from sandbox.run.locked import RunResult

    image_times = iter([0.33, 0.32, 0.33, 0.34, 0.32, 0.33, 0.33, 0.35, 0.32, 0.33])
    baseline_times = iter([0.37, 0.38, 0.26, 0.37, 0.38, 0.37, 0.39, 0.37, 0.38, 0.37])

    def fake_run(ref: str, argv: list[str], **_: Any) -> RunResult:
        seconds = next(image_times if ref == "image" else baseline_times)
        return RunResult(0, f"{seconds}\n", "", False, False, False, seconds + 1.0)

    monkeypatch.setattr(speed, "run_command", fake_run)
    result = speed.compare_speed("image", "baseline", ["python3", "-c", "..."], pairs=10)
    assert result.ratio == pytest.approx(0.32 / 0.37)
