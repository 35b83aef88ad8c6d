"""The one module that parses Dockerfiles.

The grammar is BuildKit's own (through the `dockerfile` binding of its Go parser), so what
Layerlab reads is what the engine will build. Everything else in the project sees only the
frozen dataclasses below: the binding is deprecated upstream and may have to be swapped out,
and nothing outside this file may import it.

What the binding does not do, this module adds: parser directives (it drops comments),
instruction-name validation (it accepts any word), line numbers for its errors (its messages
carry none), flags and heredocs of ONBUILD triggers (it drops them), and ARG resolution in FROM.

The text is the student's and hostile: reading it is bounded (the `MAX_*` constants below, some
checked before the binding runs, since its parser is quadratic in places), and going over a
bound raises DockerfileLimitError for the line concerned.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import importlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

INSTRUCTIONS: tuple[str, ...] = (
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
)  # fmt: skip
_INSTRUCTION_SET = frozenset(INSTRUCTIONS)

KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
"""Keys BuildKit treats as parser directives. Any other `# key=value` line ends the directive
block, exactly like an ordinary comment."""

_DIRECTIVE_RE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=(.*)$")
"""The value is trimmed in code: a lazy `(.+?)[ \\t]*$` is quadratic in a run of trailing blanks."""
_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]*$", re.IGNORECASE)
_BOM = "\ufeff"
_NO_INSTRUCTIONS = "file with no instructions"
_UNTERMINATED = "unterminated heredoc"


class _GoParseError(Exception):
    """The binding's parse error, raised as this module's own (its text unchanged)."""


_loaded_in: int | None = None
"""The process that loaded the binding; a process forked from it cannot use it."""


@functools.cache
def _binding() -> Any:
    """The binding, loaded on first use rather than at import. Loading it starts the Go runtime
    and its threads; a process forked after that (Celery's prefork pool forks its workers from
    the main process, which imports this module) inherits the runtime without its threads, and
    the parser there works for a while, then hangs for good. Imported by name: the binding
    ships no type information, so its shape is declared below."""
    global _loaded_in
    module = importlib.import_module("dockerfile")
    _loaded_in = os.getpid()
    return module


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
    if _loaded_in is not None and _loaded_in != os.getpid():  # inherited: refuse rather than hang
        raise RuntimeError(
            "the Dockerfile parser was loaded before this process was forked and cannot run here; "
            "parse only in the process that will use the result (see sandbox/dockerfile.py)"
        )
    binding = _binding()
    try:
        commands: tuple[_GoCommand, ...] = binding.parse_string(text)
    except binding.GoParseError as exc:
        raise _GoParseError(str(exc)) from None
    return commands


_LOCATE_BUDGET_SECONDS = 1.0
"""Locating a Go error re-parses prefixes of the file. A prefix that contains the error fails
fast, so this is cheap in practice; the cap bounds a pathological file. Past it the error is
reported without a line."""
_LOCATE_MAX_PROBES = 24
"""The same bound counted in parses: a bisection over 64 KiB of instructions needs about 14."""

MAX_SOURCE_WORD = 16 * 1024
"""Characters in one word of the source (text up to a blank outside quotes: `a&&b&&c...`
written without spaces, or a quoted LABEL value), checked before the Go parser sees the file:
it takes time quadratic in a word's length (about 1 s for a 60 KiB ENV value), and no
Dockerfile needs a 16 KiB word."""

MAX_SOURCE_LINES = 10_000
"""Physical lines in a Dockerfile, checked before the Go parser: it takes time quadratic in the
lines of one instruction (0.6 s for a heredoc of 32,000 one-character lines)."""

MAX_HEREDOCS = 1_000
"""Heredoc openers (`<<NAME`) in a Dockerfile, checked before the Go parser: it takes time
quadratic in the openers of one instruction (`cat <<A <<A <<A ...`)."""

MAX_EXPANDED_WORD = 64 * 1024
"""One ARG default, ENV value or other instruction argument must expand to fewer characters
than this. BuildKit expands `ARG A1=$A0$A0` in full, so forty such lines ask for terabytes."""

MAX_EXPANDED_TOTAL = 4 * 1024 * 1024
"""Characters all the expansions made while reading one Dockerfile may produce together
(`ExpansionBudget`): 64 KiB values copied into thousands of ARGs are each under the word bound."""

MAX_STAGES = 128
"""Build stages in one Dockerfile. What is worked out per stage follows its chain of `FROM
<stage>` parents, so the number of stages multiplies that work; real files have a handful."""

MAX_SUBSTITUTION_DEPTH = 16
"""How deep `${A:-${B:-...}}` defaults may nest: each level re-reads the rest of the word, and
Python's recursion would run out long before a 64 KiB file does."""


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
        return self._stages_by_name.get(ref.casefold())

    @functools.cached_property
    def _stages_by_name(self) -> dict[str, Stage]:
        """Built once: callers look a stage up per instruction, and a file can hold thousands."""
        found: dict[str, Stage] = {}
        for stage in self.stages:
            if stage.name is not None:
                found.setdefault(stage.name.casefold(), stage)
        return found

    def stage_instructions(self, index: int) -> list[Instruction]:
        return [i for i in self.instructions if i.stage == index]


