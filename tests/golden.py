"""Grading results frozen for a corpus of Dockerfiles, so a change to the grading code that
changes any result shows up as a diff (`tests/labs/test_grading_golden.py`).

The corpus (`tests/labs/data/grading_golden.json`) holds every Dockerfile written in the tests
when it was collected, the hostile corpus, and the shipped course's starters and solutions;
for each: what the policy refuses, the notices, and every Dockerfile criterion's result in
both languages. Nothing here builds: image criteria are compared by `check_course` runs.

    python -m tests.golden update     recompute the results for the frozen inputs
    python -m tests.golden collect    gather the inputs again: the hostile corpus, the course,
                                      and every Dockerfile the quick test suite grades (it runs
                                      pytest with this module as a plugin that records them)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "labs" / "data" / "grading_golden.json"
COURSE = ROOT / "content" / "image-optimisation"
# What a test's Dockerfile is graded beside when it has no exercise: a small app of each kind.
DEFAULT_CONTEXT = (
    "app.py",
    "requirements.txt",
    "package.json",
    "package-lock.json",
    "server.js",
    "go.mod",
    "main.go",
    "src/index.js",
    "node_modules/left-pad/index.js",
    ".git/HEAD",
)
ALLOWED = (
    "python:3.11-slim",
    "python:3.11",
    "python:3.12-slim",
    "node:18",
    "node:18-slim",
    "node:18-bookworm-slim",
    "node:20-slim",
    "golang:1.22",
    "debian:12-slim",
    "debian:bookworm-slim",
    "debian:12",
    "ubuntu:22.04",
    "scratch",
    "gcr.io/distroless/static-debian12",
    "gcr.io/distroless/static-debian12:nonroot",
    "gcr.io/distroless/base-debian12",
    "busybox:1.36",
)


def grade_case(case: dict[str, Any]) -> dict[str, Any]:
    """Everything grading says about one Dockerfile before it is built."""
    from labs.grading.catalogue import korean
    from labs.grading.static import run_static
    from sandbox import policy
    from sandbox.dockerfile import DockerfileSyntaxError, parse

    text: str = case["dockerfile"]
    data = text.encode("utf-8")
    out: dict[str, Any] = {}
    refused = policy.check_dockerfile(data, allowed_bases=list(ALLOWED), engine_supports_heredocs=True)
    if refused:
        out["refused"] = [
            {
                "code": v.code,
                "line": v.line,
                "en": v.message,
                "ko": korean(v.code, v.message, v.params, v.line),
            }
            for v in refused
        ]
    try:
        parsed = parse(text)
    except DockerfileSyntaxError as exc:
        out["syntax"] = {"code": exc.code, "line": exc.line, "en": str(exc)}
        return out
    found = [] if refused else policy.notices(data, parsed, engine_keeps_setuid_chmod=False)
    if found:
        out["notices"] = [
            {
                "code": n.code,
                "line": n.line,
                "en": n.message,
                "ko": korean(n.code, n.message, n.params, n.line),
            }
            for n in found
        ]
    try:
        results = run_static(
            text,
            parsed,
            dockerignore=case.get("dockerignore"),
            context_paths=case.get("context") or DEFAULT_CONTEXT,
        )
    except DockerfileSyntaxError as exc:
        out["limit"] = {"code": exc.code, "line": exc.line, "en": str(exc)}
        return out
    out["results"] = {r.criterion: _result(r.as_dict()) for r in results}
    return out


def _result(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": d["verdict"],
        "value": d["value"],
        "lines": d["lines"],
        "credit": round(d["credit"], 6),
        "en": d["detail"]["en"],
        "ko": d["detail"]["ko"],
    }


RECORD_ENV = "LAYERLAB_GOLDEN_RECORD"


def pytest_configure(config: Any) -> None:
    """As a pytest plugin (`-p tests.golden`) with LAYERLAB_GOLDEN_RECORD=<file>: records the
    inputs of every run_static call the tests make. It wraps run_static before any test module
    imports it by name."""
    import os

    target = os.environ.get(RECORD_ENV)
    if not target:
        return
    from labs.grading import static

    original = static.run_static
    recorded: list[dict[str, Any]] = []

    def recording(text: str, parsed: Any, **kwargs: Any) -> Any:
        paths = sorted(kwargs.get("context_paths") or ())
        recorded.append({"dockerfile": text, "dockerignore": kwargs.get("dockerignore"), "context": paths})
        return original(text, parsed, **kwargs)

    static.run_static = recording  # type: ignore[assignment]
    config._golden_record = (target, recorded)


def pytest_unconfigure(config: Any) -> None:
    record = getattr(config, "_golden_record", None)
    if record:
        target, recorded = record
        Path(target).write_text(json.dumps(recorded, ensure_ascii=False), encoding="utf-8")


def _dockerfile_literals(path: Path) -> list[str]:
    """String constants in a test module that read as a Dockerfile."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            first = next((ln for ln in value.splitlines() if ln.strip() and not ln.startswith("#")), "")
            if first.upper().startswith(("FROM ", "ARG ")) and "FROM" in value.upper():
                found.append(value if value.endswith("\n") else value + "\n")
    return found


