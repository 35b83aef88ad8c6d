"""What the python-runtime-pgo exercise teaches, measured: the PGO+LTO interpreter from the
exercise's reference solution against a plain source build of the same CPython (the exercise's
own baseline), and Debian's packaged python3.11 (already built with PGO and LTO) against the same
plain build, with the exercise's benchmark script, in the same locked containers and the same
alternating runs and fastest-run ratio the `run.speed` criterion uses. Also prints each build's wall time:
what the speed costs at build time. Images come from the BuildKit cache when it has them.

    .venv/bin/python bench/pgo_speedup.py [--pairs 20] [--profile-task "-m test --pgo test_json"]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from labs.assets import asset_fetch, asset_read  # noqa: E402
from sandbox import engine  # noqa: E402
from sandbox.network import proxy_build_args  # noqa: E402
from sandbox.speed import compare_speed  # noqa: E402

EXERCISE = Path(__file__).resolve().parents[1] / "content/image-optimisation/exercises/python-runtime-pgo"
TARBALL = {
    "path": "Python-3.11.2.tar.gz",
    "url": "http://deb.debian.org/debian/pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz",
    "sha256": "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
    "size": 26437858,
}


def build(dockerfile: str, tag: str, args: dict[str, str]) -> float:
    started = time.monotonic()
    for _ in engine.build_trusted(
        dockerfile,
        tag,
        build_args={**proxy_build_args(settings.LAYERLAB_PACKAGE_PROXY), **args},
        context_files={TARBALL["path"]: asset_read(TARBALL)},
    ):
        pass
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--profile-task", default="", help="PROFILE_TASK for the optimised build")
    options = parser.parse_args()
    asset_fetch(TARBALL)
    args = {"PROFILE_TASK": options.profile_task} if options.profile_task else {}
    plain, optimised = "layerlab-bench/python:plain", "layerlab-bench/python:pgo-lto"
    t_plain = build((EXERCISE / "benchmark/baseline.Dockerfile").read_text(), plain, {})
    t_opt = build((EXERCISE / "solution/Dockerfile").read_text(), optimised, args)
    script = (EXERCISE / "benchmark/bench.py").read_text()
    argv = ["python3", "-c", script]
    try:
        pgo = compare_speed(optimised, plain, argv, pairs=options.pairs)
        debian = compare_speed("python:3.11-slim", plain, argv, pairs=options.pairs)
    finally:
        for tag in (plain, optimised):
            engine.image_remove(tag)
    print(f"build wall time (0 s when cached): plain {t_plain:.0f} s, PGO+LTO {t_opt:.0f} s")
    for name, result in (("PGO+LTO source build", pgo), ("Debian's python3.11", debian)):
        if result.ratio is None:
            print(f"{name}: {result.error}")
            continue
        pairs = sorted(a / b for a, b in zip(result.image_seconds, result.baseline_seconds, strict=True))
        print(
            f"{name} / plain source build: {result.ratio:.3f}x the time, fastest runs "
            f"({min(result.image_seconds):.3f} s vs {min(result.baseline_seconds):.3f} s over "
            f"{len(pairs)} runs each; single pairs from {pairs[0]:.2f} to {pairs[-1]:.2f})"
        )


if __name__ == "__main__":
    main()
