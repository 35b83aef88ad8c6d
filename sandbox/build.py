"""Runs one untrusted build with BuildKit and turns its plain progress into step and log events.

The caller gets every event through `on_event` as it happens and a `BuildResult` at the end.
Whatever happens (error, timeout, a crash of ours) the tag this build created is removed by
the caller via `engine.image_remove`; this module only removes what it decides to reject."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox import ansi, cgroups, engine, failures
from sandbox.context import ContextError, build_context
from sandbox.dockerfile import ParsedDockerfile
from sandbox.limits import BuildLimits

log = logging.getLogger(__name__)

Event = dict[str, Any]
EventSink = Callable[[Event], None]

_VERTEX_HEAD = re.compile(r"^#(\d+) (\S.*)$")
# BuildKit pads the index to the width of the total: "[ 7/11]", "[build  7/11]".
_VERTEX_NAME = re.compile(r"^\[(?:(?P<stage>[^\]\s]+) +)? *(?P<index>\d+)/(?P<total>\d+)\] (?P<name>.*)$")
_VERTEX_LINE = re.compile(r"^#(\d+) (.*)$")
_TIMED = re.compile(r"^(\d+\.\d+) (.*)$")
_DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")
_SHA = re.compile(r"^sha256:[0-9a-f]{64}$")

TAIL_LINES = 60


@dataclass(frozen=True)
class StepSource:
    """One vertex-producing instruction (FROM, RUN, COPY, ADD, WORKDIR) of the Dockerfile:
    BuildKit numbers these per stage as `[stage i/m]`, which is how a step finds its line.
    A FROM that starts from `scratch` or from an earlier stage makes no vertex and takes no
    number: its `ordinal` is 0. `runs` is false for a stage the final image does not need,
    which BuildKit skips."""

    stage_index: int
    stage_name: str
    ordinal: int
    text: str
    line: int
    command: str = ""  # a RUN's command line, as the engine runs it
    runs: bool = True

    @property
    def key(self) -> str:
        """The step's id in events: stable across builds of the same Dockerfile."""
        return f"s{self.stage_index}.{self.ordinal}"


VERTEX_KEYWORDS = frozenset({"FROM", "RUN", "COPY", "ADD", "WORKDIR"})


def _makes_no_vertex(parsed: ParsedDockerfile, stage_index: int) -> bool:
    stage = parsed.stages[stage_index]
    return stage.is_stage_ref or stage.base_resolved.lower() == "scratch"


def stages_needed(parsed: ParsedDockerfile) -> frozenset[int]:
    """The stages BuildKit builds for the final image: the last stage and every stage it
    reaches through `FROM <stage>`, `COPY/ADD --from=<stage>` or `RUN --mount=...,from=<stage>`."""
    if not parsed.stages:
        return frozenset()
    needed: set[int] = set()
    todo = [parsed.stages[-1].index]
    while todo:
        index = todo.pop()
        if index in needed:
            continue
        needed.add(index)
        refs: list[str] = []
        stage = parsed.stages[index]
        if stage.is_stage_ref:
            refs.append(stage.base_resolved)
        for ins in parsed.stage_instructions(index):
            refs += ins.flag_values("from")
            for mount in ins.flag_values("mount"):
                for option in mount.split(","):
                    key, _, value = option.partition("=")
                    if key.strip().lower() == "from":
                        refs.append(value.strip())
        for ref in refs:
            found = parsed.stage_named(ref)
            if found is not None and found.index < index:
                todo.append(found.index)
    return frozenset(needed)


def step_sources(parsed: ParsedDockerfile) -> tuple[StepSource, ...]:
    names = {stage.index: stage.name or "" for stage in parsed.stages}
    needed = stages_needed(parsed)
    counts: dict[int, int] = {}
    out: list[StepSource] = []
    for ins in parsed.instructions:
        if ins.stage is None or ins.keyword not in VERTEX_KEYWORDS:
            continue
        if ins.keyword == "FROM" and _makes_no_vertex(parsed, ins.stage):
            ordinal = 0
        else:
            counts[ins.stage] = counts.get(ins.stage, 0) + 1
            ordinal = counts[ins.stage]
        text = _normalise(ins.original.split("\n", 1)[0] if ins.heredocs else ins.original)
        command = ""
        if ins.keyword == "RUN" and not ins.heredocs:
            command = " ".join(ins.args)  # the cache describes it after the shell: /bin/sh -c <this>
        source = StepSource(
            ins.stage,
            names.get(ins.stage, ""),
            ordinal,
            text,
            ins.start_line,
            command,
            ins.stage in needed,
        )
        out.append(source)
    return tuple(out)


