"""Every criterion that can be judged from the Dockerfile text alone, before anything is built.

Checks read the one parser's output (`sandbox.dockerfile`) and, for RUN, a small shell reader:
it splits a script into simple commands on `&&`, `||`, `;`, `|`, `&` and newlines, honours
quotes, comments, line continuations, redirections and nested here-documents, strips
assignments and wrappers (`sudo`, `env`, `xargs`, ...) and reads `sh -c '...'` scripts. A
heredoc body (`RUN <<EOF`) is read as the script when a shell runs it. Commands are judged by
their program name, so `echo "apt-get install"` is not an apt install. The reader does not
expand variables or aliases: what it cannot see it does not blame.

Every result names the Dockerfile line(s) it is about. A criterion that does not apply (no apt
in the file) passes with a value saying so; `skip` is kept for a check that failed to run.

The student's text is hostile, so what is computed from it is bounded (the `MAX_*` constants
here and in `sandbox.dockerfile`): going over a bound raises DockerfileLimitError for the
instruction's line, which `run_static` lets through as the student's error, and every pass over
the text is linear in it (no regular expression here backtracks on a long run of text)."""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
import posixpath
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from labs.grading.criteria import REGISTRY, CheckResult, Text, Verdict, criterion
from sandbox.dockerfile import (
    DockerfileLimitError,
    ExpansionBudget,
    Instruction,
    ParsedDockerfile,
    Stage,
    expand,
    limit_error,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaticInput:
    text: str  # the submitted Dockerfile
    parsed: ParsedDockerfile
    dockerignore: str | None  # the submitted .dockerignore, None if absent
    context_paths: frozenset[str]  # relative paths of the exercise's context files
    options: Mapping[str, Any]  # this criterion's rubric options merged over its defaults
    _facts: _Facts | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._facts is None:
            object.__setattr__(self, "_facts", _Facts(self.text, self.parsed))

    @property
    def facts(self) -> _Facts:
        """What every check reads (RUN scripts, stage chains), worked out once per submission."""
        assert self._facts is not None
        return self._facts


STATIC_IDS: list[str] = []
"""The static criteria in the order they run and are reported."""


Check = Callable[[StaticInput], CheckResult]


def static_criterion(id: str, **kwargs: Any) -> Callable[[Check], Check]:
    """`criterion()` with `source="dockerfile"`, remembering the id for `run_static`."""

    def register(check: Check) -> Check:
        STATIC_IDS.append(id)
        return criterion(id, source="dockerfile", **kwargs)(check)

    return register


def run_static(
    text: str,
    parsed: ParsedDockerfile,
    *,
    dockerignore: str | None,
    context_paths: Iterable[str],
    options_by_id: Mapping[str, Mapping[str, Any]] | None = None,
    only: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Runs every static criterion (or `only` those ids, still in catalogue order). Options for
    ids that are not static criteria are ignored, so one mapping can serve every source.

    A check that raises is our bug, not the student's: it is logged and reported as `skip`
    (left out of the score) so the other criteria are still graded. DockerfileLimitError is
    the exception: a bound on reading the student's text was reached, and that is theirs."""
    wanted = set(STATIC_IDS if only is None else only)
    unknown = wanted - set(STATIC_IDS)
    if unknown:
        raise ValueError(f"not a static criterion: {', '.join(sorted(unknown))}")
    paths = frozenset(p for p in (_norm_context_path(p) for p in context_paths) if p)
    facts = _Facts(text, parsed)
    if dockerignore is not None:
        _dockerignore_rules(dockerignore)  # over its bounds it is refused before any check runs
    results = []
    for cid in STATIC_IDS:
        if cid not in wanted:
            continue
        registered = REGISTRY[cid]
        given = (options_by_id or {}).get(cid, {})
        bad = set(given) - set(registered.options)
        if bad:
            raise ValueError(f"{cid}: unknown option {sorted(bad)[0]!r}")
        inp = StaticInput(text, parsed, dockerignore, paths, {**registered.options, **given}, facts)
        try:
            results.append(registered.check(inp))
        except DockerfileLimitError:
            raise
        except Exception:
            logger.exception("static check %s failed", cid)
            results.append(
                CheckResult(
                    cid,
                    "skip",
                    detail=Text(
                        "This check could not run because of an error on our side; it is not counted.",
                        "저희 쪽 오류로 이 항목을 검사하지 못했습니다. 점수에는 반영되지 않습니다.",
                    ),
                )
            )
    return results


def _norm_context_path(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


# --------------------------------------------------------------------------- shell reading

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"})
_INTERPRETERS = SHELLS | {"python", "python2", "python3", "perl", "ruby", "node", "php"}
_RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac"}
)
_SKIP_SEGMENT = frozenset({"for", "case", "select", "function"})
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PY_RE = re.compile(r"^python[0-9.]*$")
_PIP_RE = re.compile(r"^pip[0-9.]*$")

_WRAPPER_ARG_OPTS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "xargs": frozenset({"-a", "-d", "-E", "-e", "-I", "-i", "-L", "-l", "-n", "-P", "-s", "--arg-file"}),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "gosu": frozenset(),
    "su-exec": frozenset(),
    "retry": frozenset({"-t", "--times", "-d", "--delay"}),
}
_WRAPPER_POSITIONALS = {"timeout": 1, "gosu": 1, "su-exec": 1}

MAX_SHELL_DEPTH = 8
"""How deep `sh -c '...'` scripts are read inside one another. Each level is read again from
its quoted text; real files nest one or two."""
MAX_SHELL_COMMANDS = 5_000
"""Simple commands in all the RUN scripts of one Dockerfile (nested `sh -c` scripts included).
The checks compare commands within a RUN, so this also bounds their work."""
MAX_SHELL_WORDS = 50_000
"""Words in all those commands together: the memory the reader may hold for one Dockerfile."""


class _ShellBudget:
    """What the RUNs of one Dockerfile have used of MAX_SHELL_COMMANDS and MAX_SHELL_WORDS."""

    def __init__(self) -> None:
        self.commands = 0
        self.words = 0


class _Segment(NamedTuple):
    words: tuple[str, ...]
    op: str  # the operator that ended it


@dataclass(frozen=True)
class Cmd:
    """One simple command: `words[0]` is the program, `name` its lower-cased basename."""

    words: tuple[str, ...]
    name: str
    assigns: tuple[tuple[str, str], ...]
    pipeline: int
    sudo: bool
    order: int
    line: int = 0

    def args(self) -> tuple[str, ...]:
        return self.words[1:]

    def has_flag(self, *flags: str) -> bool:
        """A long flag (`--x` or `--x=...`) or a short one, also inside a bundle like `-fsSLk`."""
        for word in self.words[1:]:
            if word == "--":
                break
            for flag in flags:
                if word == flag or (flag.startswith("--") and word.startswith(flag + "=")):
                    return True
        return False


def _balanced(s: str, i: int, open_: str, close: str) -> int:
    """Index just past the `close` matching the `open_` at s[i] (quotes inside are skipped)."""
    depth = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            i = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


_HEREDOC_WORD = re.compile(r"""(['"]?)([^\s'"<>;&|()]+)\1""")


def split_shell(script: str) -> list[_Segment]:
    """Splits a POSIX shell script into simple-command word lists with quotes removed."""
    segments: list[_Segment] = []
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    discard_next = False
    heredocs: list[tuple[str, bool]] = []
    i, n = 0, len(script)

    def end_word() -> None:
        nonlocal in_word, discard_next
        if in_word:
            if discard_next:
                discard_next = False
            else:
                words.append("".join(cur))
        cur.clear()
        in_word = False

    def end_segment(op: str) -> None:
        end_word()
        if words:
            segments.append(_Segment(tuple(words), op))
        words.clear()

    while i < n:
        c = script[i]
        if c == "\\":
            if i + 1 < n and script[i + 1] == "\n":
                i += 2
                continue
            if i + 1 < n:
                cur.append(script[i + 1])
            in_word = True
            i += 2
            continue
        if c == "'":
            j = script.find("'", i + 1)
            j = n if j < 0 else j
            cur.append(script[i + 1 : j])
            in_word = True
            i = j + 1
            continue
        if c == '"':
            i += 1
            while i < n and script[i] != '"':
                ch = script[i]
                if ch == "\\" and i + 1 < n:
                    nxt = script[i + 1]
                    if nxt == "\n":
                        i += 2
                        continue
                    cur.append(nxt if nxt in '$`"\\' else "\\" + nxt)
                    i += 2
                    continue
                if ch == "$" and i + 1 < n and script[i + 1] == "(":
                    end = _balanced(script, i + 1, "(", ")")
                    cur.append(script[i:end])
                    i = end
                    continue
                if ch == "`":
                    j = script.find("`", i + 1)
                    j = n - 1 if j < 0 else j
                    cur.append(script[i : j + 1])
                    i = j + 1
                    continue
                cur.append(ch)
                i += 1
            in_word = True
            i += 1
            continue
        if c == "$" and i + 1 < n and script[i + 1] in "({":
            end = _balanced(script, i + 1, script[i + 1], ")" if script[i + 1] == "(" else "}")
            cur.append(script[i:end])
            in_word = True
            i = end
            continue
        if c == "`":
            j = script.find("`", i + 1)
            j = n - 1 if j < 0 else j
            cur.append(script[i : j + 1])
            in_word = True
            i = j + 1
            continue
        if c in " \t\r":
            end_word()
            i += 1
            continue
        if c == "\n":
            end_segment("\n")
            i += 1
            for delim, strip_tabs in heredocs:
                while i < n:
                    eol = script.find("\n", i)
                    eol = n if eol < 0 else eol
                    line = script[i:eol]
                    i = eol + 1
                    if (line.lstrip("\t") if strip_tabs else line).rstrip("\r") == delim:
                        break
            heredocs.clear()
            continue
        if c == "#" and not in_word:
            eol = script.find("\n", i)
            i = n if eol < 0 else eol
            continue
        if c in "<>":
            if i + 1 < n and script[i + 1] == "(":
                end = _balanced(script, i + 1, "(", ")")
                cur.append(script[i:end])
                in_word = True
                i = end
                continue
            if in_word and "".join(cur).isdigit():
                cur.clear()
                in_word = False
            end_word()
            if script.startswith("<<<", i):
                i += 3
                discard_next = True
                continue
            if script.startswith("<<", i):
                i += 2
                strip_tabs = i < n and script[i] == "-"
                i += 1 if strip_tabs else 0
                while i < n and script[i] in " \t":
                    i += 1
                m = _HEREDOC_WORD.match(script, i)
                if m:
                    heredocs.append((m.group(2), strip_tabs))
                    i = m.end()
                continue
            i += 1
            while i < n and script[i] in "<>&|":
                i += 1
            discard_next = True
            continue
        if c == "&" and i + 1 < n and script[i + 1] == ">":
            end_word()
            i += 2
            while i < n and script[i] == ">":
                i += 1
            discard_next = True
            continue
        if c in "&|;()":
            two = script[i : i + 2]
            if two in ("&&", "||", ";;"):
                end_segment(two if two != ";;" else ";")
                i += 2
            elif two == "|&":
                end_segment("|")
                i += 2
            else:
                end_segment(c)
                i += 1
            continue
        cur.append(c)
        in_word = True
        i += 1
    end_segment("")
    return segments


def _basename(word: str) -> str:
    return posixpath.basename(word).lower()


def _strip_wrappers(
    words: Sequence[str], start: int, assigns: list[tuple[str, str]]
) -> tuple[list[str], bool]:
    """The command under `sudo`, `env X=1`, `timeout 5`, ... from `words[start:]`. Walks an
    index rather than slicing, so `sudo sudo sudo ...` costs one pass."""
    sudo = False
    at, n = start, len(words)
    while at < n:
        name = _basename(words[at])
        if name in _RESERVED:
            at += 1
            continue
        if name not in _WRAPPER_ARG_OPTS:
            break
        if name == "command" and at + 1 < n and words[at + 1] in ("-v", "-V"):
            return [], sudo
        sudo = sudo or name in ("sudo", "doas")
        takes_arg = _WRAPPER_ARG_OPTS[name]
        i = at + 1
        while i < n and words[i].startswith("-") and words[i] != "-":
            if words[i] == "--":
                i += 1
                break
            i += 2 if words[i] in takes_arg else 1
        if name == "env":
            while i < n and _ASSIGN_RE.match(words[i]):
                key, _, value = words[i].partition("=")
                assigns.append((key, value))
                i += 1
        at = i + _WRAPPER_POSITIONALS.get(name, 0)
    return list(words[at:]), sudo


def _dash_c_script(words: Sequence[str]) -> str | None:
    """The script of `sh -c 'script'` (also `bash -ec`, `sh -o pipefail -c`)."""
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-o", "+o"):
            i += 2
            continue
        if word.startswith("-") and len(word) > 1 and not word.startswith("--"):
            if "c" in word[1:]:
                return words[i + 1] if i + 1 < len(words) else None
            i += 1
            continue
        if word.startswith("--"):
            i += 1
            continue
        return None
    return None


class _Reader:
    """Turns scripts into `Cmd`s, numbering pipelines and commands across a whole RUN. `line`
    is the RUN's, for a refusal; `budget` is shared by every RUN of the Dockerfile."""

    def __init__(self, line: int = 0, budget: _ShellBudget | None = None) -> None:
        self.cmds: list[Cmd] = []
        self.pipeline = 0
        self.line = line
        self.budget = budget if budget is not None else _ShellBudget()

    def read(self, script: str, depth: int = 0) -> None:
        if depth > MAX_SHELL_DEPTH:
            raise limit_error(
                self.line,
                f"`sh -c` scripts are nested more than {MAX_SHELL_DEPTH} deep in this RUN. Write the "
                "commands straight into the RUN, or put them in a script file you COPY and run.",
            )
        self.segments(split_shell(script), depth)

    def segments(self, segments: Iterable[_Segment], depth: int = 0) -> None:
        previous_op = ""
        for segment in segments:
            if previous_op != "|":
                self.pipeline += 1
            previous_op = segment.op
            self.command(segment.words, depth)

    def _count(self, words: int) -> None:
        budget = self.budget
        budget.commands += 1
        budget.words += words
        if budget.commands > MAX_SHELL_COMMANDS:
            what = f"{MAX_SHELL_COMMANDS:,} shell commands"
        elif budget.words > MAX_SHELL_WORDS:
            what = f"{MAX_SHELL_WORDS:,} words of shell commands"
        else:
            return
        raise limit_error(
            self.line,
            f"the RUN instructions up to this one hold more than {what}. Put long scripts in a file "
            "in the build context, COPY it and run it with one RUN.",
        )

    def command(self, words: Sequence[str], depth: int) -> None:
        self._count(len(words))
        at, n = 0, len(words)
        while at < n and words[at] in _RESERVED:
            at += 1
        if at == n or words[at] in _SKIP_SEGMENT or words[at].endswith("()"):
            return
        assigns: list[tuple[str, str]] = []
        while at < n and _ASSIGN_RE.match(words[at]):
            key, _, value = words[at].partition("=")
            assigns.append((key, value))
            at += 1
        program, sudo = _strip_wrappers(words, at, assigns)
        name = _basename(program[0]) if program else ""
        self.cmds.append(Cmd(tuple(program), name, tuple(assigns), self.pipeline, sudo, len(self.cmds)))
        if name in SHELLS:
            inner = _dash_c_script(program)
            if inner:
                saved = self.pipeline
                self.read(inner, depth + 1)
                self.pipeline = max(self.pipeline, saved)


# --------------------------------------------------------------------------- RUN facts


@dataclass(frozen=True)
class Mount:
    type: str
    target: str
    source: str
    from_: str


def _mounts(ins: Instruction) -> tuple[Mount, ...]:
    mounts = []
    for raw in ins.flag_values("mount"):
        fields: dict[str, str] = {}
        for item in raw.split(","):
            key, eq, value = item.partition("=")
            fields[key.strip().lower()] = value.strip().strip("\"'") if eq else "true"
        target = fields.get("target") or fields.get("dst") or fields.get("destination") or ""
        mounts.append(
            Mount(
                type=fields.get("type", "bind").lower(),
                target=posixpath.normpath(target) if target else "",
                source=fields.get("source") or fields.get("src") or "",
                from_=fields.get("from", ""),
            )
        )
    return tuple(mounts)


_HEREDOC_MARK = re.compile(r"(?<!<)<<(?!<)-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_.-]*)\1")
_SHEBANG_RE = re.compile(r"^#!\s*(\S+)(?:\s+(\S+))?")


@dataclass(frozen=True)
class Run:
    """A RUN as the checks see it: its commands (with the physical line of each), its mounts,
    and the shell text that was read (for the few patterns matched on text)."""

    ins: Instruction
    cmds: tuple[Cmd, ...]
    mounts: tuple[Mount, ...]
    text: str

    @property
    def cache_targets(self) -> tuple[str, ...]:
        """Targets of cache and tmpfs mounts: what is written there never lands in the layer."""
        return tuple(m.target for m in self.mounts if m.type in ("cache", "tmpfs") and m.target)

    def cache_mount_covers(self, predicate: Callable[[str], bool]) -> bool:
        return any(predicate(t) for t in self.cache_targets)

    def later(self, cmd: Cmd) -> Sequence[Cmd]:
        """The commands after `cmd` (`cmds[i].order == i`)."""
        return self.cmds[cmd.order + 1 :]

    def last_order(self, predicate: Callable[[Cmd], bool]) -> int:
        """The order of the last command that satisfies `predicate`, -1 if none. `c.order <
        run.last_order(p)` asks whether a later command does, in one pass per RUN rather than
        one per command: a RUN may hold thousands."""
        return next((c.order for c in reversed(self.cmds) if predicate(c)), -1)

    def last_removal(self, predicate: Callable[[str], bool]) -> int:
        """`last_order` of an `rm` with a target that satisfies `predicate`."""
        return self.last_order(lambda c: any(predicate(t) for t in _rm_targets(c)))


def _shell_heredoc(content: str) -> bool:
    match = _SHEBANG_RE.match(content)
    if match is None:
        return True
    program = _basename(match.group(1))
    if program == "env" and match.group(2):
        program = _basename(match.group(2))
    return program in SHELLS


def _build_run(ins: Instruction, lines: Sequence[str], budget: _ShellBudget | None = None) -> Run:
    reader = _Reader(ins.start_line, budget)
    parts: list[str] = []
    if ins.json:
        argv = list(ins.args)
        script = _dash_c_script(argv) if argv and _basename(argv[0]) in SHELLS else None
        if script is not None:
            parts.append(script)
            reader.read(script)
        else:
            parts.append(" ".join(argv))
            reader.segments([_Segment(tuple(argv), "")])
    else:
        line = " ".join(ins.args)
        if ins.heredocs:
            rest = _HEREDOC_MARK.sub(" ", line).strip()
            first = rest.split(None, 1)[0] if rest else ""
            runs_body = not rest or _basename(first) in SHELLS
            if rest:
                parts.append(rest)
            if runs_body:
                parts.extend(h.content for h in ins.heredocs if _shell_heredoc(h.content))
        else:
            parts.append(line)
        for part in parts:
            reader.read(part)
    located = _locate_all(reader.cmds, lines, ins.start_line, ins.end_line)
    return Run(ins, tuple(located), _mounts(ins), "\n".join(parts))


_LOCATE_BUDGET_CHARS = 4 * 1024 * 1024
"""Characters `_locate_all` may search for one RUN. A command whose words are not written
literally (`ap\\t-get`) sends the search to the end of the RUN, so thousands of them would cost
commands x lines; past the budget a command gets the line of the one before it."""


def _locate_all(cmds: Sequence[Cmd], lines: Sequence[str], start: int, end: int) -> list[Cmd]:
    """Gives each command the physical line it is written on: the parser joins continuation
    lines, so the line is found by searching forward for the program's name."""
    if start == end:
        return [_with_line(c, start) for c in cmds]
    out = []
    cursor = start
    budget = _LOCATE_BUDGET_CHARS
    for cmd in cmds:
        line = cursor
        if cmd.words and budget > 0:
            token = cmd.words[0]
            second = cmd.words[1] if len(cmd.words) > 1 else None
            first_hit = found = None
            for number in range(cursor, end + 1):
                text = lines[number - 1] if number - 1 < len(lines) else ""
                budget -= len(text) + 64
                if token in text:
                    if first_hit is None:
                        first_hit = number
                    if second is None or second in text:
                        found = number
                        break
                if budget <= 0:
                    break
            if found is not None:
                line = found
            elif first_hit is not None:
                line = first_hit
        cursor = line
        out.append(_with_line(cmd, line))
    return out


def _with_line(cmd: Cmd, line: int) -> Cmd:
    return Cmd(cmd.words, cmd.name, cmd.assigns, cmd.pipeline, cmd.sudo, cmd.order, line)


_EXPANDED = frozenset(
    {"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"}
)
"""Instructions whose arguments BuildKit expands with the ARG and ENV values in force (FROM is
expanded by the parser). Every instruction's flags are too."""


class _StageEnv:
    """The ARG and ENV values of one stage, recorded in one pass over it: for each name the
    positions (index in the stage) of its assignments and the values. A stage inherits the ENV
    values its parent stage ends with (its ARGs are its own); those are looked up along the
    chain of parents when asked for, never copied into every child."""

    def __init__(self, parent: _StageEnv | None) -> None:
        self.parent = parent
        self.history: dict[str, tuple[list[int], list[str]]] = {}
        self.final_env: dict[str, str] = {}  # this stage's own ENV values at its end
        self.positions: dict[int, int] = {}  # id(instruction) -> index in the stage

    def record(self, name: str, position: int, value: str, is_env: bool) -> None:
        places, values = self.history.setdefault(name, ([], []))
        places.append(position)
        values.append(value)
        if is_env:
            self.final_env[name] = value

    def inherited(self, name: str) -> str | None:
        node = self.parent
        while node is not None:
            if name in node.final_env:
                return node.final_env[name]
            node = node.parent
        return None


class _EnvView(Mapping[str, str]):
    """The values in force just before the instruction at `position` of a stage."""

    def __init__(self, stage: _StageEnv, position: float) -> None:
        self.stage = stage
        self.position = position

    def __getitem__(self, name: str) -> str:
        found = self.stage.history.get(name)
        if found is not None:
            at = bisect.bisect_left(found[0], self.position) - 1
            if at >= 0:
                return found[1][at]
        value = self.stage.inherited(name)
        if value is None:
            raise KeyError(name)
        return value

    def _names(self) -> set[str]:
        names = {n for n, (places, _) in self.stage.history.items() if places[0] < self.position}
        node = self.stage.parent
        while node is not None:
            names.update(node.final_env)
            node = node.parent
        return names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())


