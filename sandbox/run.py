"""Running a student's image: one command under lock, its effective user, its health check, and
behaviour tests written for container-structure-test (schema 2.0.0).

Every container here goes through `engine`, which labels it and always removes it. The locks
(RunLimits) follow docs/sandbox.md.

The structure-test semantics are container-structure-test's docker driver, checked against its
1.19.1 binary, so an instructor's existing file gives the same verdicts: commands run with the
image's entrypoint cleared; each `setup` command runs in its own container committed as the base
of the next (with a writable root, as do the command after it); `teardown` is accepted and not
run (every test gets fresh containers); `$VAR` in command, args and paths is replaced before
anything runs (Go's os.Expand); regexes are Go's (RE2: `$` is the end of the text unless `(?m)`);
file tests read the image through the archive API without starting it; permissions print as Go's
os.FileMode. Where CST has a bug, Layerlab does the evident intent instead: envVars values are
expanded for the command too (`PATH=/x:$PATH`), args see the test's envVars, relative symlinks
are followed by fileContentTests, and `exposedPorts: ["53/udp"]` compares the protocol too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from sandbox import engine
from sandbox.limits import MiB

_NO_ENV: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class RunLimits:
    """The locks every container of a behaviour test runs under.

    /tmp is a tmpfs mounted without `noexec`: container-structure-test `setup` steps and student
    programs write scripts there and run them, and with no network and a read-only root a script
    in /tmp can do nothing the image's own binaries cannot. `nosuid,nodev` stay."""

    wall_seconds: float = 10.0
    memory_bytes: int = 256 * MiB
    memory_swap_bytes: int | None = None  # None: equal to memory_bytes, i.e. no swap at all
    cpus: float = 1.0  # 0: no CFS quota (timing runs pin a core with `cpuset` instead)
    cpuset: str | None = None
    pids: int = 64
    output_cap_bytes: int = 1 * MiB  # stdout and stderr each
    read_only_root: bool = True
    tmpfs_bytes: int = 64 * MiB
    tmpfs_noexec: bool = False
    network_mode: str = "none"
    cap_drop: tuple[str, ...] = ("ALL",)
    security_opt: tuple[str, ...] = ("no-new-privileges",)
    runtime: str | None = None  # e.g. "runsc" (gVisor) where the host has it
    file_cap_bytes: int = 8 * MiB  # how much of a file a fileContentTest reads

    def host(self, *, writable: bool = False) -> dict[str, Any]:
        """Docker host settings. `writable` gives a writable root and no /tmp tmpfs, for a
        structure test's `setup` steps (whose changes are committed, /tmp included) and the
        command after them, as container-structure-test runs them; every other lock stays."""
        # Docker mounts a tmpfs noexec unless told `exec`
        exec_flag = "noexec" if self.tmpfs_noexec else "exec"
        tmp_flags = ["rw", exec_flag, "nosuid", "nodev", f"size={self.tmpfs_bytes}", "mode=1777"]
        read_only = self.read_only_root and not writable
        return {
            "mem_limit": self.memory_bytes,
            "memswap_limit": self.memory_swap_bytes or self.memory_bytes,
            "nano_cpus": int(self.cpus * 1_000_000_000) or None,
            "cpuset_cpus": self.cpuset,
            "pids_limit": self.pids,
            "read_only": read_only,
            "tmpfs": None if writable else {"/tmp": ",".join(tmp_flags)},  # noqa: S108 (in the container)
            "network_mode": self.network_mode,
            "cap_drop": list(self.cap_drop),
            "security_opt": list(self.security_opt),
            "runtime": self.runtime,
        }


DEFAULT_LIMITS = RunLimits()


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None: killed at the wall clock, or the process never started
    stdout: str
    stderr: str
    timed_out: bool
    oom_killed: bool
    truncated: bool
    seconds: float
    start_error: str | None = None  # the runtime's message when the process could not start


@dataclass(frozen=True)
class UserResult:
    uid: int | None
    gid: int | None
    method: Literal["shell", "config"]
    detail: str


@dataclass(frozen=True)
class StructureTestResult:
    kind: Literal["command", "file_existence", "file_content", "metadata"]
    name: str
    passed: bool
    messages: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class HealthResult:
    status: Literal["healthy", "unhealthy", "none", "timeout"]
    log: tuple[str, ...]


class SpecError(ValueError):
    """The structure-test spec is malformed: the instructor's to fix, found before anything runs."""


def _truncation_marker(cap: int) -> str:
    return f"\n[... output truncated: more than {cap} bytes ...]\n"