PROGRESS_BEAT_SECONDS = 30.0


@dataclass
class BuildRequest:
    dockerfile: str
    context_files: Mapping[str, bytes | str]
    tag: str
    labels: Mapping[str, str]
    limits: BuildLimits = field(default_factory=BuildLimits)
    network: str = "none"
    build_args: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[StepSource, ...] = ()

    @property
    def run_commands(self) -> tuple[str, ...]:
        """The command text of each RUN step, as BuildKit describes it in its cache."""
        return tuple(s.command for s in self.sources if s.command)


@dataclass
class BuildResult:
    ok: bool
    # "", build_error, timeout, context_too_large, image_too_large, disk_limit, memory_limit, pids_limit
    code: str = ""
    message: str = ""
    line: int | None = None
    step: str = ""
    output: list[str] = field(default_factory=list)
    image_id: str = ""
    seconds: float = 0.0
    log_truncated: bool = False


@dataclass
class _Vertex:
    id: str
    name: str
    stage: str = ""
    index: int | None = None
    total: int | None = None
    line: int | None = None
    internal: bool = True
    state: str = "running"
    seconds: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    error: str = ""
    order: int | None = None  # its place among the planned steps, in Dockerfile order
    steps: int | None = None  # how many steps are planned

    def as_event(self) -> Event:
        event: Event = {
            "kind": "step",
            "id": self.id,
            "name": self.name,
            "stage": self.stage,
            "index": self.index,
            "total": self.total,
            "line": self.line,
            "internal": self.internal,
            "state": self.state,
            "seconds": self.seconds,
        }
        if self.order is not None:
            event["order"], event["steps"] = self.order, self.steps
        return event


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _stage_of(sources: tuple[StepSource, ...], label: str) -> int | None:
    indexes = sorted({s.stage_index for s in sources})
    if not label:
        return indexes[0] if len(indexes) == 1 else None
    for source in sources:
        if source.stage_name and source.stage_name.lower() == label.lower():
            return source.stage_index
    if label.startswith("stage-") and label[6:].isdigit():
        return int(label[6:])
    return None


def locate(sources: tuple[StepSource, ...], stage: str, index: int | None, name: str) -> StepSource | None:
    """The instruction a vertex runs: by stage and BuildKit's per-stage index, else by text."""
    stage_index = _stage_of(sources, stage)
    if stage_index is not None and index is not None:
        for source in sources:
            if source.stage_index == stage_index and source.ordinal == index:
                return source
    wanted = _normalise(name)
    for source in sources:
        if _normalise(source.text) == wanted:
            return source
    return None