class _Facts:
    """Derived once per Dockerfile and shared by every check. Everything BuildKit will expand
    (ARG and ENV values, COPY sources, LABELs, flags, ...) is expanded here once, up front and
    within the bounds of `sandbox.dockerfile.expand`, so a chain of ENVs that doubles at every
    step is refused whether or not a check asks for its value, and before it is built."""

    def __init__(self, text: str, parsed: ParsedDockerfile) -> None:
        self.parsed = parsed
        self.lines = text.removeprefix("\ufeff").split("\n")
        self.budget = ExpansionBudget()
        self.by_stage: dict[int, list[Instruction]] = {s.index: [] for s in parsed.stages}
        for ins in parsed.instructions:
            if ins.stage is not None:
                self.by_stage[ins.stage].append(ins)
        self.stage_envs: dict[int, _StageEnv] = {}
        for stage in parsed.stages:
            self.stage_envs[stage.index] = self._stage_env(stage)
        shell = _ShellBudget()
        self.runs = [
            _build_run(ins, self.lines, shell) for ins in parsed.instructions if ins.keyword == "RUN"
        ]
        self.final = parsed.stages[-1]
        self.final_chain = self.chain(self.final)

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage `stage` is FROM, if it is FROM a stage."""
        if not stage.is_stage_ref:
            return None
        parent = self.parsed.stage_named(stage.base_resolved)
        return parent if parent is not None and parent.index < stage.index else None

    def chain(self, stage: Stage) -> list[Stage]:
        """The stage, then the stage it is FROM, and so on back to one FROM an image."""
        out = [stage]
        while (parent := self.parent(out[-1])) is not None:
            out.append(parent)
        return out

    def chain_instructions(self, stage: Stage) -> list[Instruction]:
        """Instructions that shape `stage`'s image, oldest ancestor first."""
        out: list[Instruction] = []
        for st in reversed(self.chain(stage)):
            out.extend(self.by_stage[st.index])
        return out

    def expand(self, word: str, values: Mapping[str, str], ins: Instruction, what: str) -> str:
        """`word` expanded as BuildKit will, within the bounds, for `ins` (named `what`)."""
        return expand(word, values, self.parsed.escape, line=ins.start_line, what=what, budget=self.budget)[0]

    def _stage_env(self, stage: Stage) -> _StageEnv:
        parent = self.parent(stage)
        env = _StageEnv(self.stage_envs[parent.index] if parent is not None else None)
        scope = _EnvView(env, math.inf)
        defaults = self.parsed.args_before_from
        for position, ins in enumerate(self.by_stage[stage.index]):
            env.positions[id(ins)] = position
            what = f"this {ins.keyword}"
            for flag in ins.flags:
                self.expand(flag, scope, ins, what)
            if ins.keyword == "ENV":
                for name, value in zip(ins.args[::2], ins.args[1::2], strict=False):
                    env.record(name, position, self.expand(value, scope, ins, f"ENV {name}"), True)
            elif ins.keyword == "ARG":
                for token in ins.args:
                    name, eq, value = token.partition("=")
                    if eq:
                        env.record(name, position, self.expand(value, scope, ins, f"ARG {name}"), False)
                    elif defaults.get(name) is not None:
                        env.record(name, position, defaults[name] or "", False)
            elif ins.keyword in _EXPANDED:
                for arg in ins.args:
                    self.expand(arg, scope, ins, what)
                if ins.keyword in ("COPY", "ADD"):
                    for heredoc in ins.heredocs:
                        self.expand(heredoc.content, scope, ins, what)
        return env

    def env_at(self, ins: Instruction) -> Mapping[str, str]:
        """ENV (inherited through FROM <stage>) and this stage's ARG values in force at `ins`."""
        if ins.stage is None:
            return {}
        env = self.stage_envs[ins.stage]
        return _EnvView(env, env.positions.get(id(ins), math.inf))


# --------------------------------------------------------------------------- result helpers

_MAX_SHOWN = 6


class Finding(NamedTuple):
    line: int
    en: str
    ko: str


def _say(findings: Sequence[Finding]) -> Text:
    shown = list(findings[:_MAX_SHOWN])
    en = "; ".join(f"line {f.line}: {f.en}" for f in shown)
    ko = "; ".join(f"{f.line}번째 줄: {f.ko}" for f in shown)
    extra = len(findings) - len(shown)
    if extra:
        en += f"; and {extra} more"
        ko += f" 외 {extra}건"
    return Text(en, ko)


def _lines_of(findings: Iterable[Finding], *more: int) -> tuple[int, ...]:
    return tuple(sorted({f.line for f in findings} | set(more)))


