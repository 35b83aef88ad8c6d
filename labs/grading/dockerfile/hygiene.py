"""Size and safety lessons from hadolint and Trivy: pinned package versions (where an exercise
asks for them), `useradd -l` with a high UID, copying a whole filesystem from another stage,
pipefail before a piped RUN, the yarn cache, SSH's port, WORKDIR in a system directory and
ONBUILD triggers left in the final image.

Each check is named after its criterion (`texts/hygiene.yaml`) and takes every word it reports
from that entry's `says:` templates. Every pass over the student's text is linear: the RUN
scripts are read once by `labs/grading/facts.py` and only looked up here."""

from __future__ import annotations

import functools
import itertools
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from labs.grading.catalogue import CheckResult, Finding, Say, clip, quote_words
from labs.grading.facts import BROAD_SOURCES, Facts, Run, StaticInput, slim_kind
from labs.grading.shell import (
    APT,
    NPM_ARG_OPTS,
    NPM_INSTALL,
    SHELLS,
    Cmd,
    basename,
    dash_c_script,
    is_pip,
    subcommand,
)
from sandbox.dockerfile import DockerfileLimitError, ExpansionBudget, Instruction, Stage, expand

# --------------------------------------------------------------------------- helpers


def _shown(items: Sequence[str], limit: int = 3) -> str:
    """`a`, `b`, `c` and 2 more: student words quoted, clipped and counted."""
    shown = ", ".join(f"`{clip(i, 40)}`" for i in items[:limit])
    return shown + (f" (+{len(items) - limit})" if len(items) > limit else "")


def _expanded(facts: Facts, ins: Instruction, word: str, budget: ExpansionBudget) -> str:
    """`word` as BuildKit expands it for `ins`, drawing on `budget` (one per check, so a check
    never expands more than Facts may). Facts has already refused what is over the bounds; if
    this reading goes over them anyway (the values in force at `ins` can differ from the ones
    Facts used), the word is judged as written rather than refused here."""
    if "$" not in word:
        return word
    try:
        return expand(word, facts.env_at(ins), facts.parsed.escape, line=ins.start_line, budget=budget)[0]
    except DockerfileLimitError:
        return word


def _operands(cmd: Cmd, start: int, arg_opts: frozenset[str]) -> list[str]:
    """The words from `start` on that are not options or option values."""
    out: list[str] = []
    words = cmd.words
    i = start
    while i < len(words):
        word = words[i]
        if word == "--":
            out.extend(words[i + 1 :])
            break
        if word.startswith("-") and len(word) > 1:
            i += 2 if word in arg_opts else 1
            continue
        out.append(word)
        i += 1
    return out


MANAGERS = ("apt", "apk", "pip", "npm", "gem")

_APT_ARG_OPTS = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release"})
_APK_ARG_OPTS = frozenset(
    {"-X", "--repository", "-p", "--root", "-t", "--virtual", "--arch", "--cache-dir", "--keys-dir"}
)
_PIP_ARG_OPTS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--cache-dir",
        "--trusted-host",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--progress-bar",
        "--upgrade-strategy",
        "--no-binary",
        "--only-binary",
        "-C",
        "--config-settings",
        "--global-option",
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--exists-action",
        "--cert",
        "--client-cert",
        "--python",
        "-e",
        "--editable",
    }
)
_GEM_ARG_OPTS = frozenset(
    {"-i", "--install-dir", "-n", "--bindir", "--source", "--platform", "-P", "--trust-policy"}
)
_NPM_FLOATING = frozenset({"", "latest", "next", "*", "x"})


def validate_pinned_packages(options: Mapping[str, Any]) -> str | None:
    managers = options.get("managers")
    if not isinstance(managers, list) or not managers or not all(isinstance(m, str) for m in managers):
        return f"managers must be a non-empty list of: {', '.join(MANAGERS)}"
    unknown = [m for m in managers if m not in MANAGERS]
    if unknown:
        return f"managers: unknown package manager {unknown[0]!r} (known: {', '.join(MANAGERS)})"
    return None