class _ProgressParser:
    """Folds BuildKit's `--progress=plain` lines into vertex state and events.

    The steps that will run are announced first, each `waiting`, with its place (`order`) in
    Dockerfile order and how many there are (`steps`), so a page can count "step n of m" the
    way the student counts the Dockerfile. A vertex that runs a planned step reports under the
    step's `key`, not BuildKit's vertex number. BuildKit reports a step only once when two are
    the same (two stages `FROM` the same base): the one it leaves out is `cached` as soon as a
    later step of its stage starts, or when the build ends. Cache hits can be reported out of
    order, so a step presumed cached that BuildKit does report keeps its row and its state."""

    def __init__(self, request: BuildRequest, emit: EventSink) -> None:
        self.request = request
        self.emit = emit
        self.vertices: dict[str, _Vertex] = {}
        self.log_bytes = 0
        self.log_truncated = False
        self.hidden_lines = 0
        self.last_beat = 0.0
        self.trailer: deque[str] = deque(maxlen=TAIL_LINES)
        planned = [s for s in request.sources if s.ordinal and s.runs]
        labelled = len({s.stage_index for s in request.sources}) > 1
        totals: dict[int, int] = {}
        for source in planned:
            totals[source.stage_index] = totals.get(source.stage_index, 0) + 1
        self.plan: dict[str, _Vertex] = {}
        for order, source in enumerate(planned, start=1):
            stage = (source.stage_name or f"stage-{source.stage_index}") if labelled else ""
            self.plan[source.key] = _Vertex(
                id=source.key,
                name=source.text,
                stage=stage,
                index=source.ordinal,
                total=totals[source.stage_index],
                line=source.line,
                internal=False,
                state="waiting",
                order=order,
                steps=len(planned),
            )
        self.reported: set[str] = set()
        self.presumed: set[str] = set()  # cached by inference, not by a vertex BuildKit reported

    def announce(self) -> None:
        """The planned steps, before BuildKit says anything."""
        for step in self.plan.values():
            self.emit(step.as_event())

    def _cached_before(self, source: StepSource) -> None:
        """A step starts only once every earlier step of its stage is complete: those BuildKit
        did not report were the same as a step it did, and came from that step's result."""
        for key, step in self.plan.items():
            stage_index, _, ordinal = key[1:].partition(".")
            if (
                key not in self.reported
                and int(stage_index) == source.stage_index
                and int(ordinal) < source.ordinal
            ):
                self.reported.add(key)
                self.presumed.add(key)
                self._finish(step, "cached")

    def finish_plan(self) -> None:
        """After a build that succeeded: every planned step is in the image."""
        for key, step in self.plan.items():
            if key not in self.reported:
                self.reported.add(key)
                self._finish(step, "cached")

    def feed(self, line: str) -> None:
        head = _VERTEX_HEAD.match(line)
        if head and head.group(1) not in self.vertices:
            self._start(head.group(1), head.group(2))
            return
        m = _VERTEX_LINE.match(line)
        if not m or m.group(1) not in self.vertices:
            if line.strip():
                self.trailer.append(line)
            return
        vertex = self.vertices[m.group(1)]
        rest = m.group(2)
        if _SHA.match(rest):
            return
        if rest == "CACHED":
            self._finish(vertex, "cached")
        elif (done := _DONE.match(rest)) is not None:
            vertex.seconds = float(done.group(1))
            self._finish(vertex, "done")
        elif rest.startswith("ERROR"):
            vertex.error = rest.removeprefix("ERROR:").strip()
            self._finish(vertex, "error")
        elif rest == "CANCELED":
            self._finish(vertex, "canceled")
        else:
            timed = _TIMED.match(rest)
            text = timed.group(2) if timed else rest
            vertex.tail.append(text)
            if not vertex.internal:
                self._log(vertex, text)

    def _start(self, vid: str, label: str) -> None:
        label = label.strip()
        vertex = _Vertex(id=vid, name=label)
        m = _VERTEX_NAME.match(label)
        if m:
            vertex.stage = m.group("stage") or ""
            vertex.index = int(m.group("index"))
            vertex.total = int(m.group("total"))
            vertex.name = m.group("name")
            vertex.internal = False
            source = locate(self.request.sources, vertex.stage, vertex.index, vertex.name)
            if source is not None:
                # The student's own words: the engine builds a rewritten Dockerfile (pinned bases).
                vertex.name, vertex.line = source.text, source.line
                planned = self.plan.get(source.key)
                # A step marked cached for BuildKit (see `_cached_before`) that BuildKit reports
                # after all (cache hits arrive out of order) takes its row back.
                if planned is not None and (source.key not in self.reported or source.key in self.presumed):
                    self.reported.add(source.key)
                    self.presumed.discard(source.key)
                    self._cached_before(source)
                    vertex.id, vertex.order, vertex.steps = source.key, planned.order, planned.steps
        elif label.startswith("[internal] "):
            vertex.name = label.removeprefix("[internal] ")
        self.vertices[vid] = vertex
        self.emit(vertex.as_event())

    def _finish(self, vertex: _Vertex, state: str) -> None:
        vertex.state = state
        self.emit(vertex.as_event())

    def _log(self, vertex: _Vertex, text: str) -> None:
        text = ansi.colours_only(text)  # the page draws colours; titles and cursor moves go
        if self.log_truncated:
            # A long build (a PGO compile) keeps saying it is alive, in a line every 30 s at most.
            self.hidden_lines += 1
            now = time.monotonic()
            if now - self.last_beat >= PROGRESS_BEAT_SECONDS:
                self.last_beat = now
                self.emit(
                    {
                        "kind": "log",
                        "step": vertex.id,
                        "truncated": True,
                        "line": f"[still building: {self.hidden_lines} more log lines not shown; latest: "
                        f"{ansi.strip(text)[:160]}]",
                    }
                )
            return
        size = len(text.encode("utf-8")) + 1
        if self.log_bytes + size > self.request.limits.log_cap_bytes:
            self.log_truncated = True
            self.last_beat = time.monotonic()
            cap = self.request.limits.log_cap_bytes
            self.emit(
                {
                    "kind": "log",
                    "step": vertex.id,
                    "truncated": True,
                    "line": f"[log truncated at {cap // 1024} KiB; the build goes on]",
                }
            )
            return
        self.log_bytes += size
        self.emit({"kind": "log", "step": vertex.id, "line": text})

    def failed_vertex(self) -> _Vertex | None:
        errored = [v for v in self.vertices.values() if v.state == "error"]
        real = [v for v in errored if not v.internal]
        candidates = real or errored
        return candidates[0] if candidates else None

    def ran_a_step(self) -> bool:
        return any(v.state == "done" and v.name.startswith("RUN") for v in self.vertices.values())

    def open_vertices(self) -> list[_Vertex]:
        return [v for v in self.vertices.values() if v.state == "running"]


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
    lines.put(None)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Ends the build client and its process group; BuildKit cancels the build when the
    client's session goes away."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def build_image(
    request: BuildRequest, on_event: EventSink, on_idle: Callable[[], None] | None = None
) -> BuildResult:
    """Builds `request` and reports progress. Raises `engine.EngineError` when the engine, not
    the Dockerfile, is at fault. The build runs in a cgroup of its own (its share of processes
    and memory) and its RUN steps' writes are watched: over the disk cap, it is stopped. What a
    failed or refused build added to the engine's build cache is removed again (see `_forget`)."""
    since = time.time()
    try:
        result = _build_image(request, on_event, on_idle)
    except engine.EngineError:
        _clean_after_failure(request, since, keep_below=0)  # ours (a full disk): reclaim it all
        raise
    if not result.ok and result.code != "context_too_large":
        keep_below = KEEP_AFTER_STEP_FAILURE if result.code in failures.STEP_CODES else 0
        _clean_after_failure(request, since, keep_below=keep_below)
    return result


