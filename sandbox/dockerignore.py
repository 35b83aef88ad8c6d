"""The `.dockerignore` matcher, a port of moby's patternmatcher (Go's filepath.Match with `**`)
so that what the grader thinks is excluded is what the engine excludes. Patterns come from the
student, so their number and length are bounded and matching is an NFA walk (linear in the
path), never a backtracking regular expression."""

from __future__ import annotations

import functools
import posixpath
import re
import warnings
from collections.abc import Sequence
from typing import NamedTuple

from sandbox.dockerfile import (
    DockerfileLimitError,
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
        path = _go_clean(norm_context_path(path))
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
def dockerignore_rules(text: str) -> DockerIgnore:
    """One compiled .dockerignore per text: `run_static` compiles it first (so one over its
    bounds is refused before any check runs) and the check reuses it."""
    return DockerIgnore(text)


def norm_context_path(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")