def run_command(
    ref: str,
    argv: Sequence[str] | None,
    *,
    entrypoint: Sequence[str] | None = None,
    env: Mapping[str, str] = _NO_ENV,
    user: str | None = None,
    limits: RunLimits = DEFAULT_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> RunResult:
    """`argv=None` keeps the image's CMD and `entrypoint=None` its ENTRYPOINT; `entrypoint=[]`
    clears it so argv runs as given."""
    raw = engine.container_run_locked(
        ref,
        command=argv,
        entrypoint=entrypoint,
        env=env,
        user=user,
        labels=labels,
        host=limits.host(),
        timeout_seconds=limits.wall_seconds,
        output_cap_bytes=limits.output_cap_bytes,
    )
    return _run_result(raw, limits)


def _run_result(raw: Mapping[str, Any], limits: RunLimits) -> RunResult:
    marker = _truncation_marker(limits.output_cap_bytes)
    stdout = raw["stdout"].decode("utf-8", "replace") + (marker if raw["stdout_dropped"] else "")
    stderr = raw["stderr"].decode("utf-8", "replace") + (marker if raw["stderr_dropped"] else "")
    return RunResult(
        exit_code=None if raw["timed_out"] else raw["exit_code"],
        stdout=stdout,
        stderr=stderr,
        timed_out=bool(raw["timed_out"]),
        oom_killed=bool(raw["oom_killed"]),
        truncated=bool(raw["truncated"]),
        seconds=float(raw["seconds"]),
        start_error=raw["start_error"],
    )


def effective_user(
    ref: str,
    config_user: str,
    *,
    limits: RunLimits = DEFAULT_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> UserResult:
    """Who the image's process really runs as. Asking `id` inside the image is the truth (it sees
    /etc/passwd as the runtime does); an image without `id` (scratch, distroless) is resolved
    from its config User the way the runtime would: a number as is, a name through the image's
    /etc/passwd, nothing as root."""
    probe = run_command(ref, ["id"], entrypoint=[], limits=limits, labels=labels)
    if probe.start_error is None and probe.exit_code == 0:
        uid = re.search(r"\buid=(\d+)", probe.stdout)
        gid = re.search(r"\bgid=(\d+)", probe.stdout)
        if uid and gid:
            return UserResult(int(uid.group(1)), int(gid.group(1)), "shell", f"id: {probe.stdout.strip()}")
    why = probe.start_error or f"`id` exited {probe.exit_code}: {probe.stderr.strip()[:200]}"
    return _user_from_config(ref, config_user, limits=limits, labels=labels, why=why)


def _parse_colon_file(text: str, id_field: int) -> dict[str, tuple[int, int | None]]:
    entries: dict[str, tuple[int, int | None]] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) > id_field and parts[0] and parts[id_field].isdigit():
            gid = int(parts[3]) if id_field == 2 and len(parts) > 3 and parts[3].isdigit() else None
            entries.setdefault(parts[0], (int(parts[id_field]), gid))
    return entries


def _user_from_config(
    ref: str, config_user: str, *, limits: RunLimits, labels: Mapping[str, str] | None, why: str
) -> UserResult:
    name, _, group = config_user.strip().partition(":")
    if not name:
        return UserResult(0, 0, "config", f"no `id` in the image ({why}); config User is empty: root")
    passwd: dict[str, tuple[int, int | None]] = {}
    groups: dict[str, tuple[int, int | None]] = {}
    needs_files = not name.isdigit() or (group and not group.isdigit()) or not group
    if needs_files:
        with engine.container_created(ref, labels=labels, host=limits.host()) as container_id:
            passwd = _parse_colon_file(_read_text(container_id, "/etc/passwd", limits), 2)
            if group and not group.isdigit():
                groups = _parse_colon_file(_read_text(container_id, "/etc/group", limits), 2)
    detail = f"no `id` in the image ({why}); config User {config_user!r}"
    if name.isdigit():
        uid: int | None = int(name)
        primary = next((g for u, g in passwd.values() if u == uid), None)
    elif name in passwd:
        uid, primary = passwd[name]
    else:
        return UserResult(None, None, "config", f"{detail}: {name!r} is not in the image's /etc/passwd")
    if not group:
        # the runtime's rule: the passwd entry's group, or 0 for a uid without an entry
        return UserResult(uid, primary if primary is not None else 0, "config", detail)
    if group.isdigit():
        return UserResult(uid, int(group), "config", detail)
    if group in groups:
        return UserResult(uid, groups[group][0], "config", detail)
    return UserResult(uid, None, "config", f"{detail}: group {group!r} is not in the image's /etc/group")


def _read_text(container_id: str, path: str, limits: RunLimits) -> str:
    found = engine.container_read_file(container_id, path, limits.file_cap_bytes)
    return found[0].decode("utf-8", "replace") if found else ""


def healthcheck(
    ref: str,
    *,
    wait_seconds: float = 30,
    limits: RunLimits = DEFAULT_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> HealthResult:
    """Starts the image as it would start in production (its own entrypoint and cmd) under the
    same locks, and reports what its HEALTHCHECK says. With the network off, a check against
    localhost still works: the container keeps its loopback interface."""
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return HealthResult("none", ())
    config = attrs.get("Config") or {}
    if not config.get("Entrypoint") and not config.get("Cmd"):
        return HealthResult(
            "unhealthy", ("the image has no CMD or ENTRYPOINT, so nothing starts to be checked",)
        )
    raw = engine.container_health(ref, labels=labels, host=limits.host(), wait_seconds=wait_seconds)
    log = [f"exit {entry['exit_code']}: {entry['output'].strip()}" for entry in raw["log"]]
    if raw["status"] == "exited":
        log.append(f"the container stopped (exit code {raw['exit_code']}) before its health check passed")
        return HealthResult("unhealthy", tuple(log))
    if raw["status"] == "timeout":
        log.append(f"no verdict within {wait_seconds:g} s")
    status: Literal["healthy", "unhealthy", "none", "timeout"] = raw["status"]
    return HealthResult(status, tuple(log))


# Go compatibility: regexes (RE2), os.Expand and os.FileMode.String, as container-structure-test
# applies them.

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_PERL_IN_CLASS = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_PERL_OUTSIDE = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": "[0-9A-Za-z_]",
    "W": "[^0-9A-Za-z_]",
    "s": "[\\t\\n\\f\\r ]",
    "S": "[^\\t\\n\\f\\r ]",
    "b": "(?a:\\b)",
    "B": "(?a:\\B)",
}


class _Level:
    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline
        self.flag_groups: list[str] = []  # "(?flags:" opened here by a bare "(?flags)"


def _parse_flags(flags: str) -> tuple[str, bool | None]:
    """Validates Go flag letters; returns them for Python and the effect on multiline."""
    on, _, off = flags.partition("-")
    for letter in on + off:
        if letter == "U":
            raise ValueError("the (?U) ungreedy flag has no Python equivalent")
        if letter not in "ims":
            raise ValueError(f"unknown flag {letter!r} in (?{flags})")
    multiline = True if "m" in on else False if "m" in off else None
    return flags, multiline


def _go_class(pattern: str, i: int) -> tuple[str, int]:
    """Translates a bracket expression starting at pattern[i] == '['; returns it and the index
    after its closing ']'."""
    out = ["["]
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if c == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end > 0 else ""
            if name.startswith("^"):
                raise ValueError(f"negated POSIX class [:{name}:] is not supported here")
            if name not in _POSIX_CLASSES:
                raise ValueError(f"unknown POSIX class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
            continue
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in "pP":
                raise ValueError("Unicode classes (\\p) are not supported here")
            out.append(_PERL_IN_CLASS.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append("\\" + c if c in "[&~|" else c)
        i += 1
    raise ValueError("missing closing ]")


def _go_escape(pattern: str, i: int) -> tuple[str, int]:
    """Translates the escape at pattern[i] == '\\' outside a class."""
    if i + 1 >= len(pattern):
        raise ValueError("trailing backslash")
    c = pattern[i + 1]
    if c == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        return re.escape(literal), len(pattern) if end < 0 else end + 2
    if c == "z":
        return "\\Z", i + 2
    if c in _PERL_OUTSIDE:
        return _PERL_OUTSIDE[c], i + 2
    if c in "pP":
        raise ValueError("Unicode classes (\\p) are not supported here")
    if c in "123456789":
        raise ValueError("backreferences are not supported by RE2 (Go regexp)")
    if c == "Z":
        raise ValueError("\\Z is not RE2 syntax (use \\z)")
    if c == "C":
        raise ValueError("\\C is not supported here")
    if c == "x" and pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        if end < 0:
            raise ValueError("missing } in \\x{...}")
        return f"\\U{int(pattern[i + 3 : end], 16):08x}", end + 1
    return "\\" + c, i + 2


def go_regex(pattern: str) -> re.Pattern[str]:
    """Compiles a Go (RE2) regex as a Python one with the same meaning where it matters for
    command output: `^`/`$` anchor the whole text unless `(?m)` (Python's `$` also matches
    before a final newline, Go's does not: CST fails `^out$` on "out\\n"), `\\d \\w \\s \\b` are
    ASCII, flags like `(?i)` may appear mid-pattern, `\\Q...\\E`, `\\z` and POSIX classes work.
    What RE2 rejects (lookaround, backreferences) raises ValueError, as CST's compile would fail."""
    out: list[str] = []
    levels = [_Level(multiline=False)]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        level = levels[-1]
        if c == "\\":
            text, i = _go_escape(pattern, i)
            out.append(text)
            continue
        if c == "[":
            text, i = _go_class(pattern, i)
            out.append(text)
            continue
        if c == "$":
            out.append("$" if level.multiline else "\\Z")
        elif c == "|":
            closing = ")" * len(level.flag_groups)
            out.append(closing + "|" + "".join(level.flag_groups))
        elif c == ")":
            if len(levels) == 1:
                raise ValueError("unexpected )")
            out.append(")" * len(level.flag_groups) + ")")
            levels.pop()
        elif c == "(" and pattern.startswith("(?", i):
            close = pattern.find(")", i)
            colon = pattern.find(":", i)
            head = pattern[i + 2 : i + 4]
            if head.startswith(("=", "!", "<=", "<!", "#", ">")):
                raise ValueError("lookaround and other (?...) forms are not supported by RE2 (Go regexp)")
            if head.startswith(("P<", "<")):
                name_start = i + (4 if head.startswith("P<") else 3)
                out.append("(?P<")
                levels.append(_Level(level.multiline))
                i = name_start
                continue
            if close > 0 and (colon < 0 or close < colon):
                flags, multiline = _parse_flags(pattern[i + 2 : close])
                opener = f"(?{flags}:"
                level.flag_groups.append(opener)
                if multiline is not None:
                    level.multiline = multiline
                out.append(opener)
                i = close + 1
                continue
            if colon > 0:
                flags, multiline = _parse_flags(pattern[i + 2 : colon])
                out.append(f"(?{flags}:")
                levels.append(_Level(level.multiline if multiline is None else multiline))
                i = colon + 1
                continue
            raise ValueError("malformed (? group")
        elif c == "(":
            out.append("(")
            levels.append(_Level(level.multiline))
        else:
            out.append(c)
        i += 1
    if len(levels) > 1:
        raise ValueError("missing )")
    out.append(")" * len(levels[0].flag_groups))
    return re.compile("".join(out))


def _shell_name(s: str) -> tuple[str, int]:
    """Go's os.getShellName: the variable name after a `$` and how many characters it used."""
    special = "*#$@!?-0123456789"
    if s[0] == "{":
        if len(s) > 2 and s[1] in special and s[2] == "}":
            return s[1], 3
        end = s.find("}", 1)
        if end < 0:
            return "", 1
        return ("", 2) if end == 1 else (s[1:end], end + 1)
    if s[0] in special:
        return s[0], 1
    n = 0
    while n < len(s) and (s[n] == "_" or (s[n].isascii() and s[n].isalnum())):
        n += 1
    return s[:n], n


def go_expand(text: str, lookup: Callable[[str], str]) -> str:
    """Go's os.Expand: `$VAR` and `${VAR}` replaced (unknown ones by nothing), a `$` not followed
    by a name left alone. container-structure-test applies it to command, args and paths before
    anything runs, so `echo $HOME` gets the image's HOME, not the shell's."""
    out: list[str] = []
    i = 0
    j = 0
    while j < len(text):
        if text[j] == "$" and j + 1 < len(text):
            out.append(text[i:j])
            name, width = _shell_name(text[j + 1 :])
            if name == "" and width > 0:
                pass  # bad syntax such as "${}": eaten, as Go does
            elif name == "":
                out.append("$")
            else:
                out.append(lookup(name))
            j += width
            i = j + 1
        j += 1
    out.append(text[i:])
    return "".join(out)


_GO_MODE_TYPES = "dalTLDpSugct?"


def go_mode_string(mode: int) -> str:
    """Go's os.FileMode.String, which CST compares `permissions` with: a type letter or '-' then
    rwxrwxrwx, setuid/setgid/sticky as leading letters (`-rwsr-xr-x` is `urwxr-xr-x`, /tmp is
    `dtrwxrwxrwx`, a symlink `Lrwxrwxrwx`)."""
    kinds = "".join(c for i, c in enumerate(_GO_MODE_TYPES) if mode & (1 << (31 - i)))
    perms = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return (kinds or "-") + perms


_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27


# The spec: validated into these before anything runs.


@dataclass(frozen=True)
class _Regex:
    source: str
    compiled: re.Pattern[str]


@dataclass(frozen=True)
class _EnvVar:
    key: str
    value: str
    regex: _Regex | None = None


@dataclass(frozen=True)
class _CommandTest:
    name: str
    command: str
    args: tuple[str, ...]
    setup: tuple[tuple[str, ...], ...]
    env_vars: tuple[_EnvVar, ...]
    exit_code: int
    expected_output: tuple[_Regex, ...]
    excluded_output: tuple[_Regex, ...]
    expected_error: tuple[_Regex, ...]
    excluded_error: tuple[_Regex, ...]


@dataclass(frozen=True)
class _FileExistenceTest:
    name: str
    path: str
    should_exist: bool
    permissions: str
    uid: int | None
    gid: int | None
    executable_by: str


@dataclass(frozen=True)
class _FileContentTest:
    name: str
    path: str
    expected: tuple[_Regex, ...]
    excluded: tuple[_Regex, ...]


@dataclass(frozen=True)
class _MetadataTest:
    env_vars: tuple[_EnvVar, ...] = ()
    unbound_env_vars: tuple[str, ...] = ()
    labels: tuple[_EnvVar, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    unexposed_ports: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str = ""
    volumes: tuple[str, ...] = ()
    unmounted_volumes: tuple[str, ...] = ()
    user: str = ""


@dataclass(frozen=True)
class _Spec:
    global_env: tuple[_EnvVar, ...] = ()
    run_user: str | None = None
    commands: tuple[_CommandTest, ...] = ()
    existence: tuple[_FileExistenceTest, ...] = ()
    content: tuple[_FileContentTest, ...] = ()
    metadata: _MetadataTest | None = None


_TOP_LEVEL = {
    "schemaVersion",
    "globalEnvVars",
    "commandTests",
    "fileExistenceTests",
    "fileContentTests",
    "metadataTest",
    "licenseTests",
    "containerRunOptions",
}
_COMMAND_FIELDS = {
    "name",
    "setup",
    "teardown",
    "envVars",
    "command",
    "args",
    "exitCode",
    "expectedOutput",
    "excludedOutput",
    "expectedError",
    "excludedError",
}
_EXISTENCE_FIELDS = {"name", "path", "shouldExist", "permissions", "uid", "gid", "isExecutableBy"}
_CONTENT_FIELDS = {"name", "path", "expectedContents", "excludedContents"}
_METADATA_FIELDS = {
    "envVars",
    "unboundEnvVars",
    "labels",
    "exposedPorts",
    "unexposedPorts",
    "entrypoint",
    "cmd",
    "workdir",
    "volumes",
    "unmountedVolumes",
    "user",
}
_FIELD_HINTS = {"env": "envVars", "unboundEnv": "unboundEnvVars", "expectedContent": "expectedContents"}


def _fields(where: str, item: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(item).__name__}")
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        hints = [
            f"{k!r} (did you mean {_FIELD_HINTS[k]!r}?)" if k in _FIELD_HINTS else repr(k) for k in unknown
        ]
        raise SpecError(f"{where}: unknown field {', '.join(hints)}; allowed: {', '.join(sorted(allowed))}")
    return item


def _str(where: str, value: Any, name: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise SpecError(f"{where}: {name!r} is required")
        return ""
    if not isinstance(value, str):
        raise SpecError(f"{where}: {name!r} must be a string, got {type(value).__name__}")
    return value


def _str_list(where: str, value: Any, name: str, *, scalars: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, str) or (scalars and isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise SpecError(f"{where}: {name!r} must be a list of strings")
    return tuple(str(v) for v in value)


def _int(where: str, value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"{where}: {name!r} must be an integer")
    return value


def _regexes(where: str, value: Any, name: str) -> tuple[_Regex, ...]:
    found = []
    for source in _str_list(where, value, name):
        found.append(_regex(where, source, name))
    return tuple(found)


def _regex(where: str, source: str, name: str) -> _Regex:
    try:
        return _Regex(source, go_regex(source))
    except (ValueError, re.error) as exc:
        raise SpecError(f"{where}: {name} regex {source!r} is not valid: {exc}") from exc


def _env_vars(where: str, value: Any, name: str, *, need_value: bool, regex_ok: bool) -> tuple[_EnvVar, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError(f"{where}: {name!r} must be a list of {{key, value}}")
    found = []
    allowed = {"key", "value", "isRegex"} if regex_ok else {"key", "value"}
    for n, item in enumerate(value):
        entry = _fields(f"{where} {name}[{n}]", item, allowed)
        key = _str(f"{where} {name}[{n}]", entry.get("key"), "key", required=True)
        raw_value = entry.get("value")
        if isinstance(raw_value, int | float) and not isinstance(raw_value, bool):
            raw_value = str(raw_value)
        text = _str(f"{where} {name}[{n}]", raw_value, "value", required=need_value)
        is_regex = entry.get("isRegex", False)
        if not isinstance(is_regex, bool):
            raise SpecError(f"{where} {name}[{n}]: 'isRegex' must be true or false")
        found.append(_EnvVar(key, text, _regex(where, text, f"{name}[{n}]") if is_regex else None))
    return tuple(found)


def _items(spec: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any], str]]:
    """Each test of a list with a label for messages (`commandTests[2] "name"`) and its name."""
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{key} must be a list of tests")
    found = []
    for n, item in enumerate(value):
        name = item.get("name") if isinstance(item, Mapping) else None
        label = f'{key}[{n}] "{name}"' if isinstance(name, str) and name else f"{key}[{n}] (no name)"
        found.append((label, item, name if isinstance(name, str) else ""))
    return found


def validate_spec(spec: Mapping[str, Any]) -> _Spec:
    """Checks a whole spec before anything runs, with container-structure-test's field names and
    its strictness (an unknown field is an error, not ignored). Raises SpecError."""
    top = _fields("the spec", spec, _TOP_LEVEL)
    version = top.get("schemaVersion", "2.0.0")
    if str(version) != "2.0.0":
        raise SpecError(f'schemaVersion {version!r} is not supported: use "2.0.0"')
    if top.get("licenseTests"):
        raise SpecError("licenseTests are not supported by Layerlab")
    run_user = None
    if top.get("containerRunOptions") is not None:
        options = top["containerRunOptions"]
        if isinstance(options, Mapping) and set(options) - {"user"}:
            refused = ", ".join(sorted(str(k) for k in set(options) - {"user"}))
            raise SpecError(
                f"containerRunOptions: {refused} would loosen the sandbox (or read the grader's "
                "environment) and is not supported; only 'user' is"
            )
        run_user = _str(
            "containerRunOptions", _fields("containerRunOptions", options, {"user"}).get("user"), "user"
        )
    global_env = _env_vars(
        "globalEnvVars", top.get("globalEnvVars"), "globalEnvVars", need_value=True, regex_ok=False
    )

    commands = []
    for where, item, name in _items(top, "commandTests"):
        test = _fields(where, item, _COMMAND_FIELDS)
        _str(where, name, "name", required=True)
        command = _str(where, test.get("command"), "command", required=True)
        steps = []
        for key in ("setup", "teardown"):
            value = test.get(key) or []
            if not isinstance(value, list) or not all(
                isinstance(step, list) and step and all(isinstance(a, str) for a in step) for step in value
            ):
                raise SpecError(f"{where}: {key!r} must be a list of non-empty commands (lists of strings)")
            if key == "setup":
                steps = [tuple(step) for step in value]
        exit_code = _int(where, test.get("exitCode"), "exitCode")
        commands.append(
            _CommandTest(
                name=name,
                command=command,
                args=_str_list(where, test.get("args"), "args"),
                setup=tuple(steps),
                env_vars=_env_vars(where, test.get("envVars"), "envVars", need_value=True, regex_ok=False),
                exit_code=exit_code or 0,
                expected_output=_regexes(where, test.get("expectedOutput"), "expectedOutput"),
                excluded_output=_regexes(where, test.get("excludedOutput"), "excludedOutput"),
                expected_error=_regexes(where, test.get("expectedError"), "expectedError"),
                excluded_error=_regexes(where, test.get("excludedError"), "excludedError"),
            )
        )

    existence = []
    for where, item, name in _items(top, "fileExistenceTests"):
        test = _fields(where, item, _EXISTENCE_FIELDS)
        _str(where, name, "name", required=True)
        should_exist = test.get("shouldExist", True)
        if not isinstance(should_exist, bool):
            raise SpecError(f"{where}: 'shouldExist' must be true or false")
        executable_by = _str(where, test.get("isExecutableBy"), "isExecutableBy")
        if executable_by not in ("", "owner", "group", "other", "any"):
            raise SpecError(
                f"{where}: isExecutableBy must be owner, group, other or any, not {executable_by!r}"
            )
        existence.append(
            _FileExistenceTest(
                name=name,
                path=_str(where, test.get("path"), "path", required=True),
                should_exist=should_exist,
                permissions=_str(where, test.get("permissions"), "permissions"),
                uid=_int(where, test.get("uid"), "uid"),
                gid=_int(where, test.get("gid"), "gid"),
                executable_by=executable_by,
            )
        )

    content = []
    for where, item, name in _items(top, "fileContentTests"):
        test = _fields(where, item, _CONTENT_FIELDS)
        _str(where, name, "name", required=True)
        content.append(
            _FileContentTest(
                name=name,
                path=_str(where, test.get("path"), "path", required=True),
                expected=_regexes(where, test.get("expectedContents"), "expectedContents"),
                excluded=_regexes(where, test.get("excludedContents"), "excludedContents"),
            )
        )

    metadata = None
    if top.get("metadataTest") is not None:
        where = "metadataTest"
        meta = _fields(where, top["metadataTest"], _METADATA_FIELDS)
        unbound = _env_vars(
            where, meta.get("unboundEnvVars"), "unboundEnvVars", need_value=False, regex_ok=False
        )
        entrypoint = meta.get("entrypoint")
        cmd = meta.get("cmd")
        user = meta.get("user")
        metadata = _MetadataTest(
            env_vars=_env_vars(where, meta.get("envVars"), "envVars", need_value=False, regex_ok=True),
            unbound_env_vars=tuple(e.key for e in unbound),
            labels=_env_vars(where, meta.get("labels"), "labels", need_value=False, regex_ok=True),
            exposed_ports=_str_list(where, meta.get("exposedPorts"), "exposedPorts", scalars=True),
            unexposed_ports=_str_list(where, meta.get("unexposedPorts"), "unexposedPorts", scalars=True),
            entrypoint=None if entrypoint is None else _str_list(where, entrypoint, "entrypoint"),
            cmd=None if cmd is None else _str_list(where, cmd, "cmd"),
            workdir=_str(where, meta.get("workdir"), "workdir"),
            volumes=_str_list(where, meta.get("volumes"), "volumes"),
            unmounted_volumes=_str_list(where, meta.get("unmountedVolumes"), "unmountedVolumes"),
            user=str(user)
            if isinstance(user, int) and not isinstance(user, bool)
            else _str(where, user, "user"),
        )
    if not (commands or existence or content or metadata):
        raise SpecError(
            "the spec has no tests (commandTests, fileExistenceTests, fileContentTests, metadataTest)"
        )
    return _Spec(
        global_env=global_env,
        run_user=run_user or None,
        commands=tuple(commands),
        existence=tuple(existence),
        content=tuple(content),
        metadata=metadata,
    )


# Running a validated spec.


def _image_config(ref: str) -> dict[str, Any]:
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    config: dict[str, Any] = attrs.get("Config") or {}
    return config


def _env_map(entries: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        found[key] = value
    return found


def _expand_env(env_vars: Sequence[_EnvVar], base: Mapping[str, str]) -> dict[str, str]:
    """Test env values may refer to the image's env and to earlier entries (`PATH=/x:$PATH`)."""
    seen = dict(base)
    added: dict[str, str] = {}
    for var in env_vars:
        value = go_expand(var.value, lambda k: seen.get(k, ""))
        seen[var.key] = added[var.key] = value
    return added


def _shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _run_command_test(
    ref: str,
    test: _CommandTest,
    *,
    image_env: Mapping[str, str],
    global_env: Mapping[str, str],
    run_user: str | None,
    limits: RunLimits,
    labels: Mapping[str, str] | None,
) -> tuple[bool, list[str]]:
    env = {**global_env, **_expand_env(test.env_vars, {**image_env, **global_env})}
    scope = {**image_env, **env}
    argv = [go_expand(a, lambda k: scope.get(k, "")) for a in (test.command, *test.args)]
    commit_labels = dict(labels or {}) or {engine.LABEL_SUBMISSION: "adhoc"}
    committed: list[str] = []
    base = ref
    try:
        for step in test.setup:
            raw = engine.container_run_locked(
                base,
                command=step,
                entrypoint=[],
                env=env,
                user=run_user,
                labels=labels,
                host=limits.host(writable=True),
                timeout_seconds=limits.wall_seconds,
                output_cap_bytes=limits.output_cap_bytes,
                commit_labels=commit_labels,
            )
            if raw["image"] is None:
                why = raw["start_error"] or f"timed out after {limits.wall_seconds:g} s"
                return False, [f"Setup command {list(step)} failed: {why}"]
            committed.append(raw["image"])
            base = raw["image"]
        raw = engine.container_run_locked(
            base,
            command=argv,
            entrypoint=[],
            env=env,
            user=run_user,
            labels=labels,
            host=limits.host(writable=bool(test.setup)),
            timeout_seconds=limits.wall_seconds,
            output_cap_bytes=limits.output_cap_bytes,
        )
        result = _run_result(raw, limits)
    finally:
        for image in reversed(committed):
            engine.image_remove(image)
    if result.start_error is not None:
        return False, [f"Error creating container: {result.start_error}"]
    messages = []
    if result.timed_out:
        messages.append(f"Test '{test.name}' timed out after {limits.wall_seconds:g} s and was killed")
    if result.oom_killed:
        messages.append(f"Test '{test.name}' was killed for using more than {limits.memory_bytes // MiB} MiB")
    out, err = result.stdout, result.stderr
    for rx in test.expected_error:
        if not rx.compiled.search(err):
            messages.append(f"Expected string '{rx.source}' not found in error '{_shorten(err)}'")
    for rx in test.excluded_error:
        if rx.compiled.search(err):
            messages.append(f"Excluded string '{rx.source}' found in error '{_shorten(err)}'")
    for rx in test.expected_output:
        if not rx.compiled.search(out):
            messages.append(f"Expected string '{rx.source}' not found in output '{_shorten(out)}'")
    for rx in test.excluded_output:
        if rx.compiled.search(out):
            messages.append(f"Excluded string '{rx.source}' found in output '{_shorten(out)}'")
    if not result.timed_out and result.exit_code != test.exit_code:
        messages.append(
            f"Test '{test.name}' exited with incorrect error code. "
            f"Expected: {test.exit_code}, Actual: {result.exit_code}"
        )
    return not messages, messages


_EXECUTABLE_BITS = {"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}


def _run_existence_test(container_id: str, test: _FileExistenceTest, scope: Mapping[str, str]) -> list[str]:
    path = go_expand(test.path, lambda k: scope.get(k, ""))
    stat = engine.container_stat_path(container_id, path)
    if stat is None:
        return [f"File {test.path} should exist but does not"] if test.should_exist else []
    messages = []
    if not test.should_exist:
        messages.append(f"File {test.path} should not exist but does")
    mode = int(stat["mode"])
    actual = go_mode_string(mode)
    if test.permissions and actual != test.permissions:
        messages.append(
            f"{test.path} has incorrect permissions. Expected: {test.permissions}, Actual: {actual}"
        )
    if test.executable_by and not mode & _EXECUTABLE_BITS[test.executable_by]:
        messages.append(
            f"{test.path} has incorrect executable bit. "
            f"Expected to be executable by {test.executable_by}, Actual: {actual}"
        )
    if test.uid is not None and stat["uid"] != test.uid:
        messages.append(
            f"{test.path} has incorrect user ownership. Expected: {test.uid}, Actual: {stat['uid']}"
        )
    if test.gid is not None and stat["gid"] != test.gid:
        messages.append(
            f"{test.path} has incorrect group ownership. Expected: {test.gid}, Actual: {stat['gid']}"
        )
    return messages


def _read_image_file(container_id: str, path: str, cap: int) -> tuple[bytes, bool] | str:
    """The file's bytes, following symlinks inside the image (a relative link too, which CST's
    docker driver gets wrong); or why it cannot be read."""
    for _ in range(40):
        stat = engine.container_stat_path(container_id, path)
        if stat is None:
            return f"Failed to open {path}. Error: no such file in the image"
        if int(stat["mode"]) & _GO_MODE_DIR:
            return (
                f"Failed to open {path}. Error: Cannot read specified path: {path} is a directory, not a file"
            )
        if int(stat["mode"]) & _GO_MODE_SYMLINK:
            path = stat["link_target"]
            continue
        found = engine.container_read_file(container_id, path, cap)
        if found is None:
            return f"Failed to open {path}. Error: not a regular file"
        return found
    return f"Failed to open {path}. Error: too many levels of symbolic links"


def _run_content_test(
    container_id: str, test: _FileContentTest, scope: Mapping[str, str], cap: int
) -> list[str]:
    path = go_expand(test.path, lambda k: scope.get(k, ""))
    found = _read_image_file(container_id, path, cap)
    if isinstance(found, str):
        return [found]
    data, truncated = found
    text = data.decode("utf-8", "replace")
    messages = []
    for rx in test.expected:
        if not rx.compiled.search(text):
            messages.append(
                f"Expected string '{rx.source}' not found in file content string '{_shorten(text)}'"
            )
    for rx in test.excluded:
        if rx.compiled.search(text):
            messages.append(f"Excluded string '{rx.source}' found in file content string '{_shorten(text)}'")
        elif truncated:
            messages.append(
                f"Excluded string '{rx.source}' could not be ruled out: only {cap} bytes were read"
            )
    return messages


def _port_listed(port: str, exposed: Sequence[str]) -> bool:
    """CST compares the port number only ("8080" matches "8080/tcp"); a spec that names the
    protocol ("9090/udp") is compared in full, where CST would never find it."""
    if "/" in port:
        return port in exposed
    return port in (p.split("/")[0] for p in exposed)


def _run_metadata_test(config: Mapping[str, Any], test: _MetadataTest) -> list[str]:
    messages = []
    env = _env_map(config.get("Env") or [])
    labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    for var in test.env_vars:
        if var.key not in env:
            messages.append(f"variable {var.key} not found in image env")
        elif not (var.regex.compiled.search(env[var.key]) if var.regex else env[var.key] == var.value):
            messages.append(
                f"env var {var.key} value {env[var.key]} does not match expected value: {var.value}"
            )
    for key in test.unbound_env_vars:
        if key in env:
            messages.append(f"env variable {key} should not be present in image metadata")
    for var in test.labels:
        if var.key not in labels:
            messages.append(f"label {var.key} not found in image metadata")
        elif not (var.regex.compiled.search(labels[var.key]) if var.regex else labels[var.key] == var.value):
            messages.append(
                f"label {var.key} value {labels[var.key]} does not match expected value: {var.value}"
            )
    image_cmd = list(config.get("Cmd") or [])
    if test.cmd is not None and list(test.cmd) != image_cmd:
        messages.append(f"Image Cmd {_go_list(image_cmd)} does not match expected Cmd: {_go_list(test.cmd)}")
    image_entrypoint = list(config.get("Entrypoint") or [])
    if test.entrypoint is not None and list(test.entrypoint) != image_entrypoint:
        messages.append(
            f"Image entrypoint {_go_list(image_entrypoint)} does not match expected entrypoint: "
            f"{_go_list(test.entrypoint)}"
        )
    workdir = str(config.get("WorkingDir") or "")
    if test.workdir and test.workdir != workdir:
        messages.append(f"Image workdir {workdir} does not match config workdir: {test.workdir}")
    user = str(config.get("User") or "")
    if test.user and test.user != user:
        messages.append(f"Image user {user} does not match config user: {test.user}")
    exposed = list((config.get("ExposedPorts") or {}).keys())
    for port in test.exposed_ports:
        if not _port_listed(port, exposed):
            messages.append(f"Port {port} not found in config")
    for port in test.unexposed_ports:
        if _port_listed(port, exposed):
            messages.append(f"Port {port} should not be exposed")
    volumes = list((config.get("Volumes") or {}).keys())
    for volume in test.volumes:
        if volume not in volumes:
            messages.append(f"Volume {volume} not found in config")
    for volume in test.unmounted_volumes:
        if volume in volumes:
            messages.append(f"Volume {volume} should not be mounted")
    return messages


def _go_list(items: Sequence[str]) -> str:
    return "[" + " ".join(items) + "]"


def run_structure_tests(
    ref: str,
    spec: Mapping[str, Any],
    *,
    limits: RunLimits = DEFAULT_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> list[StructureTestResult]:
    """Runs a container-structure-test spec (schema 2.0.0, its field names) against an image,
    in CST's order: command tests, file existence, file content, metadata. The whole spec is
    validated first (SpecError). Command tests run under `limits`; file tests read the image
    through a created container and so work on scratch images."""
    parsed = validate_spec(spec)
    config = _image_config(ref)
    image_env = _env_map(config.get("Env") or [])
    global_env = _expand_env(parsed.global_env, image_env)
    scope = {**image_env, **global_env}
    results: list[StructureTestResult] = []

    for command in parsed.commands:
        started = time.monotonic()
        passed, messages = _run_command_test(
            ref,
            command,
            image_env=image_env,
            global_env=global_env,
            run_user=parsed.run_user,
            limits=limits,
            labels=labels,
        )
        results.append(
            StructureTestResult("command", command.name, passed, tuple(messages), time.monotonic() - started)
        )

    if parsed.existence or parsed.content:
        with engine.container_created(ref, labels=labels, host=limits.host()) as container_id:
            for existence in parsed.existence:
                started = time.monotonic()
                messages = _run_existence_test(container_id, existence, scope)
                results.append(
                    StructureTestResult(
                        "file_existence",
                        existence.name,
                        not messages,
                        tuple(messages),
                        time.monotonic() - started,
                    )
                )
            for content in parsed.content:
                started = time.monotonic()
                messages = _run_content_test(container_id, content, scope, limits.file_cap_bytes)
                results.append(
                    StructureTestResult(
                        "file_content",
                        content.name,
                        not messages,
                        tuple(messages),
                        time.monotonic() - started,
                    )
                )

    if parsed.metadata is not None:
        started = time.monotonic()
        messages = _run_metadata_test(config, parsed.metadata)
        results.append(
            StructureTestResult(
                "metadata", "Metadata Test", not messages, tuple(messages), time.monotonic() - started
            )
        )
    return results