def _result(
    cid: str,
    verdict: Verdict,
    value: Any,
    lines: Iterable[int],
    detail: Text,
    fraction: float | None = None,
) -> CheckResult:
    return CheckResult(cid, verdict, value, tuple(sorted(set(lines))), detail, fraction)


def _not_used(cid: str, what: str, what_ko: str) -> CheckResult:
    return _result(
        cid,
        "pass",
        "not used",
        (),
        Text(f"Not used in this Dockerfile: {what}.", f"이 Dockerfile에는 {what_ko} 단계가 없습니다."),
    )


def _share(
    cid: str, met: int, total: int, findings: Sequence[Finding], ok: Text, unit: str = "rules"
) -> CheckResult:
    """Pass when every rule is met, fail when none is, partial (credit = share met) between."""
    value = f"{met}/{total} {unit}"
    if met == total:
        return _result(cid, "pass", value, (), ok)
    verdict: Verdict = "fail" if met == 0 else "partial"
    return _result(
        cid, verdict, value, _lines_of(findings), _say(findings), None if met == 0 else met / total
    )


_JOSA = {"을": "를", "이": "가", "은": "는", "과": "와", "으로": "로"}
_TAIL = re.compile(r"([0-9A-Za-z\uac00-\ud7a3]+)[^0-9A-Za-z\uac00-\ud7a3]*$")


def _j(word: str, particle: str) -> str:
    """`word` with the Korean particle that fits how it is read (`install`을, `update`를,
    `npm ci`로): the batchim form (을, 이, 은, 과, 으로) is given. English words are read
    with a final consonant after l, m, n and ng; digits as Sino-Korean numbers."""
    match = _TAIL.search(word)
    tail = match.group(1) if match else ""
    last = tail[-1:].lower()
    if last and "\uac00" <= last <= "\ud7a3":
        jong = (ord(last) - 0xAC00) % 28
        batchim, rieul = jong != 0, jong == 8
    elif last.isdigit():
        batchim, rieul = last in "013678", last in "178"
    else:
        batchim, rieul = last in ("l", "m", "n") or tail.lower().endswith("ng"), last == "l"
    if particle == "으로":
        return word + ("으로" if batchim and not rieul else "로")
    return word + (particle if batchim else _JOSA[particle])


def _clip(text: str, size: int = 60) -> str:
    """Student text quoted in feedback, cut short: thousands of findings may quote it."""
    return text if len(text) <= size else text[: size - 1] + "…"


def _code(words: Sequence[str], limit: int = 4) -> str:
    shown = " ".join(_clip(w) for w in words[:limit])
    return f"`{shown}{' …' if len(words) > limit else ''}`"


def _subcommand(cmd: Cmd, arg_opts: frozenset[str] = frozenset()) -> tuple[str, int]:
    """The first word after the program that is not an option, and its index."""
    words = cmd.words
    i = 1
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            i += 2 if word in arg_opts else 1
            continue
        return word.lower(), i
    return "", len(words)


# --------------------------------------------------------------------------- image references


def _split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    ref, _, digest = ref.partition("@")
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :], digest or None
    return ref, None, digest or None


_ALPINE_TAG = re.compile(r"(^|[-_.])alpine")


def _slim_kind(ref: str) -> str | None:
    """Why a base counts as small (scratch, distroless, slim, alpine, ...), None when it doesn't."""
    lowered = ref.lower()
    if lowered == "scratch":
        return "scratch"
    repo, tag, _ = _split_image(lowered)
    last = repo.rsplit("/", 1)[-1]
    tag_words = set(re.split(r"[-_.]", tag or ""))
    if "distroless" in repo or "distroless" in tag_words:
        return "distroless"
    if repo.startswith("cgr.dev/chainguard/"):
        return "Chainguard (minimal)"
    if "chiseled" in tag_words or "chiseled" in last:
        return "chiseled (distroless)"
    if last in ("alpine", "busybox"):
        return last
    if _ALPINE_TAG.search(tag or ""):
        return "alpine"
    if "slim" in tag_words or "slim" in last.split("-"):
        return "slim"
    if {"minimal", "micro"} & set(re.split(r"[-_.]", last)):
        return "minimal"
    return None


# --------------------------------------------------------------------------- criteria


@static_criterion(
    "opt.multi_stage",
    category="optimisation",
    title=Text("Multi-stage build", "멀티 스테이지 빌드"),
    why=Text(
        "Compilers, build tools and source code stay in a build stage and the final image gets only "
        "what runs: often hundreds of MB less, and fewer packages an attacker could use.",
        "컴파일러, 빌드 도구, 소스 코드는 빌드 스테이지에 남고 최종 이미지에는 실행에 필요한 것만 "
        "들어갑니다. "
        "이미지가 수백 MB 줄어드는 경우가 많고, 공격자가 악용할 수 있는 패키지도 줄어듭니다.",
    ),
    fix=Text(
        "Build in one stage, then start the final stage from a small base and copy only the result:\n"
        "```\nFROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\n"
        "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n```",
        "한 스테이지에서 빌드한 뒤, 작은 베이스로 시작하는 최종 스테이지에 결과물만 복사하세요:\n"
        "```\nFROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\n"
        "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n```",
    ),
    default_weight=10,
)
def multi_stage(inp: StaticInput) -> CheckResult:
    cid = "opt.multi_stage"
    facts, parsed = inp.facts, inp.parsed
    final = facts.final
    count = len(parsed.stages)
    if count == 1:
        return _result(
            cid,
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
                refs = [m.from_ for m in _mounts(ins) if m.from_]
            for ref in refs:
                target = parsed.stage_named(expand(ref, {}, parsed.escape)[0])
                if target is not None and target.index not in in_chain and target.index < stage.index:
                    sources.append(target.name or str(target.index))
    if sources:
        names = ", ".join(f"`{s}`" for s in dict.fromkeys(sources))
        return _result(
            cid,
            "pass",
            count,
            (final.line,),
            Text(
                f"{count} stages; the final stage (line {final.line}) copies its files from {names}.",
                f"스테이지 {count}개: 최종 스테이지({final.line}번째 줄)가 {names}에서 결과물만 복사합니다.",
            ),
        )
    return _result(
        cid,
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


@static_criterion(
    "opt.slim_final_base",
    category="optimisation",
    title=Text("Small base for the final stage", "최종 스테이지의 작은 베이스 이미지"),
    why=Text(
        "A full base such as `python:3.11` or `golang:1.22` ships compilers, headers and hundreds of "
        "packages (around 1 GB); a slim, Alpine or distroless base is several times smaller and has far "
        "fewer CVEs to patch.",
        "`python:3.11`이나 `golang:1.22` 같은 전체 이미지는 컴파일러, 헤더, 수백 개의 패키지를 담고 있어 "
        "1GB 가까이 "
        "됩니다. slim, Alpine, distroless 베이스는 몇 배 작고 패치해야 할 CVE도 훨씬 적습니다.",
    ),
    fix=Text(
        "Use a small variant for the stage you ship: `FROM python:3.11-slim`, "
        "`FROM node:18-bookworm-slim`, `FROM gcr.io/distroless/static-debian12`, or `FROM scratch` for a "
        "static binary. Keep the full image for the build stage.",
        "실제로 배포하는 스테이지에는 작은 변형을 쓰세요: `FROM python:3.11-slim`, `FROM "
        "node:18-bookworm-slim`, "
        "`FROM gcr.io/distroless/static-debian12`, 정적 바이너리라면 `FROM scratch`. 전체 이미지는 빌드 "
        "스테이지에서만 쓰면 됩니다.",
    ),
    default_weight=10,
)
def slim_final_base(inp: StaticInput) -> CheckResult:
    cid = "opt.slim_final_base"
    chain = inp.facts.final_chain
    root = chain[-1]
    lines = {chain[0].line, root.line}
    if root.unresolved_args:
        names = ", ".join(root.unresolved_args)
        return _result(
            cid,
            "fail",
            root.base,
            lines,
            Text(
                f"line {root.line}: the final base `{root.base}` depends on ARG {names}, which has no "
                "default, so the image it runs on cannot be known.",
                f"{root.line}번째 줄: 최종 베이스 {_j(f'`{root.base}`', '이')} 기본값 없는 ARG {names}에 "
                "의존해서 어떤 "
                "이미지인지 "
                "알 수 없습니다.",
            ),
        )
    image = root.base_resolved
    via = f" (through stage `{chain[0].base_resolved}`)" if len(chain) > 1 else ""
    via_ko = f" (스테이지 {_j(f'`{chain[0].base_resolved}`', '을')} 거쳐)" if len(chain) > 1 else ""
    kind = _slim_kind(image)
    if kind is not None:
        return _result(
            cid,
            "pass",
            image,
            lines,
            Text(
                f"line {root.line}: the final stage runs on `{image}`{via}, a {kind} base.",
                f"{root.line}번째 줄: 최종 스테이지가 {kind} 베이스인 `{image}` 위에서 실행됩니다{via_ko}.",
            ),
        )
    return _result(
        cid,
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


@static_criterion(
    "sec.pinned_base",
    category="security",
    title=Text("Pinned base image tags", "베이스 이미지 태그 고정"),
    why=Text(
        "Without a tag (or with `:latest`) the same Dockerfile builds on a different base from one week "
        "to the next: builds stop being reproducible, the layer cache is invalidated without warning, "
        "and an unreviewed base can slip in.",
        "태그가 없거나 `:latest`이면 같은 Dockerfile이라도 주마다 다른 베이스로 빌드됩니다. 빌드를 재현할 "
        "수 없고, "
        "레이어 캐시가 예고 없이 무효화되며, 검토하지 않은 베이스가 섞여 들어올 수 있습니다.",
    ),
    fix=Text(
        "Name an explicit version, or a digest for full reproducibility: `FROM python:3.11-slim` or "
        "`FROM python:3.11-slim@sha256:…`. With `FROM ${BASE}`, give the ARG a pinned default: "
        "`ARG BASE=node:18-bookworm-slim`.",
        "버전을 명시하거나, 완전히 재현하려면 digest를 쓰세요: `FROM python:3.11-slim` 또는 "
        "`FROM python:3.11-slim@sha256:…`. `FROM ${BASE}`를 쓴다면 ARG에 고정된 기본값을 주세요: "
        "`ARG BASE=node:18-bookworm-slim`.",
    ),
    anchors=("hadolint DL3006", "hadolint DL3007", "trivy DS001", "checkov CKV_DOCKER_7"),
)
def pinned_base(inp: StaticInput) -> CheckResult:
    cid = "sec.pinned_base"
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
                    f"{_j(f'`FROM {stage.base}`', '이')} 기본값 없는 {_j(f'ARG {names}', '을')} 써서 "
                    "베이스가 고정되지 않습니다",
                )
            )
            continue
        image = stage.base_resolved
        if image.lower() == "scratch":
            continue
        _, tag, digest = _split_image(image)
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
                    f"{_j(f'`{image}`', '은')} 계속 바뀌는 `latest` 태그입니다",
                )
            )
        else:
            pinned.append(image)
    if findings:
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    if not pinned:
        return _result(
            cid,
            "pass",
            0,
            (),
            Text("No external base image (scratch only).", "외부 베이스 이미지가 없습니다(scratch만 사용)."),
        )
    names = ", ".join(f"`{p}`" for p in dict.fromkeys(pinned))
    return _result(
        cid,
        "pass",
        0,
        (),
        Text(f"Every base is pinned: {names}.", f"모든 베이스가 고정되어 있습니다: {names}."),
    )


def _user_is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


@static_criterion(
    "sec.final_user",
    category="security",
    title=Text("Non-root user in the final image", "최종 이미지는 root가 아닌 사용자로 실행"),
    why=Text(
        "A process running as root in the container is root on the kernel it shares with the host: one "
        "container-escape bug or writable mount then gives an attacker full control.",
        "컨테이너 안에서 root로 실행되는 프로세스는 호스트와 공유하는 커널에서도 root입니다. 컨테이너 "
        "탈출 버그나 "
        "쓰기 가능한 마운트 하나만 있어도 공격자가 모든 권한을 얻습니다.",
    ),
    fix=Text(
        "Create a user and switch to it at the end of the final stage:\n"
        "```\nRUN useradd --uid 10001 --no-create-home app\nUSER 10001\n```\n"
        "(Alpine: `adduser -D -u 10001 app`; distroless: use a `:nonroot` tag).",
        "사용자를 만들고 최종 스테이지 끝에서 그 사용자로 전환하세요:\n"
        "```\nRUN useradd --uid 10001 --no-create-home app\nUSER 10001\n```\n"
        "(Alpine은 `adduser -D -u 10001 app`, distroless는 `:nonroot` 태그를 쓰세요).",
    ),
    anchors=(
        "hadolint DL3002",
        "trivy DS002",
        "checkov CKV_DOCKER_3",
        "checkov CKV_DOCKER_8",
        "dockle CIS-DI-0001",
    ),
    default_weight=10,
)
def final_user(inp: StaticInput) -> CheckResult:
    cid = "sec.final_user"
    facts = inp.facts
    users = [i for i in facts.chain_instructions(facts.final) if i.keyword == "USER"]
    final_line = facts.final.line
    if not users:
        root = facts.final_chain[-1]
        _, tag, _ = _split_image(root.base_resolved)
        if tag and "nonroot" in tag.lower():
            return _result(
                cid,
                "pass",
                "nonroot (base image)",
                (root.line,),
                Text(
                    f"line {root.line}: no USER, but `{root.base_resolved}` already runs as a non-root user.",
                    f"{root.line}번째 줄: USER는 없지만 {_j(f'`{root.base_resolved}`', '이')} 이미 root가 "
                    "아닌 사용자로 "
                    "실행됩니다.",
                ),
            )
        return _result(
            cid,
            "fail",
            "root (no USER)",
            (final_line,),
            Text(
                f"line {final_line}: the final stage never sets USER, so the container runs as root.",
                f"{final_line}번째 줄: 최종 스테이지에 USER가 없어 컨테이너가 root로 실행됩니다.",
            ),
        )
    last = users[-1]
    raw = " ".join(last.args)
    user = facts.expand(raw, facts.env_at(last), last, "this USER").strip()
    if not _user_is_root(user):
        return _result(
            cid,
            "pass",
            user,
            (last.start_line,),
            Text(
                f"line {last.start_line}: the container runs as `{user}`.",
                f"{last.start_line}번째 줄: 컨테이너가 `{user}` 사용자로 실행됩니다.",
            ),
        )
    earlier = next((u for u in reversed(users[:-1]) if not _user_is_root(" ".join(u.args))), None)
    if earlier is not None:
        detail = Text(
            f"line {last.start_line}: `USER {raw}` comes after `USER {' '.join(earlier.args)}` "
            f"(line {earlier.start_line}), so the container runs as root again; switch back after the "
            "root-only steps.",
            f"{last.start_line}번째 줄: {_j(f'`USER {raw}`', '이')} `USER "
            f"{' '.join(earlier.args)}`({earlier.start_line}번째 줄) "
            "뒤에 있어 컨테이너가 다시 root로 실행됩니다. root가 필요한 단계 뒤에 다시 일반 사용자로 "
            "바꾸세요.",
        )
    else:
        detail = Text(
            f"line {last.start_line}: `USER {raw}` runs the container as root.",
            f"{last.start_line}번째 줄: {_j(f'`USER {raw}`', '은')} 컨테이너를 root로 실행합니다.",
        )
    return _result(cid, "fail", user or "root", (last.start_line,), detail)


