"""Criteria judged from the built image and from runs in the sandbox. The service gathers the
evidence (it talks to Docker through `sandbox`); these functions only turn evidence into
results, so they are tested on plain data."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labs.grading.catalogue import CheckResult, Say, Text, Verdict

MB = 1_000_000

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)[A-Z0-9_]*=(\S+)", re.I
)


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


def _mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


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
    ref = f" (reference solution: {_mb(ev.reference_size)})" if ev.reference_size else ""
    ref_ko = f" (모범 답안: {_mb(ev.reference_size)})" if ev.reference_size else ""
    return say.result(
        verdict,
        value=ev.size,
        lines=(ev.final_from_line,) if ev.final_from_line else (),
        detail=Text(
            f"The image is {_mb(ev.size)}; full credit up to {_mb(full)}, none from {_mb(zero)}{ref}.",
            f"이미지 크기는 {_mb(ev.size)}입니다. {_mb(full)} 이하면 만점, {_mb(zero)} 이상이면 0점입니다{ref_ko}.",
        ),
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
        detail=Text(
            f"{added} layers on top of the base image ({ev.layer_count} in all); "
            f"up to {options['max_added_layers']} is full credit.",
            f"베이스 이미지 위에 레이어 {added}개를 추가했습니다(전체 {ev.layer_count}개). "
            f"{options['max_added_layers']}개 이하면 만점입니다.",
        ),
        fraction=credit,
    )


def efficiency(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    report = ev.report
    if report is None:
        return say.result(
            "skip",
            detail=Text("The image was not analysed.", "이미지를 분석하지 못했습니다."),
        )
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
    top_text = f" Largest: {', '.join(top)}." if top else ""
    top_ko = f" 가장 큰 것: {', '.join(top)}." if top else ""
    return say.result(
        verdict,
        value={
            "efficiency": eff,
            "wasted_bytes": int(report.wasted_bytes),
            "user_wasted_percent": wasted_pct,
        },
        detail=Text(
            f"Efficiency {eff:.4f}, wasted {_mb(report.wasted_bytes)}, "
            f"{wasted_pct * 100:.1f} % of your layers wasted.{top_text}",
            f"효율 {eff:.4f}, 낭비 {_mb(report.wasted_bytes)}, 추가한 레이어의 {wasted_pct * 100:.1f}%가 "
            f"낭비입니다.{top_ko}",
        ),
        fraction=credit,
    )


def non_root(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    user = ev.user
    lines = tuple(x for x in (ev.user_line or ev.final_from_line,) if x)
    if user is None or user.uid is None:
        detail = getattr(user, "detail", "") or "the user could not be determined"
        return say.result(
            "fail",
            value=None,
            lines=lines,
            detail=Text(
                f"Could not tell which user the image runs as ({detail}); treated as root.",
                f"이미지가 어떤 사용자로 실행되는지 알 수 없어({detail}) 루트로 간주합니다.",
            ),
        )
    how = "ran `id -u` in the image" if user.method == "shell" else "read from the image config"
    how_ko = "이미지에서 `id -u` 실행" if user.method == "shell" else "이미지 설정에서 읽음"
    if user.uid == 0:
        return say.result(
            "fail",
            value=0,
            lines=lines,
            detail=Text(
                f"The container runs as uid 0 (root) ({how}).",
                f"컨테이너가 uid 0(루트)으로 실행됩니다({how_ko}).",
            ),
        )
    return say.result(
        "pass",
        value=user.uid,
        lines=lines,
        detail=Text(
            f"The container runs as uid {user.uid} ({how}).",
            f"컨테이너가 uid {user.uid}로 실행됩니다({how_ko}).",
        ),
    )


def _paths(items: Sequence[Any], limit: int = 5) -> str:
    shown = [str(getattr(i, "path", i)) for i in list(items)[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more


def no_build_tools(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    tools = list(ev.report.build_tools)
    lines = (ev.final_from_line,) if ev.final_from_line else ()
    if not tools:
        return say.result(
            "pass",
            value=0,
            lines=lines,
            detail=Text("No compilers or build tools found.", "컴파일러나 빌드 도구가 없습니다."),
        )
    return say.result(
        "fail",
        value=len(tools),
        lines=lines,
        detail=Text(
            f"Found in the final image: {_paths(tools)}.", f"최종 이미지에서 발견됨: {_paths(tools)}."
        ),
    )


def no_package_caches(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    caches = [
        c for c in ev.report.package_caches if int(getattr(c, "size_bytes", 0)) > options["tolerance_bytes"]
    ]
    total = sum(int(getattr(c, "size_bytes", 0)) for c in caches)
    if not caches:
        return say.result(
            "pass",
            value=0,
            detail=Text("No package caches found.", "패키지 캐시가 없습니다."),
        )
    return say.result(
        "fail",
        value=total,
        lines=ev.dependency_lines,
        detail=Text(
            f"{_mb(total)} of package caches left: {_paths(caches)}.",
            f"패키지 캐시 {_mb(total)}가 남아 있습니다: {_paths(caches)}.",
        ),
    )


def no_secret_files(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    found = list(ev.report.secret_files)
    if not found:
        return say.result(
            "pass",
            value=0,
            detail=Text(
                "No private keys, .env or credentials files in any layer.",
                "어떤 레이어에도 개인 키, .env, 자격 증명 파일이 없습니다.",
            ),
        )
    hidden = [f for f in found if getattr(f, "deleted_later", False)]
    note = f" {len(hidden)} of them deleted in a later layer, but still in the image." if hidden else ""
    note_ko = f" 그중 {len(hidden)}개는 뒤 레이어에서 지웠지만 여전히 이미지에 있습니다." if hidden else ""
    return say.result(
        "fail",
        value=len(found),
        detail=Text(
            f"Secret files found: {_paths(found)}.{note}", f"비밀 파일 발견: {_paths(found)}.{note_ko}"
        ),
    )


def no_history_secrets(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    hits = []
    for entry in ev.history:
        for m in SECRET_NAME.finditer(entry):
            value = m.group(2).strip("'\"")
            if value and not value.startswith("$"):
                hits.append(m.group(0).split("=", 1)[0])
    if not hits:
        return say.result(
            "pass",
            value=0,
            detail=Text(
                "No secret-looking values in the history.", "히스토리에 비밀로 보이는 값이 없습니다."
            ),
        )
    names = ", ".join(sorted(set(hits)))
    return say.result(
        "fail",
        value=len(hits),
        detail=Text(
            f"The history records values for: {names}.", f"히스토리에 다음 값이 기록되어 있습니다: {names}."
        ),
    )


def setuid(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    if ev.report is None:
        return say.result("skip")
    files = list(ev.report.setuid_files)
    new = [f for f in files if str(getattr(f, "path", f)) not in ev.base_setuid]
    inherited = len(files) - len(new)
    base_note = f" ({inherited} inherited from the base image.)" if inherited else ""
    base_ko = f" (베이스 이미지에서 물려받은 것 {inherited}개)" if inherited else ""
    if not new:
        return say.result(
            "pass",
            value=0,
            detail=Text(
                f"No setuid/setgid files added.{base_note}", f"추가된 setuid/setgid 파일이 없습니다.{base_ko}"
            ),
        )
    return say.result(
        "fail",
        value=len(new),
        detail=Text(
            f"setuid/setgid files added: {_paths(new)}.{base_note}",
            f"추가된 setuid/setgid 파일: {_paths(new)}.{base_ko}",
        ),
    )


def healthcheck(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    lines = (ev.healthcheck_line,) if ev.healthcheck_line else ()
    if not options["required"]:
        return say.result("pass", value="not asked")
    health = ev.health
    if health is None or health.status == "none":
        return say.result(
            "fail",
            value="none",
            lines=lines,
            detail=Text("The image has no HEALTHCHECK.", "이미지에 HEALTHCHECK가 없습니다."),
        )
    if health.status == "healthy":
        return say.result(
            "pass",
            value="healthy",
            lines=lines,
            detail=Text("The health check passed.", "헬스 체크를 통과했습니다."),
        )
    tail = "; ".join(list(health.log)[-2:])
    return say.result(
        "fail",
        value=health.status,
        lines=lines,
        detail=Text(
            f"The health check ended {health.status}. {tail}", f"헬스 체크 결과: {health.status}. {tail}"
        ),
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
        return say.result(
            "pass",
            value=value,
            detail=Text(
                f"All {len(tests)} behaviour tests passed.",
                f"동작 테스트 {len(tests)}개를 모두 통과했습니다.",
            ),
        )
    first = failed[0]
    message = "; ".join(first.messages[:2])
    return say.result(
        "partial" if passed else "fail",
        value=value,
        fraction=len(passed) / len(tests),
        detail=Text(
            f"{len(passed)} of {len(tests)} passed. '{first.name}' failed: {message}",
            f"{len(tests)}개 중 {len(passed)}개 통과. '{first.name}' 실패: {message}",
        ),
    )


NO_INSTALL = Text(
    "No dependency install step to keep in the cache (nothing like pip install or npm ci runs).",
    "캐시에 남길 의존성 설치 단계가 없습니다(pip install이나 npm ci 같은 단계가 없음).",
)


def build_cache(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    rebuild = ev.rebuild
    if rebuild is None:
        return say.result("pass", value="no dependency install step", detail=NO_INSTALL)
    if not rebuild.ok:
        return say.result("skip", detail=Text(rebuild.message, rebuild.message))
    installs = [s for s in rebuild.steps if s.installs_dependencies]
    if not installs:
        return say.result("pass", value="no dependency install step", detail=NO_INSTALL)
    rebuilt = [s for s in installs if s.state != "cached"]
    lines = tuple(s.line for s in installs if s.line)
    if not rebuilt:
        return say.result(
            "pass",
            value="cached",
            lines=lines,
            detail=Text(
                f"After editing {rebuild.source_file}, the dependency install came from cache.",
                f"{rebuild.source_file} 파일을 고친 뒤에도 의존성 설치 단계는 캐시에서 왔습니다.",
            ),
        )
    names = ", ".join(f"line {s.line}" if s.line else s.name for s in rebuilt)
    return say.result(
        "fail",
        value="rebuilt",
        lines=lines,
        detail=Text(
            f"After editing {rebuild.source_file}, the dependency install ran again ({names}).",
            f"{rebuild.source_file} 파일을 고친 뒤 의존성 설치 단계가 다시 실행되었습니다({names}).",
        ),
    )


def validate_speed(options: Mapping[str, Any]) -> str | None:
    if not 0 < options["full_at_ratio"] < options["zero_at_ratio"]:
        return "full_at_ratio must be above 0 and below zero_at_ratio"
    return None


def speed(ev: ImageEvidence, options: Mapping[str, Any], say: Say) -> CheckResult:
    result = ev.speed
    if ev.speed_error or result is None or result.ratio is None:
        message = ev.speed_error or (result.error if result else "the exercise defines no benchmark")
        return say.result("fail", value=None, detail=Text(message, message))
    full, zero = float(options["full_at_ratio"]), float(options["zero_at_ratio"])
    credit = _linear(result.ratio, full, zero)
    runs = len(result.baseline_seconds)
    mine, theirs = result.image_typical, result.baseline_typical
    return say.result(
        _verdict(credit),
        value={"ratio": round(result.ratio, 3), "image_seconds": mine, "baseline_seconds": theirs},
        fraction=credit,
        detail=Text(
            f"Your interpreter took {result.ratio:.2f}x the time of a plain source build of the same "
            f"version (the lower quartile of {runs} alternating runs each, {mine:.3f} s vs {theirs:.3f} s); full credit at "
            f"{full:.2f}x or faster, none from {zero:.2f}x.",
            f"같은 버전을 일반 옵션으로 빌드한 인터프리터 대비 {result.ratio:.2f}배의 시간이 걸렸습니다"
            f"(번갈아 {runs}회씩 실행한 기록의 하위 사분위수, {mine:.3f}초 대 {theirs:.3f}초). {full:.2f}배 이하면 만점, "
            f"{zero:.2f}배 이상이면 0점입니다.",
        ),
    )
