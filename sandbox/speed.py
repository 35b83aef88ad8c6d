"""Times one image's interpreter against a baseline image's on the same workload, in the same
locked containers behaviour tests use. Runs alternate (image, baseline, baseline, image, ...)
so drift on a shared machine hits both alike, and the workload times itself so container start-up
is not counted. The verdict is the ratio of the two sides' fastest runs: noise on a shared machine
only ever slows a run down, and in slow spells that last a whole run. Measured here on the PGO
exercise, three rounds of 10 pairs each: plain build against itself 0.987-1.015 by fastest runs
but up to 1.42 by the median of paired ratios; the PGO build 0.83-0.87 by fastest runs, up to
1.12 by the median."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sandbox.run import RunLimits, RunResult, run_command


def _last_cpu() -> str:
    """Both interpreters run on the same single core, with no CFS quota: a quota throttles short
    runs unevenly and was the largest source of noise measured here."""
    return str(max(os.sched_getaffinity(0)))


SPEED_LIMITS = RunLimits(
    wall_seconds=60.0, memory_bytes=512 * 1024 * 1024, cpus=0, cpuset=_last_cpu(), pids=64
)


@dataclass(frozen=True)
class SpeedResult:
    ratio: float | None  # the image's fastest run / the baseline's fastest run
    image_seconds: tuple[float, ...]
    baseline_seconds: tuple[float, ...]
    error: str = ""


def _seconds(result: RunResult) -> float | str:
    if result.start_error:
        return f"could not start: {result.start_error}"
    if result.timed_out:
        return "did not finish in time"
    if result.exit_code != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return f"exited with {result.exit_code}: {' / '.join(tail)}"
    lines = result.stdout.strip().splitlines()
    try:
        value = float(lines[-1])
    except (IndexError, ValueError):
        return f"printed no timing (last line: {lines[-1][:80] if lines else 'nothing'!r})"
    return value if value > 0 else "printed a non-positive timing"


def compare_speed(
    image: str,
    baseline: str,
    argv: Sequence[str],
    *,
    pairs: int,
    limits: RunLimits = SPEED_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> SpeedResult:
    mine: list[float] = []
    theirs: list[float] = []
    for n in range(pairs):
        sides = [(image, mine, "your image"), (baseline, theirs, "the baseline")]
        for ref, into, who in sides if n % 2 == 0 else sides[::-1]:
            measured = _seconds(run_command(ref, argv, entrypoint=[], limits=limits, labels=labels))
            if isinstance(measured, str):
                return SpeedResult(None, tuple(mine), tuple(theirs), f"the benchmark in {who} {measured}")
            into.append(measured)
    ratio = min(mine) / min(theirs)
    return SpeedResult(ratio, tuple(mine), tuple(theirs))
