"""The base-image criteria: a multi-stage build, a small final base, pinned base references.

Each check is named after its criterion (`texts/base.yaml`)."""

from __future__ import annotations

from labs.grading.catalogue import (
    CheckResult,
    Finding,
    Say,
    Text,
    findings_text,
    lines_of,
    particle,
)
from labs.grading.facts import StaticInput, run_mounts, slim_kind, split_image
from sandbox.dockerfile import (
    expand,
)

# --------------------------------------------------------------------------- criteria


def multi_stage(inp: StaticInput, say: Say) -> CheckResult:
    facts, parsed = inp.facts, inp.parsed
    final = facts.final
    count = len(parsed.stages)
    if count == 1:
        return say.result(
            "fail",
            count,
            (final.line,),
            Text(
                f"line {final.line}: the only stage is the final image, so everything used to build it "
                "ships with it.",
                f"{final.line}번째 줄: 스테이지가 하나뿐이라 빌드에 쓴 모든 것이 최종 이미지에 그대로 "
                "들어갑니다.",
            ),
        )
    chain = facts.chain(final)
    in_chain = {s.index for s in chain}
    sources: list[str] = []
    for stage in chain:
        for ins in facts.by_stage[stage.index]:
            refs: list[str] = []
            if ins.keyword in ("COPY", "ADD"):
                refs = ins.flag_values("from")
            elif ins.keyword == "RUN":
                refs = [m.from_ for m in run_mounts(ins) if m.from_]
            for ref in refs:
                target = parsed.stage_named(expand(ref, {}, parsed.escape)[0])
                if target is not None and target.index not in in_chain and target.index < stage.index:
                    sources.append(target.name or str(target.index))
    if sources:
        names = ", ".join(f"`{s}`" for s in dict.fromkeys(sources))
        return say.result(
            "pass",
            count,
            (final.line,),
            Text(
                f"{count} stages; the final stage (line {final.line}) copies its files from {names}.",
                f"스테이지 {count}개: 최종 스테이지({final.line}번째 줄)가 {names}에서 결과물만 복사합니다.",
            ),
        )
    return say.result(
        "fail",
        count,
        (final.line,),
        Text(
            f"line {final.line}: {count} stages, but the final stage copies nothing from an earlier one "
            "(no `COPY --from=<stage>`), so the build stages do not slim the image.",
            f"{final.line}번째 줄: 스테이지는 {count}개지만 최종 스테이지가 이전 스테이지에서 아무것도 "
            "복사하지 않아"
            "(`COPY --from=<stage>` 없음) 이미지가 작아지지 않습니다.",
        ),
    )


def slim_final_base(inp: StaticInput, say: Say) -> CheckResult:
    chain = inp.facts.final_chain
    root = chain[-1]
    lines = {chain[0].line, root.line}
    if root.unresolved_args:
        names = ", ".join(root.unresolved_args)
        return say.result(
            "fail",
            root.base,
            lines,
            Text(
                f"line {root.line}: the final base `{root.base}` depends on ARG {names}, which has no "
                "default, so the image it runs on cannot be known.",
                f"{root.line}번째 줄: 최종 베이스 {particle(f'`{root.base}`', '이')} 기본값 없는 ARG {names}에 "
                "의존해서 어떤 "
                "이미지인지 "
                "알 수 없습니다.",
            ),
        )
    image = root.base_resolved
    via = f" (through stage `{chain[0].base_resolved}`)" if len(chain) > 1 else ""
    via_ko = f" (스테이지 {particle(f'`{chain[0].base_resolved}`', '을')} 거쳐)" if len(chain) > 1 else ""
    kind = slim_kind(image)
    if kind is not None:
        return say.result(
            "pass",
            image,
            lines,
            Text(
                f"line {root.line}: the final stage runs on `{image}`{via}, a {kind} base.",
                f"{root.line}번째 줄: 최종 스테이지가 {kind} 베이스인 `{image}` 위에서 실행됩니다{via_ko}.",
            ),
        )
    return say.result(
        "fail",
        image,
        lines,
        Text(
            f"line {root.line}: the final stage runs on `{image}`{via}, a full distribution image "
            "(package manager, shell tools and, in language images, the build toolchain); use a -slim, "
            "-alpine, distroless or scratch base there.",
            f"{root.line}번째 줄: 최종 스테이지가 `{image}`{via_ko} 위에서 실행됩니다. 패키지 관리자와 "
            "각종 도구(언어 이미지라면 빌드 도구까지)가 든 전체 배포판 이미지이니 -slim, -alpine, "
            "distroless, scratch 베이스를 쓰세요.",
        ),
    )


def pinned_base(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    pinned: list[str] = []
    for stage in inp.parsed.stages:
        if stage.is_stage_ref:
            continue
        if stage.unresolved_args:
            names = ", ".join(stage.unresolved_args)
            findings.append(
                Finding(
                    stage.line,
                    f"`FROM {stage.base}` uses ARG {names} without a default, so the base is unpinned",
                    f"{particle(f'`FROM {stage.base}`', '이')} 기본값 없는 {particle(f'ARG {names}', '을')} 써서 "
                    "베이스가 고정되지 않습니다",
                )
            )
            continue
        image = stage.base_resolved
        if image.lower() == "scratch":
            continue
        _, tag, digest = split_image(image)
        if digest:
            pinned.append(image)
        elif tag is None:
            findings.append(
                Finding(
                    stage.line,
                    f"`{image}` has no tag, which means `:latest`",
                    f"`{image}`에 태그가 없어 `:latest`로 해석됩니다",
                )
            )
        elif tag.lower() == "latest":
            findings.append(
                Finding(
                    stage.line,
                    f"`{image}` uses the moving `latest` tag",
                    f"{particle(f'`{image}`', '은')} 계속 바뀌는 `latest` 태그입니다",
                )
            )
        else:
            pinned.append(image)
    if findings:
        return say.result("fail", len(findings), lines_of(findings), findings_text(findings))
    if not pinned:
        return say.result(
            "pass",
            0,
            (),
            Text("No external base image (scratch only).", "외부 베이스 이미지가 없습니다(scratch만 사용)."),
        )
    names = ", ".join(f"`{p}`" for p in dict.fromkeys(pinned))
    return say.result(
        "pass",
        0,
        (),
        Text(f"Every base is pinned: {names}.", f"모든 베이스가 고정되어 있습니다: {names}."),
    )
