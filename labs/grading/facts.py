"""What the Dockerfile criteria read, worked out once per submission: every RUN's script as
commands (a heredoc body is read as the script when a shell runs it), its mounts, the stage
chains, each stage's ARG/ENV environment, and what an image reference says about its base."""

from __future__ import annotations

import bisect
import math
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labs.grading.shell import (
    SHELLS,
    Cmd,
    Segment,
    ShellBudget,
    ShellReader,
    basename,
    dash_c_script,
    rm_targets,
)
from sandbox.dockerfile import (
    ExpansionBudget,
    Instruction,
    ParsedDockerfile,
    Stage,
    expand,
)


@dataclass(frozen=True)
class StaticInput:
    text: str  # the submitted Dockerfile
    parsed: ParsedDockerfile
    dockerignore: str | None  # the submitted .dockerignore, None if absent
    context_paths: frozenset[str]  # relative paths of the exercise's context files
    options: Mapping[str, Any]  # this criterion's rubric options merged over its defaults
    _facts: Facts | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._facts is None:
            object.__setattr__(self, "_facts", Facts(self.text, self.parsed))

    @property
    def facts(self) -> Facts:
        """What every check reads (RUN scripts, stage chains), worked out once per submission."""
        assert self._facts is not None
        return self._facts


# --------------------------------------------------------------------------- RUN facts


@dataclass(frozen=True)
class Mount:
    type: str
    target: str
    source: str
    from_: str


def run_mounts(ins: Instruction) -> tuple[Mount, ...]:
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
        return self.last_order(lambda c: any(predicate(t) for t in rm_targets(c)))


def _shell_heredoc(content: str) -> bool:
    match = _SHEBANG_RE.match(content)
    if match is None:
        return True
    program = basename(match.group(1))
    if program == "env" and match.group(2):
        program = basename(match.group(2))
    return program in SHELLS


def _build_run(ins: Instruction, lines: Sequence[str], budget: ShellBudget | None = None) -> Run:
    reader = ShellReader(ins.start_line, budget)
    parts: list[str] = []
    if ins.json:
        argv = list(ins.args)
        script = dash_c_script(argv) if argv and basename(argv[0]) in SHELLS else None
        if script is not None:
            parts.append(script)
            reader.read(script)
        else:
            parts.append(" ".join(argv))
            reader.segments([Segment(tuple(argv), "")])
    else:
        line = " ".join(ins.args)
        if ins.heredocs:
            rest = _HEREDOC_MARK.sub(" ", line).strip()
            first = rest.split(None, 1)[0] if rest else ""
            runs_body = not rest or basename(first) in SHELLS
            if rest:
                parts.append(rest)
            if runs_body:
                parts.extend(h.content for h in ins.heredocs if _shell_heredoc(h.content))
        else:
            parts.append(line)
        for part in parts:
            reader.read(part)
    located = _locate_all(reader.cmds, lines, ins.start_line, ins.end_line)
    return Run(ins, tuple(located), run_mounts(ins), "\n".join(parts))


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


class Facts:
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
        shell = ShellBudget()
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


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    ref, _, digest = ref.partition("@")
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :], digest or None
    return ref, None, digest or None


_ALPINE_TAG = re.compile(r"(^|[-_.])alpine")


def slim_kind(ref: str) -> str | None:
    """Why a base counts as small (scratch, distroless, slim, alpine, ...), None when it doesn't."""
    lowered = ref.lower()
    if lowered == "scratch":
        return "scratch"
    repo, tag, _ = split_image(lowered)
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


BROAD_SOURCES = frozenset({".", "./", "*", "./*", "/", "**"})