def _fail(line: int | None, reason: str) -> DockerfileSyntaxError:
    prefix = f"line {line}: " if line is not None else ""
    return DockerfileSyntaxError(line, prefix + reason)


def limit_error(line: int | None, reason: str) -> DockerfileLimitError:
    """A DockerfileLimitError whose message starts "line N: " like every other refusal."""
    prefix = f"line {line}: " if line is not None else ""
    return DockerfileLimitError(line, prefix + reason)


def _kib(chars: int) -> str:
    return f"{chars // (1024 * 1024)} MiB" if chars >= 1024 * 1024 else f"{chars // 1024} KiB"


class ExpansionBudget:
    """What is left of MAX_EXPANDED_TOTAL for one reading of one Dockerfile; every `expand()`
    given it draws the length of its result from it."""

    def __init__(self, chars: int = MAX_EXPANDED_TOTAL) -> None:
        self.total = chars
        self.left = chars


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
        rest = match.group(2)
        value = rest.strip(" \t") or rest[-1:]  # as `=[ \t]*(.+?)[ \t]*$` did: blanks keep one
        if key not in KNOWN_DIRECTIVES or not value:
            break
        if key in found:
            raise _fail(number, f"only one {key} parser directive can be used")
        found[key] = Directive(key, value, number)
    escape = "\\"
    if "escape" in found:
        escape = found["escape"].value
        if escape not in ("\\", "`"):
            raise _fail(
                found["escape"].line,
                f"invalid escape character {escape!r} in the escape directive: use \\ or `",
            )
    return found, escape


_FRONTEND_RE = re.compile(r"^(?:#|//)[ \t]*syntax[ \t]*=[ \t]*(.*)$", re.IGNORECASE)


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
            return Directive("syntax", match.group(1).rstrip(" \t"), number)
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
    _check_source(text, escape)
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
    budget = ExpansionBudget()
    for ins in instructions[:first_from]:
        for name, default in _arg_pairs(ins, escape, known, budget):
            args_before_from[name] = default

    stages: list[Stage] = []
    names: dict[str, int] = {}
    staged: list[Instruction] = []
    current: int | None = None
    for ins in instructions:
        if ins.keyword == "FROM":
            if len(stages) == MAX_STAGES:
                raise limit_error(
                    ins.start_line,
                    f"this FROM starts stage {MAX_STAGES + 1}, and a Dockerfile may have at most "
                    f"{MAX_STAGES} build stages. Merge stages that only pass files along.",
                )
            stage = _stage(ins, len(stages), names, known, escape, budget)
            stages.append(stage)
            if stage.name is not None:
                names[stage.name.casefold()] = stage.index
            current = stage.index
        staged.append(_with_stage(ins, current))

    return ParsedDockerfile(
        instructions=tuple(staged),
        directives=MappingProxyType(directives),
        args_before_from=MappingProxyType(args_before_from),
        stages=tuple(stages),
        escape=escape,
    )