def _pip_install_at(cmd: Cmd) -> int | None:
    """The index of `install` in a pip command, None when it is not `pip install`."""
    ok, i = is_pip(cmd)
    if not ok:
        return None
    words = cmd.words
    while i < len(words):
        if words[i].startswith("-"):
            i += 2 if words[i] in ("--cache-dir", "--log", "--proxy", "--python") else 1
            continue
        return i if words[i] == "install" else None
    return None


def _pip_pinned_by_file(cmd: Cmd, at: int) -> bool:
    """A requirements or constraints file decides the versions."""
    return any(
        w in ("-r", "--requirement", "-c", "--constraint")
        or w.startswith(("--requirement=", "--constraint="))
        for w in cmd.words[at + 1 :]
    )


def _pip_local(word: str) -> bool:
    """A variable we cannot see, a path, a URL or a local archive: not a package by name."""
    return "$" in word or "/" in word or word.startswith(".") or word.endswith((".whl", ".tar.gz", ".zip"))


def _npm_local(word: str) -> bool:
    return word.startswith(("./", "../", "/", "~", "file:")) or word.endswith((".tgz", ".tar.gz"))


def _npm_pinned(word: str) -> bool:
    if "://" in word or word.startswith(("git+", "git@", "github:", "gitlab:", "bitbucket:")):
        return "#" in word
    name = word[1:] if word.startswith("@") else word
    if "/" in name and not word.startswith("@"):
        return "#" in word  # user/repo on GitHub
    return name.partition("@")[2].lower() not in _NPM_FLOATING


def _named_packages(cmd: Cmd, managers: frozenset[str]) -> tuple[str, list[str], int] | None:
    """(manager, the packages named without a version, the index of the install subcommand)
    for an install that names packages on the command line; None for anything else (a lock or
    requirements file pins those)."""
    named: list[str] = []
    unpinned: list[str] = []
    manager, at = "", 0
    if cmd.name in APT and "apt" in managers:
        sub, at = subcommand(cmd, _APT_ARG_OPTS)
        if sub == "install":
            manager = "apt"
            named = [w for w in _operands(cmd, at + 1, _APT_ARG_OPTS) if "$" not in w]
            unpinned = [w for w in named if "=" not in w and not w.endswith(".deb")]
    elif cmd.name == "apk" and "apk" in managers:
        sub, at = subcommand(cmd, _APK_ARG_OPTS)
        if sub == "add":
            manager = "apk"
            named = [w for w in _operands(cmd, at + 1, _APK_ARG_OPTS) if "$" not in w]
            unpinned = [w for w in named if "=" not in w and not w.endswith(".apk")]
    elif cmd.name == "npm" and "npm" in managers:
        sub, at = subcommand(cmd, NPM_ARG_OPTS)
        if sub in NPM_INSTALL:
            manager = "npm"
            named = [w for w in _operands(cmd, at + 1, NPM_ARG_OPTS) if "$" not in w]
            unpinned = [w for w in named if not _npm_local(w) and not _npm_pinned(w)]
    elif cmd.name == "gem" and "gem" in managers:
        sub, at = subcommand(cmd, _GEM_ARG_OPTS)
        if sub in ("install", "i"):
            manager = "gem"
            named = [w for w in _operands(cmd, at + 1, _GEM_ARG_OPTS) if "$" not in w]
            versioned = cmd.has_flag("-v", "--version")
            unpinned = [] if versioned else [w for w in named if ":" not in w and not w.endswith(".gem")]
    elif "pip" in managers:
        found = _pip_install_at(cmd)
        if found is not None and not _pip_pinned_by_file(cmd, found):
            manager, at = "pip", found
            named = [w for w in _operands(cmd, at + 1, _PIP_ARG_OPTS) if not _pip_local(w)]
            unpinned = [w for w in named if "==" not in w]
    if not named:
        return None
    return manager, unpinned, at


_PIN_HINT = {
    "apt": "{}=<version>",
    "apk": "{}=<version>",
    "pip": "{}==<version>",
    "npm": "{}@<version>",
    "gem": "{}:<version>",
}


def _bare_name(manager: str, word: str) -> str:
    """The package's name without the version or tag written after it."""
    if manager == "npm":
        scoped = word.startswith("@")
        return ("@" if scoped else "") + word[scoped:].partition("@")[0]
    if manager == "pip":
        return re.split(r"[<>=!~;@ ]", word, maxsplit=1)[0]
    return word


