"""A small shell reader for RUN scripts: it splits a script into simple commands on `&&`, `||`,
`;`, `|`, `&` and newlines, honours quotes, comments, line continuations, redirections and
nested here-documents, strips assignments and wrappers (`sudo`, `env`, `xargs`, ...) and reads
`sh -c '...'` scripts. Commands are judged by their program name, so `echo "apt-get install"`
is not an apt install. The reader does not expand variables or aliases: what it cannot see the
checks do not blame.

The student's text is hostile, so what is read is bounded (the `MAX_SHELL_*` constants): going
over a bound raises DockerfileLimitError for the instruction's line, and every pass is linear in
the text (no regular expression here backtracks on a long run of text)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sandbox.dockerfile import (
    limit_error,
)

# --------------------------------------------------------------------------- shell reading

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"})
INTERPRETERS = SHELLS | {"python", "python2", "python3", "perl", "ruby", "node", "php"}
_RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac"}
)
_SKIP_SEGMENT = frozenset({"for", "case", "select", "function"})
ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PY_RE = re.compile(r"^python[0-9.]*$")
PIP_RE = re.compile(r"^pip[0-9.]*$")

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


class ShellBudget:
    """What the RUNs of one Dockerfile have used of MAX_SHELL_COMMANDS and MAX_SHELL_WORDS."""

    def __init__(self) -> None:
        self.commands = 0
        self.words = 0


class Segment(NamedTuple):
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


def split_shell(script: str) -> list[Segment]:
    """Splits a POSIX shell script into simple-command word lists with quotes removed."""
    segments: list[Segment] = []
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
            segments.append(Segment(tuple(words), op))
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


def basename(word: str) -> str:
    return posixpath.basename(word).lower()


def _strip_wrappers(
    words: Sequence[str], start: int, assigns: list[tuple[str, str]]
) -> tuple[list[str], bool]:
    """The command under `sudo`, `env X=1`, `timeout 5`, ... from `words[start:]`. Walks an
    index rather than slicing, so `sudo sudo sudo ...` costs one pass."""
    sudo = False
    at, n = start, len(words)
    while at < n:
        name = basename(words[at])
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
            while i < n and ASSIGN_RE.match(words[i]):
                key, _, value = words[i].partition("=")
                assigns.append((key, value))
                i += 1
        at = i + _WRAPPER_POSITIONALS.get(name, 0)
    return list(words[at:]), sudo


def dash_c_script(words: Sequence[str]) -> str | None:
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


class ShellReader:
    """Turns scripts into `Cmd`s, numbering pipelines and commands across a whole RUN. `line`
    is the RUN's, for a refusal; `budget` is shared by every RUN of the Dockerfile."""

    def __init__(self, line: int = 0, budget: ShellBudget | None = None) -> None:
        self.cmds: list[Cmd] = []
        self.pipeline = 0
        self.line = line
        self.budget = budget if budget is not None else ShellBudget()

    def read(self, script: str, depth: int = 0) -> None:
        if depth > MAX_SHELL_DEPTH:
            raise limit_error(
                self.line,
                f"`sh -c` scripts are nested more than {MAX_SHELL_DEPTH} deep in this RUN. Write the "
                "commands straight into the RUN, or put them in a script file you COPY and run.",
            )
        self.segments(split_shell(script), depth)

    def segments(self, segments: Iterable[Segment], depth: int = 0) -> None:
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
        while at < n and ASSIGN_RE.match(words[at]):
            key, _, value = words[at].partition("=")
            assigns.append((key, value))
            at += 1
        program, sudo = _strip_wrappers(words, at, assigns)
        name = basename(program[0]) if program else ""
        self.cmds.append(Cmd(tuple(program), name, tuple(assigns), self.pipeline, sudo, len(self.cmds)))
        if name in SHELLS:
            inner = dash_c_script(program)
            if inner:
                saved = self.pipeline
                self.read(inner, depth + 1)
                self.pipeline = max(self.pipeline, saved)


def subcommand(cmd: Cmd, arg_opts: frozenset[str] = frozenset()) -> tuple[str, int]:
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


APT = frozenset({"apt-get", "apt"})


def rm_targets(cmd: Cmd) -> list[str]:
    if cmd.name != "rm":
        return []
    return [w for w in cmd.words[1:] if not w.startswith("-")]


def is_pip(cmd: Cmd) -> tuple[bool, int]:
    """Whether the command is pip, and the index of the word after `pip` / `-m pip`."""
    if PIP_RE.match(cmd.name):
        return True, 1
    if PY_RE.match(cmd.name):
        words = cmd.words
        for i in range(1, len(words) - 1):
            if words[i] == "-m" and words[i + 1] in ("pip", "pip3"):
                return True, i + 2
            if not words[i].startswith("-"):
                break
    return False, 0


NPM_INSTALL = frozenset(
    {"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "add"}
)
NPM_CI = frozenset({"ci", "clean-install", "ic", "install-clean", "isntall-clean"})
NPM_ARG_OPTS = frozenset(
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
"""npm's install subcommands and their aliases (typos included, as npm accepts them), `npm ci`'s,
and the options that take a value."""