def _clean_after_failure(request: BuildRequest, since: float, *, keep_below: int) -> None:
    try:
        engine.image_remove(request.tag)  # a refused build may have made its image: it goes first
        _forget(request, since, keep_below)
    except Exception:  # clean-up never changes the outcome; the engine's GC is behind it
        log.warning("could not remove what a failed build left in the cache", exc_info=True)


KEEP_AFTER_STEP_FAILURE = 100 * 1024 * 1024
"""A build that failed at one of its steps keeps its cache entries smaller than this: they make
the student's corrected next try fast. Anything else a failed or refused build wrote goes."""


def _forget(request: BuildRequest, since: float, keep_below: int) -> int:
    """Removes the cache records this build created: exec results of its own RUN commands,
    created after it started and not in use by another build, from `keep_below` bytes up."""
    commands = {_normalise(c) for c in request.run_commands if c}
    if not commands:
        return 0
    ids = []
    for record in engine.build_cache_records():
        description = str(record.get("Description") or "")
        created = engine.parse_timestamp(record.get("CreatedAt"))
        if record.get("InUse") or created < since - 1 or not description.startswith("mount / from exec "):
            continue
        ran = _normalise(description.removeprefix("mount / from exec "))
        if any(ran.endswith(c) for c in commands) and int(record.get("Size") or 0) >= keep_below:
            ids.append(str(record["ID"]))
    return engine.build_cache_prune(ids)