def pinned_packages(inp: StaticInput, say: Say) -> CheckResult:
    """Installs that name packages on the command line, for the managers the rubric asks about
    (`managers`, by default the language ones: pip, npm, gem). `pip install -r`, `-c`, `npm
    ci` and an `npm install` that names nothing take their versions from a file and are not
    counted. Distribution packages (apt, apk) are opt-in: their archives drop old versions, so a
    pin breaks the build at the next security update unless the exercise uses a snapshot."""
    managers = frozenset(inp.options.get("managers") or ())
    asked = ", ".join(m for m in MANAGERS if m in managers)
    findings: list[Finding] = []
    met = total = 0
    lines: list[int] = []
    for run in inp.facts.runs:
        for c in run.cmds:
            found = _named_packages(c, managers)
            if found is None:
                continue
            manager, unpinned, at = found
            total += 1
            lines.append(c.line)
            if not unpinned:
                met += 1
                continue
            findings.append(
                say.finding(
                    c.line, "unpinned", command=quote_words(c.words[: at + 1]), packages=_shown(unpinned),
                    example=f"`{_PIN_HINT[manager].format(clip(_bare_name(manager, unpinned[0]), 40))}`",
                )
            )  # fmt: skip
    if total == 0:
        return say.result("pass", "not used", (), say.text("none", managers=asked))
    value = f"{met}/{total} installs pinned"
    if met == total:
        return say.result("pass", value, lines, say.text("ok", count=total, managers=asked))
    fraction = met / total
    return say.findings("fail" if met == 0 else "partial", value, findings, None if met == 0 else fraction)


_BIG_UID_DIGITS = 6
"""hadolint DL3046: a `-u`/`--uid` value longer than five characters is a high UID."""
_VAR_RE = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def _useradd_uid(cmd: Cmd) -> str | None:
    words = cmd.words
    for i, word in enumerate(words[1:], start=1):
        if word == "--":
            break
        if word in ("-u", "--uid"):
            return words[i + 1] if i + 1 < len(words) else None
        if word.startswith("--uid="):
            return word[len("--uid=") :]
        if word.startswith("-u") and len(word) > 2 and not word.startswith("--"):
            return word[2:]
    return None


def _no_log_init(cmd: Cmd) -> bool:
    for word in cmd.words[1:]:
        if word == "--":
            break
        if word in ("-l", "--no-log-init"):
            return True
        if re.fullmatch(r"-[a-zA-Z]+", word) and "l" in word and "u" not in word[: word.find("l")]:
            return True  # a bundle such as -lm (getopt reads -ul as -u with the value l)
    return False


def useradd_no_log_init(inp: StaticInput, say: Say) -> CheckResult:
    facts = inp.facts
    findings: list[Finding] = []
    lines: list[int] = []
    for run in facts.runs:
        for c in run.cmds:
            if c.name != "useradd":
                continue
            lines.append(c.line)
            uid = _useradd_uid(c)
            if uid is None or _no_log_init(c):
                continue
            var = _VAR_RE.match(uid)
            if var is not None:
                uid = facts.env_at(run.ins).get(var.group(1) or var.group(2) or "", uid)
            if uid.isdigit() and len(uid) >= _BIG_UID_DIGITS:
                findings.append(
                    say.finding(c.line, "big_uid", command=quote_words(c.words), uid=clip(uid, 20))
                )
    if not lines:
        return say.result("pass", "not used", (), say.text("none"))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, lines, say.text("ok", count=len(lines)))


def _whole_filesystem(source: str) -> bool:
    """Whether a `COPY --from` source is the source's whole filesystem: `/`, `/.`, `.`, `/*`
    (sources of `--from` are read from the root of the stage or image, not its WORKDIR)."""
    source = source.strip()
    if not source or source in BROAD_SOURCES:
        return bool(source)
    return posixpath.normpath("/" + source.lstrip("/")) in ("/", "/*", "/**")