_APT = frozenset({"apt-get", "apt"})
_APT_ARG_OPTS = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release"})
_APT_INSTALLS = frozenset({"install", "reinstall", "build-dep", "upgrade", "dist-upgrade", "full-upgrade"})
_RECOMMENDS_OFF = re.compile(r"APT::Install-Recommends\s*+\"?+\s*+[:=]?+\s*+\"?+(0|false)", re.IGNORECASE)
"""Possessive, so a run of blanks is not split every way between the `\\s*` (cubic time); the
blanks, the quote and `:=` are disjoint, so it matches what the plain pattern did."""


def _rm_targets(cmd: Cmd) -> list[str]:
    if cmd.name != "rm":
        return []
    return [w for w in cmd.words[1:] if not w.startswith("-")]


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


@static_criterion(
    "opt.apt_hygiene",
    category="optimisation",
    title=Text("Clean apt-get installs", "깔끔한 apt-get 설치"),
    why=Text(
        "`apt-get update` in a RUN of its own is cached and goes stale, so a later install fails or gets "
        "old packages; recommended packages and the lists left in `/var/lib/apt/lists` add tens of MB "
        "to the layer.",
        "`apt-get update`만 따로 있는 RUN은 캐시되어 오래된 목록을 쓰게 되므로 나중에 설치가 실패하거나 옛 "
        "패키지가 "
        "설치됩니다. 추천 패키지와 `/var/lib/apt/lists`에 남은 목록은 레이어를 수십 MB 키웁니다.",
    ),
    fix=Text(
        "Update, install and clean up in one RUN:\n"
        "```\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n"
        " && rm -rf /var/lib/apt/lists/*\n```\n"
        "or keep apt's files out of the layer with "
        "`--mount=type=cache,target=/var/lib/apt --mount=type=cache,target=/var/cache/apt`.",
        "update, install, 정리를 한 RUN에서 하세요:\n"
        "```\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n"
        " && rm -rf /var/lib/apt/lists/*\n```\n"
        "또는 `--mount=type=cache,target=/var/lib/apt --mount=type=cache,target=/var/cache/apt`로 apt 파일이 "
        "레이어에 남지 않게 하세요.",
    ),
    anchors=(
        "hadolint DL3009",
        "hadolint DL3015",
        "trivy DS017",
        "trivy DS029",
        "checkov CKV_DOCKER_5",
        "dockle DKL-DI-0005",
    ),
)
def apt_hygiene(inp: StaticInput) -> CheckResult:
    """Rules per RUN that installs: update in the same RUN, --no-install-recommends on each
    install, lists removed after the install (or a cache/tmpfs mount on /var/lib/apt). A mount
    on /var/cache/apt alone does not count for the lists: they live in /var/lib/apt/lists."""
    cid = "opt.apt_hygiene"
    findings: list[Finding] = []
    met = total = 0
    recommends_off = False
    for run in inp.facts.runs:
        if _RECOMMENDS_OFF.search(run.text):
            recommends_off = True
        apt = [(c, _subcommand(c, _APT_ARG_OPTS)[0]) for c in run.cmds if c.name in _APT]
        installs = [c for c, sub in apt if sub in _APT_INSTALLS]
        updates = [c for c, sub in apt if sub == "update"]
        if not installs:
            for c in updates:
                total += 1
                findings.append(
                    Finding(
                        c.line,
                        f"{_code(c.words[:2])} alone in a RUN: its cached layer goes stale; update and "
                        "install "
                        "in the same RUN",
                        f"{_code(c.words[:2])}만 있는 RUN은 캐시된 레이어가 오래된 목록이 됩니다. update와 "
                        "install을 "
                        "같은 RUN에서 하세요",
                    )
                )
            continue
        first = installs[0]
        total += 1
        if updates:
            met += 1
        else:
            findings.append(
                Finding(
                    first.line,
                    f"{_code(first.words[:2])} without `apt-get update` in the same RUN",
                    f"{_j(_code(first.words[:2]), '과')} 같은 RUN에 `apt-get update`가 없습니다",
                )
            )
        for c in installs:
            if _subcommand(c, _APT_ARG_OPTS)[0] not in ("install", "reinstall", "build-dep"):
                continue
            total += 1
            if recommends_off or _no_recommends(c):
                met += 1
            else:
                findings.append(
                    Finding(
                        c.line,
                        f"{_code(c.words[:2])} without `--no-install-recommends`",
                        f"{_code(c.words[:2])}에 `--no-install-recommends`가 없습니다",
                    )
                )
        total += 1
        last = installs[-1]
        cleaned = _removes(run, last, _apt_lists_path) or any(
            c.name in _APT and _subcommand(c, _APT_ARG_OPTS)[0] in ("distclean", "dist-clean")
            for c in run.later(last)
        )
        if cleaned or run.cache_mount_covers(lambda t: t in ("/var/lib/apt", "/var/lib/apt/lists")):
            met += 1
        else:
            findings.append(
                Finding(
                    last.line,
                    "`/var/lib/apt/lists` is not removed in the same RUN (add `&& rm -rf "
                    "/var/lib/apt/lists/*`)",
                    "같은 RUN에서 `/var/lib/apt/lists`를 지우지 않습니다(`&& rm -rf "
                    "/var/lib/apt/lists/*` 추가)",
                )
            )
    if total == 0:
        return _not_used(cid, "apt-get", "apt-get")
    return _share(
        cid,
        met,
        total,
        findings,
        Text(
            f"Every apt-get RUN updates, installs without recommends and removes its lists ({met}/{total}).",
            f"모든 apt-get RUN이 update, 추천 패키지 없는 install, 목록 삭제를 함께 합니다({met}/{total}).",
        ),
    )


def _is_pip(cmd: Cmd) -> tuple[bool, int]:
    """Whether the command is pip, and the index of the word after `pip` / `-m pip`."""
    if _PIP_RE.match(cmd.name):
        return True, 1
    if _PY_RE.match(cmd.name):
        words = cmd.words
        for i in range(1, len(words) - 1):
            if words[i] == "-m" and words[i + 1] in ("pip", "pip3"):
                return True, i + 2
            if not words[i].startswith("-"):
                break
    return False, 0


def _pip_sub(cmd: Cmd) -> str:
    ok, start = _is_pip(cmd)
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


@static_criterion(
    "opt.pip_cache",
    category="optimisation",
    title=Text("pip without a cache in the image", "이미지에 pip 캐시 남기지 않기"),
    why=Text(
        "pip keeps every downloaded wheel in `~/.cache/pip`; in an image that cache is dead weight, often "
        "tens to hundreds of MB (numpy, torch).",
        "pip은 내려받은 wheel을 모두 `~/.cache/pip`에 보관합니다. 이미지 안에서는 쓸모없는 짐이고, numpy나 "
        "torch라면 "
        "수십에서 수백 MB가 됩니다.",
    ),
    fix=Text(
        "`RUN pip install --no-cache-dir -r requirements.txt`, or keep the cache outside the image with "
        "`RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt` "
        "(or `ENV PIP_NO_CACHE_DIR=1`).",
        "`RUN pip install --no-cache-dir -r requirements.txt`로 설치하거나, "
        "`RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt`로 캐시를 "
        "이미지 밖에 "
        "두세요(`ENV PIP_NO_CACHE_DIR=1`도 됩니다).",
    ),
    anchors=("hadolint DL3042",),
    default_weight=3,
)
def pip_cache(inp: StaticInput) -> CheckResult:
    cid = "opt.pip_cache"
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
                findings.append(
                    Finding(
                        c.line,
                        f"{_code(c.words)} without `--no-cache-dir` or a pip cache mount",
                        f"{_code(c.words)}에 `--no-cache-dir`도 pip 캐시 마운트도 없습니다",
                    )
                )
    if total == 0:
        return _not_used(cid, "pip install", "pip install")
    return _share(
        cid,
        met,
        total,
        findings,
        Text(
            f"Every pip install ({total}) leaves no cache in the image.",
            f"모든 pip install({total}개)이 이미지에 캐시를 남기지 않습니다.",
        ),
        "pip installs without cache",
    )


_NPM_INSTALL = frozenset(
    {"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "add"}
)
_NPM_CI = frozenset({"ci", "clean-install", "ic", "install-clean", "isntall-clean"})
_NPM_ARG_OPTS = frozenset(
    {
        "--prefix",
        "--cache",
        "--registry",
        "--loglevel",
        "--omit",
        "--include",
        "-w",
        "--workspace",
        "--userconfig",
    }
)


def _npm_packages(cmd: Cmd, start: int) -> list[str]:
    out = []
    words = cmd.words
    i = start
    while i < len(words):
        if words[i].startswith("-"):
            i += 2 if words[i] in _NPM_ARG_OPTS else 1
            continue
        out.append(words[i])
        i += 1
    return out


@static_criterion(
    "opt.npm_hygiene",
    category="optimisation",
    title=Text("Reproducible npm installs without the cache", "재현 가능한 npm 설치와 캐시 정리"),
    why=Text(
        "`npm ci` installs exactly what `package-lock.json` says and fails if it disagrees with "
        "`package.json`; `npm install` may resolve different versions on each build. npm's cache in "
        "`/root/.npm` adds tens of MB to the layer.",
        "`npm ci`는 `package-lock.json`에 적힌 그대로 설치하고 `package.json`과 맞지 않으면 실패합니다. "
        "`npm install`은 빌드할 때마다 다른 버전을 고를 수 있습니다. `/root/.npm`의 npm 캐시는 레이어를 "
        "수십 MB "
        "키웁니다.",
    ),
    fix=Text(
        "```\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev && npm cache clean --force\n```\n"
        "or `RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev`.",
        "```\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev && npm cache clean --force\n```\n"
        "또는 `RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev`를 쓰세요.",
    ),
    default_weight=3,
)
def npm_hygiene(inp: StaticInput) -> CheckResult:
    """Rules: each dependency install (`npm install` with no package names, not global) is
    `npm ci`; each RUN that installs cleans the cache after it or mounts a cache on `.npm`."""
    cid = "opt.npm_hygiene"
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        installs: list[Cmd] = []
        for c in run.cmds:
            if c.name != "npm":
                continue
            sub, at = _subcommand(c, _NPM_ARG_OPTS)
            if sub in _NPM_CI:
                installs.append(c)
            elif sub in _NPM_INSTALL:
                installs.append(c)
                if c.has_flag("-g", "--global") or "--location=global" in c.words:
                    continue
                if _npm_packages(c, at + 1):
                    continue
                total += 1
                findings.append(
                    Finding(
                        c.line,
                        f"{_code(c.words)} installs dependencies; use `npm ci` for a lockfile-exact install",
                        f"{_j(_code(c.words), '으로')} 의존성을 설치합니다. lockfile 그대로 설치하는 `npm "
                        "ci`를 쓰세요",
                    )
                )
        if not installs:
            continue
        met += sum(1 for c in installs if _subcommand(c, _NPM_ARG_OPTS)[0] in _NPM_CI)
        total += sum(1 for c in installs if _subcommand(c, _NPM_ARG_OPTS)[0] in _NPM_CI)
        last = installs[-1]
        total += 1
        cleaned = any(
            c.name == "npm"
            and _subcommand(c, _NPM_ARG_OPTS)[0] == "cache"
            and any(w in ("clean", "clear", "rm") for w in c.words)
            for c in run.later(last)
        ) or _removes(run, last, lambda t: ".npm" in t)
        env = inp.facts.env_at(run.ins)
        npm_cache = env.get("npm_config_cache") or env.get("NPM_CONFIG_CACHE")
        mounted = any(t.endswith("/.npm") or ".npm/" in t or t == npm_cache for t in run.cache_targets)
        if cleaned or mounted:
            met += 1
        else:
            findings.append(
                Finding(
                    last.line,
                    f"{_code(last.words)} leaves npm's cache in the layer (add `&& npm cache clean --force` "
                    "or a cache mount on /root/.npm)",
                    f"{_j(_code(last.words), '이')} npm 캐시를 레이어에 남깁니다(`&& npm cache clean "
                    "--force` 또는 "
                    "/root/.npm 캐시 마운트를 추가하세요)",
                )
            )
    if total == 0:
        return _not_used(cid, "npm install", "npm install")
    return _share(
        cid,
        met,
        total,
        findings,
        Text(
            "npm installs use `npm ci` and leave no cache in the image.",
            "npm 설치가 `npm ci`를 쓰고 이미지에 캐시를 남기지 않습니다.",
        ),
    )


@static_criterion(
    "opt.apk_cache",
    category="optimisation",
    title=Text("apk add --no-cache", "apk add에 --no-cache 사용"),
    why=Text(
        "Without `--no-cache`, apk leaves its package index in `/var/cache/apk` in the layer; on a 5 MB "
        "Alpine base that is a noticeable share of the image.",
        "`--no-cache` 없이 설치하면 apk가 패키지 인덱스를 `/var/cache/apk`에 남깁니다. 5MB짜리 Alpine "
        "베이스에서는 "
        "이미지에서 눈에 띄는 비중입니다.",
    ),
    fix=Text(
        "`RUN apk add --no-cache curl` (or `--mount=type=cache,target=/var/cache/apk`).",
        "`RUN apk add --no-cache curl`처럼 쓰세요(또는 `--mount=type=cache,target=/var/cache/apk`).",
    ),
    anchors=("hadolint DL3019", "trivy DS025"),
    default_weight=3,
)
def apk_cache(inp: StaticInput) -> CheckResult:
    cid = "opt.apk_cache"
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
                or _subcommand(c, frozenset({"-X", "--repository", "-p", "--root"}))[0] != "add"
            ):
                continue
            total += 1
            cleaned = cleaned_at > c.order
            if c.has_flag("--no-cache") or mounted or cleaned:
                met += 1
            else:
                findings.append(
                    Finding(
                        c.line,
                        f"{_code(c.words)} without `--no-cache`",
                        f"{_code(c.words)}에 `--no-cache`가 없습니다",
                    )
                )
    if total == 0:
        return _not_used(cid, "apk add", "apk add")
    return _share(
        cid,
        met,
        total,
        findings,
        Text(f"Every apk add ({total}) uses --no-cache.", f"모든 apk add({total}개)가 --no-cache를 씁니다."),
        "apk adds without cache",
    )


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
        and _subcommand(cmd, _YUM_ARG_OPTS)[0] in ("clean", "cc")
        and (zypper or "all" in cmd.words)
    )