@functools.lru_cache(maxsize=2)
def _go_word(escape: str) -> re.Pattern[str]:
    """A word as the Go parser's word splitter reads it: up to a blank outside quotes (a quote
    still open at the end of a line is taken to end there). Comment lines come out as group 1:
    the parser drops them without splitting. Possessive throughout, so it runs in linear time
    on any text."""
    e = re.escape(escape)
    return re.compile(
        rf"""(^[ \t]*\#[^\n]*+)|(?:[^\s"'{e}]|{e}.|"(?:{e}.|[^"{e}\n])*+"?|'[^'\n]*+'?)++""",
        re.DOTALL | re.MULTILINE,
    )


def _check_source(text: str, escape: str) -> None:
    """The bounds the Go parser needs, checked in linear time before it runs."""
    lines = text.count("\n") + 1
    if lines > MAX_SOURCE_LINES:
        raise limit_error(
            MAX_SOURCE_LINES + 1,
            f"the Dockerfile has {lines:,} lines, more than the {MAX_SOURCE_LINES:,} it may have. Put "
            "long scripts and data in files in the build context and COPY them.",
        )
    for count, match in enumerate(_HEREDOC_OPENER.finditer(text), start=1):
        if count > MAX_HEREDOCS:
            raise limit_error(
                text.count("\n", 0, match.start()) + 1,
                f"this is heredoc number {count:,} (<<NAME), and a Dockerfile may open at most "
                f"{MAX_HEREDOCS:,}. Put the contents in files in the build context and COPY them.",
            )
    for match in _go_word(escape).finditer(text):
        size = match.end() - match.start()
        if size > MAX_SOURCE_WORD and match.group(1) is None:
            line = text.count("\n", 0, match.start()) + 1
            raise limit_error(
                line,
                f"one word or quoted string here is {size:,} characters long, more than the "
                f"{_kib(MAX_SOURCE_WORD)} it may have. Put long data in a file in the build context "
                "and COPY it.",
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
    probes = 0

    def probe(k: int) -> bool | None:
        """True when the prefix before cut k parses, False when it holds the error, None when
        the cut falls in a heredoc body."""
        nonlocal probes
        probes += 1
        if time.monotonic() > deadline or probes > _LOCATE_MAX_PROBES:
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
            candidate = _unclosed_heredoc(lines, escape)
            if candidate is not None:
                k = bisect.bisect_left(cuts, candidate)
                if k < len(cuts) and cuts[k] == candidate and probe(k):
                    return candidate + 1
            openers = [k for k, cut in enumerate(cuts) if _HEREDOC_OPENER.search(lines[cut])]
            return _last_good_opener(openers, probe, cuts)
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


_HEREDOC_NAME = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_.-]*)\2")


def _unclosed_heredoc(lines: Sequence[str], escape: str) -> int | None:
    """The index of the first instruction line whose heredoc is never closed, reading bodies
    the way BuildKit does, in one pass. A candidate only (a `<<X` in quotes is not a heredoc
    to BuildKit): the caller checks it with one parse."""
    i, n = 0, len(lines)
    while i < n:
        if not _looks_like_instruction(lines[i]):
            i += 1
            continue
        start = i
        names = [(m.group(1) == "-", m.group(3)) for m in _HEREDOC_NAME.finditer(lines[i])]
        while i + 1 < n and lines[i].rstrip(" \t\r").endswith(escape):
            i += 1
            names += [(m.group(1) == "-", m.group(3)) for m in _HEREDOC_NAME.finditer(lines[i])]
        i += 1
        for strip_tabs, name in names:
            while i < n and (lines[i].lstrip("\t") if strip_tabs else lines[i]).rstrip("\r") != name:
                i += 1
            if i >= n:
                return start
            i += 1
    return None