def _build_image(
    request: BuildRequest, on_event: EventSink, on_idle: Callable[[], None] | None
) -> BuildResult:
    started = time.monotonic()
    limits = request.limits
    token = cgroups.new_token()
    build_args = {**request.build_args, cgroups.BUILD_TOKEN_ARG: cgroups.token_value(token)}
    try:
        with (
            build_context(
                dockerfile=request.dockerfile, files=request.context_files, cap_bytes=limits.context_cap_bytes
            ) as ctx,
            cgroups.build_cgroup(
                token,
                parent=limits.cgroup_parent,
                pids_max=limits.pids_max,
                memory_max=limits.memory_max_bytes,
            ) as group,
        ):
            proc = engine.start_build(
                context_dir=ctx,
                tag=request.tag,
                labels=request.labels,
                network=request.network,
                build_args=build_args,
            )
            parser = _ProgressParser(request, on_event)
            parser.announce()
            with _DiskWatch(group, limits) as watch:
                stopped = _pump(proc, parser, limits.timeout_seconds, started, on_idle, watch.reason)
                stopped = stopped or watch.final()
            oom_kills = group.oom_kills() if group else 0
            at_memory_limit = group.memory_at_limit() if group else False
            pids_refused = group.pids_refused() if group else 0
            if group is not None and not group.step_uppers() and parser.ran_a_step():
                log.warning(
                    "a RUN step ran outside its build's cgroup: dockerd does not run "
                    "sandbox/runc_wrapper.py first on its PATH (start it with bin/host-setup), "
                    "so builds share one pids and memory cap"
                )
    except ContextError as exc:
        return BuildResult(ok=False, code="context_too_large", message=str(exc))
    seconds = time.monotonic() - started

    if stopped:
        for vertex in parser.open_vertices():
            parser._finish(vertex, "canceled")
        running = [v for v in parser.vertices.values() if v.state == "canceled" and not v.internal]
        last = running[-1] if running else None
        where = _step_words(last)
        if stopped == "disk":
            code, message = _disk_message(watch, limits, where)
        elif pids_refused:
            code, message = _pids_message(limits, where)
        else:
            code = "timeout"
            message = (
                f"The build took longer than the {limits.timeout_seconds:g} s limit and was stopped{where}."
            )
        return BuildResult(
            ok=False,
            code=code,
            seconds=seconds,
            log_truncated=parser.log_truncated,
            message=message,
            line=last.line if last else None,
            step=last.name if last else "",
            output=list(last.tail) if last else [],
        )

    if proc.returncode != 0:
        if not engine.reachable():
            raise engine.EngineError("the engine went away during the build")
        space = engine.disk_space()
        if space is not None and space.free_bytes < limits.engine_min_free_bytes:
            # A step that could not write says so in its own words ("No space left on device",
            # exit 1) and would read as the student's: the host's disk is ours to keep.
            raise engine.EngineError(f"the engine's disk is full ({space.words()})")
        failed = parser.failed_vertex()
        killed = failed is not None and "exit code: 137" in failed.error
        # A kill the kernel counted explains the failure whatever the step's exit code: a
        # compiler killed for memory makes `make` exit 2, not 137.
        out_of_memory = bool(oom_kills) or (at_memory_limit and killed)
        if out_of_memory or pids_refused:
            where = _step_words(failed)
            code, message = _memory_message(limits, where) if out_of_memory else _pids_message(limits, where)
            return BuildResult(
                ok=False,
                code=code,
                message=message,
                seconds=seconds,
                line=failed.line if failed else None,
                step=failed.name if failed else "",
                output=list(failed.tail) if failed else list(parser.trailer),
                log_truncated=parser.log_truncated,
            )
        found = failures.classify(
            failures.BuildFailure(
                step=_failed_step(failed),
                trailer=tuple(parser.trailer),
                network=request.network,
                context_paths=tuple(request.context_files),
                sources=request.sources,
            )
        )
        if found.code in ENGINE_LOOKALIKES and engine.goes_away(within_seconds=ENGINE_LOOKALIKE_WAIT):
            raise engine.EngineError(f"the engine went away during the build ({found.code} was its echo)")
        return BuildResult(
            ok=False,
            code=found.code,
            message=found.message,
            seconds=seconds,
            line=found.line,
            step=found.step,
            output=list(found.output),
            log_truncated=parser.log_truncated,
        )

    parser.finish_plan()
    attrs = engine.image_attrs(request.tag)
    if attrs is None:
        raise engine.EngineError(f"the build reported success but {request.tag} is not in the engine")
    size = int(attrs.get("Size") or 0)
    if size > limits.image_cap_bytes:
        cap_mb = limits.image_cap_bytes / 1e6
        return BuildResult(
            ok=False,
            code="image_too_large",
            seconds=seconds,
            image_id=str(attrs["Id"]),
            message=f"The image is {size / 1e6:.0f} MB, over the {cap_mb:.0f} MB limit.",
        )
    return BuildResult(
        ok=True, image_id=str(attrs["Id"]), seconds=seconds, log_truncated=parser.log_truncated
    )


ENGINE_LOOKALIKES = frozenset({"run_no_program", "workdir_refused", "user_not_found", "build_error"})
"""Student failures a stopping engine can also cause (it unmounts a step's root under it): before
one is the student's, the engine must keep answering for a few seconds."""
ENGINE_LOOKALIKE_WAIT = 4.0


