"""The history's chart of score and image size over attempts, as coordinates for an inline SVG
the template draws: no chart library, nothing run in the browser, and the page's table says
the same in text.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 560
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 44, 80, 16, 44


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    score: list[Point]
    size: list[Point]
    x_ticks: list[Tick]
    score_ticks: list[Tick]
    size_ticks: list[Tick]

    @property
    def x_end(self) -> int:
        return self.width - self.right

    @property
    def score_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.score)

    @property
    def size_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.size)


def megabytes(size: int, *, like: int | None = None) -> str:
    """Bytes as MB (kB below 0.1 MB), one decimal; `like` picks the unit of another size, so
    an axis's labels share one unit."""
    unit = size if like is None else like
    return f"{size / 1_000_000:.1f} MB" if unit >= 100_000 else f"{size / 1000:.1f} kB"


def attempts_chart(attempts: list[tuple[int, float | None, int | None]]) -> Chart | None:
    """(attempt number, score or None, image bytes or None) → a chart with score on the left
    axis (0 to 100) and size on the right (0 to the largest); None with fewer than two attempts."""
    if len(attempts) < 2:
        return None
    inner_w = WIDTH - LEFT - RIGHT
    inner_h = HEIGHT - TOP - BOTTOM
    step = inner_w / (len(attempts) - 1)
    largest = max((s for _, _, s in attempts if s), default=0)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(fraction: float) -> float:
        return TOP + inner_h * (1 - fraction)

    score = [Point(x(i), y(s / 100), f"{s:.1f}") for i, (_, s, _) in enumerate(attempts) if s is not None]
    size = [
        Point(x(i), y(b / largest), megabytes(b)) for i, (_, _, b) in enumerate(attempts) if b and largest
    ]
    every = max(1, len(attempts) // 12)  # at most a dozen labels under the axis
    x_ticks = [Tick(x(i), str(n)) for i, (n, _, _) in enumerate(attempts) if i % every == 0]
    score_ticks = [Tick(y(v / 100), str(v)) for v in (0, 25, 50, 75, 100)]
    size_ticks = (
        [Tick(y(f), megabytes(int(largest * f), like=largest)) for f in (0, 0.5, 1)] if largest else []
    )
    return Chart(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM, score, size, x_ticks, score_ticks, size_ticks)