@static_criterion(
    "opt.yum_clean",
    category="optimisation",
    title=Text("Clean yum/dnf/zypper caches", "yum/dnf/zypper 캐시 정리"),
    why=Text(
        "yum, dnf and zypper keep repository metadata and downloaded packages under `/var/cache`; left in "
        "the layer that is often 100 MB or more.",
        "yum, dnf, zypper는 저장소 메타데이터와 내려받은 패키지를 `/var/cache`에 보관합니다. 레이어에 "
        "남기면 100MB를 "
        "넘는 경우가 많습니다.",
    ),
    fix=Text(
        "Clean in the same RUN: `RUN dnf install -y httpd && dnf clean all` (`yum clean all`, "
        "`microdnf clean all`, `zypper clean --all`).",
        "같은 RUN에서 정리하세요: `RUN dnf install -y httpd && dnf clean all` (`yum clean all`, "
        "`microdnf clean all`, `zypper clean --all`).",
    ),
    anchors=(
        "hadolint DL3032",
        "hadolint DL3040",
        "hadolint DL3036",
        "trivy DS015",
        "trivy DS019",
        "trivy DS020",
    ),
    default_weight=3,
)
def yum_clean(inp: StaticInput) -> CheckResult:
    cid = "opt.yum_clean"
    findings: list[Finding] = []
    met = total = 0
    for run in inp.facts.runs:
        cleaned_at: dict[bool, int] = {}  # zypper or not -> last clean (rm of the cache included)
        for c in run.cmds:
            sub = _subcommand(c, _YUM_ARG_OPTS)[0]
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
                    Finding(
                        c.line,
                        f"{_code(c.words)} without `{clean}` in the same RUN",
                        f"{_j(_code(c.words), '과')} 같은 RUN에 {_j(f'`{clean}`', '이')} 없습니다",
                    )
                )
    if total == 0:
        return _not_used(cid, "yum/dnf/zypper", "yum/dnf/zypper")
    return _share(
        cid,
        met,
        total,
        findings,
        Text(
            f"Every package install ({total}) cleans its cache.",
            f"모든 패키지 설치({total}개)가 캐시를 정리합니다.",
        ),
        "installs cleaned",
    )


_SECRET_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "PWD_SECRET",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "APIKEY",
        "PRIVATEKEY",
        "AUTHTOKEN",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("API", "KEY"),
        ("ACCESS", "KEY"),
        ("PRIVATE", "KEY"),
        ("SECRET", "KEY"),
        ("AUTH", "KEY"),
        ("CLIENT", "SECRET"),
        ("ENCRYPTION", "KEY"),
        ("MASTER", "KEY"),
        ("SIGNING", "KEY"),
        ("LICENSE", "KEY"),
    }
)
_NOT_SECRET_LAST = frozenset(
    {"URL", "URI", "PATH", "FILE", "DIR", "HOST", "ENDPOINT", "SERVER", "NAME", "USER", "USERNAME", "TYPE"}
)
_PUBLIC_KEY_PREFIX = frozenset({"PUBLIC", "PUB", "GPG", "PGP", "SORT", "CACHE", "PARTITION"})
_KEY_VALUE_RE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{30}|glpat-[A-Za-z0-9_-]{20}"
    r"|xox[abposr]-[A-Za-z0-9-]{10}|sk-[A-Za-z0-9_-]{20}|AIza[0-9A-Za-z_-]{35}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}+\.eyJ[A-Za-z0-9_-]{10,}+\."
)
"""Searched, never matched whole: `{30}` finds what `{30,}` did without running to the end of
every `github_pat_` in a long value, and a JWT is tried only where a run of its characters
starts (`eyJeyJeyJ...` would otherwise be re-read from every `eyJ`: quadratic)."""
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def secret_name(name: str) -> bool:
    """Whether an ARG/ENV name says it holds a secret. Names that point at a secret (`*_FILE`,
    `*_URL`, `*_PATH`) and public-key material used to verify downloads (`GPG_KEY`,
    `PUBLIC_KEY`) are not secrets; `TOKENIZERS_PARALLELISM` and `KEYBOARD` are not either."""
    tokens = [t.upper() for t in _TOKEN_SPLIT.split(name) if t]
    if not tokens or tokens[-1] in _NOT_SECRET_LAST:
        return False
    if any(t in _SECRET_WORDS for t in tokens):
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(tokens)):
        return True
    if tokens[-1] in ("KEY", "KEYS"):
        return len(tokens) == 1 or tokens[-2] not in _PUBLIC_KEY_PREFIX
    return False


def _entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def secret_value(value: str) -> bool:
    """Whether a value looks like a credential: a known key format, or a long random string
    (hex-only strings are checksums and fingerprints, not flagged)."""
    value = value.strip().strip("\"'")
    if _KEY_VALUE_RE.search(value):
        return True
    if len(value) < 32 or "$" in value or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", value):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", value):
        return False
    classes = sum(1 for pattern in ("[a-z]", "[A-Z]", "[0-9]") if re.search(pattern, value))
    return classes == 3 and _entropy(value) >= 4.2


def _arg_env_pairs(ins: Instruction) -> list[tuple[str, str | None]]:
    if ins.keyword == "ENV":
        return [(k, v) for k, v in zip(ins.args[::2], ins.args[1::2], strict=False)]
    if ins.keyword == "ARG":
        out: list[tuple[str, str | None]] = []
        for token in ins.args:
            name, eq, value = token.partition("=")
            out.append((name, value if eq else None))
        return out
    return []


def _all_instructions(parsed: ParsedDockerfile) -> Iterable[Instruction]:
    for ins in parsed.instructions:
        yield ins.inner if ins.inner is not None else ins


@static_criterion(
    "sec.no_secret_args",
    category="security",
    title=Text("No secrets in ARG or ENV", "ARG와 ENV에 비밀 값 넣지 않기"),
    why=Text(
        "ENV values are stored in the image config and ARG values used by a RUN show up in "
        "`docker history`: anyone who can pull the image can read the secret.",
        "ENV 값은 이미지 설정에 저장되고, RUN에서 쓴 ARG 값은 `docker history`에 드러납니다. 이미지를 받을 "
        "수 있는 "
        "사람이면 누구나 그 비밀 값을 읽을 수 있습니다.",
    ),
    fix=Text(
        "Give the secret to the one RUN that needs it with a secret mount, which never lands in a layer:\n"
        "```\nRUN --mount=type=secret,id=npm_token \\\n    NPM_TOKEN=$(cat /run/secrets/npm_token) npm "
        "ci\n```\n"
        "and build with `docker build --secret id=npm_token,env=NPM_TOKEN .`. Runtime secrets come from "
        "the environment when the container starts, not from the image.",
        "비밀 값은 필요한 RUN 하나에만 secret 마운트로 넘기세요. 레이어에 남지 않습니다:\n"
        "```\nRUN --mount=type=secret,id=npm_token \\\n    NPM_TOKEN=$(cat /run/secrets/npm_token) npm "
        "ci\n```\n"
        "빌드는 `docker build --secret id=npm_token,env=NPM_TOKEN .`으로 합니다. 실행할 때 필요한 비밀 값은 "
        "이미지가 아니라 컨테이너를 시작할 때 환경 변수로 주입하세요.",
    ),
    anchors=("hadolint DL3064", "trivy DS031", "dockle CIS-DI-0010"),
    default_weight=10,
)
def no_secret_args(inp: StaticInput) -> CheckResult:
    """Never repeats a secret value in the detail: the feedback is shown and stored."""
    cid = "sec.no_secret_args"
    findings: list[Finding] = []
    names: list[str] = []
    for ins in _all_instructions(inp.parsed):
        for name, value in _arg_env_pairs(ins):
            if secret_name(name):
                names.append(name)
                findings.append(
                    Finding(
                        ins.start_line,
                        f"{ins.keyword} `{name}` looks like a secret and stays readable in the image",
                        f"{ins.keyword} {_j(f'`{name}`', '은')} 비밀 값으로 보이며 이미지에서 읽을 "
                        "수 있습니다",
                    )
                )
            elif value is not None and secret_value(value):
                names.append(name)
                findings.append(
                    Finding(
                        ins.start_line,
                        f"the value of {ins.keyword} `{name}` looks like a key or token",
                        f"{ins.keyword} `{name}`의 값이 키나 토큰처럼 보입니다",
                    )
                )
    if findings:
        return _result(cid, "fail", names, _lines_of(findings), _say(findings))
    return _result(
        cid,
        "pass",
        [],
        (),
        Text("No ARG or ENV looks like a secret.", "비밀 값으로 보이는 ARG나 ENV가 없습니다."),
    )


_CURL_ARG_SHORT = frozenset("oOHdXAeubcTwmCKErYyzFUQPxD")
_TLS_ENV_OFF: dict[str, Callable[[str], bool]] = {
    "NODE_TLS_REJECT_UNAUTHORIZED": lambda v: v.strip() == "0",
    "PYTHONHTTPSVERIFY": lambda v: v.strip() == "0",
    "GIT_SSL_NO_VERIFY": lambda v: v.strip().lower() not in ("", "0", "false", "no"),
    "NPM_CONFIG_STRICT_SSL": lambda v: v.strip().lower() in ("false", "0", "no"),
    "PIP_TRUSTED_HOST": lambda v: v.strip() != "",
    "CURL_INSECURE": lambda v: v.strip().lower() not in ("", "0", "false", "no"),
}
_GIT_SSL_TAIL = re.compile(r"sslverify\s*+=?+\s*+(?:false|0|no|off)$", re.IGNORECASE)
_APT_VERIFY_OFF = re.compile(
    r"Acquire::https?::(?:[^=:]*+::)?Verify-(Peer|Host)(?:\s*+=\s*+|[^\S ]*+ \s*+)\"?false", re.IGNORECASE
)
"""`\\s*[= ]\\s*` written so that a run of blanks has one reading (possessive), not one per split."""


def _git_ssl_off(word: str) -> bool:
    """What `http\\.(?:[^ =]*\\.)?sslverify\\s*=?\\s*(false|0|no|off)$` says (`http.sslVerify=false`,
    `http.https://host/.sslverify false`), found from the end in linear time: that pattern
    backtracks over every dot after every `http.` in the word."""
    tail = _GIT_SSL_TAIL.search(word)
    if tail is None:
        return False
    head = word[: tail.start()].lower()
    if head.endswith("http."):
        return True
    at = head.rfind("http.")
    between = head[at + 5 :]
    return at >= 0 and between.endswith(".") and " " not in between and "=" not in between


def _curl_insecure(cmd: Cmd) -> bool:
    for word in cmd.words[1:]:
        if word == "--insecure":
            return True
        if word.startswith("-") and not word.startswith("--"):
            for letter in word[1:]:
                if letter == "k":
                    return True
                if letter in _CURL_ARG_SHORT:
                    break
    return False


def _tls_off_env(name: str, value: str) -> bool:
    check = _TLS_ENV_OFF.get(name.upper())
    return check is not None and check(value)


def _assigned(cmd: Cmd) -> list[tuple[str, str]]:
    pairs = list(cmd.assigns)
    if cmd.name in ("export", "declare", "typeset", "readonly", "local"):
        for word in cmd.words[1:]:
            if _ASSIGN_RE.match(word):
                key, _, value = word.partition("=")
                pairs.append((key, value))
    return pairs