def _recorded_by_tests() -> list[dict[str, Any]]:
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "recorded.json"
        env = {**os.environ, RECORD_ENV: str(target), "LAYERLAB_SQLITE_PATH": str(Path(tmp) / "db.sqlite3")}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "tests.golden",
                "-p",
                "no:cacheprovider",
                "-m",
                "not docker and not browser and not slow",
                "tests/labs",
                "tests/hostile",
                "tests/sandbox",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        return list(json.loads(target.read_text(encoding="utf-8")))


def collect() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()

    def add(
        name: str, dockerfile: str, dockerignore: str | None = None, context: list[str] | None = None
    ) -> None:
        key = (dockerfile, dockerignore)
        if key in seen:
            return
        seen.add(key)
        case: dict[str, Any] = {"name": name, "dockerfile": dockerfile}
        if dockerignore is not None:
            case["dockerignore"] = dockerignore
        if context is not None:
            case["context"] = context
        cases.append(case)

    for folder in sorted((COURSE / "exercises").iterdir()):
        context = sorted(
            str(p.relative_to(folder / "context")) for p in (folder / "context").rglob("*") if p.is_file()
        )
        for kind in ("starter", "solution"):
            dockerfile = folder / kind / "Dockerfile"
            if dockerfile.exists():
                ignore = folder / kind / ".dockerignore"
                add(
                    f"course {folder.name} {kind}",
                    dockerfile.read_text(encoding="utf-8"),
                    ignore.read_text(encoding="utf-8") if ignore.exists() else None,
                    context,
                )
    for item in yaml.safe_load((ROOT / "tests" / "hostile" / "corpus.yaml").read_text(encoding="utf-8")):
        add(f"hostile: {item['name']}", item["dockerfile"])
    for n, item in enumerate(_recorded_by_tests(), start=1):
        add(f"test #{n}", item["dockerfile"], item["dockerignore"], item["context"] or None)
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for n, literal in enumerate(_dockerfile_literals(path), start=1):
            add(f"{path.relative_to(ROOT)} #{n}", literal)
    return cases


def compute(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    inputs = ("name", "dockerfile", "dockerignore", "context")
    return [{**{k: c[k] for k in inputs if k in c}, "graded": grade_case(c)} for c in cases]


def write(cases: list[dict[str, Any]]) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    command = argv[0] if argv else "update"
    if command == "collect":
        cases = collect()
    elif command == "update":
        cases = json.loads(GOLDEN.read_text(encoding="utf-8"))
    else:
        print(__doc__)
        return 2
    write(compute(cases))
    print(f"{len(cases)} Dockerfiles graded into {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
