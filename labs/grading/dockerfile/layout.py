"""How the Dockerfile is laid out: COPY over ADD, exec-form CMD/ENTRYPOINT, absolute WORKDIR, a
HEALTHCHECK, a .dockerignore that keeps heavy and secret files out, no MAINTAINER.

Each check is named after its criterion (`texts/layout.yaml`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from labs.grading.catalogue import (
    CheckResult,
    Finding,
    Say,
    Text,
    Verdict,
    findings_text,
    lines_of,
    particle,
    quote_words,
)
from labs.grading.facts import BROAD_SOURCES, StaticInput
from labs.grading.shell import split_shell
from sandbox.dockerfile import (
    Instruction,
)
from sandbox.dockerignore import dockerignore_rules

_ARCHIVE_RE = re.compile(
    r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz|tbz2|tb2|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tlz|tar\.lzma|tar\.Z|tZ|gz|bz2|xz|lz|lzma|Z)$",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)


def copy_not_add(inp: StaticInput, say: Say) -> CheckResult:
    """Follows hadolint DL3020: local archives (which ADD unpacks) and URLs are not flagged."""
    findings: list[Finding] = []
    for ins in inp.parsed.instructions:
        if ins.keyword != "ADD" or len(ins.args) < 2:
            continue
        local = [s for s in ins.args[:-1] if not _URL_RE.match(s) and not _ARCHIVE_RE.search(s)]
        if local:
            sources = " ".join(local)
            findings.append(
                Finding(
                    ins.start_line,
                    f"`ADD {sources}` copies plain local files; use `COPY {sources} {ins.args[-1]}`",
                    f"{particle(f'`ADD {sources}`', '은')} 로컬 파일을 복사할 뿐입니다. "
                    f"{particle(f'`COPY {sources} {ins.args[-1]}`', '을')} 쓰세요",
                )
            )
    if findings:
        return say.result("fail", len(findings), lines_of(findings), findings_text(findings))
    return say.result("pass", 0, (), Text("No ADD of plain local files.", "로컬 파일에 ADD를 쓰지 않습니다."))


def exec_form(inp: StaticInput, say: Say) -> CheckResult:
    instructions = inp.facts.chain_instructions(inp.facts.final)
    found: list[Instruction] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        last = next((i for i in reversed(instructions) if i.keyword == keyword), None)
        if last is not None:
            found.append(last)
    if not found:
        return say.not_used("CMD/ENTRYPOINT", "CMD/ENTRYPOINT")
    shell = [i for i in found if not i.json]
    if not shell:
        lines = [i.start_line for i in found]
        return say.result(
            "pass",
            0,
            lines,
            Text(
                "The final stage's CMD/ENTRYPOINT use exec form.",
                "최종 스테이지의 CMD/ENTRYPOINT가 exec 형식입니다.",
            ),
        )
    findings = [
        Finding(
            i.start_line,
            f"`{i.keyword} {' '.join(i.args)}` is shell form; write `{i.keyword} {_json_hint(i)}`",
            f"{particle(f'`{i.keyword} {chr(32).join(i.args)}`', '은')} 셸 형식입니다. "
            f"{particle(f'`{i.keyword} {_json_hint(i)}`', '으로')} 쓰세요",
        )
        for i in shell
    ]
    return say.result("fail", len(shell), lines_of(findings), findings_text(findings))


def _json_hint(ins: Instruction) -> str:
    words = [w for s in split_shell(" ".join(ins.args)) for w in s.words]
    if not words or len(words) > 6:
        return '["executable", "arg"]'
    return "[" + ", ".join(f'"{w}"' for w in words) + "]"


def abs_workdir(inp: StaticInput, say: Say) -> CheckResult:
    """A relative WORKDIR fails; `cd` in a RUN is advice only (partial, 0.75 credit)."""
    relative: list[Finding] = []
    cds: list[Finding] = []
    for ins in inp.parsed.instructions:
        if ins.keyword == "WORKDIR" and ins.args:
            path = ins.args[0].strip("\"'")
            if not path.startswith(("/", "$")) and not re.match(r"^[A-Za-z]:[\\/]", path):
                relative.append(
                    Finding(
                        ins.start_line,
                        f"`WORKDIR {path}` is relative; use `WORKDIR /{path.lstrip('./')}`",
                        f"{particle(f'`WORKDIR {path}`', '은')} 상대 경로입니다. `WORKDIR "
                        f"/{path.lstrip('./')}`처럼 절대 "
                        "경로로 쓰세요",
                    )
                )
    for run in inp.facts.runs:
        for c in run.cmds:
            if c.name == "cd":
                cds.append(
                    Finding(
                        c.line,
                        f"{quote_words(c.words)} in RUN; prefer `WORKDIR`",
                        f"RUN 안에서 {particle(quote_words(c.words), '을')} 씁니다. `WORKDIR`를 쓰는 편이 낫습니다",
                    )
                )
    findings = sorted(relative + cds, key=lambda f: f.line)
    if relative:
        return say.result("fail", len(findings), lines_of(findings), findings_text(findings))
    if cds:
        return say.result("partial", len(findings), lines_of(findings), findings_text(findings), 0.75)
    return say.result(
        "pass",
        0,
        (),
        Text(
            "Every WORKDIR is absolute and no RUN uses cd.",
            "모든 WORKDIR이 절대 경로이고 RUN에서 cd를 쓰지 않습니다.",
        ),
    )


def validate_healthcheck_declared(options: Mapping[str, Any]) -> str | None:
    return None if isinstance(options.get("required"), bool) else "required must be true or false"


def healthcheck_declared(inp: StaticInput, say: Say) -> CheckResult:
    if not inp.options.get("required"):
        return say.result(
            "pass",
            "not asked",
            (),
            Text(
                "This exercise does not ask for a HEALTHCHECK.", "이 실습은 HEALTHCHECK를 요구하지 않습니다."
            ),
        )
    facts = inp.facts
    last = next(
        (i for i in reversed(facts.chain_instructions(facts.final)) if i.keyword == "HEALTHCHECK"), None
    )
    if last is None:
        line = facts.final.line
        return say.result(
            "fail",
            "missing",
            (line,),
            Text(
                f"line {line}: the final stage declares no HEALTHCHECK.",
                f"{line}번째 줄: 최종 스테이지에 HEALTHCHECK가 없습니다.",
            ),
        )
    if last.args and last.args[0].upper() == "NONE":
        return say.result(
            "fail",
            "NONE",
            (last.start_line,),
            Text(
                f"line {last.start_line}: `HEALTHCHECK NONE` turns the health check off.",
                f"{last.start_line}번째 줄: `HEALTHCHECK NONE`은 헬스 체크를 끕니다.",
            ),
        )
    return say.result(
        "pass",
        "declared",
        (last.start_line,),
        Text(
            f"line {last.start_line}: the final stage declares a HEALTHCHECK.",
            f"{last.start_line}번째 줄: 최종 스테이지에 HEALTHCHECK가 있습니다.",
        ),
    )


_ENV_SAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist")


def _heavy_items(paths: Iterable[str]) -> dict[str, list[str]]:
    """Context paths grouped by the heavy or secret thing they belong to."""
    found: dict[str, list[str]] = {}
    for path in sorted(paths):
        parts = path.split("/")
        base = parts[-1]
        label = None
        if parts[0] == ".git":
            label = ".git"
        elif "node_modules" in parts[:-1]:
            label = "node_modules"
        elif "__pycache__" in parts[:-1]:
            label = "__pycache__"
        elif any(p in (".venv", "venv") for p in parts[:-1]):
            label = ".venv"
        elif base.endswith(".pyc"):
            label = "*.pyc"
        elif base == ".env" or (base.startswith(".env.") and base not in _ENV_SAMPLES):
            label = ".env"
        elif len(parts) > 1 and parts[0] in ("dist", "build"):
            label = parts[0]
        if label is not None:
            found.setdefault(label, []).append(path)
    return found


def dockerignore(inp: StaticInput, say: Say) -> CheckResult:
    """Each heavy or secret thing the context really has counts as covered only when every one
    of its files is excluded. Lines: the broad COPY/ADD that would carry what is not covered."""
    items = _heavy_items(inp.context_paths)
    if not items:
        return say.result(
            "pass",
            "nothing to ignore",
            (),
            Text(
                "The build context has nothing heavy or secret to ignore.",
                "빌드 컨텍스트에 제외해야 할 무거운 파일이나 비밀 파일이 없습니다.",
            ),
        )
    broad = [
        ins
        for ins in inp.parsed.instructions
        if ins.keyword in ("COPY", "ADD")
        and not ins.flag_values("from")
        and any(s in BROAD_SOURCES for s in ins.args[:-1])
    ]
    broad_lines = [ins.start_line for ins in broad]
    into_en = into_ko = ""
    if broad:
        kw, line = broad[0].keyword, broad[0].start_line
        into_en = f" and `{kw}` on line {line} puts it in the image"
        into_ko = f" {line}번째 줄의 {particle(f'`{kw}`', '이')} 이를 이미지에 넣습니다"
    labels = ", ".join(f"`{k}`" for k in items)
    if inp.dockerignore is None:
        return say.result(
            "fail",
            sorted(items),
            broad_lines,
            Text(
                f"No .dockerignore, and the context has {labels}: all of it is sent to the builder{into_en}.",
                f".dockerignore가 없는데 컨텍스트에 {particle(labels, '이')} 있습니다. 모두 빌더로 전송되고"
                + (f",{into_ko}." if into_ko else " 있습니다."),
            ),
        )
    ignore = dockerignore_rules(inp.dockerignore)
    missing = [label for label, paths in items.items() if not all(ignore.excludes(p) for p in paths)]
    covered = len(items) - len(missing)
    if not missing:
        return say.result(
            "pass",
            [],
            (),
            Text(
                f".dockerignore excludes {labels}.", f".dockerignore가 {particle(labels, '을')} 제외합니다."
            ),
        )
    names = ", ".join(f"`{m}`" for m in missing)
    example = items[missing[0]][0]
    detail = Text(
        f".dockerignore does not exclude {names}: e.g. `{example}` is still sent to the builder{into_en}.",
        f".dockerignore가 {particle(names, '을')} 제외하지 않습니다. 예를 들어 {particle(f'`{example}`', '이')} 그대로 "
        "빌더로 전송되고" + (f",{into_ko}." if into_ko else " 있습니다."),
    )
    verdict: Verdict = "fail" if covered == 0 else "partial"
    return say.result(
        verdict, sorted(missing), broad_lines, detail, None if covered == 0 else covered / len(items)
    )


def no_maintainer(inp: StaticInput, say: Say) -> CheckResult:
    findings = [
        Finding(
            i.start_line,
            "MAINTAINER is deprecated; use `LABEL org.opencontainers.image.authors=...`",
            "MAINTAINER는 더 이상 권장되지 않습니다. `LABEL org.opencontainers.image.authors=...`를 쓰세요",
        )
        for i in inp.parsed.instructions
        if i.keyword == "MAINTAINER"
    ]
    if findings:
        return say.result("fail", len(findings), lines_of(findings), findings_text(findings))
    return say.result("pass", 0, (), Text("No MAINTAINER.", "MAINTAINER를 쓰지 않습니다."))