def _tls_problem(cmd: Cmd) -> tuple[str, str] | None:
    words = cmd.words
    lowered = [w.lower() for w in words]
    if cmd.name == "curl" and _curl_insecure(cmd):
        return (
            "`curl -k/--insecure` skips certificate checks",
            "`curl -k/--insecure`는 인증서 검증을 건너뜁니다",
        )
    if cmd.name == "wget" and cmd.has_flag("--no-check-certificate"):
        return "`wget --no-check-certificate`", "`wget --no-check-certificate`는 인증서 검증을 건너뜁니다"
    if (_is_pip(cmd)[0] or cmd.name in ("uv", "poetry")) and (
        cmd.has_flag("--trusted-host") or any("trusted-host" in w for w in lowered[1:])
    ):
        return (
            "pip `--trusted-host` accepts any certificate",
            "pip `--trusted-host`는 아무 인증서나 받아들입니다",
        )
    if cmd.name in ("npm", "yarn", "pnpm"):
        joined = " ".join(lowered[1:])
        if re.search(r"strict-ssl(\s+|=)(false|0)", joined) or "--strict-ssl=false" in lowered:
            return (
                f"`{cmd.name}` with `strict-ssl false`",
                f"`{cmd.name}`의 `strict-ssl false`는 인증서 검증을 끕니다",
            )
    if cmd.name == "git":
        for i, word in enumerate(words):
            if _git_ssl_off(word) or (
                word.lower().endswith("sslverify")
                and i + 1 < len(words)
                and words[i + 1].lower() in ("false", "0")
            ):
                return (
                    "git with `http.sslVerify=false`",
                    "git의 `http.sslVerify=false`는 인증서 검증을 끕니다",
                )
    if cmd.name in _APT and any(_APT_VERIFY_OFF.search(w) for w in words):
        return "apt with `Verify-Peer false`", "apt의 `Verify-Peer false`는 인증서 검증을 끕니다"
    for name, value in _assigned(cmd):
        if _tls_off_env(name, value):
            return (
                f"`{name}={value}` turns TLS verification off",
                f"{_j(f'`{name}={value}`', '은')} TLS 검증을 끕니다",
            )
    return None


@static_criterion(
    "sec.tls_verify",
    category="security",
    title=Text("TLS verification stays on", "TLS 인증서 검증 유지"),
    why=Text(
        "Turning off certificate checks (`curl -k`, `--trusted-host`, `NODE_TLS_REJECT_UNAUTHORIZED=0`) lets "
        "anyone on the network path swap the packages and scripts you download for their own.",
        "인증서 검증을 끄면(`curl -k`, `--trusted-host`, `NODE_TLS_REJECT_UNAUTHORIZED=0`) 네트워크 "
        "경로에 있는 "
        "누구든 내려받는 패키지와 스크립트를 자기 것으로 바꿔치기할 수 있습니다.",
    ),
    fix=Text(
        "Remove the flag. If a private registry uses its own CA, trust that CA instead: "
        "`COPY corp-ca.crt /usr/local/share/ca-certificates/` then `RUN update-ca-certificates` "
        "(or `pip --cert`, `npm config set cafile`).",
        "해당 옵션을 지우세요. 사내 레지스트리가 자체 CA를 쓴다면 그 CA를 신뢰하도록 추가하세요: "
        "`COPY corp-ca.crt /usr/local/share/ca-certificates/` 후 `RUN update-ca-certificates` "
        "(또는 `pip --cert`, `npm config set cafile`).",
    ),
    anchors=("checkov CKV2_DOCKER_2…16",),
)
def tls_verify(inp: StaticInput) -> CheckResult:
    cid = "sec.tls_verify"
    findings: list[Finding] = []
    for ins in _all_instructions(inp.parsed):
        if ins.keyword in ("ENV", "ARG"):
            for name, value in _arg_env_pairs(ins):
                if value is not None and _tls_off_env(name, value.strip("\"'")):
                    findings.append(
                        Finding(
                            ins.start_line,
                            f"{ins.keyword} `{name}={value}` turns TLS verification off",
                            f"{ins.keyword} {_j(f'`{name}={value}`', '은')} TLS 검증을 끕니다",
                        )
                    )
    for run in inp.facts.runs:
        for c in run.cmds:
            problem = _tls_problem(c)
            if problem is not None:
                findings.append(Finding(c.line, problem[0], problem[1]))
    if findings:
        findings.sort(key=lambda f: f.line)
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    return _result(
        cid, "pass", 0, (), Text("No step turns TLS verification off.", "TLS 검증을 끄는 단계가 없습니다.")
    )


_ARCHIVE_RE = re.compile(
    r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz|tbz2|tb2|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tlz|tar\.lzma|tar\.Z|tZ|gz|bz2|xz|lz|lzma|Z)$",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)


@static_criterion(
    "opt.copy_not_add",
    category="optimisation",
    title=Text("COPY rather than ADD for local files", "로컬 파일에는 ADD 대신 COPY"),
    why=Text(
        "ADD also fetches URLs and unpacks archives, so `ADD . /app` hides what it really does (a stray "
        "tarball gets extracted); COPY does only one thing and is easy to review.",
        "ADD는 URL을 내려받고 압축도 풀기 때문에 `ADD . /app`은 실제로 무슨 일을 하는지 감춥니다(섞여 든 "
        "tar 파일이 "
        "풀려 버립니다). COPY는 복사만 하므로 검토하기 쉽습니다.",
    ),
    fix=Text(
        "`COPY . /app`. Keep ADD only to unpack a local tar archive (`ADD rootfs.tar.gz /`).",
        "`COPY . /app`처럼 쓰세요. ADD는 로컬 tar 압축을 풀 때만 쓰세요(`ADD rootfs.tar.gz /`).",
    ),
    anchors=("hadolint DL3020", "trivy DS005", "checkov CKV_DOCKER_4"),
    default_weight=2,
)
def copy_not_add(inp: StaticInput) -> CheckResult:
    """Follows hadolint DL3020: local archives (which ADD unpacks) and URLs are not flagged."""
    cid = "opt.copy_not_add"
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
                    f"{_j(f'`ADD {sources}`', '은')} 로컬 파일을 복사할 뿐입니다. "
                    f"{_j(f'`COPY {sources} {ins.args[-1]}`', '을')} 쓰세요",
                )
            )
    if findings:
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    return _result(
        cid, "pass", 0, (), Text("No ADD of plain local files.", "로컬 파일에 ADD를 쓰지 않습니다.")
    )


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
_BROAD = frozenset({".", "./", "*", "./*", "/", "**"})


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
    first = _subcommand(cmd)[0]
    if name in ("poetry", "pdm") and first in ("install", "sync"):
        return "python"
    if name == "pipenv" and first in ("install", "sync"):
        return "python"
    if name == "uv" and (
        first == "sync" or (first == "pip" and len(words) > 2 and (words[2] == "sync" or "-r" in words))
    ):
        return "python"
    if name == "npm":
        sub, at = _subcommand(cmd, _NPM_ARG_OPTS)
        if sub in _NPM_CI or (
            sub in _NPM_INSTALL and not _npm_packages(cmd, at + 1) and not cmd.has_flag("-g", "--global")
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


@static_criterion(
    "opt.cache_order",
    category="optimisation",
    title=Text(
        "Dependencies installed before the source is copied", "소스보다 의존성 먼저 설치 (레이어 캐시 활용)"
    ),
    why=Text(
        "Docker reuses a layer only while every file copied before it is unchanged. With `COPY . .` before "
        "`npm ci`, editing one line of code reinstalls every dependency and a 2-second rebuild takes "
        "minutes.",
        "Docker는 앞에서 복사한 파일이 하나도 바뀌지 않았을 때만 레이어 캐시를 재사용합니다. `npm ci` 앞에 "
        "`COPY . .`가 "
        "있으면 코드 한 줄만 고쳐도 모든 의존성을 다시 설치해서 2초면 될 재빌드가 몇 분이 걸립니다.",
    ),
    fix=Text(
        "Copy only the dependency manifests, install, then copy the rest:\n"
        "```\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n```\n"
        "(Python: `COPY requirements.txt .` → `RUN pip install -r requirements.txt` → `COPY . .`; "
        "Go: `COPY go.mod go.sum ./` → `RUN go mod download` → `COPY . .`).",
        "의존성 목록 파일만 먼저 복사해서 설치한 다음 나머지를 복사하세요:\n"
        "```\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n```\n"
        "(Python: `COPY requirements.txt .` → `RUN pip install -r requirements.txt` → `COPY . .`, "
        "Go: `COPY go.mod go.sum ./` → `RUN go mod download` → `COPY . .`).",
    ),
    default_weight=8,
)
def cache_order(inp: StaticInput) -> CheckResult:
    """Judges the first dependency-fetching step of each ecosystem in each stage: every file
    copied from the context before it must be a manifest. A broad copy (`.`, a directory)
    before it fails; a single source file before it is partial."""
    cid = "opt.cache_order"
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
                    if source in _BROAD or (not _is_manifest(source) and _is_dir(source, inp.context_paths)):
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
                    what = _clip(" ".join(others), 120)
                    written = _clip(copy.original.splitlines()[0], 120)
                    findings.append(
                        Finding(
                            copy.start_line,
                            f"`{written}` copies "
                            f"{'source' if broad else f'`{what}`'} before "
                            f"the dependency install on line {cmd.line}: any change to it reinstalls every "
                            "dependency",
                            f"{_j(f'`{written}`', '이')} {cmd.line}번째 줄의 의존성 "
                            "설치보다 먼저 "
                            f"{'소스를' if broad else _j(f'`{what}`', '을')} 복사합니다. 이 파일이 "
                            "바뀔 때마다 "
                            "의존성을 전부 "
                            "다시 설치합니다",
                        )
                    )
                    findings.append(
                        Finding(
                            cmd.line,
                            f"{_code(cmd.words)} runs after that copy",
                            f"{_j(_code(cmd.words), '이')} 그 복사 뒤에 실행됩니다",
                        )
                    )
    if checked == 0:
        return _not_used(cid, "dependency install", "의존성 설치")
    if not findings:
        return _result(
            cid,
            "pass",
            0,
            (),
            Text(
                f"Every dependency install ({checked}) comes after its manifests and before the source.",
                f"모든 의존성 설치({checked}개)가 목록 파일 복사 뒤, 소스 복사 앞에 있습니다.",
            ),
        )
    findings = sorted(set(findings), key=lambda f: f.line)
    return _result(cid, "fail" if broad_found else "partial", offending, _lines_of(findings), _say(findings))


@static_criterion(
    "opt.exec_form",
    category="optimisation",
    title=Text("CMD and ENTRYPOINT in exec form", "CMD와 ENTRYPOINT는 exec(JSON) 형식으로"),
    why=Text(
        "In shell form the program runs under `/bin/sh -c`, which becomes PID 1 and does not pass on "
        "SIGTERM: `docker stop` waits 10 seconds and then kills the app without a clean shutdown.",
        "셸 형식으로 쓰면 프로그램이 `/bin/sh -c` 아래에서 실행되고, PID 1이 된 셸은 SIGTERM을 전달하지 "
        "않습니다. "
        "`docker stop`은 10초를 기다린 뒤 앱을 강제로 종료해서 정상 종료 처리가 실행되지 않습니다.",
    ),
    fix=Text(
        'Write `CMD ["node", "server.js"]` rather than `CMD node server.js`.',
        '`CMD node server.js` 대신 `CMD ["node", "server.js"]`로 쓰세요.',
    ),
    anchors=("hadolint DL3025",),
    default_weight=3,
)
def exec_form(inp: StaticInput) -> CheckResult:
    cid = "opt.exec_form"
    instructions = inp.facts.chain_instructions(inp.facts.final)
    found: list[Instruction] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        last = next((i for i in reversed(instructions) if i.keyword == keyword), None)
        if last is not None:
            found.append(last)
    if not found:
        return _not_used(cid, "CMD/ENTRYPOINT", "CMD/ENTRYPOINT")
    shell = [i for i in found if not i.json]
    if not shell:
        lines = [i.start_line for i in found]
        return _result(
            cid,
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
            f"{_j(f'`{i.keyword} {chr(32).join(i.args)}`', '은')} 셸 형식입니다. "
            f"{_j(f'`{i.keyword} {_json_hint(i)}`', '으로')} 쓰세요",
        )
        for i in shell
    ]
    return _result(cid, "fail", len(shell), _lines_of(findings), _say(findings))


def _json_hint(ins: Instruction) -> str:
    words = [w for s in split_shell(" ".join(ins.args)) for w in s.words]
    if not words or len(words) > 6:
        return '["executable", "arg"]'
    return "[" + ", ".join(f'"{w}"' for w in words) + "]"