def _last_good_opener(
    openers: Sequence[int], probe: Callable[[int], bool | None], cuts: Sequence[int]
) -> int | None:
    """The line of the last heredoc opener whose prefix still parses. The unclosed heredoc runs
    to the end of the file, so prefixes parse up to it and fail after it: the last few openers
    are tried first (the common case, and a cut inside a body cannot mislead them), then the
    rest are bisected."""
    tail = 8
    for k in reversed(openers[-tail:]):
        if probe(k):
            return cuts[k] + 1
    lo, hi = -1, len(openers) - tail
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(openers[mid]):
            lo = mid
        else:
            hi = mid
    return cuts[openers[lo]] + 1 if lo >= 0 else None


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


def _arg_pairs(
    ins: Instruction, escape: str, known: dict[str, str], budget: ExpansionBudget
) -> Iterator[tuple[str, str | None]]:
    """Each `name[=default]` of a global ARG, with `known` (the defaults in force) updated as
    it goes, so a later token of the same ARG sees an earlier one."""
    if not ins.args or ins.args == ("",):
        raise _fail(ins.start_line, "ARG needs a name, e.g. ARG VERSION=1.0")
    for token in ins.args:
        name, eq, raw = token.partition("=")
        if not name:
            raise _fail(ins.start_line, f'ARG "{token}" has no name')
        default: str | None = None
        if eq:
            default, _ = expand(raw, known, escape, line=ins.start_line, what=f"ARG {name}", budget=budget)
            known[name] = default
        else:
            known.pop(name, None)
        yield name, default


_PLATFORM_ARG_PLACEHOLDERS = {
    f"{prefix}{name}": "x" * size
    for prefix in ("BUILD", "TARGET")
    for name, size in (("PLATFORM", 32), ("OS", 16), ("ARCH", 16), ("VARIANT", 16))
}


def _stage(
    ins: Instruction,
    index: int,
    earlier: Mapping[str, int],
    known: Mapping[str, str],
    escape: str,
    budget: ExpansionBudget,
) -> Stage:
    """`earlier`: the folded names of the stages before this one."""
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
        if name.casefold() in earlier:
            raise _fail(ins.start_line, f'duplicate stage name "{name}"')
    base = args[0]
    resolved, unresolved = expand(
        base, known, escape, line=ins.start_line, what="the FROM image", budget=budget
    )
    is_ref = not unresolved and resolved.casefold() in earlier
    platforms = ins.flag_values("platform")
    if platforms:
        # Callers expand the flag with these ARGs set to the host's platform: checked here with
        # longer values, so no such expansion can go past the bound where this one did not.
        scope = {**known, **_PLATFORM_ARG_PLACEHOLDERS}
        expand(platforms[-1], scope, escape, line=ins.start_line, what="the --platform flag", budget=budget)
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
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$", re.DOTALL)


class _Expansion:
    """One call of `expand()`: what it is for (to name it in a refusal) and what it found."""

    def __init__(self, escape: str, line: int | None, what: str) -> None:
        self.escape = escape
        self.line = line
        self.what = what
        self.missing: list[str] = []
        self.uses: dict[str, int] = {}

    def too_long(self, values: Mapping[str, str]) -> DockerfileLimitError:
        reason = ""
        if self.uses:
            name = max(self.uses, key=lambda n: len(values.get(n, "")))
            count, size = self.uses[name], len(values.get(name, ""))
            if count > 1:
                doubling = "; each ARG or ENV like this doubles the one before" if count == 2 else ""
                reason = (
                    f" (it uses ${name} {count} times, and ${name} is already {size:,} characters{doubling})"
                )
            elif size * 2 >= MAX_EXPANDED_WORD:
                reason = f" (${name} alone is {size:,} characters)"
        return limit_error(
            self.line,
            f"{self.what} expands to {_kib(MAX_EXPANDED_WORD)} or more{reason}. "
            "Keep ARG and ENV values short; put long data in a file in the build context and COPY it.",
        )

    def too_deep(self) -> DockerfileLimitError:
        return limit_error(
            self.line,
            f"{self.what} nests ${{NAME:-...}} defaults more than {MAX_SUBSTITUTION_DEPTH} deep. "
            "Write the value out instead of nesting defaults.",
        )


