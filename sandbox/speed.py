"""Times one image's interpreter against a baseline image's on the same workload, in the same
locked containers behaviour tests use. Runs alternate (image, baseline, baseline, image, ...)
so drift on a shared machine hits both alike, and the workload times itself so container start-up
is not counted. The verdict is the ratio of the two sides' lower quartiles (the third-fastest of
ten runs): shared machines have slow spells that last whole runs (a run about 1.7x slower, in up
to 6 of 10 runs: the median fails there) and, on some hosts, fast outliers (one run in ten about
20 % faster than the rest: the fastest run fails there). Measured on the PGO exercise, 10 pairs a
round: the PGO build against a plain one 0.62-0.88 by fastest runs, 0.85-0.91 by medians and
0.87-0.88 by lower quartiles; a plain build against itself 0.87-1.03 by fastest runs and
0.93-1.02 by lower quartiles; check_course gave the PGO solution 0.97 and 0.98 by fastest runs.
Another day on the same machine (its disk busy from outside, 40 % iowait), the same images by
lower quartiles: 0.88-0.93 over six rounds idle, 0.93-0.96 inside the test suite; so the PGO
exercise runs 20 pairs and gives full credit from 0.95."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sandbox.run.locked import RunLimits, RunResult, run_command


def _last_cpu() -> str:
    """Both interpreters run on the same single core, with no CFS quota: a quota throttles short
    runs unevenly and was the largest source of noise measured here."""
    return str(max(os.sched_getaffinity(0)))


SPEED_LIMITS = RunLimits(
    wall_seconds=60.0, memory_bytes=512 * 1024 * 1024, cpus=0, cpuset=_last_cpu(), pids=64
)


@dataclass(frozen=True)
class SpeedResult:
    ratio: float | None  # the image's lower quartile / the baseline's lower quartile
    image_seconds: tuple[float, ...]
    baseline_seconds: tuple[float, ...]
    error: str = ""

    @property
    def image_typical(self) -> float:
        return lower_quartile(self.image_seconds)

    @property
    def baseline_typical(self) -> float:
        return lower_quartile(self.baseline_seconds)


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
    return SpeedResult(lower_quartile(mine) / lower_quartile(theirs), tuple(mine), tuple(theirs))


def lower_quartile(seconds: Sequence[float]) -> float:
    """The run a quarter of the way up from the fastest: past the odd fast outlier, below the
    slow spells."""
    return sorted(seconds)[len(seconds) // 4]
