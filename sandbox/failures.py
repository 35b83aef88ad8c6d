"""Whose fault a failed build is, and how to say so: the table every failed build is read
against.

A row matches a pattern on one kind of text the build left behind: the failed step's error (as
BuildKit reports it), the step's last output lines, or the engine's own words (the client's
trailer, with everything the student wrote taken out, so a Dockerfile that echoes an engine
message cannot pass itself off as our fault). The first row that matches decides:

- a student row gives a stable `code` and an English message in the student's terms, with the
  Dockerfile line; its wording is one of `TEMPLATES`, so `parse_message` can recover the
  parameters from the message alone (the Korean page needs them and the message is all that
  travels);
- an engine row means ours: `engine.EngineError` is raised, and the build is retried.

A failure no row knows is the student's `build_error` when one of their steps failed (with the
engine's text, engine paths taken out) and ours when none did. Engine-internal paths
(/var/lib/docker/...) and terminal escape codes never reach a message."""

from __future__ import annotations

import json
import logging
import posixpath
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sandbox import ansi, engine

log = logging.getLogger(__name__)

Party = Literal["student", "ours"]
Reads = Literal["error", "output", "engine"]


class Source(Protocol):
    """What the table needs of `build.StepSource` (one vertex-producing instruction)."""

    @property
    def stage_index(self) -> int: ...
    @property
    def stage_name(self) -> str: ...
    @property
    def ordinal(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def line(self) -> int: ...


@dataclass(frozen=True)
class FailedStep:
    """The step BuildKit marked as failed. `name` is the instruction in the student's words;
    `internal` is true for BuildKit's own vertices (loading the context, image metadata)."""

    name: str
    error: str
    line: int | None = None
    where: str = ""  # "[build 2/5] ", as BuildKit numbers it
    internal: bool = False
    tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildFailure:
    """Everything a failed build left behind, as plain data."""

    step: FailedStep | None
    trailer: tuple[str, ...] = ()
    network: str = "none"
    context_paths: tuple[str, ...] = ()
    sources: Sequence[Source] = ()


@dataclass(frozen=True)
class Classified:
    """A failure that is the student's. `template` is the key of `TEMPLATES` the message was
    written from; `params` its variable parts."""

    code: str
    message: str
    line: int | None
    step: str
    output: tuple[str, ...]
    template: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


# English wording of every student row, by "code" or "code:variant". Each parameter is
# language-neutral (a path, a command, a number, output lines); messages.py has the Korean.
TEMPLATES: dict[str, str] = {
    "copy_source_missing": (
        '"{source}" in `{step}` is not in the build context, so there is nothing to copy. '
        "The build context holds: {listing}"
    ),
    "copy_source_missing:empty": (
        '"{source}" in `{step}` is not in the build context, so there is nothing to copy. '
        "This exercise's build context has no files: create what you need with RUN instead."
    ),
    "copy_source_missing:outside": (
        '"{source}" in `{step}` is outside the build context: COPY and ADD read only files inside '
        'it, and "../" cannot leave it. The build context holds: {listing}'
    ),
    "copy_source_missing:ignored": (
        '"{source}" in `{step}` is left out of the build context by your .dockerignore. Change the '
        ".dockerignore, or do not copy it."
    ),
    "copy_source_missing:stage": (
        '"{source}" in `{step}` does not exist in the build stage "{origin}". Check where that '
        "stage writes it, and copy that path."
    ),
    "copy_source_missing:image": (
        '"{source}" in `{step}` does not exist in the image {origin}. Check the path inside that image.'
    ),
    "too_many_layers": (
        "`{step}` would put the image over the most layers the engine can stack (128, the base "
        "image's own layers included). Every RUN, COPY, ADD and WORKDIR adds a layer: join RUN "
        "commands with &&, and copy whole directories with one COPY."
    ),
    "workdir_not_directory": (
        "WORKDIR {path} cannot be made: {path} or a directory above it is a file in the image, "
        "not a directory. Choose a directory path, e.g. WORKDIR /app."
    ),
    "workdir_refused": (
        "WORKDIR {path} cannot be used: when `{step}` started, the runtime could not create {path} "
        "({reason}). Choose a directory of your own, e.g. WORKDIR /app."
    ),
    "workdir_refused:kernel": (
        "WORKDIR {path} cannot be used: when `{step}` started, the runtime could not create {path} "
        "({reason}). {top} is provided by the kernel and mounted over the image whenever a command "
        "runs, so nothing the image has there is seen. Choose a directory of your own, e.g. "
        "WORKDIR /app."
    ),
    "run_no_program": (
        "`{step}` could not start: the program {program} does not exist in the image. Install it in "
        "an earlier step, use a base image that has it, or write its full path."
    ),
    "run_no_program:shell": (
        "`{step}` could not start: this stage's image has no {program}, and a RUN written as a plain "
        "command runs with {program} -c. Images such as scratch have no shell: run commands in a "
        "stage that has one and COPY the results in."
    ),
    "user_not_found": (
        "`{step}` could not start: the user {user} (set by USER) does not exist in the image. Create "
        "it in an earlier step, e.g. RUN useradd --create-home {user}, or use a numeric id such as "
        "USER 10001."
    ),
    "network_none": (
        "`{step}` tried to reach the network, but this exercise gives builds no network "
        '(its output: "{evidence}"). Install only from files in the build context (COPY them in) '
        "or from what the base image already has."
    ),
    "run_killed": (
        "the command `{command}` was killed (signal {signal}, {signame}) before it finished, although "
        "the build stayed within its memory limit: something in the step ended it, e.g. kill -9. "
        "Its last output:\n{output}"
    ),
    "run_killed:silent": (
        "the command `{command}` was killed (signal {signal}, {signame}) before it finished, although "
        "the build stayed within its memory limit: something in the step ended it, e.g. kill -9. "
        "It printed nothing."
    ),
    "run_failed": (
        "the command `{command}` exited with status {status}, so the build stopped (a RUN step must "
        "end with status 0). Its last output:\n{output}"
    ),
    "run_failed:silent": (
        "the command `{command}` exited with status {status}, so the build stopped (a RUN step must "
        "end with status 0). It printed nothing."
    ),
    "run_failed:not_found": (
        "the command `{command}` exited with status 127: the shell found no program called {program}. "
        "Install it in an earlier step or use a base image that has it. Its last output:\n{output}"
    ),
    "dockerfile_error": "the engine could not read the Dockerfile: {detail}",
    "dockerfile_error:unknown_instruction": (
        "{word} is not a Dockerfile instruction. Check its spelling, and that the line before it "
        "ends with a backslash if it continues a long RUN."
    ),
    "build_error": "Step {step} failed: {error}",
}

OUTPUT_LINES = 5
SHOWN_CHARS = 200
LISTED_FILES = 12

_ENGINE_PATHS = (
    (re.compile(r"/var/lib/docker/tmp/buildkit-mount\d+"), ""),
    (re.compile(r"/tmp/buildkit-mount\d+"), ""),  # noqa: S108 (a pattern, not a file)
    (re.compile(r"/var/lib/docker/overlay2/[^/\s]+/(?:merged|diff)"), ""),
    (re.compile(r"/var/lib/(?:docker/)?buildkit/\S*?/snapshots/\d+/fs"), ""),
    (re.compile(r"/var/lib/containerd/\S*?/snapshots/\d+/fs"), ""),
    (re.compile(r"/(?:var/lib|run)/(?:docker|containerd|buildkit)[^\s:\"']*"), "(engine storage)"),
)
_EXIT = re.compile(r"^executor failed running \[(?P<args>.*)\]: exit code: (?P<status>\d+)$", re.DOTALL)
_NETWORK_SAYS = re.compile(
    r"Temporary failure resolving|Could not resolve host|Temporary failure in name resolution"
    r"|Network is unreachable|Failed to establish a new connection|ENOTFOUND|EAI_AGAIN"
    r"|Name or service not known|unable to resolve host address",
    re.IGNORECASE,
)
# Weaker signs: a traceback names getaddrinfo on its way to the real error; apt finds no package
# because `apt-get update` could not download the package lists.
_NETWORK_HINTS = re.compile(r"getaddrinfo|Unable to locate package", re.IGNORECASE)
_NETWORK = re.compile(f"{_NETWORK_SAYS.pattern}|{_NETWORK_HINTS.pattern}", re.IGNORECASE)
_KERNEL_DIRS = ("/proc", "/sys", "/dev")


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (colours, titles, cursor movement)."""
    return ansi.strip(text)


def clean(text: str) -> str:
    """Engine text in the student's terms: no escape codes, and the engine's own directories
    taken off paths (a build-context mount root goes, leaving the path inside the context)."""
    text = strip_ansi(text)
    for pattern, replacement in _ENGINE_PATHS:
        text = pattern.sub(replacement, text)
    return text


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str, limit: int = SHOWN_CHARS) -> str:
    text = text.replace("\t", "    ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _output_lines(tail: Sequence[str]) -> list[str]:
    lines = [clean(t).rstrip() for t in tail]
    return [line for line in lines if line.strip()]


def _last_output(tail: Sequence[str]) -> str:
    return "\n".join(f"    {_cut(line)}" for line in _output_lines(tail)[-OUTPUT_LINES:])


def _keyword(step: FailedStep) -> str:
    return step.name.split(" ", 1)[0].upper()


def _words(step: FailedStep) -> list[str]:
    """The instruction's arguments (flags dropped), from its text: JSON form or plain words."""
    rest = step.name.split(" ", 1)[1] if " " in step.name else ""
    words = rest.split()
    while words and words[0].startswith("--"):
        words.pop(0)
    joined = " ".join(words)
    if joined.startswith("["):
        try:
            parsed = json.loads(joined)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(w, str) for w in parsed):
            return [str(w) for w in parsed]
    return words


