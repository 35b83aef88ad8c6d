"""One cgroup per build, so one student's fork bomb or memory hog uses up their own share and
never the builds running beside it.

BuildKit puts every `RUN` step in `<engine cgroup parent>/buildkit/<step id>`, one shared
parent for all builds on the engine, and honours no per-build limit. So every build gets a token
(`BUILD_TOKEN_ARG`, one of BuildKit's predefined proxy arguments: it reaches each RUN step's
environment but neither the cache key nor the image's history), and the `runc` that dockerd
finds first on its PATH is `sandbox/runc_wrapper.py`, which moves a step that carries a token
into `<parent>/b-<token>/<step id>` when that cgroup exists, and records where the step writes.
This module makes that cgroup with the build's limits, reads what happened in it, and removes
it. It also keeps the build's disk use: the size of every snapshot its RUN steps wrote.

Nothing here is needed for a build to run: where cgroups cannot be managed (not root, no
cgroupfs) the build runs under the engine's shared caps and `available()` says why.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
RUN_DIR = Path(os.environ.get("LAYERLAB_RUN_DIR", "/run/layerlab/builds"))
BUILD_TOKEN_ARG = "ftp_proxy"  # noqa: S105 (a build argument name, not a secret)
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
CONTROLLERS = ("pids", "memory")
KMSG = "/dev/kmsg"


def token_value(token: str) -> str:
    """The value the build argument carries; the wrapper looks for exactly this shape."""
    return f"http://build-{token}.layerlab.invalid"


def new_token() -> str:
    return secrets.token_hex(16)


def _v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _dirs(parent: str, name: str) -> list[Path]:
    if _v2():
        return [CGROUP_ROOT / parent / name]
    return [CGROUP_ROOT / c / parent / name for c in CONTROLLERS]


def available(parent: str) -> str:
    """Empty when per-build cgroups can be made under `parent`, else the reason they cannot."""
    if os.geteuid() != 0:
        return "the worker does not run as root, so it cannot make a cgroup per build"
    missing = [str(d) for d in _dirs(parent, "") if not d.is_dir()]
    if missing:
        return f"the engine's cgroup parent is missing ({', '.join(missing)}); run bin/host-setup"
    return ""


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _read_int(path: Path, key: str | None = None) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    if key is None:
        return int(text.strip() or 0) if text.strip().isdigit() else 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


@dataclass
class DiskUse:
    """What the build's RUN steps have written: every snapshot they wrote into, measured."""

    bytes: int = 0
    files: int = 0
    over_files: bool = False


@dataclass
class BuildCgroup:
    token: str
    parent: str
    pids_max: int
    memory_max: int
    steps_dir: Path
    made: list[Path] = field(default_factory=list)
    _finished: dict[str, DiskUse] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"b-{self.token}"

    def _dir(self, controller: str) -> Path:
        if _v2():
            return CGROUP_ROOT / self.parent / self.name
        return CGROUP_ROOT / controller / self.parent / self.name

    def oom_kills(self) -> int:
        """Processes the kernel killed because the build went over its memory share. cgroup v2
        counts them in the build's own `memory.events`; v1 counts them only in the killed
        step's cgroup, gone once the step has ended, so there the kernel log says it: each kill
        names the cgroup whose limit it enforced (`oom_memcg=/<parent>/b-<token>`)."""
        name, events = ("memory.events", "oom_kill") if _v2() else ("memory.oom_control", "oom_kill")
        base = self._dir("memory")
        kills = _read_int(base / name, events)
        with contextlib.suppress(OSError):
            for entry in os.scandir(base):
                if entry.is_dir():
                    kills += _read_int(Path(entry.path) / name, events)
        return max(kills, kernel_log_count(f"oom_memcg=/{self.parent}/{self.name},"))

    def memory_at_limit(self) -> bool:
        """The build's peak reached its limit. Weaker than a counted kill: on cgroup v1 the peak
        includes page cache, which a build that writes many files fills to the limit harmlessly;
        it says "memory" only together with a step killed by SIGKILL (exit code 137)."""
        return bool(self.memory_max) and self.memory_peak() >= self.memory_max * 0.98

    def pids_refused(self) -> int:
        """Times a process could not be started because the build had its share of processes
        (kernels count the refusal in the build's cgroup or the step's; where neither says,
        a peak at the limit does)."""
        base = self._dir("pids")
        refused = _read_int(base / "pids.events", "max")
        with contextlib.suppress(OSError):
            for entry in os.scandir(base):
                if entry.is_dir():
                    refused += _read_int(Path(entry.path) / "pids.events", "max")
        if not refused and self.pids_max and _read_int(base / "pids.peak") >= self.pids_max:
            refused = 1
        return refused

    def memory_peak(self) -> int:
        if _v2():
            return _read_int(self._dir("memory") / "memory.peak")
        return _read_int(self._dir("memory") / "memory.max_usage_in_bytes")

    def step_uppers(self) -> dict[str, Path]:
        """Step id → the directory that step's writes land in (recorded by the wrapper)."""
        out: dict[str, Path] = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.steps_dir):
                with contextlib.suppress(OSError):
                    out[entry.name] = Path(Path(entry.path).read_text().strip())
        return out

    def live_steps(self) -> set[str]:
        with contextlib.suppress(OSError):
            return {e.name for e in os.scandir(self._dir("pids")) if e.is_dir()}
        return set()

    def disk_use(self, *, max_files: int) -> DiskUse:
        """Bytes and files in every snapshot the build's steps wrote. A finished step's snapshot
        no longer changes, so it is measured once; a running one on every call."""
        live = self.live_steps()
        total = DiskUse()
        for step, upper in self.step_uppers().items():
            if step in self._finished:
                use = self._finished[step]
            else:
                use = measure(upper, max_files=max_files - total.files)
                if step not in live:
                    self._finished[step] = use
            total.bytes += use.bytes
            total.files += use.files
            total.over_files = total.over_files or use.over_files
        return total