def _step_words(vertex: _Vertex | None) -> str:
    if vertex is None:
        return ""
    at = f" (line {vertex.line})" if vertex.line else ""
    return f" while running `{vertex.name[:120]}`{at}"


def _gb(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def _disk_message(watch: _DiskWatch, limits: BuildLimits, where: str) -> tuple[str, str]:
    if watch.over_files:
        return "disk_limit", (
            f"The build was stopped{where}: its RUN steps created more than {limits.max_files:,} files. "
            "Create fewer files, or delete them in the same RUN step that made them."
        )
    return "disk_limit", (
        f"The build was stopped{where}: its RUN steps wrote more than {_gb(limits.disk_cap_bytes)} "
        "to disk. Delete what you do not need in the same RUN step that made it (a later step "
        "cannot make an earlier layer smaller), and keep downloads and build trees out of the image."
    )


def _memory_message(limits: BuildLimits, where: str) -> tuple[str, str]:
    return "memory_limit", (
        f"The build was stopped{where}: it went over its memory limit of {_gb(limits.memory_max_bytes)}, "
        "so the kernel ended the process using the most. Use less memory at once, e.g. fewer "
        "parallel jobs (make -j1) or smaller inputs."
    )


def _pids_message(limits: BuildLimits, where: str) -> tuple[str, str]:
    return "pids_limit", (
        f"The build was stopped{where}: it reached its limit of {limits.pids_max} processes at "
        "once, and a program that keeps starting processes (a fork bomb) never finishes. Start "
        "fewer processes at a time."
    )


class _DiskWatch:
    """Measures, every second in a thread of its own, what the build's RUN steps have written;
    `reason()` says "disk" once that is over the cap."""

    INTERVAL = 1.0

    def __init__(self, group: cgroups.BuildCgroup | None, limits: BuildLimits) -> None:
        self.group = group
        self.limits = limits
        self.peak = 0
        self.over_files = False
        self._over = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _DiskWatch:
        if self.group is not None:
            self._thread = threading.Thread(target=self._run, name="layerlab-disk-watch", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        assert self.group is not None
        while not self._stop.wait(self.INTERVAL):
            use = self.group.disk_use(max_files=self.limits.max_files)
            self.peak = max(self.peak, use.bytes)
            if use.bytes > self.limits.disk_cap_bytes or use.over_files:
                self.over_files = use.over_files
                self._over.set()
                return

    def reason(self) -> str:
        return "disk" if self._over.is_set() else ""

    def final(self) -> str:
        """One last measure after the build: a step that wrote fast may have ended between two."""
        if self.group is None or self._over.is_set():
            return self.reason()
        use = self.group.disk_use(max_files=self.limits.max_files)
        self.peak = max(self.peak, use.bytes)
        if use.bytes > self.limits.disk_cap_bytes or use.over_files:
            self.over_files = use.over_files
            return "disk"
        return ""


def _pump(
    proc: subprocess.Popen[bytes],
    parser: _ProgressParser,
    timeout: float,
    started: float,
    on_idle: Callable[[], None] | None,
    stop_reason: Callable[[], str],
) -> str:
    """Feeds the parser until the client exits. Returns "" when it did, "timeout" when the build
    ran out of time, or the reason `stop_reason` gave for stopping it."""
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        while True:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                _kill(proc)
                return "timeout"
            if reason := stop_reason():
                _kill(proc)
                return reason
            try:
                item = lines.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                if on_idle is not None:
                    on_idle()
                continue
            if item is None:
                break
            parser.feed(item)
        proc.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
        return ""
    except subprocess.TimeoutExpired:
        _kill(proc)
        return "timeout"
    except BaseException:
        _kill(proc)
        raise
    finally:
        reader.join(timeout=5)
        if proc.stdout:
            proc.stdout.close()


def _failed_step(vertex: _Vertex | None) -> failures.FailedStep | None:
    if vertex is None:
        return None
    where = f"[{vertex.stage} {vertex.index}/{vertex.total}] " if vertex.stage else ""
    return failures.FailedStep(
        name=vertex.name,
        error=vertex.error,
        line=vertex.line,
        where=where,
        internal=vertex.internal,
        tail=tuple(vertex.tail),
    )
