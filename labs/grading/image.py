"""Criteria judged from the built image and from runs in the sandbox. The service gathers the
evidence (it talks to Docker through `sandbox`); these functions only turn evidence into
results, so they are tested on plain data."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labs.grading.catalogue import CheckResult, Say, Text, Verdict
from labs.grading.secrecy import secret_name, secret_value

MB = 1_000_000

ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]{0,127})=(\S+)")
"""`NAME=value` in a history entry (`ENV`, `ARG`, and a RUN's `|1 NAME=value` build args)."""


@dataclass(frozen=True)
class RebuildStep:
    name: str
    line: int | None
    state: str  # cached, done, error, ...
    installs_dependencies: bool


@dataclass(frozen=True)
class Rebuild:
    """What happened when the image was rebuilt after an edit to an application source file."""

    source_file: str
    ok: bool
    steps: tuple[RebuildStep, ...]
    message: str = ""


@dataclass(frozen=True)
class ImageEvidence:
    size: int
    layer_count: int
    base_layer_count: int
    config_user: str
    history: tuple[str, ...]  # created_by of every history entry, oldest first
    final_from_line: int | None = None
    user_line: int | None = None
    healthcheck_line: int | None = None
    reference_size: int | None = None
    report: Any = None  # sandbox.layers.report.ImageReport
    base_setuid: frozenset[str] = frozenset()
    user: Any = None  # sandbox.run.locked.UserResult
    structure: Sequence[Any] | None = None  # sandbox.run.structure.StructureTestResult
    structure_error: str = ""
    health: Any = None  # sandbox.run.locked.HealthResult
    rebuild: Rebuild | None = None
    dependency_lines: tuple[int, ...] = field(default_factory=tuple)
    speed: Any = None  # sandbox.speed.SpeedResult
    speed_error: str = ""


def _verdict(credit: float) -> Verdict:
    return "pass" if credit >= 1 else ("fail" if credit <= 0 else "partial")


def _linear(value: float, full_at: float, zero_at: float) -> float:
    if value <= full_at:
        return 1.0
    if value >= zero_at:
        return 0.0
    return (zero_at - value) / (zero_at - full_at)


def _size_thresholds(options: Mapping[str, Any], reference: int | None) -> tuple[float, float]:
    full = float(options["full_at_mb"]) * MB if options.get("full_at_mb") else 0.0
    zero = float(options["zero_at_mb"]) * MB if options.get("zero_at_mb") else 0.0
    if reference and not full:
        full = reference * float(options["reference_slack"])
    if reference and not zero:
        zero = reference * float(options["reference_zero_factor"])
    if not full:
        full = 200 * MB
    if not zero or zero <= full:
        zero = full * 3
    return full, zero


def validate_image_size(options: Mapping[str, Any]) -> str | None:
    full, zero = options.get("full_at_mb") or 0, options.get("zero_at_mb") or 0
    if full and zero and zero <= full:
        return "zero_at_mb must be larger than full_at_mb"
    if options["reference_zero_factor"] <= options["reference_slack"]:
        return "reference_zero_factor must be larger than reference_slack"
    if options["reference_slack"] < 1:
        return "reference_slack must be at least 1"
    return None


def image_size(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    full, zero = _size_thresholds(options, ev.reference_size)
    credit = _linear(ev.size, full, zero)
    verdict = _verdict(credit)
    megabytes = {"size": ev.size / MB, "full": full / MB, "zero": zero / MB}
    if ev.reference_size:
        detail = say.text("size_against_reference", **megabytes, reference=ev.reference_size / MB)
    else:
        detail = say.text("size", **megabytes)
    return say.result(
        verdict,
        value=ev.size,
        lines=(ev.final_from_line,) if ev.final_from_line else (),
        detail=detail,
        fraction=credit,
    )


def validate_layer_count(options: Mapping[str, Any]) -> str | None:
    if options["zero_at_added_layers"] <= options["max_added_layers"]:
        return "zero_at_added_layers must be larger than max_added_layers"
    return None


def layer_count(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    added = max(0, ev.layer_count - ev.base_layer_count)
    credit = _linear(added, options["max_added_layers"], options["zero_at_added_layers"])
    verdict = _verdict(credit)
    return say.result(
        verdict,
        value=added,
        lines=(ev.final_from_line,) if ev.final_from_line else (),
        detail=say.text("added", added=added, total=ev.layer_count, full=options["max_added_layers"]),
        fraction=credit,
    )


def efficiency(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    report = ev.report
    if report is None:
        return say.result("skip", detail=say.text("not_analysed"))
    eff = float(report.efficiency)
    wasted_pct = float(report.user_wasted_percent)
    ok_eff = eff >= options["lowest_efficiency"]
    ok_waste = wasted_pct <= options["highest_user_wasted_percent"]
    credit = (0.5 if ok_eff else 0.5 * max(0.0, eff) / options["lowest_efficiency"]) + (
        0.5 if ok_waste else 0.5 * max(0.0, 1 - (wasted_pct - options["highest_user_wasted_percent"]))
    )
    credit = round(min(1.0, credit), 4)
    verdict: Verdict = "pass" if ok_eff and ok_waste else ("partial" if credit >= 0.5 else "fail")
    top = (
        [f"{i.path} x{i.count}" for i in list(report.inefficiencies)[:3]]
        if hasattr(report, "inefficiencies")
        else []
    )
    measured = {
        "efficiency": eff,
        "wasted": report.wasted_bytes / MB,
        "wasted_percent": wasted_pct * 100,
    }
    detail = (
        say.text("wasted_largest", **measured, largest=", ".join(top))
        if top
        else say.text("wasted", **measured)
    )
    return say.result(
        verdict,
        value={
            "efficiency": eff,
            "wasted_bytes": int(report.wasted_bytes),
            "user_wasted_percent": wasted_pct,
        },
        detail=detail,
        fraction=credit,
    )


def non_root(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    user = ev.user
    lines = tuple(x for x in (ev.user_line or ev.final_from_line,) if x)
    if user is None or user.uid is None:
        detail = getattr(user, "detail", "")
        return say.result(
            "fail",
            value=None,
            lines=lines,
            detail=say.text("unknown", detail=detail) if detail else say.text("unknown_why"),
        )
    ran = user.method == "shell"  # ran `id -u` in the image, or read the image config
    if user.uid == 0:
        return say.result(
            "fail", value=0, lines=lines, detail=say.text("root_shell" if ran else "root_config")
        )
    said = say.text("uid_shell" if ran else "uid_config", uid=user.uid)
    return say.result("pass", value=user.uid, lines=lines, detail=said)


def _paths(items: Sequence[Any], limit: int = 5) -> str:
    """The paths of `items` as one value for a text (", " between, the rest counted)."""
    shown = [str(getattr(i, "path", i)) for i in list(items)[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more


def no_build_tools(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    tools = list(ev.report.build_tools)
    lines = (ev.final_from_line,) if ev.final_from_line else ()
    if not tools:
        return say.result("pass", value=0, lines=lines, detail=say.text("none"))
    return say.result("fail", value=len(tools), lines=lines, detail=say.text("found", paths=_paths(tools)))


def no_package_caches(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    caches = [
        c for c in ev.report.package_caches if int(getattr(c, "size_bytes", 0)) > options["tolerance_bytes"]
    ]
    total = sum(int(getattr(c, "size_bytes", 0)) for c in caches)
    if not caches:
        return say.result("pass", value=0, detail=say.text("none"))
    return say.result(
        "fail",
        value=total,
        lines=ev.dependency_lines,
        detail=say.text("found", size=total / MB, paths=_paths(caches)),
    )


def no_secret_files(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    found = list(ev.report.secret_files)
    if not found:
        return say.result("pass", value=0, detail=say.text("none"))
    hidden = [f for f in found if getattr(f, "deleted_later", False)]
    if hidden:
        detail = say.text("found_deleted", paths=_paths(found), deleted=len(hidden))
    else:
        detail = say.text("found", paths=_paths(found))
    return say.result("fail", value=len(found), detail=detail)


def no_history_secrets(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    hits = []
    for entry in ev.history:
        for m in ASSIGNMENT.finditer(entry):
            name, value = m.group(1), m.group(2).strip("'\"")
            if value and not value.startswith("$") and (secret_name(name) or secret_value(value)):
                hits.append(name)
    if not hits:
        return say.result("pass", value=0, detail=say.text("none"))
    return say.result("fail", value=len(hits), detail=say.text("found", names=", ".join(sorted(set(hits)))))


def setuid(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    files = list(ev.report.setuid_files)
    new = [f for f in files if str(getattr(f, "path", f)) not in ev.base_setuid]
    inherited = len(files) - len(new)
    if not new:
        detail = say.text("none_inherited", inherited=inherited) if inherited else say.text("none")
        return say.result("pass", value=0, detail=detail)
    if inherited:
        detail = say.text("added_inherited", paths=_paths(new), inherited=inherited)
    else:
        detail = say.text("added", paths=_paths(new))
    return say.result("fail", value=len(new), detail=detail)


def healthcheck(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    lines = (ev.healthcheck_line,) if ev.healthcheck_line else ()
    if not options["required"]:
        return say.result("pass", value="not asked")
    health = ev.health
    if health is None or health.status == "none":
        return say.result("fail", value="none", lines=lines, detail=say.text("missing"))
    if health.status == "healthy":
        return say.result("pass", value="healthy", lines=lines, detail=say.text("healthy"))
    tail = "; ".join(list(health.log)[-2:])
    return say.result(
        "fail", value=health.status, lines=lines, detail=say.text("ended", status=health.status, log=tail)
    )


def behaviour(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.structure_error:
        return say.result("fail", value=None, detail=Text(ev.structure_error, ev.structure_error))
    tests = list(ev.structure or [])
    if not tests:
        return say.result("pass", value="no tests")
    passed = [t for t in tests if t.passed]
    failed = [t for t in tests if not t.passed]
    value = {
        "passed": len(passed),
        "total": len(tests),
        "tests": [
            {"kind": t.kind, "name": t.name, "passed": t.passed, "messages": list(t.messages)} for t in tests
        ],
    }
    if not failed:
        return say.result("pass", value=value, detail=say.text("all_passed", total=len(tests)))
    first = failed[0]
    return say.result(
        "partial" if passed else "fail",
        value=value,
        fraction=len(passed) / len(tests),
        detail=say.text(
            "failed",
            passed=len(passed),
            total=len(tests),
            name=first.name,
            message="; ".join(first.messages[:2]),
        ),
    )


def build_cache(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    rebuild = ev.rebuild
    if rebuild is None:
        return say.result("pass", value="no dependency install step", detail=say.text("no_install"))
    if not rebuild.ok:
        return say.result("skip", detail=Text(rebuild.message, rebuild.message))
    installs = [s for s in rebuild.steps if s.installs_dependencies]
    if not installs:
        return say.result("pass", value="no dependency install step", detail=say.text("no_install"))
    rebuilt = [s for s in installs if s.state != "cached"]
    lines = tuple(s.line for s in installs if s.line)
    if not rebuilt:
        return say.result(
            "pass", value="cached", lines=lines, detail=say.text("cached", file=rebuild.source_file)
        )
    steps = ", ".join(f"line {s.line}" if s.line else s.name for s in rebuilt)
    return say.result(
        "fail",
        value="rebuilt",
        lines=lines,
        detail=say.text("rebuilt", file=rebuild.source_file, steps=steps),
    )


def validate_speed(options: Mapping[str, Any]) -> str | None:
    if not 0 < options["full_at_ratio"] < options["zero_at_ratio"]:
        return "full_at_ratio must be above 0 and below zero_at_ratio"
    return None


def speed(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    result = ev.speed
    if ev.speed_error or result is None or result.ratio is None:
        if not ev.speed_error and result is None:
            return say.result("fail", value=None, detail=say.text("no_benchmark"))
        message = ev.speed_error or result.error  # the pipeline's or the benchmark's words, as they are
        return say.result("fail", value=None, detail=Text(message, message))
    full, zero = float(options["full_at_ratio"]), float(options["zero_at_ratio"])
    credit = _linear(result.ratio, full, zero)
    runs = len(result.baseline_seconds)
    mine, theirs = result.image_typical, result.baseline_typical
    return say.result(
        _verdict(credit),
        value={"ratio": round(result.ratio, 3), "image_seconds": mine, "baseline_seconds": theirs},
        fraction=credit,
        detail=say.text(
            "ratio", ratio=result.ratio, runs=runs, mine=mine, theirs=theirs, full=full, zero=zero
        ),
    )