@static_criterion(
    "opt.abs_workdir",
    category="optimisation",
    title=Text("Absolute WORKDIR, no cd", "절대 경로 WORKDIR, cd 대신 WORKDIR"),
    why=Text(
        "A relative WORKDIR depends on every WORKDIR before it (and the base image's), so moving one line "
        "silently changes where files land; `cd` in a RUN lasts only for that RUN and hides the directory "
        "from readers.",
        "상대 경로 WORKDIR은 앞선 모든 WORKDIR(과 베이스 이미지의 WORKDIR)에 따라 달라지므로 줄 하나만 "
        "옮겨도 파일이 "
        "놓이는 위치가 조용히 바뀝니다. RUN 안의 `cd`는 그 RUN에서만 유효하고 작업 위치를 읽는 사람에게 "
        "감춥니다.",
    ),
    fix=Text(
        "`WORKDIR /app`, then plain commands: instead of `RUN cd /src && make`, write `WORKDIR /src` and "
        "`RUN make`.",
        "`WORKDIR /app`을 쓰고 명령은 그대로 실행하세요. `RUN cd /src && make` 대신 `WORKDIR /src`와 `RUN "
        "make`로 "
        "쓰면 됩니다.",
    ),
    anchors=("hadolint DL3000", "hadolint DL3003", "trivy DS009", "trivy DS013", "checkov CKV_DOCKER_10"),
    default_weight=2,
)
def abs_workdir(inp: StaticInput) -> CheckResult:
    """A relative WORKDIR fails; `cd` in a RUN is advice only (partial, 0.75 credit)."""
    cid = "opt.abs_workdir"
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
                        f"{_j(f'`WORKDIR {path}`', '은')} 상대 경로입니다. `WORKDIR "
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
                        f"{_code(c.words)} in RUN; prefer `WORKDIR`",
                        f"RUN 안에서 {_j(_code(c.words), '을')} 씁니다. `WORKDIR`를 쓰는 편이 낫습니다",
                    )
                )
    findings = sorted(relative + cds, key=lambda f: f.line)
    if relative:
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    if cds:
        return _result(cid, "partial", len(findings), _lines_of(findings), _say(findings), 0.75)
    return _result(
        cid,
        "pass",
        0,
        (),
        Text(
            "Every WORKDIR is absolute and no RUN uses cd.",
            "모든 WORKDIR이 절대 경로이고 RUN에서 cd를 쓰지 않습니다.",
        ),
    )


@static_criterion(
    "sec.no_sudo",
    category="security",
    title=Text("No sudo", "sudo 쓰지 않기"),
    why=Text(
        "Build steps already run as root until USER changes; sudo adds a setuid binary and a way back to "
        "root for anyone who gets into the container.",
        "빌드 단계는 USER를 바꾸기 전까지 이미 root로 실행됩니다. sudo는 setuid 바이너리를 하나 더하고, "
        "컨테이너에 "
        "들어온 누구에게나 root로 돌아갈 길을 열어 줍니다.",
    ),
    fix=Text(
        "Run root steps before `USER app`, or switch briefly with `USER root` … `USER app`; don't install "
        "sudo.",
        "root가 필요한 단계는 `USER app` 앞에 두거나 `USER root` … `USER app`으로 잠깐 바꾸세요. sudo는 "
        "설치하지 "
        "마세요.",
    ),
    anchors=("hadolint DL3004", "trivy DS010", "checkov CKV2_DOCKER_1"),
    default_weight=3,
)
def no_sudo(inp: StaticInput) -> CheckResult:
    cid = "sec.no_sudo"
    findings = [
        Finding(
            c.line, f"`sudo {' '.join(c.words[:2])}`", _j(f"`sudo {' '.join(c.words[:2])}`", "을") + " 씁니다"
        )
        for run in inp.facts.runs
        for c in run.cmds
        if c.sudo or c.name in ("sudo", "doas")
    ]
    if findings:
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    return _result(cid, "pass", 0, (), Text("No RUN uses sudo.", "sudo를 쓰는 RUN이 없습니다."))


_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_SUBST_DOWNLOAD = re.compile(r"(\$\(|<\(|`)\s*(curl|wget)\b")


@static_criterion(
    "sec.no_curl_pipe_sh",
    category="security",
    title=Text("No piping downloads into a shell", "내려받은 스크립트를 바로 셸로 실행하지 않기"),
    why=Text(
        "`curl … | sh` runs whatever the server (or anyone in between) returns today, unseen and "
        "unverified; a cut-off download can even run half a script.",
        "`curl … | sh`는 서버가(또는 중간의 누군가가) 오늘 돌려주는 내용을 확인도 검증도 없이 실행합니다. "
        "다운로드가 "
        "중간에 끊기면 스크립트의 절반만 실행될 수도 있습니다.",
    ),
    fix=Text(
        "Download to a file, check its checksum, then run it:\n"
        "```\nRUN curl -fsSLo /tmp/install.sh https://example.com/install.sh \\\n"
        ' && echo "<sha256>  /tmp/install.sh" | sha256sum -c - \\\n && sh /tmp/install.sh && rm '
        "/tmp/install.sh\n```\n"
        "or install the tool from a package manager.",
        "파일로 내려받고 체크섬을 확인한 뒤 실행하세요:\n"
        "```\nRUN curl -fsSLo /tmp/install.sh https://example.com/install.sh \\\n"
        ' && echo "<sha256>  /tmp/install.sh" | sha256sum -c - \\\n && sh /tmp/install.sh && rm '
        "/tmp/install.sh\n```\n"
        "또는 패키지 관리자로 설치하세요.",
    ),
    default_weight=5,
)
def no_curl_pipe_sh(inp: StaticInput) -> CheckResult:
    cid = "sec.no_curl_pipe_sh"
    findings: list[Finding] = []
    for run in inp.facts.runs:
        downloading: dict[int, Cmd] = {}
        for c in run.cmds:
            if c.name in _DOWNLOADERS:
                downloading.setdefault(c.pipeline, c)
            elif c.name in _INTERPRETERS or _PY_RE.match(c.name):
                source = downloading.get(c.pipeline)
                if source is not None:
                    findings.append(
                        Finding(
                            c.line,
                            f"`{source.name} … | {c.name}` runs a downloaded script unverified",
                            f"{_j(f'`{source.name} … | {c.name}`', '은')} 내려받은 스크립트를 검증 없이 "
                            "실행합니다",
                        )
                    )
                    continue
            if c.name in SHELLS | {"eval", "source", "."} and any(
                _SUBST_DOWNLOAD.search(w) for w in c.words[1:]
            ):
                findings.append(
                    Finding(
                        c.line,
                        f"`{c.name}` runs the output of a download unverified",
                        f"{_j(f'`{c.name}`', '이')} 내려받은 내용을 검증 없이 실행합니다",
                    )
                )
    if findings:
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    return _result(
        cid,
        "pass",
        0,
        (),
        Text("No download is piped into a shell.", "내려받은 내용을 셸로 바로 실행하지 않습니다."),
    )


def _validate_healthcheck(options: Mapping[str, Any]) -> str | None:
    return None if isinstance(options.get("required"), bool) else "required must be true or false"


