"""How the Dockerfile is laid out: COPY over ADD, exec-form CMD/ENTRYPOINT, absolute WORKDIR, a
HEALTHCHECK, a .dockerignore that keeps heavy and secret files out, no MAINTAINER.

Each check is named after its criterion (`texts/layout.yaml`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from labs.grading.catalogue import CheckResult, Finding, Say, Verdict, quote_words
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
            add, copy = f"`ADD {sources}`", f"`COPY {sources} {ins.args[-1]}`"
            findings.append(say.finding(ins.start_line, "add_local", add=add, copy=copy))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("no_add"))


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
        return say.result("pass", 0, lines, say.text("exec_form"))
    findings = [
        say.finding(
            i.start_line,
            "shell_form",
            instruction=f"`{i.keyword} {' '.join(i.args)}`",
            exec=f"`{i.keyword} {_json_hint(i)}`",
        )
        for i in shell
    ]
    return say.findings("fail", len(shell), findings)


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
                workdir = f"`WORKDIR {path}`"
                relative.append(
                    say.finding(ins.start_line, "relative", workdir=workdir, path=path.lstrip("./"))
                )
    for run in inp.facts.runs:
        for c in run.cmds:
            if c.name == "cd":
                cds.append(say.finding(c.line, "cd_in_run", command=quote_words(c.words)))
    findings = sorted(relative + cds, key=lambda f: f.line)
    if relative:
        return say.findings("fail", len(findings), findings)
    if cds:
        return say.findings("partial", len(findings), findings, 0.75)
    return say.result("pass", 0, (), say.text("absolute"))


def validate_healthcheck_declared(options: Mapping[str, Any]) -> str | None:
    return None if isinstance(options.get("required"), bool) else "required must be true or false"


def healthcheck_declared(inp: StaticInput, say: Say) -> CheckResult:
    if not inp.options.get("required"):
        return say.result("pass", "not asked", (), say.text("not_asked"))
    facts = inp.facts
    last = next(
        (i for i in reversed(facts.chain_instructions(facts.final)) if i.keyword == "HEALTHCHECK"), None
    )
    if last is None:
        line = facts.final.line
        return say.result("fail", "missing", (line,), say.text("no_healthcheck", line=line))
    if last.args and last.args[0].upper() == "NONE":
        return say.result("fail", "NONE", (last.start_line,), say.text("turned_off", line=last.start_line))
    return say.result("pass", "declared", (last.start_line,), say.text("healthcheck", line=last.start_line))


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
        return say.result("pass", "nothing to ignore", (), say.text("nothing_to_ignore"))
    broad = [
        ins
        for ins in inp.parsed.instructions
        if ins.keyword in ("COPY", "ADD")
        and not ins.flag_values("from")
        and any(s in BROAD_SOURCES for s in ins.args[:-1])
    ]
    broad_lines = [ins.start_line for ins in broad]
    # the first broad COPY/ADD puts what is sent in the image: the texts ending "_copied" name it
    copied = {"keyword": f"`{broad[0].keyword}`", "line": broad[0].start_line} if broad else {}
    labels = ", ".join(f"`{k}`" for k in items)
    if inp.dockerignore is None:
        key = "no_dockerignore_copied" if copied else "no_dockerignore"
        return say.result("fail", sorted(items), broad_lines, say.text(key, labels=labels, **copied))
    ignore = dockerignore_rules(inp.dockerignore)
    missing = [label for label, paths in items.items() if not all(ignore.excludes(p) for p in paths)]
    covered = len(items) - len(missing)
    if not missing:
        return say.result("pass", [], (), say.text("excludes", labels=labels))
    names = ", ".join(f"`{m}`" for m in missing)
    example = f"`{items[missing[0]][0]}`"
    key = "not_excluded_copied" if copied else "not_excluded"
    detail = say.text(key, labels=names, example=example, **copied)
    verdict: Verdict = "fail" if covered == 0 else "partial"
    return say.result(
        verdict, sorted(missing), broad_lines, detail, None if covered == 0 else covered / len(items)
    )


def no_maintainer(inp: StaticInput, say: Say) -> CheckResult:
    findings = [
        say.finding(i.start_line, "maintainer") for i in inp.parsed.instructions if i.keyword == "MAINTAINER"
    ]
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("no_maintainer"))