def _flag(step: FailedStep, name: str) -> str | None:
    for word in step.name.split()[1:]:
        if not word.startswith("--"):
            break
        key, _, value = word[2:].partition("=")
        if key.lower() == name:
            return value
    return None


def _command(step: FailedStep) -> str:
    rest = step.name.split(" ", 1)[1] if " " in step.name else step.name
    words = rest.split(" ")
    while words and words[0].startswith("--"):
        words.pop(0)
    return _short(" ".join(words) or rest)


def _listing(paths: Sequence[str]) -> str:
    shown = sorted(p for p in paths if p != ".dockerignore")
    if len(shown) <= LISTED_FILES:
        return ", ".join(shown)
    return ", ".join(shown[:LISTED_FILES]) + f", … +{len(shown) - LISTED_FILES}"


@dataclass(frozen=True)
class Row:
    """One line of the table. `reads` is the text `pattern` is searched in; `when` narrows the
    row further (the step's instruction, the exercise's network); `build` writes the student's
    message from the match (None for our rows)."""

    name: str
    party: Party
    code: str
    reads: Reads
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str], BuildFailure], tuple[str, dict[str, str], int | None]] | None = None
    when: Callable[[BuildFailure], bool] = lambda failure: True


def _is(*keywords: str) -> Callable[[BuildFailure], bool]:
    def check(failure: BuildFailure) -> bool:
        step = failure.step
        return step is not None and not step.internal and _keyword(step) in keywords

    return check