@static_criterion(
    "run.healthcheck_declared",
    category="correctness",
    title=Text("HEALTHCHECK declared", "HEALTHCHECK 선언"),
    why=Text(
        "Without a HEALTHCHECK, Docker and orchestrators only know the process exists, not that it answers; "
        "a hung server stays 'up' and keeps receiving traffic.",
        "HEALTHCHECK가 없으면 Docker와 오케스트레이터는 프로세스가 살아 있다는 것만 알 뿐 응답하는지는 "
        "모릅니다. 멈춘 "
        "서버도 '정상'으로 남아 계속 요청을 받습니다.",
    ),
    fix=Text(
        "Add to the final stage, for example:\n"
        "```\nHEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://localhost:8000/health || exit "
        "1\n```",
        "최종 스테이지에 추가하세요. 예:\n"
        "```\nHEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://localhost:8000/health || exit "
        "1\n```",
    ),
    anchors=("hadolint DL3057", "trivy DS026", "checkov CKV_DOCKER_2", "dockle CIS-DI-0006"),
    default_weight=3,
    options={"required": False},
    validate=_validate_healthcheck,
)
def healthcheck_declared(inp: StaticInput) -> CheckResult:
    cid = "run.healthcheck_declared"
    if not inp.options.get("required"):
        return _result(
            cid,
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
        return _result(
            cid,
            "fail",
            "missing",
            (line,),
            Text(
                f"line {line}: the final stage declares no HEALTHCHECK.",
                f"{line}번째 줄: 최종 스테이지에 HEALTHCHECK가 없습니다.",
            ),
        )
    if last.args and last.args[0].upper() == "NONE":
        return _result(
            cid,
            "fail",
            "NONE",
            (last.start_line,),
            Text(
                f"line {last.start_line}: `HEALTHCHECK NONE` turns the health check off.",
                f"{last.start_line}번째 줄: `HEALTHCHECK NONE`은 헬스 체크를 끕니다.",
            ),
        )
    return _result(
        cid,
        "pass",
        "declared",
        (last.start_line,),
        Text(
            f"line {last.start_line}: the final stage declares a HEALTHCHECK.",
            f"{last.start_line}번째 줄: 최종 스테이지에 HEALTHCHECK가 있습니다.",
        ),
    )


# --------------------------------------------------------------------------- .dockerignore


def _go_clean(path: str) -> str:
    """Go's filepath.Clean for slash paths."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


MAX_IGNORE_PATTERNS = 1_000
"""Patterns in one .dockerignore (it is at most 16 KiB): every context path is tried against
each of them and each of its parent directories."""
MAX_IGNORE_PATTERN_CHARS = 1_024
"""Characters in one .dockerignore pattern: the matcher's state has a bit per character."""
_IGNORE_STEPS_CACHED = 4_096
"""Transitions one pattern remembers (its lazily built DFA); past that the cache starts over."""


class _IgnoreTooComplex(ValueError):
    pass


class _CharClass(NamedTuple):
    """A `[...]` of a pattern: which single characters it accepts. `items` are its characters
    as written (`\\x` for an escaped one), to write it as a Python class when needed."""

    negated: bool
    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    items: tuple[str, ...]

    def accepts(self, ch: str) -> bool:
        inside = ch in self.chars or any(lo <= ch <= hi for lo, hi in self.ranges)
        return inside != self.negated

    def written(self) -> str:
        body = "".join("-" if it == "-" else re.escape(it[-1]) for it in self.items)
        return "[" + "^" * self.negated + body + "]"


def _bracket(pattern: str, i: int) -> tuple[_CharClass, int] | None:
    """The `[...]` starting just after `pattern[i - 1]`, read as moby hands it to Go's regexp:
    `[^...]` negates, `a-z` is a range, `]` first is literal, `\\x` is x. Returns it and the
    index after it.
    None when it holds `*`, `?` or `[` (moby then writes regexp syntax into the class) or never
    closes. Raises re.error for a range like `z-a`, which Go's regexp refuses too."""
    n = len(pattern)
    j = i
    negated = j < n and pattern[j] == "^"
    j += negated
    items: list[str] = []
    while j < n:
        c = pattern[j]
        if c == "]" and items:
            break
        if c in "*?[":
            return None
        if c == "\\":
            if j + 1 >= n:
                return None
            items.append("\\" + pattern[j + 1])
            j += 2
        else:
            items.append(c)
            j += 1
    else:
        return None
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(items):
        lo = items[k][-1]
        if k + 2 < len(items) and items[k + 1] == "-":
            hi = items[k + 2][-1]
            if hi < lo:
                raise re.error(f"bad character range {lo}-{hi}")
            ranges.append((lo, hi))
            k += 3
        else:
            chars.add(lo)
            k += 1
    return _CharClass(negated, frozenset(chars), tuple(ranges), tuple(items)), j + 1


class _Glob:
    """A compiled pattern run as a bit-parallel NFA, one step per path character, its steps
    cached as a lazily built DFA. The regular expression moby writes for `a*a*a*...b` makes a
    backtracking engine (Python's) take exponential time; this takes time linear in the path
    whatever the pattern. Go's regexp, which BuildKit uses, is linear too.

    State i means "the atoms before i have matched". Atoms: a literal character, `?` (not
    `/`), a class, `*` (loops on anything but `/`), `**/` in the middle (`(.*/)?`: may be
    skipped, or loops on anything and then needs a `/`), and `**` at the end (loops on
    anything)."""

    def __init__(self, atoms: Sequence[tuple[str, str | _CharClass]]) -> None:
        merged: list[tuple[str, str | _CharClass]] = []
        for atom in atoms:
            # `**/**/` is `**/` and `*` after `*` cannot occur: so no long chains of skips.
            if merged and atom[0] == "dstar" and merged[-1][0] == "dstar":
                continue
            merged.append(atom)
        self.literal: dict[str, int] = {}
        self.not_slash = 0  # `?`
        self.star = 0  # loops on anything but /
        self.anything = 0  # loops on anything
        self.skip1 = 0  # may move on without a character
        self.skip3 = 0  # `(.*/)?` skipped whole, from its entry state
        self.classes: list[tuple[int, _CharClass]] = []
        state = 0
        for kind, payload in merged:
            bit = 1 << state
            if isinstance(payload, _CharClass):
                self.classes.append((bit, payload))
            elif kind == "lit":
                self.literal[payload] = self.literal.get(payload, 0) | bit
            elif kind == "one":
                self.not_slash |= bit
            elif kind == "star":
                self.star |= bit
                self.skip1 |= bit
            elif kind == "any":
                self.anything |= bit
                self.skip1 |= bit
            else:  # dstar: an entry that skips it all or goes on to the loop, then a "/"
                self.skip1 |= bit | (bit << 1)
                self.skip3 |= bit
                self.anything |= bit << 1
                self.literal["/"] = self.literal.get("/", 0) | (bit << 2)
                state += 2
            state += 1
        self.accept = 1 << state
        self.start = self._close(1)
        self.steps: dict[tuple[int, str], int] = {}

    def _close(self, states: int) -> int:
        while True:
            more = states | ((states & self.skip1) << 1) | ((states & self.skip3) << 3)
            if more == states:
                return states
            states = more

    def _step(self, states: int, ch: str) -> int:
        key = (states, ch)
        known = self.steps.get(key)
        if known is not None:
            return known
        one = self.literal.get(ch, 0)
        loop = self.anything
        if ch != "/":
            one |= self.not_slash
            loop |= self.star
        for bit, cls in self.classes:
            if cls.accepts(ch):
                one |= bit
        after = self._close(((states & one) << 1) | (states & loop))
        if len(self.steps) >= _IGNORE_STEPS_CACHED:
            self.steps.clear()
        self.steps[key] = after
        return after

    def match(self, path: str, parents: bool = False) -> bool:
        """Whether the whole of `path` matches or, with `parents`, any parent directory of it
        (each prefix that ends before a `/`), all in one pass."""
        states = self.start
        for ch in path:
            if parents and ch == "/" and states & self.accept:
                return True
            states = self._step(states, ch)
            if not states:
                return False
        return bool(states & self.accept)


class IgnorePattern:
    """One .dockerignore pattern compiled as moby/patternmatcher does (same match types, same
    meaning as its regular expression), so what it excludes is what the builder excludes.

    The regular expression is not run: patterns are matched by `_Glob` in linear time. Only a
    bracket expression that holds `*`, `?` or `[` (which moby turns into regexp syntax inside
    the class) falls back to the expression itself, and then only with at most two `*`, so
    its backtracking stays polynomial."""

    def __init__(self, pattern: str, exclusion: bool) -> None:
        self.pattern = pattern
        self.exclusion = exclusion
        self.kind, self.glob, self.regex = self._compile(pattern)

    @staticmethod
    def _compile(pattern: str) -> tuple[str, _Glob | None, re.Pattern[str] | None]:
        reg: list[str | _CharClass] = ["^"]
        kind = "exact"
        atoms: list[tuple[str, str | _CharClass]] = []
        odd = False  # a bracket only the regular expression can read
        i, n, step = 0, len(pattern), 0
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            reg.append(".*")
                            atoms.append(("any", ""))
                            kind = "regexp"
                    else:
                        reg.append("(.*/)?")
                        atoms.append(("dstar", ""))
                        kind = "regexp"
                    if step == 0:
                        kind = "suffix"
                else:
                    reg.append("[^/]*")
                    atoms.append(("star", ""))
                    kind = "regexp"
            elif ch == "?":
                reg.append("[^/]")
                atoms.append(("one", ""))
                kind = "regexp"
            elif ch in ".+()|{}$":
                reg.append("\\" + ch)
                atoms.append(("lit", ch))
            elif ch == "\\":
                if i < n:
                    reg.append(re.escape(pattern[i]))
                    atoms.append(("lit", pattern[i]))
                    i += 1
                    kind = "regexp"
                else:
                    reg.append("\\\\")
                    atoms.append(("lit", "\\"))
            elif ch == "[":
                try:
                    bracket = None if odd else _bracket(pattern, i)
                except re.error:
                    return "never", None, None
                if bracket is None:
                    odd = True
                    reg.append(ch)
                else:
                    cls, i = bracket
                    reg.append(cls)
                    atoms.append(("class", cls))
                kind = "regexp"
            elif ch == "]":
                reg.append(ch)
                atoms.append(("lit", ch))
                kind = "regexp"
            else:
                reg.append(re.escape(ch))
                atoms.append(("lit", ch))
            step += 1
        if kind != "regexp":
            return kind, None, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "possible set difference" and the like
                if not odd:
                    return kind, _Glob(atoms), None
                if pattern.count("*") > 2:
                    raise _IgnoreTooComplex(
                        "this pattern puts `*`, `?` or `[` inside [ ] and has more than two `*`, which "
                        "cannot be matched in reasonable time. Write the [ ] with plain characters only."
                    )
                written = "".join(part if isinstance(part, str) else part.written() for part in reg)
                return kind, None, re.compile(written + "$", re.DOTALL)
        except re.error:  # a class like [z-a]: moby's pattern does not compile either
            return "never", None, None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.pattern
        if self.kind == "prefix":
            return path.startswith(self.pattern[:-2])
        if self.kind == "suffix":
            suffix = self.pattern[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        if self.glob is not None:
            return self.glob.match(path)
        if self.kind == "regexp" and self.regex is not None:
            return self.regex.match(path) is not None
        return False

    def match_or_parent(self, path: str, parents: Sequence[str]) -> bool:
        """Whether `path` or one of its `parents` (every prefix of it that ends before a `/`)
        matches."""
        if self.glob is not None:
            return self.glob.match(path, parents=True)
        return self.match(path) or any(self.match(parent) for parent in parents)


def _ignore_limit(number: int, reason: str) -> DockerfileLimitError:
    return DockerfileLimitError(None, f".dockerignore line {number}: {reason}")


class DockerIgnore:
    """A .dockerignore as BuildKit reads it: `#` lines are comments, whitespace is trimmed,
    patterns are cleaned with a leading `/` dropped, `!` re-includes, and the last matching
    pattern wins. A path is excluded when it or any parent directory matches.

    More than MAX_IGNORE_PATTERNS patterns, or one longer than MAX_IGNORE_PATTERN_CHARS, is
    refused with DockerfileLimitError (no Dockerfile line: the message names the
    .dockerignore's)."""

    def __init__(self, text: str) -> None:
        self.patterns: list[IgnorePattern] = []
        for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
            if raw.startswith("#"):
                continue
            line = raw.strip()
            if not line:
                continue
            if len(line) > MAX_IGNORE_PATTERN_CHARS:
                raise _ignore_limit(
                    number,
                    f"this pattern is {len(line):,} characters long, more than the "
                    f"{MAX_IGNORE_PATTERN_CHARS:,} a pattern may have. Name the files or folders to "
                    "leave out, e.g. `**/node_modules`.",
                )
            if len(self.patterns) == MAX_IGNORE_PATTERNS:
                raise _ignore_limit(
                    number,
                    f"the .dockerignore has more than {MAX_IGNORE_PATTERNS:,} patterns. List only what "
                    "you mean to leave out of the build context, e.g. `.git` and `**/node_modules`.",
                )
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip()
                if not line:
                    continue
            line = _go_clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
            try:
                self.patterns.append(IgnorePattern(line, exclusion))
            except _IgnoreTooComplex as exc:
                raise _ignore_limit(number, str(exc)) from None

    def excludes(self, path: str) -> bool:
        path = _go_clean(_norm_context_path(path))
        parent = posixpath.dirname(path)
        parts = parent.split("/") if parent else []
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            if pattern.match_or_parent(path, parents):
                matched = not pattern.exclusion
        return matched


@functools.lru_cache(maxsize=8)
def _dockerignore_rules(text: str) -> DockerIgnore:
    """One compiled .dockerignore per text: `run_static` compiles it first (so one over its
    bounds is refused before any check runs) and the check reuses it."""
    return DockerIgnore(text)


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


@static_criterion(
    "opt.dockerignore",
    category="optimisation",
    title=Text(".dockerignore covers heavy and secret files", ".dockerignore로 무거운 파일과 비밀 파일 제외"),
    why=Text(
        "Everything in the build context is sent to the builder and `COPY . .` puts it in the image: "
        "`.git` and `node_modules` add megabytes and break the layer cache on every commit, `.env` leaks "
        "secrets.",
        "빌드 컨텍스트의 모든 파일은 빌더로 전송되고 `COPY . .`를 하면 이미지에 들어갑니다. `.git`과 "
        "`node_modules`는 "
        "수 MB를 더하고 커밋할 때마다 레이어 캐시를 깨뜨리며, `.env`는 비밀 값을 유출합니다.",
    ),
    fix=Text(
        "Add a `.dockerignore` next to the Dockerfile:\n"
        "```\n.git\n**/node_modules\n**/__pycache__\n**/*.pyc\n.venv\n.env\ndist\nbuild\n```\n"
        "A pattern without `**/` matches only at the top of the context: `*.pyc` does not exclude "
        "`src/app.pyc`.",
        "Dockerfile 옆에 `.dockerignore`를 추가하세요:\n"
        "```\n.git\n**/node_modules\n**/__pycache__\n**/*.pyc\n.venv\n.env\ndist\nbuild\n```\n"
        "`**/`가 없는 패턴은 컨텍스트 최상위에서만 맞습니다. `*.pyc`는 `src/app.pyc`를 제외하지 못합니다.",
    ),
    anchors=("dockle DKL-LI-0003",),
)
def dockerignore(inp: StaticInput) -> CheckResult:
    """Each heavy or secret thing the context really has counts as covered only when every one
    of its files is excluded. Lines: the broad COPY/ADD that would carry what is not covered."""
    cid = "opt.dockerignore"
    items = _heavy_items(inp.context_paths)
    if not items:
        return _result(
            cid,
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
        and any(s in _BROAD for s in ins.args[:-1])
    ]
    broad_lines = [ins.start_line for ins in broad]
    into_en = into_ko = ""
    if broad:
        kw, line = broad[0].keyword, broad[0].start_line
        into_en = f" and `{kw}` on line {line} puts it in the image"
        into_ko = f" {line}번째 줄의 {_j(f'`{kw}`', '이')} 이를 이미지에 넣습니다"
    labels = ", ".join(f"`{k}`" for k in items)
    if inp.dockerignore is None:
        return _result(
            cid,
            "fail",
            sorted(items),
            broad_lines,
            Text(
                f"No .dockerignore, and the context has {labels}: all of it is sent to the builder{into_en}.",
                f".dockerignore가 없는데 컨텍스트에 {_j(labels, '이')} 있습니다. 모두 빌더로 전송되고"
                + (f",{into_ko}." if into_ko else " 있습니다."),
            ),
        )
    ignore = _dockerignore_rules(inp.dockerignore)
    missing = [label for label, paths in items.items() if not all(ignore.excludes(p) for p in paths)]
    covered = len(items) - len(missing)
    if not missing:
        return _result(
            cid,
            "pass",
            [],
            (),
            Text(f".dockerignore excludes {labels}.", f".dockerignore가 {_j(labels, '을')} 제외합니다."),
        )
    names = ", ".join(f"`{m}`" for m in missing)
    example = items[missing[0]][0]
    detail = Text(
        f".dockerignore does not exclude {names}: e.g. `{example}` is still sent to the builder{into_en}.",
        f".dockerignore가 {_j(names, '을')} 제외하지 않습니다. 예를 들어 {_j(f'`{example}`', '이')} 그대로 "
        "빌더로 전송되고" + (f",{into_ko}." if into_ko else " 있습니다."),
    )
    verdict: Verdict = "fail" if covered == 0 else "partial"
    return _result(
        cid, verdict, sorted(missing), broad_lines, detail, None if covered == 0 else covered / len(items)
    )


def _validate_merged_runs(options: Mapping[str, Any]) -> str | None:
    value = options.get("max_consecutive")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return "max_consecutive must be a whole number of at least 1"
    return None


@static_criterion(
    "opt.merged_runs",
    category="optimisation",
    title=Text("Related RUN steps merged", "연속된 RUN 합치기"),
    why=Text(
        "Each RUN adds a layer; files deleted in a later RUN still take space in the earlier layer, and many "
        "small layers make pulls and cache lookups slower.",
        "RUN마다 레이어가 하나씩 생깁니다. 나중 RUN에서 지운 파일도 앞 레이어에는 그대로 남아 용량을 "
        "차지하고, 작은 "
        "레이어가 많으면 pull과 캐시 조회가 느려집니다.",
    ),
    fix=Text(
        "Join consecutive commands with `&&` in one RUN (or use a heredoc):\n"
        "```\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends git \\\n"
        " && rm -rf /var/lib/apt/lists/*\n```",
        "연속된 명령은 `&&`로 이어 RUN 하나로 합치세요(heredoc도 됩니다):\n"
        "```\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends git \\\n"
        " && rm -rf /var/lib/apt/lists/*\n```",
    ),
    anchors=("hadolint DL3059",),
    default_weight=2,
    options={"max_consecutive": 1},
    validate=_validate_merged_runs,
)
def merged_runs(inp: StaticInput) -> CheckResult:
    """`max_consecutive` is how many RUNs in a row are fine (default 1: any two adjacent RUNs
    could be one). The value counts the RUNs beyond it; 1 is partial, 2 or more fail. RUNs with
    any other instruction between them are never counted together."""
    cid = "opt.merged_runs"
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
            findings.append(
                Finding(
                    ins.start_line,
                    f"RUN could be merged into the one on line {first} ({len(block)} RUNs in a row)",
                    f"이 RUN은 {first}번째 줄의 RUN과 합칠 수 있습니다(RUN {len(block)}개 연속)",
                )
            )
    excess = len(findings)
    if excess == 0:
        return _result(
            cid, "pass", 0, (), Text("No consecutive RUNs to merge.", "합칠 수 있는 연속된 RUN이 없습니다.")
        )
    verdict: Verdict = "partial" if excess == 1 else "fail"
    return _result(cid, verdict, excess, _lines_of(findings), _say(findings))


@static_criterion(
    "opt.no_maintainer",
    category="optimisation",
    title=Text("LABEL instead of MAINTAINER", "MAINTAINER 대신 LABEL"),
    why=Text(
        "MAINTAINER has been deprecated since Docker 1.13; tools read the author from the standard OCI "
        "label instead.",
        "MAINTAINER는 Docker 1.13부터 더 이상 권장되지 않습니다. 도구들은 표준 OCI 레이블에서 작성자를 "
        "읽습니다.",
    ),
    fix=Text(
        '`LABEL org.opencontainers.image.authors="you@example.com"`',
        '`LABEL org.opencontainers.image.authors="you@example.com"`로 바꾸세요.',
    ),
    anchors=("hadolint DL4000", "trivy DS022", "checkov CKV_DOCKER_6"),
    default_weight=1,
)
def no_maintainer(inp: StaticInput) -> CheckResult:
    cid = "opt.no_maintainer"
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
        return _result(cid, "fail", len(findings), _lines_of(findings), _say(findings))
    return _result(cid, "pass", 0, (), Text("No MAINTAINER.", "MAINTAINER를 쓰지 않습니다."))


__all__ = [
    "STATIC_IDS",
    "Cmd",
    "DockerIgnore",
    "Run",
    "StaticInput",
    "run_static",
    "secret_name",
    "secret_value",
    "split_shell",
]