class _Stages:
    """For every stage, in order (a stage can only copy from an earlier one), the COPYs of a
    whole filesystem that is an operating system, and whether the stage's own filesystem is
    one: it is unless its chain starts FROM scratch and nothing in that chain copied a whole
    operating system in. Each stage is read once."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.budget = ExpansionBudget()
        self.copies: dict[int, list[tuple[Instruction, str, bool]]] = {}
        self.carries_os: dict[int, bool] = {}
        for stage in facts.parsed.stages:
            self.copies[stage.index] = self._whole_copies(stage)
            parent = facts.parent(stage)
            inherited = (
                self.carries_os[parent.index]
                if parent is not None
                else stage.base_resolved.lower() != "scratch"
            )
            self.carries_os[stage.index] = inherited or bool(self.copies[stage.index])

    def _whole_copies(self, stage: Stage) -> list[tuple[Instruction, str, bool]]:
        """(instruction, the --from reference, whether it names a stage) for each such COPY."""
        facts = self.facts
        out = []
        for ins in facts.by_stage[stage.index]:
            if ins.keyword != "COPY" or ins.heredocs:
                continue
            refs = ins.flag_values("from")
            if not refs:
                continue
            ref = _expanded(facts, ins, refs[-1], self.budget)
            if not any(_whole_filesystem(_expanded(facts, ins, s, self.budget)) for s in ins.args[:-1]):
                continue
            source = facts.parsed.stage_named(ref)
            if source is not None:
                if source.index < stage.index and self.carries_os[source.index]:
                    out.append((ins, source.name or str(source.index), True))
            elif ref.lower() != "scratch":
                out.append((ins, ref, False))
        return out


def no_whole_stage_copy(inp: StaticInput, say: Say) -> CheckResult:
    """Judges the COPYs that shape the final image (its stage and the stages it is FROM)."""
    facts = inp.facts
    stages = _Stages(facts)
    copies = [
        ins
        for st in facts.final_chain
        for ins in facts.by_stage[st.index]
        if ins.keyword == "COPY" and ins.flag_values("from")
    ]
    if not copies:
        return say.result("pass", "not used", (), say.text("none"))
    findings = []
    for st in facts.final_chain:
        for ins, ref, is_stage in stages.copies[st.index]:
            key = "whole_stage" if is_stage else "whole_image"
            written = clip(ins.original.splitlines()[0].strip(), 80)
            findings.append(
                say.finding(ins.start_line, key, copy=f"`{written}`", source=f"`{clip(ref, 60)}`")
            )
    if findings:
        findings.sort(key=lambda f: f.line)
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, [i.start_line for i in copies], say.text("ok", count=len(copies)))


_NON_POSIX = ("pwsh", "powershell", "cmd")


def _sets_pipefail(words: Sequence[str]) -> bool:
    """`-o pipefail` among a shell's or `set`'s options (also in a bundle: `-euo pipefail`)."""
    for i in range(1, len(words)):
        if words[i] == "pipefail":
            flag = words[i - 1]
            if flag == "-o" or (flag.startswith("-") and not flag.startswith("--") and flag.endswith("o")):
                return True
    return False


def _first_pipe(run: Run) -> Cmd | None:
    """The first command whose output is piped into the next one (commands of one pipeline
    share its number; a `|` inside quotes was never split, so it is no pipe)."""
    cmds = run.cmds
    for prev, cur in itertools.pairwise(cmds):
        if cur.pipeline == prev.pipeline:
            return prev
    return None


def _shell_of(ins: Instruction) -> tuple[str, bool]:
    """(program, sets pipefail) of a SHELL instruction."""
    args = list(ins.args)
    return (basename(args[0]) if args else "", _sets_pipefail(args))


def pipefail(inp: StaticInput, say: Say) -> CheckResult:
    """A RUN with a pipe needs pipefail set before the pipe: `set -o pipefail` in the RUN, a
    shell started with `-o pipefail`, or a SHELL instruction with it (SHELL is inherited by a
    stage FROM another). RUNs under a non-POSIX SHELL (PowerShell, cmd) do not apply, nor an
    exec-form RUN that starts no shell."""
    facts = inp.facts
    runs = {id(r.ins): r for r in facts.runs}
    shell_at_end: dict[int, tuple[str, bool, int] | None] = {}
    findings: list[Finding] = []
    protected: list[int] = []
    for stage in inp.parsed.stages:
        parent = facts.parent(stage)
        shell = shell_at_end.get(parent.index) if parent is not None else None
        shell_at_end[stage.index] = shell
        for ins in facts.by_stage[stage.index]:
            if ins.keyword == "SHELL":
                program, sets = _shell_of(ins)
                shell = (program, sets, ins.start_line)
                shell_at_end[stage.index] = shell
                continue
            if ins.keyword != "RUN":
                continue
            run = runs[id(ins)]
            pipe = _first_pipe(run)
            if pipe is None:
                continue
            if ins.json:
                argv = list(ins.args)
                if not argv or basename(argv[0]) not in SHELLS or dash_c_script(argv) is None:
                    continue
                by_shell = _sets_pipefail(argv)
            elif shell is not None and shell[0].startswith(_NON_POSIX):
                continue
            else:
                by_shell = shell is not None and shell[1]
            in_run = any(
                (c.name == "set" or c.name in SHELLS) and _sets_pipefail(c.words)
                for c in run.cmds[: pipe.order]
            )
            if by_shell or in_run:
                protected.append(ins.start_line)
                continue
            findings.append(
                say.finding(
                    pipe.line, "unset", command=quote_words(pipe.words, 2), fix=_pipefail_fix(facts, stage)
                )
            )
    if not findings and not protected:
        return say.result("pass", "no pipes", (), say.text("none"))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, protected, say.text("ok", count=len(protected)))


def _pipefail_fix(facts: Facts, stage: Stage) -> str:
    kind = slim_kind(facts.chain(stage)[-1].base_resolved)
    if kind in ("alpine", "busybox"):
        return '`SHELL ["/bin/ash", "-o", "pipefail", "-c"]`'
    return '`SHELL ["/bin/bash", "-o", "pipefail", "-c"]`'


def _yarn_installs(cmd: Cmd) -> bool:
    if cmd.name != "yarn":
        return False
    sub = subcommand(cmd, frozenset({"--cwd", "--cache-folder", "--modules-folder", "--registry"}))[0]
    return sub in ("", "install", "add") or (sub == "global" and "add" in cmd.words)


def _yarn_cleans(cmd: Cmd) -> bool:
    return cmd.name == "yarn" and "cache" in cmd.words and "clean" in cmd.words


def _yarn_cache_path(path: str, folder: str | None) -> bool:
    return "yarn" in path.lower() or (
        folder is not None and posixpath.normpath(path) == posixpath.normpath(folder)
    )


def _yarn_cache_removed(target: str, folder: str | None) -> bool:
    return _yarn_cache_path(target, folder) and "cache" in target


def yarn_cache(inp: StaticInput, say: Say) -> CheckResult:
    """Each `yarn install` (`yarn`, `yarn add`, `yarn global add`) must be followed in its RUN by
    `yarn cache clean` or a removal of yarn's cache, or run with a cache mount on it."""
    findings: list[Finding] = []
    lines: list[int] = []
    for run in inp.facts.runs:
        installs = [c for c in run.cmds if _yarn_installs(c)]
        if not installs:
            continue
        folder = inp.facts.env_at(run.ins).get("YARN_CACHE_FOLDER")
        mounted = run.cache_mount_covers(functools.partial(_yarn_cache_path, folder=folder))
        cleaned_at = max(
            run.last_order(_yarn_cleans),
            run.last_removal(functools.partial(_yarn_cache_removed, folder=folder)),
        )
        for c in installs:
            lines.append(c.line)
            if mounted or cleaned_at > c.order or c.has_flag("--cache-folder"):
                continue
            findings.append(say.finding(c.line, "kept", command=quote_words(c.words)))
    if not lines:
        return say.result("pass", "not used", (), say.text("none"))
    total, met = len(lines), len(lines) - len(findings)
    value = f"{met}/{total} yarn installs without cache"
    if not findings:
        return say.result("pass", value, lines, say.text("ok", count=total))
    return say.findings("fail" if met == 0 else "partial", value, findings, None if met == 0 else met / total)