def _run_exit(failure: BuildFailure) -> bool:
    step = failure.step
    return _is("RUN")(failure) and step is not None and _EXIT.match(clean(step.error)) is not None


def _status(failure: BuildFailure) -> int:
    assert failure.step is not None
    m = _EXIT.match(clean(failure.step.error))
    return int(m.group("status")) if m else -1


def _copy_missing(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    missing = m.group("path")
    sources = _words(step)[:-1]
    wanted = next(
        (
            s
            for s in sources
            if (n := posixpath.normpath("/" + s.lstrip("/"))) == missing
            or n.startswith(missing.rstrip("/") + "/")
        ),
        missing.lstrip("/") or missing,
    )
    params = {"source": wanted, "step": _short(step.name)}
    origin = _flag(step, "from")
    if origin is not None:
        stages = {s.stage_name.lower() for s in failure.sources if s.stage_name}
        params["origin"] = origin
        kind = "stage" if origin.lower() in stages or origin.isdigit() else "image"
        return f"copy_source_missing:{kind}", params, step.line
    relative = posixpath.normpath(wanted.lstrip("/")) if wanted else ""
    if relative == ".." or relative.startswith("../"):
        params["listing"] = _listing(failure.context_paths) or "-"
        return "copy_source_missing:outside", params, step.line
    ignored = any(p == relative or p.startswith(relative + "/") for p in failure.context_paths)
    if ignored and ".dockerignore" in failure.context_paths:
        return "copy_source_missing:ignored", params, step.line
    listing = _listing(failure.context_paths)
    if not listing:
        return "copy_source_missing:empty", params, step.line
    params["listing"] = listing
    return "copy_source_missing", params, step.line


def _layers(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    assert failure.step is not None
    return "too_many_layers", {"step": _short(failure.step.name)}, failure.step.line


def _workdir_file(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    words = _words(step)
    path = words[0] if words else m.group("path")
    return "workdir_not_directory", {"path": _short(path)}, step.line


def _workdir_line(failure: BuildFailure) -> int | None:
    """The WORKDIR in force at the failed step: the last one before it in its stage."""
    step = failure.step
    if step is None or step.line is None:
        return None
    here = next((s for s in failure.sources if s.line == step.line), None)
    if here is None:
        return None
    before = [
        s
        for s in failure.sources
        if s.stage_index == here.stage_index
        and s.ordinal < here.ordinal
        and s.text.upper().startswith("WORKDIR")
    ]
    return before[-1].line if before else None


def _workdir_refused(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    path = m.group("path") or m.group("cwd")
    params = {"path": _short(path), "step": _short(step.name), "reason": _short(m.group("reason"), 80)}
    line = _workdir_line(failure) or step.line
    top = next((d for d in _KERNEL_DIRS if path == d or path.startswith(d + "/")), None)
    if top is not None:
        params["top"] = top
        return "workdir_refused:kernel", params, line
    return "workdir_refused", params, line


def _no_program(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    program = m.group("program")
    params = {"step": _short(step.name), "program": _short(program, 80)}
    shell = posixpath.basename(program) in ("sh", "bash") and not _command(step).startswith("[")
    return ("run_no_program:shell" if shell else "run_no_program"), params, step.line


def _user(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    return "user_not_found", {"step": _short(step.name), "user": _short(m.group("user"), 64)}, step.line


def _network(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    lines = [line.strip() for line in _output_lines(step.tail)]
    for pattern in (_NETWORK_SAYS, _NETWORK_HINTS):
        found = next((f for f in map(pattern.search, lines) if f is not None), None)
        if found is not None:
            m = found
            break
    line, width = m.string, 160
    end = min(len(line), max(m.end() + 60, width))
    start = max(0, end - width)
    evidence = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    return "network_none", {"step": _short(step.name), "evidence": evidence}, step.line


def _killed(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    number = int(m.group("status")) - 128
    params = {"command": _command(step), "signal": str(number), "signame": signal.Signals(number).name}
    output = _last_output(step.tail)
    if not output:
        return "run_killed:silent", params, step.line
    return "run_killed", {**params, "output": output}, step.line


_NOT_FOUND = re.compile(
    r"^(?:/bin/sh|sh|/bin/bash|bash)(?:: (?:line )?\d+)?: (?P<program>\S+?):? (?:command )?not found$"
)


def _exited(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    step = failure.step
    assert step is not None
    status = m.group("status")
    params = {"command": _command(step), "status": status}
    output = _last_output(step.tail)
    if not output:
        return "run_failed:silent", params, step.line
    params["output"] = output
    if status == "127":
        for line in reversed(_output_lines(step.tail)):
            found = _NOT_FOUND.match(line.strip())
            if found:
                return (
                    "run_failed:not_found",
                    {**params, "program": _short(found.group("program"), 80)},
                    step.line,
                )
    return "run_failed", params, step.line


def _parse_error(m: re.Match[str], failure: BuildFailure) -> tuple[str, dict[str, str], int | None]:
    line = int(m.group("line")) if m.group("line") else None
    detail = _short(clean(m.group("detail")))
    unknown = re.match(r"^unknown instruction: (\S+)$", detail, re.IGNORECASE)
    if unknown:
        return "dockerfile_error:unknown_instruction", {"word": unknown.group(1)}, line
    return "dockerfile_error", {"detail": detail}, line


def _ours(marker: str) -> Row:
    return Row(f"engine: {marker}", "ours", "engine", "engine", re.compile(re.escape(marker), re.IGNORECASE))


TABLE: tuple[Row, ...] = (
    Row(
        "COPY/ADD source not in the build context or stage (BuildKit's cache-key lookup)",
        "student",
        "copy_source_missing",
        "error",
        re.compile(r'"(?P<path>/[^"]*)" not found: not found$'),
        _copy_missing,
        _is("COPY", "ADD"),
    ),
    Row(
        "COPY/ADD source under a path that does not exist (BuildKit's walk of the context)",
        "student",
        "copy_source_missing",
        "error",
        re.compile(r"failed to walk (?P<path>/[^:]*): lstat [^:]*: no such file or directory$"),
        _copy_missing,
        _is("COPY", "ADD"),
    ),
    Row(
        "more layers than overlay2 stacks",
        "student",
        "too_many_layers",
        "error",
        re.compile(r"max depth exceeded$"),
        _layers,
        _is("RUN", "COPY", "ADD", "WORKDIR"),
    ),
    Row(
        "WORKDIR through a file",
        "student",
        "workdir_not_directory",
        "error",
        re.compile(r"^(?:mkdir|lstat|stat) (?P<path>/.*): not a directory$"),
        _workdir_file,
        _is("WORKDIR"),
    ),
    Row(
        "the runtime cannot create the working directory when a RUN starts (under /proc, /sys)",
        "student",
        "workdir_refused",
        "output",
        re.compile(
            r"(?:error during container init: mkdir (?P<path>/[^:]*)|"
            r'chdir to cwd \("(?P<cwd>[^"]*)"\) set in config\.json failed): (?P<reason>[^:]+)$'
        ),
        _workdir_refused,
        _is("RUN"),
    ),
    Row(
        "RUN's program does not exist in the image (no /bin/sh in scratch)",
        "student",
        "run_no_program",
        "output",
        re.compile(
            r'exec: "(?P<program>[^"]+)": (?:stat [^:]*: no such file or directory|'
            r"executable file not found in \$PATH)"
        ),
        _no_program,
        _is("RUN"),
    ),
    Row(
        "USER names a user the image does not have",
        "student",
        "user_not_found",
        "error",
        re.compile(r"\]: unable to find user (?P<user>.+): no matching entries in passwd file$"),
        _user,
        _is("RUN"),
    ),
    Row(
        "the engine's Dockerfile parser refused the file",
        "student",
        "dockerfile_error",
        "engine",
        re.compile(
            r"failed to create LLB definition: (?:dockerfile parse error line (?P<line>\d+): )?"
            r"(?P<detail>(?(line).+|failed to process .+))$",
            re.IGNORECASE,
        ),
        _parse_error,
    ),
    *(
        _ours(marker)
        for marker in (
            "Cannot connect to the Docker daemon",
            "error during connect",
            "failed to dial gRPC",
            "no space left on device",
            "failed to resolve source metadata",
            "pull access denied",
            "failed to do request",
            "rpc error: code = Unavailable",
            # The engine could not wire the step to its network (its bridge is gone).
            "failed to set networking spec",
            "failed to create endpoint",
        )
    ),
    Row(
        "RUN reached for the network in an exercise without one",
        "student",
        "network_none",
        "output",
        _NETWORK,
        _network,
        lambda failure: failure.network == "none" and _run_exit(failure),
    ),
    Row(
        "RUN's command was killed (137) without reaching the memory limit",
        "student",
        "run_killed",
        "error",
        re.compile(r"^executor failed running \[.*\]: exit code: (?P<status>137)$", re.DOTALL),
        _killed,
        _is("RUN"),
    ),
    Row(
        "RUN's command exited non-zero",
        "student",
        "run_failed",
        "error",
        _EXIT,
        _exited,
        _is("RUN"),
    ),
)


def _engine_lines(failure: BuildFailure) -> list[str]:
    """The engine's own words: the failed step's error without the student's command, and the
    trailer without the blocks that quote the student's step and its output."""
    lines: list[str] = []
    quoted = False
    texts = [failure.step.error] if failure.step else []
    for text in [*texts, *failure.trailer]:
        text = strip_ansi(text).strip()
        if text == "------":
            quoted = not quoted
            continue
        if quoted or text.startswith("> ["):
            continue
        if text.startswith("executor failed running ["):
            # What follows the last "]: " is the engine's; the brackets hold the student's command.
            text = text.rpartition("]: ")[2]
        elif '" not found: not found' in text:
            continue  # a path the student named
        lines.append(text)
    return lines


def _texts(failure: BuildFailure, reads: Reads) -> list[str]:
    step = failure.step
    if reads == "engine":
        return _engine_lines(failure)
    if step is None:
        return []
    if reads == "error":
        return [clean(step.error).strip()]
    return [line.strip() for line in _output_lines(step.tail)]


def _message(template: str, params: Mapping[str, str], line: int | None) -> str:
    where = f"line {line}: " if line else ""
    return where + TEMPLATES[template].format(**params)


def classify(failure: BuildFailure) -> Classified:
    """The student's failure this is, or raises `engine.EngineError` when it is ours."""
    step = failure.step
    for row in TABLE:
        if not row.when(failure):
            continue
        for text in _texts(failure, row.reads):
            m = row.pattern.search(text)
            if m is None:
                continue
            if row.party == "ours" or row.build is None:
                raise engine.EngineError(
                    f"build engine failure ({row.name.removeprefix('engine: ')}):\n{_dump(failure)}"
                )
            template, params, line = row.build(m, failure)
            return Classified(
                code=row.code,
                message=_message(template, params, line),
                line=line,
                step=step.name if step else "",
                output=tuple(_output_lines(step.tail if step else failure.trailer)),
                template=template,
                params=params,
            )
    if step is not None and not step.internal:
        params = {"step": step.where + _short(step.name), "error": _short(clean(step.error), 600)}
        return Classified(
            code="build_error",
            message=_message("build_error", params, None),
            line=step.line,
            step=step.name,
            output=tuple(_output_lines(step.tail)),
            template="build_error",
            params=params,
        )
    log.error("unclassified engine failure:\n%s", _dump(failure))
    raise engine.EngineError(f"unclassified engine failure:\n{_dump(failure)}")


def _dump(failure: BuildFailure) -> str:
    step = failure.step
    head = f"step {step.where}{step.name!r}: {step.error}\n" if step else ""
    return (head + "\n".join(failure.trailer))[-4000:]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    out = []
    seen: set[str] = set()
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        elif part in seen:
            out.append(f"(?P={part})")
        else:
            seen.add(part)
            out.append(rf"(?P<{part}>\d+)" if part in ("status", "signal") else f"(?P<{part}>.*?)")
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


_PARSERS = {key: _template_regex(text) for key, text in TEMPLATES.items()}
CODES = frozenset(key.split(":", 1)[0] for key in TEMPLATES)
STEP_CODES = frozenset(row.code for row in TABLE if row.party == "student") - {"dockerfile_error"} | {
    "build_error"
}
"""The codes of a build that failed at one of the student's steps (its earlier steps' cache is
worth keeping for the corrected next try)."""


def parse_message(code: str, message: str, line: int | None = None) -> tuple[str, dict[str, str]] | None:
    """The template key and parameters `message` was written from (a message of `classify`
    for `code`), or None. The message is all a failure carries to the page; this recovers its
    parts for a translation."""
    body = message.removeprefix(f"line {line}: ") if line else message
    for key, pattern in _PARSERS.items():
        if key.split(":", 1)[0] != code:
            continue
        m = pattern.match(body)
        if m:
            return key, {k: v for k, v in m.groupdict().items() if v is not None}
    return None


__all__ = [
    "CODES",
    "STEP_CODES",
    "TABLE",
    "TEMPLATES",
    "BuildFailure",
    "Classified",
    "FailedStep",
    "Row",
    "classify",
    "clean",
    "parse_message",
    "strip_ansi",
]
