"""Criteria judged from the built image and from runs in the sandbox. The service gathers the
evidence (it talks to Docker through `sandbox`); these functions only turn evidence into
results, so they are tested on plain data."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labs.grading.criteria import CheckResult, Text, Verdict, criterion

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
    report: Any = None  # sandbox.layers.ImageReport
    base_setuid: frozenset[str] = frozenset()
    user: Any = None  # sandbox.run.UserResult
    structure: Sequence[Any] | None = None  # sandbox.run.StructureTestResult
    structure_error: str = ""
    health: Any = None  # sandbox.run.HealthResult
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


def _validate_size(options: Mapping[str, Any]) -> str | None:
    full, zero = options.get("full_at_mb") or 0, options.get("zero_at_mb") or 0
    if full and zero and zero <= full:
        return "zero_at_mb must be larger than full_at_mb"
    if options["reference_zero_factor"] <= options["reference_slack"]:
        return "reference_zero_factor must be larger than reference_slack"
    if options["reference_slack"] < 1:
        return "reference_slack must be at least 1"
    return None


@criterion(
    "opt.image_size",
    category="optimisation",
    source="image",
    title=Text("Final image size", "최종 이미지 크기"),
    why=Text(
        "Every megabyte is pulled by every node that runs the image and scanned for every CVE: "
        "a smaller image deploys faster and carries less to attack.",
        "이미지의 모든 메가바이트는 이미지를 실행하는 모든 노드가 내려받고 모든 CVE 스캔의 대상이 됩니다. "
        "작은 이미지는 더 빨리 배포되고 공격받을 거리도 적습니다.",
    ),
    fix=Text(
        "Build in one stage and copy only the artefacts into a slim final stage "
        "(`COPY --from=build /app /app`); install with --no-install-recommends and clean caches in the same RUN.",
        "빌드는 한 스테이지에서 하고, 결과물만 슬림한 최종 스테이지로 복사하세요 "
        "(`COPY --from=build /app /app`). 설치할 때는 --no-install-recommends를 쓰고 같은 RUN에서 캐시를 지우세요.",
    ),
    anchors=("dive",),
    default_weight=15,
    options={
        "full_at_mb": 0.0,
        "zero_at_mb": 0.0,
        "reference_slack": 1.15,
        "reference_zero_factor": 3.0,
    },
    validate=_validate_size,
)
def image_size(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    full, zero = _size_thresholds(options, ev.reference_size)
    credit = _linear(ev.size, full, zero)
    verdict = _verdict(credit)
    ref = f" (reference solution: {_mb(ev.reference_size)})" if ev.reference_size else ""
    ref_ko = f" (모범 답안: {_mb(ev.reference_size)})" if ev.reference_size else ""
    return CheckResult(
        "opt.image_size",
        verdict,
        value=ev.size,
        lines=(ev.final_from_line,) if ev.final_from_line else (),
        detail=Text(
            f"The image is {_mb(ev.size)}; full credit up to {_mb(full)}, none from {_mb(zero)}{ref}.",
            f"이미지 크기는 {_mb(ev.size)}입니다. {_mb(full)} 이하면 만점, {_mb(zero)} 이상이면 0점입니다{ref_ko}.",
        ),
        fraction=credit,
    )


@criterion(
    "opt.layer_count",
    category="optimisation",
    source="image",
    title=Text("Layers added on top of the base", "베이스 위에 추가한 레이어 수"),
    why=Text(
        "Each filesystem layer is stored, pulled and unpacked separately; files changed in a later "
        "layer still ship in the earlier one.",
        "파일시스템 레이어는 하나하나 따로 저장되고, 내려받고, 풀립니다. 뒤 레이어에서 바꾼 파일도 "
        "앞 레이어에 그대로 남아 함께 전송됩니다.",
    ),
    fix=Text(
        "Merge related RUN steps with `&&`, and copy build results in one `COPY --from` instead of many.",
        "관련된 RUN 단계는 `&&`로 합치고, 빌드 결과물은 여러 번이 아니라 한 번의 `COPY --from`으로 복사하세요.",
    ),
    anchors=("hadolint DL3059",),
    default_weight=5,
    options={"max_added_layers": 6, "zero_at_added_layers": 14},
    validate=lambda o: (
        "zero_at_added_layers must be larger than max_added_layers"
        if o["zero_at_added_layers"] <= o["max_added_layers"]
        else None
    ),
)
def layer_count(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    added = max(0, ev.layer_count - ev.base_layer_count)
    credit = _linear(added, options["max_added_layers"], options["zero_at_added_layers"])
    verdict = _verdict(credit)
    return CheckResult(
        "opt.layer_count",
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


@criterion(
    "opt.efficiency",
    category="optimisation",
    source="image",
    title=Text("Wasted bytes (as dive computes them)", "낭비된 바이트 (dive 기준)"),
    why=Text(
        "A file written in one layer and changed or deleted in a later one still ships in full: "
        "the image carries bytes nobody can use.",
        "한 레이어에서 만든 파일을 뒤 레이어에서 바꾸거나 지워도 원래 파일은 그대로 이미지에 실려 "
        "전송됩니다. 아무도 쓸 수 없는 바이트입니다.",
    ),
    fix=Text(
        "Create, use and delete temporary files in the same RUN (e.g. download, install and "
        "`rm -rf /var/lib/apt/lists/*` in one step), or build them in an earlier stage.",
        "임시 파일은 같은 RUN 안에서 만들고, 쓰고, 지우세요(예: 내려받기·설치·"
        "`rm -rf /var/lib/apt/lists/*`를 한 단계에서). 아니면 앞 스테이지에서 만드세요.",
    ),
    anchors=("dive lowestEfficiency", "dive highestUserWastedPercent"),
    default_weight=10,
    options={"lowest_efficiency": 0.9, "highest_user_wasted_percent": 0.1},
)
def efficiency(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    report = ev.report
    if report is None:
        return CheckResult(
            "opt.efficiency",
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
    return CheckResult(
        "opt.efficiency",
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


@criterion(
    "sec.non_root",
    category="security",
    source="run",
    title=Text("Runs as non-root in fact", "실제로 루트가 아닌 사용자로 실행"),
    why=Text(
        "A process running as root inside the container is root on the host's kernel: one escape "
        "bug away from the host.",
        "컨테이너 안에서 루트로 도는 프로세스는 호스트 커널에서도 루트입니다. 탈출 버그 하나면 호스트가 위험합니다.",
    ),
    fix=Text(
        "Create a user and switch to it at the end of the final stage: "
        "`RUN useradd --uid 10001 app` then `USER 10001` (on scratch/distroless: `USER 65534`).",
        "최종 스테이지 끝에서 사용자를 만들고 전환하세요: `RUN useradd --uid 10001 app` 다음 `USER 10001` "
        "(scratch/distroless에서는 `USER 65534`).",
    ),
    anchors=("dockle CIS-DI-0001", "hadolint DL3002"),
    default_weight=15,
)
def non_root(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    user = ev.user
    lines = tuple(x for x in (ev.user_line or ev.final_from_line,) if x)
    if user is None or user.uid is None:
        detail = getattr(user, "detail", "") or "the user could not be determined"
        return CheckResult(
            "sec.non_root",
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
        return CheckResult(
            "sec.non_root",
            "fail",
            value=0,
            lines=lines,
            detail=Text(
                f"The container runs as uid 0 (root) ({how}).",
                f"컨테이너가 uid 0(루트)으로 실행됩니다({how_ko}).",
            ),
        )
    return CheckResult(
        "sec.non_root",
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


@criterion(
    "opt.no_build_tools",
    category="optimisation",
    source="image",
    title=Text("No compilers or build tools in the final image", "최종 이미지에 컴파일러·빌드 도구 없음"),
    why=Text(
        "Compilers, make and headers are only needed to build. Left in the final image they add "
        "hundreds of megabytes and hand an attacker a toolchain.",
        "컴파일러, make, 헤더 파일은 빌드할 때만 필요합니다. 최종 이미지에 남기면 수백 MB가 늘고 "
        "공격자에게 도구를 쥐여 주는 셈입니다.",
    ),
    fix=Text(
        "Compile in a builder stage (`FROM golang:1.19-bookworm AS build`) and copy only the result "
        "into a slim or scratch final stage.",
        "빌더 스테이지(`FROM golang:1.19-bookworm AS build`)에서 컴파일하고 결과물만 슬림 또는 scratch "
        "최종 스테이지로 복사하세요.",
    ),
    default_weight=10,
)
def no_build_tools(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    if ev.report is None:
        return CheckResult("opt.no_build_tools", "skip")
    tools = list(ev.report.build_tools)
    lines = (ev.final_from_line,) if ev.final_from_line else ()
    if not tools:
        return CheckResult(
            "opt.no_build_tools",
            "pass",
            value=0,
            lines=lines,
            detail=Text("No compilers or build tools found.", "컴파일러나 빌드 도구가 없습니다."),
        )
    return CheckResult(
        "opt.no_build_tools",
        "fail",
        value=len(tools),
        lines=lines,
        detail=Text(
            f"Found in the final image: {_paths(tools)}.", f"최종 이미지에서 발견됨: {_paths(tools)}."
        ),
    )


@criterion(
    "opt.no_package_caches",
    category="optimisation",
    source="image",
    title=Text("No package-manager caches left", "패키지 관리자 캐시를 남기지 않음"),
    why=Text(
        "apt lists, pip and npm caches are only used while installing; in the image they are dead weight "
        "and, for apt lists, a stale index.",
        "apt 목록, pip·npm 캐시는 설치할 때만 쓰입니다. 이미지에 남으면 쓸모없는 무게이고, apt 목록은 "
        "낡은 인덱스가 됩니다.",
    ),
    fix=Text(
        "Clean in the same RUN: `apt-get update && apt-get install -y --no-install-recommends X && "
        "rm -rf /var/lib/apt/lists/*`; `pip install --no-cache-dir`; `npm ci && npm cache clean --force`.",
        "같은 RUN에서 정리하세요: `apt-get update && apt-get install -y --no-install-recommends X && "
        "rm -rf /var/lib/apt/lists/*`, `pip install --no-cache-dir`, `npm ci && npm cache clean --force`.",
    ),
    anchors=("hadolint DL3009", "hadolint DL3042", "dockle DKL-DI-0005"),
    default_weight=10,
    options={"tolerance_bytes": 4096},
)
def no_package_caches(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    if ev.report is None:
        return CheckResult("opt.no_package_caches", "skip")
    caches = [
        c for c in ev.report.package_caches if int(getattr(c, "size_bytes", 0)) > options["tolerance_bytes"]
    ]
    total = sum(int(getattr(c, "size_bytes", 0)) for c in caches)
    if not caches:
        return CheckResult(
            "opt.no_package_caches",
            "pass",
            value=0,
            detail=Text("No package caches found.", "패키지 캐시가 없습니다."),
        )
    return CheckResult(
        "opt.no_package_caches",
        "fail",
        value=total,
        lines=ev.dependency_lines,
        detail=Text(
            f"{_mb(total)} of package caches left: {_paths(caches)}.",
            f"패키지 캐시 {_mb(total)}가 남아 있습니다: {_paths(caches)}.",
        ),
    )


@criterion(
    "sec.no_secret_files",
    category="security",
    source="image",
    title=Text("No secret files in any layer", "어떤 레이어에도 비밀 파일 없음"),
    why=Text(
        "Deleting a key in a later layer does not remove it: anyone who pulls the image can read "
        "every layer with `docker save`.",
        "뒤 레이어에서 키를 지워도 사라지지 않습니다. 이미지를 받은 사람은 누구나 `docker save`로 "
        "모든 레이어를 읽을 수 있습니다.",
    ),
    fix=Text(
        "Never COPY keys or .env files into a build: list them in .dockerignore, and pass build-time "
        "secrets with `RUN --mount=type=secret` (not available in this sandbox) or at run time.",
        "키나 .env 파일을 빌드에 COPY하지 마세요. .dockerignore에 넣고, 빌드 중 비밀은 "
        "`RUN --mount=type=secret`(이 샌드박스에서는 쓸 수 없음)이나 실행 시점에 전달하세요.",
    ),
    anchors=("dockle CIS-DI-0010",),
    default_weight=15,
)
def no_secret_files(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    if ev.report is None:
        return CheckResult("sec.no_secret_files", "skip")
    found = list(ev.report.secret_files)
    if not found:
        return CheckResult(
            "sec.no_secret_files",
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
    return CheckResult(
        "sec.no_secret_files",
        "fail",
        value=len(found),
        detail=Text(
            f"Secret files found: {_paths(found)}.{note}", f"비밀 파일 발견: {_paths(found)}.{note_ko}"
        ),
    )


@criterion(
    "sec.no_history_secrets",
    category="security",
    source="image",
    title=Text("No secrets in the image history", "이미지 히스토리에 비밀 없음"),
    why=Text(
        "Build arguments and RUN commands are recorded in the image history, readable with "
        "`docker history --no-trunc` by anyone who has the image.",
        "빌드 인자와 RUN 명령은 이미지 히스토리에 기록되어, 이미지를 가진 누구나 "
        "`docker history --no-trunc`로 읽을 수 있습니다.",
    ),
    fix=Text(
        "Do not pass secrets as ARG/ENV or on a RUN command line; provide them at run time.",
        "비밀을 ARG/ENV나 RUN 명령줄로 넘기지 말고 실행 시점에 제공하세요.",
    ),
    anchors=("dockle CIS-DI-0010", "hadolint DL3064"),
    default_weight=10,
)
def no_history_secrets(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    hits = []
    for entry in ev.history:
        for m in SECRET_NAME.finditer(entry):
            value = m.group(2).strip("'\"")
            if value and not value.startswith("$"):
                hits.append(m.group(0).split("=", 1)[0])
    if not hits:
        return CheckResult(
            "sec.no_history_secrets",
            "pass",
            value=0,
            detail=Text(
                "No secret-looking values in the history.", "히스토리에 비밀로 보이는 값이 없습니다."
            ),
        )
    names = ", ".join(sorted(set(hits)))
    return CheckResult(
        "sec.no_history_secrets",
        "fail",
        value=len(hits),
        detail=Text(
            f"The history records values for: {names}.", f"히스토리에 다음 값이 기록되어 있습니다: {names}."
        ),
    )


@criterion(
    "sec.setuid",
    category="security",
    source="image",
    title=Text("No new setuid/setgid files", "새 setuid/setgid 파일 없음"),
    why=Text(
        "A setuid binary runs with its owner's rights whoever starts it: each one is a way to root.",
        "setuid 바이너리는 누가 실행하든 소유자의 권한으로 돕니다. 하나하나가 루트로 가는 길입니다.",
    ),
    fix=Text(
        "Don't `chmod u+s`; to strip the base's ones too: "
        "`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`.",
        "`chmod u+s`를 쓰지 마세요. 베이스의 것까지 없애려면: "
        "`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`.",
    ),
    anchors=("dockle CIS-DI-0008",),
    default_weight=5,
)
def setuid(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    if ev.report is None:
        return CheckResult("sec.setuid", "skip")
    files = list(ev.report.setuid_files)
    new = [f for f in files if str(getattr(f, "path", f)) not in ev.base_setuid]
    inherited = len(files) - len(new)
    base_note = f" ({inherited} inherited from the base image.)" if inherited else ""
    base_ko = f" (베이스 이미지에서 물려받은 것 {inherited}개)" if inherited else ""
    if not new:
        return CheckResult(
            "sec.setuid",
            "pass",
            value=0,
            detail=Text(
                f"No setuid/setgid files added.{base_note}", f"추가된 setuid/setgid 파일이 없습니다.{base_ko}"
            ),
        )
    return CheckResult(
        "sec.setuid",
        "fail",
        value=len(new),
        detail=Text(
            f"setuid/setgid files added: {_paths(new)}.{base_note}",
            f"추가된 setuid/setgid 파일: {_paths(new)}.{base_ko}",
        ),
    )


@criterion(
    "run.healthcheck",
    category="correctness",
    source="run",
    title=Text("HEALTHCHECK configured and passing", "HEALTHCHECK 설정 및 통과"),
    why=Text(
        "Orchestrators restart or stop routing to a container whose health check fails; without one "
        "a hung process looks healthy.",
        "오케스트레이터는 헬스 체크가 실패한 컨테이너를 다시 시작하거나 트래픽을 끊습니다. 헬스 체크가 "
        "없으면 멈춘 프로세스도 정상으로 보입니다.",
    ),
    fix=Text(
        'Add `HEALTHCHECK --interval=5s --timeout=3s CMD ["python", "-c", "..."]` that checks the app '
        "itself (no curl needed).",
        '앱 자체를 확인하는 `HEALTHCHECK --interval=5s --timeout=3s CMD ["python", "-c", "..."]`를 '
        "추가하세요(curl 없이도 됩니다).",
    ),
    anchors=("dockle CIS-DI-0006", "hadolint DL3057"),
    default_weight=5,
    options={"required": False, "wait_seconds": 30},
)
def healthcheck(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    lines = (ev.healthcheck_line,) if ev.healthcheck_line else ()
    if not options["required"]:
        return CheckResult("run.healthcheck", "pass", value="not asked")
    health = ev.health
    if health is None or health.status == "none":
        return CheckResult(
            "run.healthcheck",
            "fail",
            value="none",
            lines=lines,
            detail=Text("The image has no HEALTHCHECK.", "이미지에 HEALTHCHECK가 없습니다."),
        )
    if health.status == "healthy":
        return CheckResult(
            "run.healthcheck",
            "pass",
            value="healthy",
            lines=lines,
            detail=Text("The health check passed.", "헬스 체크를 통과했습니다."),
        )
    tail = "; ".join(list(health.log)[-2:])
    return CheckResult(
        "run.healthcheck",
        "fail",
        value=health.status,
        lines=lines,
        detail=Text(
            f"The health check ended {health.status}. {tail}", f"헬스 체크 결과: {health.status}. {tail}"
        ),
    )


@criterion(
    "run.behaviour",
    category="correctness",
    source="run",
    title=Text("Behaviour tests", "동작 테스트"),
    why=Text(
        "A small image that does not run the app is worth nothing: these tests run your image the "
        "way the exercise expects it to be used.",
        "앱이 돌지 않는 작은 이미지는 의미가 없습니다. 이 테스트는 실습이 기대하는 방식으로 이미지를 실행합니다.",
    ),
    fix=Text(
        "Read the failing test's message: it names the command or file it expected.",
        "실패한 테스트의 메시지를 읽어 보세요. 기대한 명령이나 파일이 적혀 있습니다.",
    ),
    anchors=("container-structure-test",),
    default_weight=20,
)
def behaviour(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    if ev.structure_error:
        return CheckResult(
            "run.behaviour", "fail", value=None, detail=Text(ev.structure_error, ev.structure_error)
        )
    tests = list(ev.structure or [])
    if not tests:
        return CheckResult("run.behaviour", "pass", value="no tests")
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
        return CheckResult(
            "run.behaviour",
            "pass",
            value=value,
            detail=Text(
                f"All {len(tests)} behaviour tests passed.",
                f"동작 테스트 {len(tests)}개를 모두 통과했습니다.",
            ),
        )
    first = failed[0]
    message = "; ".join(first.messages[:2])
    return CheckResult(
        "run.behaviour",
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


@criterion(
    "opt.build_cache",
    category="optimisation",
    source="run",
    title=Text("Dependencies come from cache after a source edit", "소스를 고친 뒤 의존성은 캐시에서"),
    why=Text(
        "When only application code changes, a well-ordered Dockerfile rebuilds in seconds because "
        "the dependency install step is reused from the build cache.",
        "애플리케이션 코드만 바뀌었을 때, 순서가 좋은 Dockerfile은 의존성 설치 단계를 빌드 캐시에서 "
        "재사용하므로 몇 초 만에 다시 빌드됩니다.",
    ),
    fix=Text(
        "Copy the dependency manifests first, install, then copy the source: "
        "`COPY requirements.txt .` → `RUN pip install …` → `COPY . .`.",
        "의존성 목록 파일을 먼저 복사하고 설치한 다음 소스를 복사하세요: "
        "`COPY requirements.txt .` → `RUN pip install …` → `COPY . .`.",
    ),
    anchors=("BuildKit cache",),
    default_weight=10,
    options={"source_file": ""},
)
def build_cache(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    rebuild = ev.rebuild
    if rebuild is None:
        return CheckResult("opt.build_cache", "pass", value="no dependency install step", detail=NO_INSTALL)
    if not rebuild.ok:
        return CheckResult("opt.build_cache", "skip", detail=Text(rebuild.message, rebuild.message))
    installs = [s for s in rebuild.steps if s.installs_dependencies]
    if not installs:
        return CheckResult("opt.build_cache", "pass", value="no dependency install step", detail=NO_INSTALL)
    rebuilt = [s for s in installs if s.state != "cached"]
    lines = tuple(s.line for s in installs if s.line)
    if not rebuilt:
        return CheckResult(
            "opt.build_cache",
            "pass",
            value="cached",
            lines=lines,
            detail=Text(
                f"After editing {rebuild.source_file}, the dependency install came from cache.",
                f"{rebuild.source_file} 파일을 고친 뒤에도 의존성 설치 단계는 캐시에서 왔습니다.",
            ),
        )
    names = ", ".join(f"line {s.line}" if s.line else s.name for s in rebuilt)
    return CheckResult(
        "opt.build_cache",
        "fail",
        value="rebuilt",
        lines=lines,
        detail=Text(
            f"After editing {rebuild.source_file}, the dependency install ran again ({names}).",
            f"{rebuild.source_file} 파일을 고친 뒤 의존성 설치 단계가 다시 실행되었습니다({names}).",
        ),
    )


def _validate_speed(options: Mapping[str, Any]) -> str | None:
    if not 0 < options["full_at_ratio"] < options["zero_at_ratio"]:
        return "full_at_ratio must be above 0 and below zero_at_ratio"
    return None


@criterion(
    "run.speed",
    category="correctness",
    source="run",
    title=Text("Interpreter speed against a plain build", "일반 빌드 대비 인터프리터 속도"),
    why=Text(
        "PGO (--enable-optimizations) lays out the interpreter's hot paths from a profiling run and "
        "LTO (--with-lto) optimises across object files: together about 10-20 % on pure-Python code, "
        "for every request the runtime ever serves.",
        "PGO(--enable-optimizations)는 프로파일링 실행 결과로 인터프리터의 자주 쓰는 경로를 배치하고, "
        "LTO(--with-lto)는 오브젝트 파일 경계를 넘어 최적화합니다. 순수 파이썬 코드에서 보통 10~20% 빨라지며, "
        "이 런타임이 처리하는 모든 요청에 적용됩니다.",
    ),
    fix=Text(
        "Configure the builder stage with `./configure --enable-optimizations --with-lto` and copy "
        "/usr/local into the runtime stage; check that `python3` in the final image is that build.",
        "빌더 스테이지에서 `./configure --enable-optimizations --with-lto`로 설정하고 /usr/local을 런타임 "
        "스테이지로 복사하세요. 최종 이미지의 `python3`가 그 빌드인지 확인하세요.",
    ),
    anchors=("cpython-configure",),
    default_weight=15,
    options={"full_at_ratio": 0.92, "zero_at_ratio": 1.0},
    validate=_validate_speed,
)
def speed(ev: ImageEvidence, options: Mapping[str, Any]) -> CheckResult:
    result = ev.speed
    if ev.speed_error or result is None or result.ratio is None:
        message = ev.speed_error or (result.error if result else "the exercise defines no benchmark")
        return CheckResult("run.speed", "fail", value=None, detail=Text(message, message))
    full, zero = float(options["full_at_ratio"]), float(options["zero_at_ratio"])
    credit = _linear(result.ratio, full, zero)
    runs = len(result.baseline_seconds)
    mine, theirs = result.image_typical, result.baseline_typical
    return CheckResult(
        "run.speed",
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


IMAGE_CRITERIA = (
    "opt.image_size",
    "opt.layer_count",
    "opt.efficiency",
    "opt.no_build_tools",
    "opt.no_package_caches",
    "sec.non_root",
    "sec.no_secret_files",
    "sec.no_history_secrets",
    "sec.setuid",
    "run.healthcheck",
    "run.behaviour",
    "opt.build_cache",
    "run.speed",
)
