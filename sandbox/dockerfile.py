"""The one module that parses Dockerfiles.

The grammar is BuildKit's own (through the `dockerfile` binding of its Go parser), so what
Layerlab reads is what the engine will build. Everything else in the project sees only the
frozen dataclasses below: the binding is deprecated upstream and may have to be swapped out,
and nothing outside this file may import it.

What the binding does not do, this module adds: parser directives (it drops comments),
instruction-name validation (it accepts any word), line numbers for its errors (its messages
carry none), flags and heredocs of ONBUILD triggers (it drops them), and ARG resolution in FROM.
"""

from __future__ import annotations

import difflib
import importlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import NamedTuple, Protocol

INSTRUCTIONS: tuple[str, ...] = (
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
)  # fmt: skip
_INSTRUCTION_SET = frozenset(INSTRUCTIONS)

KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
"""Keys BuildKit treats as parser directives. Any other `# key=value` line ends the directive
block, exactly like an ordinary comment."""

_DIRECTIVE_RE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]*$", re.IGNORECASE)
_BOM = "\ufeff"
_NO_INSTRUCTIONS = "file with no instructions"
_UNTERMINATED = "unterminated heredoc"

_bk = importlib.import_module("dockerfile")
"""Imported by name: the binding ships no type information, so its shape is declared below."""
_GoParseError: type[Exception] = _bk.GoParseError


class _GoHeredoc(Protocol):
    name: str
    content: str


class _GoCommand(Protocol):
    cmd: str
    json: bool
    original: str
    start_line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]
    heredocs: tuple[_GoHeredoc, ...]


def _go(text: str) -> tuple[_GoCommand, ...]:
    commands: tuple[_GoCommand, ...] = _bk.parse_string(text)
    return commands


_LOCATE_BUDGET_SECONDS = 1.0
"""Locating a Go error re-parses prefixes of the file. A prefix that contains the error fails
fast, so this is cheap in practice; the cap bounds a pathological file. Past it the error is
reported without a line."""


class DockerfileSyntaxError(ValueError):
    """The student's Dockerfile cannot be read. `message` is complete English for the student
    and starts with "line N: " whenever the line is known; `code` is the stable message code."""

    code = "syntax"

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class DockerfileLimitError(DockerfileSyntaxError):
    """Reading the Dockerfile would go past a bound on size or time (an ARG chain that doubles
    its value at every step, a word megabytes long): the student's to fix, at that line."""

    code = "too_complex"


class Heredoc(NamedTuple):
    name: str
    content: str


@dataclass(frozen=True)
class Directive:
    name: str
    value: str
    line: int


@dataclass(frozen=True)
class Instruction:
    """One instruction as BuildKit sees it, continuation lines joined.

    For ONBUILD, `inner` is the trigger instruction re-parsed with its own flags and heredocs;
    `args` is the trigger keyword followed by the trigger's args, and `heredocs` are the
    trigger's. `stage` is the index of the stage the instruction belongs to (None before the
    first FROM)."""

    keyword: str
    flags: tuple[str, ...]
    args: tuple[str, ...]
    original: str
    start_line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()
    json: bool = False
    stage: int | None = None
    inner: Instruction | None = None

    def flag_values(self, name: str) -> list[str]:
        """Values of every `--name=value` flag (case-insensitive name); `--name` alone gives ""."""
        wanted = name.lower()
        values = []
        for flag in self.flags:
            key, _, value = flag.removeprefix("--").partition("=")
            if key.lower() == wanted:
                values.append(value)
        return values


@dataclass(frozen=True)
class Stage:
    """A build stage. `base_resolved` has global ARG defaults substituted; a reference to an
    ARG without a default (or to no ARG at all) is left as written and named in
    `unresolved_args`, so a half-resolved string is never mistaken for an image name."""

    index: int
    name: str | None
    base: str
    base_resolved: str
    line: int
    is_stage_ref: bool
    platform: str | None = None
    unresolved_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDockerfile:
    instructions: tuple[Instruction, ...]
    directives: Mapping[str, Directive]
    args_before_from: Mapping[str, str | None]
    stages: tuple[Stage, ...]
    escape: str = "\\"

    def stage_named(self, ref: str) -> Stage | None:
        """The stage a `--from=`/FROM reference means: a name (case-insensitive, as BuildKit
        lower-cases stage names) or a numeric index."""
        if ref.isdigit():
            idx = int(ref)
            return self.stages[idx] if idx < len(self.stages) else None
        folded = ref.casefold()
        for stage in self.stages:
            if stage.name is not None and stage.name.casefold() == folded:
                return stage
        return None

    def stage_instructions(self, index: int) -> list[Instruction]:
        return [i for i in self.instructions if i.stage == index]


