"""Running a student's image under lock: one command, its effective user, its health check.

Every container here goes through `engine`, which labels it and always removes it. The locks
(RunLimits) follow docs/sandbox.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
class HealthResult:
    status: Literal["healthy", "unhealthy", "none", "timeout"]
    log: tuple[str, ...]


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