def expand(
    word: str,
    values: Mapping[str, str],
    escape: str = "\\",
    *,
    line: int | None = None,
    what: str = "a value",
    budget: ExpansionBudget | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Substitutes `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}` and removes
    quotes, as BuildKit's shell lexer does for ARG defaults and FROM. A bare reference to a
    variable with no value is kept as written and its name returned, so callers can say which
    ARG lacks a default instead of building a mangled name.

    Bounded: a result of MAX_EXPANDED_WORD characters or more, defaults nested deeper than
    MAX_SUBSTITUTION_DEPTH, or a result that overdraws `budget` raise DockerfileLimitError for
    `line`, naming the value as `what` ("ARG A40"). The length is checked after every
    substitution, so an over-long result is refused before it is built."""
    run = _Expansion(escape, line, what)
    out = _expand(word, values, run, 0)
    if budget is not None:
        budget.left -= len(out)
        if budget.left < 0:
            raise limit_error(
                line,
                f"{what} takes the values this Dockerfile's ARG, ENV and other instructions expand to "
                f"past {_kib(budget.total)} in all. Keep ARG and ENV values short and use each only "
                "where it is needed.",
            )
    return out, tuple(dict.fromkeys(run.missing))


def _expand(word: str, values: Mapping[str, str], run: _Expansion, depth: int) -> str:
    if depth > MAX_SUBSTITUTION_DEPTH:
        raise run.too_deep()
    out: list[str] = []
    size = 0  # of the substituted parts; the literal ones are at most len(word)
    escape = run.escape
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
            mark = len(out)
            i = _expand_var(word, i, values, run, depth, out)
            size += sum(len(part) for part in out[mark:])
            if size >= MAX_EXPANDED_WORD:
                raise run.too_long(values)
        else:
            out.append(ch)
            i += 1
    result = "".join(out)
    if len(result) >= MAX_EXPANDED_WORD:
        raise run.too_long(values)
    return result


def _expand_var(
    word: str, i: int, values: Mapping[str, str], run: _Expansion, depth: int, out: list[str]
) -> int:
    nxt = word[i + 1]
    if nxt != "{":
        if not _VAR_START.match(nxt):
            out.append("$")
            return i + 1
        match = _VAR_CHARS.match(word, i + 2)
        end = match.end() if match else i + 2
        name = word[i + 1 : end]
        _lookup(name, word[i:end], values, run, out)
        return end
    close = _matching_brace(word, i + 2)
    if close < 0:
        out.append(word[i:])
        return len(word)
    match = _BRACED.match(word, i + 2, close)
    if match is None:
        out.append(word[i : close + 1])
        return close + 1
    name, op, alt = match.group(1), match.group(2), match.group(3) or ""
    value = values.get(name)
    if op is None:
        _lookup(name, word[i : close + 1], values, run, out)
    elif op in (":-", "-"):
        if value is not None and (value or op == "-"):
            run.uses[name] = run.uses.get(name, 0) + 1
            out.append(value)
        else:
            out.append(_expand(alt, values, run, depth + 1))
    elif value is not None and (value or op == "+"):
        out.append(_expand(alt, values, run, depth + 1))
    return close + 1


def _lookup(name: str, written: str, values: Mapping[str, str], run: _Expansion, out: list[str]) -> None:
    value = values.get(name)
    if value is not None:
        run.uses[name] = run.uses.get(name, 0) + 1
        out.append(value)
    else:
        out.append(written)
        run.missing.append(name)


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
    "MAX_EXPANDED_TOTAL",
    "MAX_EXPANDED_WORD",
    "MAX_SOURCE_WORD",
    "MAX_STAGES",
    "MAX_SUBSTITUTION_DEPTH",
    "Directive",
    "DockerfileLimitError",
    "DockerfileSyntaxError",
    "ExpansionBudget",
    "Heredoc",
    "Instruction",
    "ParsedDockerfile",
    "Stage",
    "expand",
    "frontend_directive",
    "limit_error",
    "parse",
    "read_directives",
]