def kernel_log_count(needle: str, *, max_bytes: int = 8 * 1024 * 1024) -> int:
    """Records of the kernel's log buffer that contain `needle` (0 where it cannot be read)."""
    try:
        fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    found, read = 0, 0
    try:
        while read < max_bytes:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break  # the end of the buffer
            except OSError:
                continue  # EPIPE: a record was overwritten while reading; go on with the next
            if not record:
                break
            read += len(record)
            found += needle.encode() in record
    finally:
        os.close(fd)
    return found


def measure(root: Path, *, max_files: int) -> DiskUse:
    """Allocated bytes under `root`, without following links; stops counting past `max_files`."""
    use = DiskUse()
    stack = [str(root)]
    while stack:
        top = stack.pop()
        try:
            entries = os.scandir(top)
        except OSError:
            continue
        with entries:
            for entry in entries:
                use.files += 1
                if use.files > max_files:
                    use.over_files = True
                    return use
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                use.bytes += st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return use


@contextlib.contextmanager
def build_cgroup(token: str, *, parent: str, pids_max: int, memory_max: int) -> Iterator[BuildCgroup | None]:
    """The build's own cgroup for as long as the build runs, then removed (its steps first).
    Yields None when cgroups cannot be managed here (see `available`)."""
    if not TOKEN_RE.match(token):
        raise ValueError("not a build token")
    if available(parent):
        yield None
        return
    steps_dir = RUN_DIR / token
    group = BuildCgroup(token, parent, pids_max, memory_max, steps_dir)
    try:
        steps_dir.mkdir(parents=True, mode=0o700)
        for path in _dirs(parent, group.name):
            path.mkdir()
            group.made.append(path)
        if _v2():
            _enable_v2_controllers(parent, group)
            _write(group._dir("pids") / "pids.max", str(pids_max))
            _write(group._dir("memory") / "memory.max", str(memory_max))
            _write(group._dir("memory") / "memory.swap.max", "0")
        else:
            _write(group._dir("pids") / "pids.max", str(pids_max))
            _write(group._dir("memory") / "memory.limit_in_bytes", str(memory_max))
            with contextlib.suppress(OSError):  # absent when the kernel has no swap accounting
                _write(group._dir("memory") / "memory.memsw.limit_in_bytes", str(memory_max))
        yield group
    finally:
        remove(group)


def _enable_v2_controllers(parent: str, group: BuildCgroup) -> None:
    with contextlib.suppress(OSError):
        _write(CGROUP_ROOT / parent / "cgroup.subtree_control", "+pids +memory")
    with contextlib.suppress(OSError):
        _write(group._dir("pids") / "cgroup.subtree_control", "+pids +memory")


def _kill_all(path: Path) -> None:
    # os.walk, not Path.rglob: step cgroups vanish while we look, and walk ignores that.
    for top, _dirs_here, files in os.walk(path):
        if "cgroup.procs" not in files:
            continue
        with contextlib.suppress(OSError, ValueError):
            for pid in Path(top, "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), 9)


def _rmdir_children(path: Path) -> None:
    with contextlib.suppress(OSError):
        for child in sorted((Path(e.path) for e in os.scandir(path) if e.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                child.rmdir()


def remove(group: BuildCgroup, wait_seconds: float = 10.0) -> bool:
    """Removes the build's cgroup (killing anything still in it once the engine had time to end
    it) and its step records, whatever happens on the way. True when nothing was left behind."""
    try:
        deadline = time.monotonic() + wait_seconds
        return all([_remove_dir(path, deadline) for path in reversed(group.made)])
    finally:
        shutil.rmtree(group.steps_dir, ignore_errors=True)


def _remove_dir(path: Path, deadline: float) -> bool:
    while True:
        _rmdir_children(path)
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    _kill_all(path)
    time.sleep(0.2)
    _rmdir_children(path)
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def reap(parent: str, older_than_seconds: float) -> int:
    """Removes build cgroups and step records a killed worker left behind."""
    if available(parent):
        return 0
    removed = 0
    now = time.time()
    for base in _dirs(parent, ""):
        for path in base.glob("b-*"):
            token = path.name[2:]
            if not TOKEN_RE.match(token) or _age(path, now) < older_than_seconds:
                continue
            group = BuildCgroup(token, parent, 0, 0, RUN_DIR / token, made=[path])
            removed += int(remove(group, wait_seconds=1.0))
    with contextlib.suppress(OSError):
        for entry in os.scandir(RUN_DIR):
            path = Path(entry.path)
            orphan = not any(d.exists() for d in _dirs(parent, f"b-{entry.name}"))
            if TOKEN_RE.match(entry.name) and orphan and _age(path, now) >= older_than_seconds:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0
