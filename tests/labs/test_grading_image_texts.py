"""Every image and run criterion's result, in both languages, frozen for evidence that reaches
each branch of its check (`tests/labs/data/image_texts_golden.json`), so moving the texts into
the catalogue, or any later edit, cannot change what a student reads without showing up here.
Student and image values with braces in them are included: they are quoted, never formatted.

    python -m tests.labs.test_grading_image_texts     recompute the frozen results (read the diff)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labs.grading.catalogue import Say
from labs.grading.image import ImageEvidence, Rebuild, RebuildStep
from labs.grading.registry import all_criteria
from sandbox.speed import SpeedResult
from tests.labs.image_evidence import MB, Found, Health, Ran, Report, User, Waste, ev

GOLDEN = Path(__file__).resolve().parent / "data" / "image_texts_golden.json"


@dataclass
class BareReport:
    """A report without a list of inefficiencies."""

    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float


def _found(n: int, prefix: str = "/usr/bin/tool") -> tuple[Found, ...]:
    return tuple(Found(f"{prefix}{i}", 10 * MB) for i in range(n))


STEP = "RUN pip install -r requirements.txt"

CASES: list[tuple[str, str, ImageEvidence, dict[str, Any]]] = [
    ("size default pass", "opt.image_size", ev(), {}),
    ("size default partial", "opt.image_size", ev(size=400 * MB), {}),
    ("size default fail", "opt.image_size", ev(size=900 * MB, final_from_line=None), {}),
    ("size thresholds pass", "opt.image_size", ev(size=140 * MB), {"full_at_mb": 150, "zero_at_mb": 350}),
    ("size thresholds partial", "opt.image_size", ev(size=250 * MB), {"full_at_mb": 150, "zero_at_mb": 350}),
    ("size reference partial", "opt.image_size", ev(size=130 * MB, reference_size=100 * MB), {}),
    ("size reference pass", "opt.image_size", ev(size=101_234_567, reference_size=100 * MB), {}),
    ("size reference fail", "opt.image_size", ev(size=400 * MB, reference_size=100 * MB), {}),
    ("layers pass", "opt.layer_count", ev(layer_count=9, base_layer_count=4), {}),
    ("layers partial", "opt.layer_count", ev(layer_count=14, base_layer_count=4), {}),
    ("layers fail", "opt.layer_count", ev(layer_count=24, base_layer_count=4, final_from_line=None), {}),
    ("layers fewer than base", "opt.layer_count", ev(layer_count=2, base_layer_count=4), {}),
    ("efficiency no report", "opt.efficiency", ev(), {}),
    ("efficiency good", "opt.efficiency", ev(report=Report(efficiency=0.98, user_wasted_percent=0.02)), {}),
    (
        "efficiency bad with largest",
        "opt.efficiency",
        ev(
            report=Report(
                efficiency=0.54546,
                wasted_bytes=4_500_000,
                user_wasted_percent=1.0,
                inefficiencies=(
                    Waste("/var/lib/apt/lists/{x}", 2),
                    Waste("/root/.cache", 3),
                    Waste("/tmp/a", 2),
                    Waste("/tmp/b", 2),
                ),
            )
        ),
        {},
    ),
    (
        "efficiency partial",
        "opt.efficiency",
        ev(report=Report(efficiency=0.95, wasted_bytes=12_345_678, user_wasted_percent=0.3)),
        {},
    ),
    (
        "efficiency without inefficiencies",
        "opt.efficiency",
        ev(report=BareReport(efficiency=0.8, wasted_bytes=2_000_000, user_wasted_percent=0.05)),
        {},
    ),
    ("non_root no user", "sec.non_root", ev(user=None, user_line=None), {}),
    ("non_root unknown uid", "sec.non_root", ev(user=User(None, detail="no {id} in /etc/passwd")), {}),
    ("non_root unknown uid no detail", "sec.non_root", ev(user=User(None), final_from_line=None), {}),
    ("non_root root shell", "sec.non_root", ev(user=User(0)), {}),
    ("non_root root config", "sec.non_root", ev(user=User(0, method="config"), user_line=14), {}),
    ("non_root user shell", "sec.non_root", ev(user=User(10001), user_line=14), {}),
    ("non_root user config", "sec.non_root", ev(user=User(65534, method="config")), {}),
    ("build tools no report", "opt.no_build_tools", ev(), {}),
    ("build tools none", "opt.no_build_tools", ev(report=Report()), {}),
    (
        "build tools one",
        "opt.no_build_tools",
        ev(report=Report(build_tools=(Found("/usr/bin/gcc-{12}"),))),
        {},
    ),
    (
        "build tools many",
        "opt.no_build_tools",
        ev(report=Report(build_tools=_found(7)), final_from_line=None),
        {},
    ),
    ("build tools as strings", "opt.no_build_tools", ev(report=Report(build_tools=("/usr/bin/make",))), {}),
    ("caches no report", "opt.no_package_caches", ev(), {}),
    ("caches none", "opt.no_package_caches", ev(report=Report()), {}),
    (
        "caches under tolerance",
        "opt.no_package_caches",
        ev(report=Report(package_caches=(Found("/root/.npm", 100),))),
        {},
    ),
    (
        "caches one",
        "opt.no_package_caches",
        ev(report=Report(package_caches=(Found("/var/lib/apt/lists", 18 * MB),)), dependency_lines=(3,)),
        {},
    ),
    (
        "caches many",
        "opt.no_package_caches",
        ev(report=Report(package_caches=_found(6, "/root/.cache/{pip}")), dependency_lines=(3, 7)),
        {},
    ),
    ("secret files no report", "sec.no_secret_files", ev(), {}),
    ("secret files none", "sec.no_secret_files", ev(report=Report()), {}),
    (
        "secret files present",
        "sec.no_secret_files",
        ev(report=Report(secret_files=(Found("/app/.env"), Found("/srv/{name}.pem")))),
        {},
    ),
    (
        "secret files deleted later",
        "sec.no_secret_files",
        ev(report=Report(secret_files=(Found("/root/.ssh/id_rsa", deleted_later=True), Found("/app/.env")))),
        {},
    ),
    ("history clean", "sec.no_history_secrets", ev(history=("ENV PASSWORD_FILE=$X", "RUN echo hi")), {}),
    (
        "history secrets",
        "sec.no_history_secrets",
        ev(
            history=(
                "ARG DB_PASSWORD=hunter2",
                "RUN |2 DB_PASSWORD=hunter2 API_KEY='x{y}' /bin/sh -c echo hi",
            )
        ),
        {},
    ),
    ("setuid no report", "sec.setuid", ev(), {}),
    ("setuid none", "sec.setuid", ev(report=Report()), {}),
    (
        "setuid inherited only",
        "sec.setuid",
        ev(report=Report(setuid_files=(Found("/usr/bin/su"),)), base_setuid=frozenset({"/usr/bin/su"})),
        {},
    ),
    (
        "setuid new and inherited",
        "sec.setuid",
        ev(
            report=Report(setuid_files=(Found("/usr/bin/su"), Found("/app/{helper}"))),
            base_setuid=frozenset({"/usr/bin/su"}),
        ),
        {},
    ),
    ("setuid new only", "sec.setuid", ev(report=Report(setuid_files=_found(6, "/app/bin"))), {}),
    ("health not asked", "run.healthcheck", ev(health=None), {}),
    ("health missing", "run.healthcheck", ev(health=None), {"required": True}),
    ("health none", "run.healthcheck", ev(health=Health("none"), healthcheck_line=12), {"required": True}),
    (
        "health healthy",
        "run.healthcheck",
        ev(health=Health("healthy"), healthcheck_line=12),
        {"required": True},
    ),
    (
        "health unhealthy",
        "run.healthcheck",
        ev(health=Health("unhealthy", ("a", "exit 1: {refused}", "exit 1: again"))),
        {"required": True},
    ),
    ("health timeout", "run.healthcheck", ev(health=Health("timeout")), {"required": True}),
    ("behaviour broken", "run.behaviour", ev(structure_error="The behaviour tests are invalid: {x}"), {}),
    ("behaviour no tests", "run.behaviour", ev(structure=None), {}),
    (
        "behaviour all pass",
        "run.behaviour",
        ev(structure=[Ran("command", "ok", True), Ran("command", "b", True)]),
        {},
    ),
    (
        "behaviour partial",
        "run.behaviour",
        ev(
            structure=[
                Ran("command", "says hello", True),
                Ran("file_existence", "app in {/app}", False, ("File /app/app.py should exist", "x", "y")),
            ]
        ),
        {},
    ),
    ("behaviour all fail", "run.behaviour", ev(structure=[Ran("command", "runs", False)]), {}),
    ("cache no rebuild", "opt.build_cache", ev(rebuild=None), {}),
    (
        "cache rebuild failed",
        "opt.build_cache",
        ev(rebuild=Rebuild("app.py", False, (), "build {failed}")),
        {},
    ),
    (
        "cache no installs",
        "opt.build_cache",
        ev(rebuild=Rebuild("app.py", True, (RebuildStep("COPY . .", 3, "done", False),))),
        {},
    ),
    (
        "cache cached",
        "opt.build_cache",
        ev(rebuild=Rebuild("src/{app}.py", True, (RebuildStep(STEP, 4, "cached", True),))),
        {},
    ),
    (
        "cache rebuilt",
        "opt.build_cache",
        ev(
            rebuild=Rebuild(
                "app.py",
                True,
                (RebuildStep(STEP, 4, "done", True), RebuildStep("RUN npm ci {x}", None, "done", True)),
            )
        ),
        {},
    ),
    ("speed error", "run.speed", ev(speed_error="The exercise defines no benchmark."), {}),
    ("speed no result", "run.speed", ev(speed=None), {}),
    ("speed no ratio", "run.speed", ev(speed=SpeedResult(None, (), (), "exited with 1: {boom}")), {}),
    ("speed no ratio no error", "run.speed", ev(speed=SpeedResult(None, (2.0,), (2.0,))), {}),
    ("speed pass", "run.speed", ev(speed=SpeedResult(0.85, (1.7, 1.8, 1.75), (2.0, 2.1, 2.05))), {}),
    ("speed partial", "run.speed", ev(speed=SpeedResult(0.96, (1.92, 2.0), (2.0, 2.1))), {}),
    ("speed fail", "run.speed", ev(speed=SpeedResult(1.1234, (2.2,), (2.0,))), {"zero_at_ratio": 1.05}),
]


def graded() -> dict[str, Any]:
    criteria = all_criteria()
    out = {}
    for name, cid, evidence, options in CASES:
        reg = criteria[cid]
        result = reg.check(evidence, {**reg.options, **options}, reg.say)
        out[name] = json.loads(json.dumps(result.as_dict()))
    return out


def test_every_image_and_run_check_is_covered() -> None:
    judged = {cid for _, cid, _, _ in CASES}
    image = {cid for cid, reg in all_criteria().items() if reg.criterion.source in ("image", "run")}
    assert judged == image


def test_every_text_of_every_image_and_run_check_is_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    said: set[tuple[str, str]] = set()
    text = Say.text

    def recording(self: Say, key: str, /, **params: Any) -> Any:
        said.add((self.criterion.id, key))
        return text(self, key, **params)

    monkeypatch.setattr(Say, "text", recording)
    graded()
    image = [reg.criterion for reg in all_criteria().values() if reg.criterion.source in ("image", "run")]
    assert sorted((c.id, key) for c in image for key in c.says) == sorted(said)


def test_every_image_result_reads_as_frozen() -> None:
    frozen = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = graded()
    assert list(now) == list(frozen)
    changed = {name: (frozen[name], now[name]) for name in now if now[name] != frozen[name]}
    shown = "\n".join(f"{name}\n was: {was}\n now: {got}" for name, (was, got) in list(changed.items())[:3])
    assert not changed, f"{len(changed)} of {len(now)} results changed:\n{shown}"


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(graded(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