def _fail(line: int | None, reason: str) -> DockerfileSyntaxError:
    prefix = f"line {line}: " if line is not None else ""
    return DockerfileSyntaxError(line, prefix + reason)


def _lines(text: str) -> list[str]:
    """Physical lines as BuildKit counts them: split on \\n only (str.splitlines would also
    split on \\x0c, \\u2028 and others, and shift every line number after them)."""
    return text.split("\n")


def read_directives(text: str) -> tuple[dict[str, Directive], str]:
    """Parser directives per BuildKit: `# key=value` lines at the very top, ended by the first
    blank line, ordinary comment, unknown key or instruction. Returns them and the escape
    character in force."""
    found: dict[str, Directive] = {}
    for number, raw in enumerate(_lines(text.removeprefix(_BOM)), start=1):
        match = _DIRECTIVE_RE.match(raw.rstrip("\r").lstrip(" \t"))
        if match is None:
            break
        key = match.group(1).lower()
        if key not in KNOWN_DIRECTIVES:
            break
        if key in found:
            raise _fail(number, f"only one {key} parser directive can be used")
        found[key] = Directive(key, match.group(2), number)
    escape = "\\"
    if "escape" in found:
        escape = found["escape"].value
        if escape not in ("\\", "`"):
            raise _fail(
                found["escape"].line,
                f"invalid escape character {escape!r} in the escape directive: use \\ or `",
            )
    return found, escape


_FRONTEND_RE = re.compile(r"^(?:#|//)[ \t]*syntax[ \t]*=[ \t]*(.*?)[ \t]*$", re.IGNORECASE)


def frontend_directive(text: str) -> Directive | None:
    """A `syntax=` line that could make BuildKit fetch and run a frontend image.

    Deliberately wider than `read_directives`: BuildKit's frontend detection skips a BOM and a
    `#!` first line and also accepts `//` comments, and versions differ on which other keys may
    precede it. So any `syntax=` comment in the leading block of comments and blank lines
    counts."""
    for number, raw in enumerate(_lines(text.removeprefix(_BOM)), start=1):
        line = raw.rstrip("\r").strip(" \t")
        if number == 1 and line.startswith("#!"):
            continue
        match = _FRONTEND_RE.match(line)
        if match is not None:
            return Directive("syntax", match.group(1), number)
        if line and not line.startswith(("#", "//")):
            return None
    return None


def parse(text: str) -> ParsedDockerfile:
    """Parses Dockerfile text the way BuildKit will, or raises DockerfileSyntaxError with the
    line a student should look at."""
    text = text.removeprefix(_BOM)
    nul = text.find("\x00")
    if nul >= 0:
        # The binding hands the text to Go as a C string, which silently ends at a NUL: the rest
        # of the file would be invisible to every check while the engine still builds it.
        raise _fail(text.count("\n", 0, nul) + 1, "contains a NUL character; remove it")
    directives, escape = read_directives(text)
    commands = _go_parse(text)
    lines = _lines(text)

    instructions: list[Instruction] = []
    for cmd in commands:
        instructions.append(_instruction(cmd, lines, escape))

    first_from = next((i for i, ins in enumerate(instructions) if ins.keyword == "FROM"), None)
    if first_from is None:
        where = instructions[0].start_line if instructions else None
        raise _fail(
            where,
            "no FROM instruction: a Dockerfile must start its first stage with FROM <image>",
        )
    for ins in instructions[:first_from]:
        if ins.keyword != "ARG":
            raise _fail(
                ins.start_line,
                f"{ins.keyword} comes before the first FROM; only ARG may appear before FROM. "
                "Move it below the FROM line.",
            )

    args_before_from: dict[str, str | None] = {}
    known: dict[str, str] = {}
    for ins in instructions[:first_from]:
        for name, default in _arg_pairs(ins, escape, known):
            args_before_from[name] = default
            if default is None:
                known.pop(name, None)
            else:
                known[name] = default

    stages: list[Stage] = []
    staged: list[Instruction] = []
    current: int | None = None
    for ins in instructions:
        if ins.keyword == "FROM":
            stage = _stage(ins, len(stages), stages, known, escape)
            stages.append(stage)
            current = stage.index
        staged.append(_with_stage(ins, current))

    return ParsedDockerfile(
        instructions=tuple(staged),
        directives=MappingProxyType(directives),
        args_before_from=MappingProxyType(args_before_from),
        stages=tuple(stages),
        escape=escape,
    )