def _port_range(token: str) -> tuple[int, int] | None:
    port = token.partition("/")[0]
    low, dash, high = port.partition("-")
    if not low.isdigit() or (dash and not high.isdigit()) or len(low) > 6 or len(high) > 6:
        return None
    return int(low), int(high) if dash else int(low)


def no_ssh_port(inp: StaticInput, say: Say) -> CheckResult:
    """EXPOSE in the final image's stages (and the stages it is FROM): the image's config."""
    facts = inp.facts
    exposes = [i for i in facts.chain_instructions(facts.final) if i.keyword == "EXPOSE"]
    if not exposes:
        return say.result("pass", "no EXPOSE", (), say.text("none"))
    findings = []
    budget = ExpansionBudget()
    for ins in exposes:
        for arg in ins.args:
            for token in _expanded(facts, ins, arg, budget).split():
                span = _port_range(token)
                if span is not None and span[0] <= 22 <= span[1]:
                    findings.append(say.finding(ins.start_line, "ssh", port=f"`{clip(token, 20)}`"))
                    break
    if findings:
        return say.findings("fail", len(findings), findings)
    ports = " ".join(a for i in exposes for a in i.args)
    return say.result(
        "pass", 0, [i.start_line for i in exposes], say.text("ok", ports=f"`{clip(ports, 60)}`")
    )


SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/usr/local/lib",
        "/etc",
        "/var",
        "/var/lib",
        "/root",
    }
)
"""WORKDIRs that are the operating system's own directories (the directory itself: `/usr/src/app`
and `/usr/local/app` are fine): `COPY . .` there mixes the project with the system's files and
can overwrite them. `/root` is root's home, mode 700: the non-root user the image should run as
cannot read what is copied there."""
KERNEL_DIRS = ("/proc", "/sys", "/dev", "/boot", "/lost+found", "/initrd")
"""Directories where nothing of the image belongs, they and everything under them: the engine
mounts /proc, /sys and /dev over them when a container (or a RUN) starts, so files put there
vanish (Trivy DS030 lists /proc, /boot, /dev, /initrd and /lost+found)."""


def _system_dir(path: str) -> str | None:
    """ "home" (root's), "system" or "kernel" when `path` (absolute, normalised) is one of them."""
    if path == "/root":
        return "home"
    if path in SYSTEM_DIRS:
        return "system"
    if any(path == k or path.startswith(k + "/") for k in KERNEL_DIRS):
        return "kernel"
    return None


def no_system_workdir(inp: StaticInput, say: Say) -> CheckResult:
    """Every WORKDIR of the final image's stages (the stage and those it is FROM), a relative one
    resolved against the WORKDIR before it (not judged when there is none: the base image's is
    unknown). Build stages that do not ship are not judged."""
    facts = inp.facts
    findings: list[Finding] = []
    lines: list[int] = []
    current: str | None = None
    budget = ExpansionBudget()
    for ins in facts.chain_instructions(facts.final):
        if ins.keyword != "WORKDIR" or not ins.args:
            continue
        raw = _expanded(facts, ins, ins.args[0], budget).strip().strip("\"'")
        if raw.startswith("/"):
            current = posixpath.normpath(raw)
        elif current is not None and raw and not re.match(r"^[A-Za-z]:[\\/]", raw):
            current = posixpath.normpath(posixpath.join(current, raw))
        else:
            current = None
            continue
        if current.startswith("//"):  # normpath keeps two leading slashes; the engine does not
            current = "/" + current.lstrip("/")
        lines.append(ins.start_line)
        kind = _system_dir(current)
        if kind is not None:
            findings.append(say.finding(ins.start_line, kind, path=f"`{clip(current, 60)}`"))
    if not lines:
        return say.result("pass", "no WORKDIR", (), say.text("none"))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, lines, say.text("ok", path=f"`{clip(current or '', 60)}`"))


def no_onbuild_in_final(inp: StaticInput, say: Say) -> CheckResult:
    """ONBUILD written in the final stage: its triggers stay in the image. (Triggers of a stage
    the final one is FROM have already run in the final stage's build and are not kept.) The
    build notice `onbuild_in_final` says the same while the image builds; this is the graded
    lesson."""
    final = inp.facts.final.index
    findings = [
        say.finding(
            ins.start_line,
            "trigger",
            trigger=f"`ONBUILD {ins.inner.keyword if ins.inner is not None else clip(' '.join(ins.args[:1]), 20)}`",
        )
        for ins in inp.facts.by_stage[final]
        if ins.keyword == "ONBUILD"
    ]
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("none"))
