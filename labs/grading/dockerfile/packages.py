"""Package managers and dependency installs: apt, pip, npm, apk and yum/dnf/zypper hygiene,
dependency installs ordered for the build cache, and RUNs worth merging.

Each check is named after its criterion (`texts/packages.yaml`)."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from labs.grading.catalogue import (
    CheckResult,
    Finding,
    Say,
    Verdict,
    clip,
    quote_words,
)
from labs.grading.facts import BROAD_SOURCES, Run, StaticInput
from labs.grading.shell import APT, NPM_ARG_OPTS, NPM_CI, NPM_INSTALL, Cmd, is_pip, subcommand
from sandbox.dockerfile import (
    Instruction,
)

_APT_ARG_OPTS = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release"})
_APT_INSTALLS = frozenset({"install", "reinstall", "build-dep", "upgrade", "dist-upgrade", "full-upgrade"})
_RECOMMENDS_OFF = re.compile(r"APT::Install-Recommends\s*+\"?+\s*+[:=]?+\s*+\"?+(0|false)", re.IGNORECASE)
"""Possessive, so a run of blanks is not split every way between the `\\s*` (cubic time); the
blanks, the quote and `:=` are disjoint, so it matches what the plain pattern did."""


def _removes(run: Run, after: Cmd, predicate: Callable[[str], bool]) -> bool:
    return run.last_removal(predicate) > after.order


def _apt_lists_path(path: str) -> bool:
    return path.rstrip("/*") in ("/var/lib/apt/lists", "/var/lib/apt") or path.startswith(
        "/var/lib/apt/lists/"
    )


def _no_recommends(cmd: Cmd) -> bool:
    words = cmd.words
    if cmd.has_flag("--no-install-recommends"):
        return True
    return any(_RECOMMENDS_OFF.search(w) for w in words)


def apt_hygiene(inp: StaticInput, say: Say) -> CheckResult:
    """Rules per RUN that installs: update in the same RUN, --no-install-recommends on each
    install, lists removed after the install (or a cache/tmpfs mount on /var/lib/apt). A mount
    on /var/cache/apt alone does not count for the lists: they live in /var/lib/apt/lists."""
    findings: list[Finding] = []
    met = total = 0
    recommends_off = False
    for run in inp.facts.runs:
        if _RECOMMENDS_OFF.search(run.text):
            recommends_off = True
        apt = [(c, subcommand(c, _APT_ARG_OPTS)[0]) for c in run.cmds if c.name in APT]
        installs = [c for c, sub in apt if sub in _APT_INSTALLS]
        updates = [c for c, sub in apt if sub == "update"]
        if not installs:
            for c in updates:
                total += 1
                findings.append(say.finding(c.line, "update_alone", cmd=quote_words(c.words[:2])))
            continue
        first = installs[0]
        total += 1
        if updates:
            met += 1
        else:
            findings.append(say.finding(first.line, "no_update", cmd=quote_words(first.words[:2])))
        for c in installs:
            if subcommand(c, _APT_ARG_OPTS)[0] not in ("install", "reinstall", "build-dep"):
                continue
            total += 1
            if recommends_off or _no_recommends(c):
                met += 1
            else:
                findings.append(say.finding(c.line, "recommends", cmd=quote_words(c.words[:2])))
        total += 1
        last = installs[-1]
        cleaned = _removes(run, last, _apt_lists_path) or any(
            c.name in APT and subcommand(c, _APT_ARG_OPTS)[0] in ("distclean", "dist-clean")
            for c in run.later(last)
        )
        if cleaned or run.cache_mount_covers(lambda t: t in ("/var/lib/apt", "/var/lib/apt/lists")):
            met += 1
        else:
            findings.append(say.finding(last.line, "lists_left"))
    if total == 0:
        return say.not_used("apt-get", "apt-get")
    return say.share(met, total, findings, say.text("ok", met=met, total=total))


def _pip_sub(cmd: Cmd) -> str:
    ok, start = is_pip(cmd)
    if not ok:
        return ""
    words = cmd.words
    i = start
    while i < len(words):
        if words[i].startswith("-"):
            i += 2 if words[i] in ("--cache-dir", "--log", "--proxy", "--python") else 1
            continue
        return words[i].lower()
    return ""


def _pip_cache_target(target: str, cache_dir: str | None) -> bool:
    return (
        target.endswith("/.cache/pip")
        or target.endswith("/.cache")
        or target == "/root/.cache"
        or (cache_dir is not None and target == posixpath.normpath(cache_dir))
    )


def pip_cache(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        pips = [c for c in run.cmds if _pip_sub(c) == "install"]
        if not pips:
            continue
        env = inp.facts.env_at(run.ins)
        cache_dir = env.get("PIP_CACHE_DIR")
        mounted = any(_pip_cache_target(t, cache_dir) for t in run.cache_targets)
        purge_at = max(
            run.last_order(lambda o: _pip_sub(o) == "cache" and "purge" in o.words),
            run.last_removal(lambda t: ".cache/pip" in t or t.rstrip("/") in ("/root/.cache", "~/.cache")),
        )
        for c in pips:
            total += 1
            inline = dict(c.assigns)
            no_cache = (env.get("PIP_NO_CACHE_DIR") or inline.get("PIP_NO_CACHE_DIR") or "") != ""
            purged = purge_at > c.order
            if c.has_flag("--no-cache-dir") or no_cache or mounted or purged:
                met += 1
            else:
                findings.append(say.finding(c.line, "cache_left", cmd=quote_words(c.words)))
    if total == 0:
        return say.not_used("pip install", "pip install")
    return say.share(met, total, findings, say.text("ok", total=total), "pip installs without cache")


def _npm_packages(cmd: Cmd, start: int) -> list[str]:
    out = []
    words = cmd.words
    i = start
    while i < len(words):
        if words[i].startswith("-"):
            i += 2 if words[i] in NPM_ARG_OPTS else 1
            continue
        out.append(words[i])
        i += 1
    return out


def npm_hygiene(inp: StaticInput, say: Say) -> CheckResult:
    """Rules: each dependency install (`npm install` with no package names, not global) is
    `npm ci`; each RUN that installs cleans the cache after it or mounts a cache on `.npm`."""
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        installs: list[Cmd] = []
        for c in run.cmds:
            if c.name != "npm":
                continue
            sub, at = subcommand(c, NPM_ARG_OPTS)
            if sub in NPM_CI:
                installs.append(c)
            elif sub in NPM_INSTALL:
                installs.append(c)
                if c.has_flag("-g", "--global") or "--location=global" in c.words:
                    continue
                if _npm_packages(c, at + 1):
                    continue
                total += 1
                findings.append(say.finding(c.line, "use_ci", cmd=quote_words(c.words)))
        if not installs:
            continue
        met += sum(1 for c in installs if subcommand(c, NPM_ARG_OPTS)[0] in NPM_CI)
        total += sum(1 for c in installs if subcommand(c, NPM_ARG_OPTS)[0] in NPM_CI)
        last = installs[-1]
        total += 1
        cleaned = any(
            c.name == "npm"
            and subcommand(c, NPM_ARG_OPTS)[0] == "cache"
            and any(w in ("clean", "clear", "rm") for w in c.words)
            for c in run.later(last)
        ) or _removes(run, last, lambda t: ".npm" in t)
        env = inp.facts.env_at(run.ins)
        npm_cache = env.get("npm_config_cache") or env.get("NPM_CONFIG_CACHE")
        mounted = any(t.endswith("/.npm") or ".npm/" in t or t == npm_cache for t in run.cache_targets)
        if cleaned or mounted:
            met += 1
        else:
            findings.append(say.finding(last.line, "cache_left", cmd=quote_words(last.words)))
    if total == 0:
        return say.not_used("npm install", "npm install")
    return say.share(met, total, findings, say.text("ok"))


def apk_cache(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        mounted = run.cache_mount_covers(lambda t: t in ("/var/cache/apk", "/etc/apk/cache"))
        cleaned_at = max(
            run.last_removal(lambda t: t.startswith("/var/cache/apk")),
            run.last_order(lambda o: o.name == "apk" and "cache" in o.words and "clean" in o.words),
        )
        for c in run.cmds:
            if (
                c.name != "apk"
                or subcommand(c, frozenset({"-X", "--repository", "-p", "--root"}))[0] != "add"
            ):
                continue
            total += 1
            cleaned = cleaned_at > c.order
            if c.has_flag("--no-cache") or mounted or cleaned:
                met += 1
            else:
                findings.append(say.finding(c.line, "cache_left", cmd=quote_words(c.words)))
    if total == 0:
        return say.not_used("apk add", "apk add")
    return say.share(met, total, findings, say.text("ok", total=total), "apk adds without cache")


_YUM_FAMILY = frozenset({"yum", "dnf", "microdnf", "tdnf", "dnf5"})
_YUM_INSTALLS = frozenset({"install", "groupinstall", "localinstall", "reinstall", "update", "upgrade"})
_ZYPPER_INSTALLS = frozenset({"install", "in", "update", "up", "dist-upgrade", "dup", "patch"})
_YUM_ARG_OPTS = frozenset({"-c", "--config", "-x", "--exclude", "--setopt", "--installroot", "--releasever"})
_YUM_CACHE = re.compile(r"/var/cache/(yum|dnf|libdnf5|zypp)")


def _yum_cleans(zypper: bool, cmd: Cmd) -> bool:
    """`zypper clean` (with `zypper`), or `yum`/`dnf`/... `clean all`."""
    family = frozenset({"zypper"}) if zypper else _YUM_FAMILY
    return (
        cmd.name in family
        and subcommand(cmd, _YUM_ARG_OPTS)[0] in ("clean", "cc")
        and (zypper or "all" in cmd.words)
    )


def yum_clean(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        cleaned_at: dict[bool, int] = {}  # zypper or not -> last clean (rm of the cache included)
        for c in run.cmds:
            sub = subcommand(c, _YUM_ARG_OPTS)[0]
            zypper = c.name == "zypper"
            if not ((c.name in _YUM_FAMILY and sub in _YUM_INSTALLS) or (zypper and sub in _ZYPPER_INSTALLS)):
                continue
            total += 1
            if zypper not in cleaned_at:
                cleaned_at[zypper] = max(
                    run.last_order(functools.partial(_yum_cleans, zypper)),
                    run.last_removal(lambda t: _YUM_CACHE.match(t) is not None),
                )
            cleaned = cleaned_at[zypper] > c.order
            mounted = run.cache_mount_covers(lambda t: _YUM_CACHE.match(t) is not None)
            if cleaned or mounted:
                met += 1
            else:
                clean = "zypper clean --all" if zypper else f"{c.name} clean all"
                findings.append(
                    say.finding(c.line, "not_cleaned", cmd=quote_words(c.words), clean=f"`{clean}`")
                )
    if total == 0:
        return say.not_used("yum/dnf/zypper", "yum/dnf/zypper")
    return say.share(met, total, findings, say.text("ok", total=total), "installs cleaned")


_MANIFESTS = (
    "requirements*.txt",
    "requirements",
    "constraints*.txt",
    "pyproject.toml",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".yarn",
    "go.mod",
    "go.sum",
    "go.work",
    "go.work.sum",
    "Gemfile",
    "Gemfile.lock",
    "*.gemspec",
    "composer.json",
    "composer.lock",
    "pom.xml",
    "mvnw",
    ".mvn",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "gradle.properties",
    "gradlew",
    "gradle",
    "Cargo.toml",
    "Cargo.lock",
)


def _is_manifest(source: str) -> bool:
    base = posixpath.basename(source.rstrip("/")) or source
    # A longer name is no file's (NAME_MAX), and each one would be compiled and kept as a glob
    # in fnmatch's cache for the life of the worker.
    return len(base) <= 255 and _is_manifest_name(base)


@functools.lru_cache(maxsize=4096)
def _is_manifest_name(base: str) -> bool:
    return any(fnmatchcase(base, m) or fnmatchcase(m, base) for m in _MANIFESTS) and base not in ("*", "**")


def _is_dir(source: str, context: frozenset[str]) -> bool:
    cleaned = source.strip("/").removeprefix("./")
    if source.endswith("/"):
        return True
    if context:
        prefix = cleaned + "/"
        return any(p.startswith(prefix) for p in context)
    return "." not in posixpath.basename(cleaned)


def _dep_install(cmd: Cmd, context: frozenset[str]) -> str | None:
    """The ecosystem whose dependencies this command fetches, if it is such an install."""
    name = cmd.name
    sub = _pip_sub(cmd)
    if sub == "install":
        if any(w in ("-r", "--requirement") or w.startswith(("-r", "--requirement=")) for w in cmd.words[1:]):
            return "python"
        return None
    words = cmd.words
    first = subcommand(cmd)[0]
    if name in ("poetry", "pdm") and first in ("install", "sync"):
        return "python"
    if name == "pipenv" and first in ("install", "sync"):
        return "python"
    if name == "uv" and (
        first == "sync" or (first == "pip" and len(words) > 2 and (words[2] == "sync" or "-r" in words))
    ):
        return "python"
    if name == "npm":
        sub, at = subcommand(cmd, NPM_ARG_OPTS)
        if sub in NPM_CI or (
            sub in NPM_INSTALL and not _npm_packages(cmd, at + 1) and not cmd.has_flag("-g", "--global")
        ):
            return "node"
    if name == "yarn" and (first in ("", "install") and "global" not in words):
        return "node"
    if name == "pnpm" and first in ("install", "i"):
        return "node"
    if name == "go" and first == "mod" and len(words) > 2 and words[2] == "download":
        return "go"
    if (
        name == "go"
        and first in ("build", "install")
        and "go.sum" in context
        and not any("@" in w for w in words)
    ):
        return "go"
    if name in ("bundle", "bundler") and first in ("install", ""):
        return "ruby"
    if name == "composer" and first in ("install", "update"):
        return "php"
    if name in ("mvn", "mvnw") and any(
        w.startswith("dependency:") or w in ("package", "install", "verify", "compile") for w in words[1:]
    ):
        return "java"
    if name in ("gradle", "gradlew") and any(
        w in ("dependencies", "build", "assemble", "bootJar", "jar", "installDist", "shadowJar")
        for w in words[1:]
    ):
        return "java"
    if name == "cargo" and first in ("fetch", "build"):
        return "rust"
    return None


def cache_order(inp: StaticInput, say: Say) -> CheckResult:
    """Judges the first dependency-fetching step of each ecosystem in each stage: every file
    copied from the context before it must be a manifest. A broad copy (`.`, a directory)
    before it fails; a single source file before it is partial."""
    facts = inp.facts
    runs = {id(r.ins): r for r in facts.runs}
    findings: list[Finding] = []
    broad_found = False
    checked = offending = 0
    for stage in inp.parsed.stages:
        copies: list[tuple[Instruction, list[str], bool]] = []
        seen: set[str] = set()
        for ins in facts.by_stage[stage.index]:
            if ins.keyword in ("COPY", "ADD") and not ins.flag_values("from") and not ins.heredocs:
                others: list[str] = []
                broad = False
                for source in ins.args[:-1]:
                    if source in BROAD_SOURCES or (
                        not _is_manifest(source) and _is_dir(source, inp.context_paths)
                    ):
                        broad = True
                        others.append(source)
                    elif not _is_manifest(source):
                        others.append(source)
                if others:
                    copies.append((ins, others, broad))
                continue
            if ins.keyword != "RUN":
                continue
            run = runs[id(ins)]
            for cmd in run.cmds:
                eco = _dep_install(cmd, inp.context_paths)
                if eco is None or eco in seen:
                    continue
                seen.add(eco)
                checked += 1
                offending += len(copies)
                for copy, others, broad in copies:
                    broad_found = broad_found or broad
                    written = f"`{clip(copy.original.splitlines()[0], 120)}`"
                    if broad:
                        findings.append(
                            say.finding(copy.start_line, "source_first", copy=written, line=cmd.line)
                        )
                    else:
                        what = f"`{clip(' '.join(others), 120)}`"
                        findings.append(
                            say.finding(copy.start_line, "file_first", copy=written, what=what, line=cmd.line)
                        )
                    findings.append(say.finding(cmd.line, "install_after", cmd=quote_words(cmd.words)))
    if checked == 0:
        return say.not_used("dependency install", "의존성 설치")
    if not findings:
        return say.result("pass", 0, (), say.text("ok", checked=checked))
    findings = sorted(set(findings), key=lambda f: f.line)
    return say.findings("fail" if broad_found else "partial", offending, findings)


def validate_merged_runs(options: Mapping[str, Any]) -> str | None:
    value = options.get("max_consecutive")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return "max_consecutive must be a whole number of at least 1"
    return None


def merged_runs(inp: StaticInput, say: Say) -> CheckResult:
    """`max_consecutive` is how many RUNs in a row are fine (default 1: any two adjacent RUNs
    could be one). The value counts the RUNs beyond it; 1 is partial, 2 or more fail. RUNs with
    any other instruction between them are never counted together."""
    allowed = int(inp.options.get("max_consecutive", 1))
    blocks: list[list[Instruction]] = []
    previous: Instruction | None = None
    for ins in inp.parsed.instructions:
        if (
            ins.keyword == "RUN"
            and previous is not None
            and previous.keyword == "RUN"
            and previous.stage == ins.stage
        ):
            blocks[-1].append(ins)
        elif ins.keyword == "RUN":
            blocks.append([ins])
        previous = ins
    findings: list[Finding] = []
    for block in blocks:
        if len(block) <= allowed:
            continue
        first = block[0].start_line
        for ins in block[allowed:]:
            findings.append(say.finding(ins.start_line, "mergeable", first=first, count=len(block)))
    excess = len(findings)
    if excess == 0:
        return say.result("pass", 0, (), say.text("ok"))
    verdict: Verdict = "partial" if excess == 1 else "fail"
    return say.findings(verdict, excess, findings)
