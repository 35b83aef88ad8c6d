"""The base-image criteria: a multi-stage build, a small final base, pinned base references.

Each check is named after its criterion (`texts/base.yaml`)."""

from __future__ import annotations

from labs.grading.catalogue import CheckResult, Finding, Say
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
        return say.result("fail", count, (final.line,), say.text("single_stage", line=final.line))
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
        detail = say.text("copies", count=count, line=final.line, stages=names)
        return say.result("pass", count, (final.line,), detail)
    detail = say.text("copies_nothing", count=count, line=final.line)
    return say.result("fail", count, (final.line,), detail)


def slim_final_base(inp: StaticInput, say: Say) -> CheckResult:
    chain = inp.facts.final_chain
    root = chain[-1]
    lines = {chain[0].line, root.line}
    if root.unresolved_args:
        detail = say.text(
            "unknown_base", line=root.line, base=f"`{root.base}`", args=", ".join(root.unresolved_args)
        )
        return say.result("fail", root.base, lines, detail)
    image = root.base_resolved
    kind = slim_kind(image)
    said = {"line": root.line, "image": image, "kind": kind}
    if len(chain) > 1:  # the final stage is FROM another stage: name it
        key = "full_via" if kind is None else "small_via"
        said["stage"] = f"`{chain[0].base_resolved}`"
    else:
        key = "full" if kind is None else "small"
    return say.result("fail" if kind is None else "pass", image, lines, say.text(key, **said))


def pinned_base(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    pinned: list[str] = []
    for stage in inp.parsed.stages:
        if stage.is_stage_ref:
            continue
        if stage.unresolved_args:
            args = "ARG " + ", ".join(stage.unresolved_args)
            findings.append(
                say.finding(stage.line, "unknown_base", instruction=f"`FROM {stage.base}`", args=args)
            )
            continue
        image = stage.base_resolved
        if image.lower() == "scratch":
            continue
        _, tag, digest = split_image(image)
        if digest:
            pinned.append(image)
        elif tag is None:
            findings.append(say.finding(stage.line, "no_tag", image=image))
        elif tag.lower() == "latest":
            findings.append(say.finding(stage.line, "latest", image=f"`{image}`"))
        else:
            pinned.append(image)
    if findings:
        return say.findings("fail", len(findings), findings)
    if not pinned:
        return say.result("pass", 0, (), say.text("scratch_only"))
    names = ", ".join(f"`{p}`" for p in dict.fromkeys(pinned))
    return say.result("pass", 0, (), say.text("pinned", images=names))
