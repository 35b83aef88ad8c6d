"""A small mixed pure-Python workload: floating-point n-body steps, JSON round trips, regular
expressions and small-object method calls. Runs it five times and prints the fastest run's seconds
(process start excluded; the minimum is the run least disturbed by anything else on the machine)."""

import json
import re
import time


def nbody(steps: int) -> float:
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
        [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
        [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
        [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017],
        [15.37, -25.91, 0.17, 0.97, 0.59, -0.03, 0.002],
    ]
    dt = 0.01
    for _ in range(steps):
        for i, a in enumerate(bodies):
            for b in bodies[i + 1 :]:
                dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
                d2 = dx * dx + dy * dy + dz * dz
                mag = dt / (d2 * d2**0.5)
                am, bm = a[6] * mag, b[6] * mag
                a[3] -= dx * bm
                a[4] -= dy * bm
                a[5] -= dz * bm
                b[3] += dx * am
                b[4] += dy * am
                b[5] += dz * am
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]
    return bodies[0][0]


def json_rounds(n: int) -> int:
    doc = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "price": i * 1.5} for i in range(60)]}
    total = 0
    for _ in range(n):
        total += len(json.loads(json.dumps(doc))["items"])
    return total


WORD = re.compile(r"\b[a-z]+ing\b")
TEXT = "the building is running while singing and bringing nothing to the meeting " * 40


def regex_rounds(n: int) -> int:
    return sum(len(WORD.findall(TEXT)) for _ in range(n))


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y

    def moved(self, dx: float, dy: float) -> "Point":
        return Point(self.x + dx, self.y + dy)

    def norm2(self) -> float:
        return self.x * self.x + self.y * self.y


def objects(n: int) -> float:
    p = Point(0.0, 0.0)
    acc = 0.0
    for i in range(n):
        p = p.moved(0.5, -0.25)
        acc += p.norm2() % 7.0
    return acc


def workload() -> float:
    start = time.perf_counter()
    nbody(12000)
    json_rounds(360)
    regex_rounds(240)
    objects(120000)
    return time.perf_counter() - start


print(f"{min(workload() for _ in range(5)):.4f}")