def _with_stage(ins: Instruction, stage: int | None) -> Instruction:
    inner = _with_stage(ins.inner, stage) if ins.inner is not None else None
    return replace(ins, stage=stage, inner=inner)


def _go_parse(text: str) -> tuple[_GoCommand, ...]:
    try:
        return _go(text)
    except _GoParseError as exc:
        message = str(exc)
        if message == _NO_INSTRUCTIONS:
            raise _fail(None, "the Dockerfile is empty: it has no instructions") from None
        match = re.search(r"\bline (\d+)", message)
        line = int(match.group(1)) if match else _locate_go_error(text, message)
        raise _fail(line, _explain_go_error(message)) from None


def _explain_go_error(message: str) -> str:
    if message == _UNTERMINATED:
        return "a heredoc (<<NAME) is never closed: end it with a line containing only its name"
    two_args = re.fullmatch(r"(\w+) must have two arguments", message)
    if two_args:
        word = two_args.group(1)
        return f"{word} needs a name and a value, e.g. {word} NAME=value"
    no_equals = re.fullmatch(r"Syntax error - can't find = in (\".*\")\. .*", message, re.DOTALL)
    if no_equals:
        return f'{no_equals.group(1)} has no "=": write each item as name=value'
    return message


def _locate_go_error(text: str, message: str) -> int | None:
    """The Go parser's errors carry no line, so find it: the error is in the instruction that
    starts right after the longest prefix of the file that still parses.

    Prefixes are cut only where an instruction seems to start, so a cut never falls inside a
    continuation. A cut can fall inside a heredoc body (a line like `from os import path`); such
    a prefix fails with "unterminated heredoc" and says nothing about where the real error is.
    Since the parser stops at the first error, prefixes are otherwise good up to the error and
    bad after it, so a bisection that steps over those cuts finds it in a few parses. When the
    real error is itself an unterminated heredoc the prefixes cannot be told apart, and they are
    tried from the end instead."""
    lines = _lines(text)
    try:
        _, escape = read_directives(text)
    except DockerfileSyntaxError as exc:
        return exc.line
    cuts = [
        i
        for i, line in enumerate(lines)
        if _looks_like_instruction(line) and (i == 0 or not lines[i - 1].rstrip(" \t\r").endswith(escape))
    ]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    deadline = time.monotonic() + _LOCATE_BUDGET_SECONDS

    def probe(k: int) -> bool | None:
        """True when the prefix before cut k parses, False when it holds the error, None when
        the cut falls in a heredoc body."""
        if time.monotonic() > deadline:
            raise TimeoutError
        try:
            _go(text[: starts[cuts[k]]])
        except _GoParseError as exc:
            if str(exc) == _NO_INSTRUCTIONS:
                return True
            return None if str(exc) == _UNTERMINATED else False
        return True

    try:
        if message == _UNTERMINATED:
            openers = [k for k, cut in enumerate(cuts) if _HEREDOC_OPENER.search(lines[cut])]
            good = next((k for k in reversed(openers) if probe(k)), None)
            return cuts[good] + 1 if good is not None else None
        lo, hi = -1, len(cuts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            order = [*range(mid, hi), *range(mid - 1, lo, -1)]
            found = next(((k, r) for k in order if (r := probe(k)) is not None), None)
            if found is None:
                break
            k, good = found
            lo, hi = (k, hi) if good else (lo, k)
        return cuts[lo] + 1 if lo >= 0 else None
    except TimeoutError:
        return None


_HEREDOC_OPENER = re.compile(r"<<-?[\"']?[A-Za-z_]")


def _looks_like_instruction(line: str) -> bool:
    words = line.split(None, 1)
    return bool(words) and words[0].upper() in _INSTRUCTION_SET


def _instruction(cmd: _GoCommand, lines: Sequence[str], escape: str) -> Instruction:
    keyword = cmd.cmd.upper()
    if keyword not in _INSTRUCTION_SET:
        raise _unknown_instruction(cmd.cmd, cmd.start_line)
    if keyword == "ONBUILD":
        inner = _onbuild_trigger(cmd, lines, escape)
        return Instruction(
            keyword="ONBUILD",
            flags=(),
            args=(inner.keyword, *inner.args),
            original=cmd.original,
            start_line=cmd.start_line,
            end_line=cmd.end_line,
            heredocs=inner.heredocs,
            inner=inner,
        )
    return Instruction(
        keyword=keyword,
        flags=tuple(cmd.flags),
        args=tuple(cmd.value),
        original=cmd.original,
        start_line=cmd.start_line,
        end_line=cmd.end_line,
        heredocs=tuple(Heredoc(h.name, h.content) for h in cmd.heredocs),
        json=cmd.json,
    )


def _unknown_instruction(word: str, line: int) -> DockerfileSyntaxError:
    guess = difflib.get_close_matches(word.upper(), INSTRUCTIONS, n=1, cutoff=0.6)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    return _fail(line, f'unknown instruction "{word}"{hint}')


_ONBUILD_RE = re.compile(r"^([ \t]*)onbuild(?=[ \t]|$)", re.IGNORECASE)


def _onbuild_trigger(cmd: _GoCommand, lines: Sequence[str], escape: str) -> Instruction:
    """Re-parses the trigger from the source lines: the binding drops an ONBUILD trigger's
    flags and heredoc bodies, which are exactly what the policy must see."""
    start, end = cmd.start_line, cmd.end_line
    chunk = list(lines[start - 1 : end])
    chunk[0] = _ONBUILD_RE.sub(lambda m: m.group(1) + " " * len("onbuild"), chunk[0], count=1)
    header = f"# escape={escape}\n" if escape != "\\" else ""
    shift = start - 1 - header.count("\n")
    try:
        sub = _go(header + "\n".join(chunk))
    except _GoParseError as exc:
        if str(exc) == _NO_INSTRUCTIONS:
            raise _fail(start, "ONBUILD needs an instruction to run, e.g. ONBUILD RUN ...") from None
        raise _fail(start, f"in ONBUILD: {_explain_go_error(str(exc))}") from None
    if len(sub) != 1:
        raise _fail(start, "ONBUILD must be followed by exactly one instruction")
    inner = sub[0]
    word = inner.cmd.upper()
    if word not in _INSTRUCTION_SET:
        raise _unknown_instruction(inner.cmd, start)
    if word in ("ONBUILD", "FROM", "MAINTAINER"):
        raise _fail(start, f"{word} is not allowed as an ONBUILD trigger")
    return Instruction(
        keyword=word,
        flags=tuple(inner.flags),
        args=tuple(inner.value),
        original=inner.original.lstrip(),
        start_line=inner.start_line + shift,
        end_line=inner.end_line + shift,
        heredocs=tuple(Heredoc(h.name, h.content) for h in inner.heredocs),
        json=inner.json,
    )


def _arg_pairs(ins: Instruction, escape: str, known: Mapping[str, str]) -> Iterable[tuple[str, str | None]]:
    if not ins.args or ins.args == ("",):
        raise _fail(ins.start_line, "ARG needs a name, e.g. ARG VERSION=1.0")
    scope = dict(known)
    for token in ins.args:
        name, eq, raw = token.partition("=")
        if not name:
            raise _fail(ins.start_line, f'ARG "{token}" has no name')
        default: str | None = None
        if eq:
            default, _ = expand(raw, scope, escape)
            scope[name] = default
        else:
            scope.pop(name, None)
        yield name, default


def _stage(
    ins: Instruction, index: int, earlier: Sequence[Stage], known: Mapping[str, str], escape: str
) -> Stage:
    args = ins.args
    if len(args) == 3 and args[1].lower() == "as":
        name: str | None = args[2]
    elif len(args) == 1 and args[0]:
        name = None
    else:
        raise _fail(ins.start_line, "FROM takes an image and optionally AS <name>: FROM image AS name")
    if name is not None:
        if not _STAGE_NAME_RE.match(name):
            raise _fail(
                ins.start_line,
                f'invalid stage name "{name}": use letters, digits, "-", "_" and "." and start with a letter',
            )
        if any(s.name is not None and s.name.casefold() == name.casefold() for s in earlier):
            raise _fail(ins.start_line, f'duplicate stage name "{name}"')
    base = args[0]
    resolved, unresolved = expand(base, known, escape)
    is_ref = not unresolved and any(
        s.name is not None and s.name.casefold() == resolved.casefold() for s in earlier
    )
    platforms = ins.flag_values("platform")
    return Stage(
        index=index,
        name=name,
        base=base,
        base_resolved=resolved,
        line=ins.start_line,
        is_stage_ref=is_ref,
        platform=platforms[-1] if platforms else None,
        unresolved_args=unresolved,
    )


_VAR_START = re.compile(r"[A-Za-z_]")
_VAR_CHARS = re.compile(r"[A-Za-z0-9_]*")


def expand(word: str, values: Mapping[str, str], escape: str = "\\") -> tuple[str, tuple[str, ...]]:
    """Substitutes `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}` and removes
    quotes, as BuildKit's shell lexer does for ARG defaults and FROM. A bare reference to a
    variable with no value is kept as written and its name returned, so callers can say which
    ARG lacks a default instead of building a mangled name."""
    out: list[str] = []
    missing: list[str] = []
    i, n = 0, len(word)
    quote: str | None = None
    while i < n:
        ch = word[i]
        if ch == escape and quote != "'" and i + 1 < n:
            out.append(word[i + 1])
            i += 2
        elif ch in "'\"" and quote in (None, ch):
            quote = None if quote == ch else ch
            i += 1
        elif ch == "$" and quote != "'" and i + 1 < n:
            i = _expand_var(word, i, values, escape, out, missing)
        else:
            out.append(ch)
            i += 1
    return "".join(out), tuple(dict.fromkeys(missing))


def _expand_var(
    word: str, i: int, values: Mapping[str, str], escape: str, out: list[str], missing: list[str]
) -> int:
    nxt = word[i + 1]
    if nxt != "{":
        if not _VAR_START.match(nxt):
            out.append("$")
            return i + 1
        match = _VAR_CHARS.match(word, i + 2)
        end = match.end() if match else i + 2
        name = word[i + 1 : end]
        _lookup(name, word[i:end], values, out, missing)
        return end
    close = _matching_brace(word, i + 2)
    if close < 0:
        out.append(word[i:])
        return len(word)
    body = word[i + 2 : close]
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$", body, re.DOTALL)
    if match is None:
        out.append(word[i : close + 1])
        return close + 1
    name, op, alt = match.group(1), match.group(2), match.group(3) or ""
    value = values.get(name)
    if op is None:
        _lookup(name, word[i : close + 1], values, out, missing)
    elif op in (":-", "-"):
        if value is not None and (value or op == "-"):
            out.append(value)
        else:
            sub, sub_missing = expand(alt, values, escape)
            out.append(sub)
            missing.extend(sub_missing)
    elif value is not None and (value or op == "+"):
        sub, sub_missing = expand(alt, values, escape)
        out.append(sub)
        missing.extend(sub_missing)
    return close + 1


def _lookup(name: str, written: str, values: Mapping[str, str], out: list[str], missing: list[str]) -> None:
    if name in values:
        out.append(values[name])
    else:
        out.append(written)
        missing.append(name)


def _matching_brace(word: str, start: int) -> int:
    depth = 1
    for j in range(start, len(word)):
        if word[j] == "{":
            depth += 1
        elif word[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


__all__ = [
    "INSTRUCTIONS",
    "Directive",
    "DockerfileLimitError",
    "DockerfileSyntaxError",
    "Heredoc",
    "Instruction",
    "ParsedDockerfile",
    "Stage",
    "expand",
    "frontend_directive",
    "parse",
    "read_directives",
]
