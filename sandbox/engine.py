"""The one boundary to the Docker engine: the only module that imports the docker SDK or runs
the docker CLI. Everything here takes and returns plain data."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

log = logging.getLogger(__name__)

LABEL_SUBMISSION = "org.layerlab.submission"
LABEL_CREATED = "org.layerlab.created"


class EngineError(RuntimeError):
    """The engine is unreachable or misbehaved: our fault, never the student's."""


@dataclass(frozen=True)
class BuildCli:
    """How to run a BuildKit build with the CLIs found on this host."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    kind: str  # "buildx" or "native"


@functools.cache
def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=120)
        c.ping()
    except (docker.errors.DockerException, OSError) as exc:  # requests' connection errors are OSErrors
        raise EngineError(f"Docker engine unreachable: {exc}") from exc
    return c


def reachable() -> bool:
    """Whether the engine answers now. A build that failed while it did not (dockerd stopped or
    restarted mid-build) failed because of us, whatever the build printed: a step whose root
    filesystem was unmounted under it reads like a base without /bin/sh."""
    try:
        return bool(client().ping())
    except EngineError:
        return False
    except (docker.errors.DockerException, OSError):  # requests' errors are OSErrors
        return False


def goes_away(within_seconds: float, every: float = 0.25) -> bool:
    """Whether the engine stops answering within the time: a dockerd that was told to stop
    still answers for a moment while it tears down the build it was running."""
    deadline = time.monotonic() + within_seconds
    while True:
        if not reachable():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


def _cli_candidates() -> list[str]:
    found = [shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"]
    seen: list[str] = []
    for path in found:
        if path and os.access(path, os.X_OK) and os.path.realpath(path) not in map(os.path.realpath, seen):
            seen.append(path)
    return seen


def _client_version(cli: str) -> tuple[int, ...]:
    out = subprocess.run(
        [cli, "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    m = re.match(r"(\d+)\.(\d+)", out.strip())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@functools.cache
def build_cli() -> BuildCli:
    """Detects a BuildKit-capable CLI: `docker buildx build` where buildx exists, otherwise a
    CLI older than 23 whose `docker build` runs BuildKit natively with DOCKER_BUILDKIT=1."""
    base_env = {"DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}
    candidates = _cli_candidates()
    for cli in candidates:
        probe = subprocess.run(
            [cli, "buildx", "version"], capture_output=True, text=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return BuildCli(argv=(cli, "buildx", "build", "--load"), env=base_env, kind="buildx")
    for cli in candidates:
        if (0, 0) < _client_version(cli) < (23, 0):
            return BuildCli(argv=(cli, "build"), env=base_env, kind="native")
    raise EngineError(
        "No BuildKit-capable docker CLI found: install the buildx plugin, or Debian's docker.io "
        f"(/usr/bin/docker). Looked at: {', '.join(candidates) or 'nothing on PATH'}"
    )


def engine_versions() -> dict[str, str]:
    """Server, API and runc versions, for the system check and the closing notes."""
    info = client().version()
    versions = {"engine": str(info.get("Version", "?")), "api": str(info.get("ApiVersion", "?"))}
    for comp in info.get("Components") or []:
        if comp.get("Name") == "runc":
            versions["runc"] = str(comp.get("Version", "?"))
        if comp.get("Name") == "containerd":
            versions["containerd"] = str(comp.get("Version", "?"))
    return versions


def registry_proxy() -> str:
    """The proxy the engine's own registry requests go through: bin/host-setup points it at a
    closed port so the engine cannot pull. Empty means the engine can reach registries."""
    info = client().info()
    return str(info.get("HttpsProxy") or "")


def _die_with_parent() -> None:
    """Runs in the build client before exec: if the worker that started it dies, the kernel
    kills the client too, and BuildKit cancels the build instead of finishing an orphan."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


PR_SET_PDEATHSIG = 1


def start_build(
    *,
    context_dir: Path,
    tag: str,
    labels: Mapping[str, str],
    network: str = "none",
    build_args: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Starts a BuildKit build as a child process (its own session so a timeout can kill the
    whole group). Output is plain progress on stdout+stderr. Never pulls, never grants
    entitlements, never passes secrets or ssh."""
    cli = build_cli()
    argv = [*cli.argv, "--progress=plain", f"--network={network}", "--tag", tag]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    for key, value in (build_args or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    argv += [*extra_args, "--file", str(context_dir / "Dockerfile"), str(context_dir)]
    env = {**os.environ, **cli.env}
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # only a prctl between fork and exec
    )


def image_attrs(ref: str) -> dict[str, Any] | None:
    try:
        image = client().images.get(ref)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise EngineError(f"inspecting {ref}: {exc}") from exc
    attrs: dict[str, Any] = image.attrs
    return attrs


def image_export_stream(ref: str) -> Iterator[bytes]:
    """`docker save` of one image, yielded as it arrives so a caller can parse it without holding
    or writing the archive. Closing the iterator early drops the connection: the engine has
    already materialised every layer before the first byte, so the rest costs it nothing."""
    try:
        yield from client().images.get(ref).save(chunk_size=1 << 20)
    except docker.errors.APIError as exc:
        raise EngineError(f"exporting {ref}: {exc}") from exc


def image_history(ref: str) -> list[dict[str, Any]]:
    try:
        history: list[dict[str, Any]] = client().api.history(ref)
    except docker.errors.APIError as exc:
        raise EngineError(f"history of {ref}: {exc}") from exc
    return history


def images_copy_from(source: str, refs: Sequence[str], timeout: float = 1800) -> None:
    """Copies local images from another engine (`source`, a DOCKER_HOST address such as
    unix:///var/run/docker.sock or ssh://host) into this one: `docker save` there piped into
    `docker load` here, so both hosts build on byte-identical bases (the same image and layer ids).
    Nothing is pulled from a registry."""
    cli = _cli_candidates()[0] if _cli_candidates() else "docker"
    saver = subprocess.Popen(
        [cli, "--host", source, "save", *refs], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        loaded = subprocess.run(
            [cli, "load", "--quiet"], stdin=saver.stdout, capture_output=True, timeout=timeout, check=False
        )
    finally:
        if saver.stdout is not None:
            saver.stdout.close()
        try:
            saver.wait(timeout=60)
        except subprocess.TimeoutExpired:
            saver.kill()
            saver.wait()
    said = (saver.stderr.read().decode(errors="replace") if saver.stderr else "").strip()
    if saver.stderr is not None:
        saver.stderr.close()
    if saver.returncode != 0:
        raise EngineError(f"saving {', '.join(refs)} from {source} failed: {said[-500:]}")
    if loaded.returncode != 0:
        raise EngineError(f"loading into this engine failed: {loaded.stderr.decode(errors='replace')[-500:]}")


@dataclass(frozen=True)
class DiskSpace:
    path: str
    free_bytes: int
    total_bytes: int

    def words(self) -> str:
        return f"{self.free_bytes / 1e6:.0f} MB free of {self.total_bytes / 1e6:.0f} MB at {self.path}"


def disk_space() -> DiskSpace | None:
    """Free space on the filesystem of the engine's data root, when it is on this machine (a
    build host's worker runs beside its engine); None when it cannot be read from here."""
    try:
        root = str(client().info().get("DockerRootDir") or "")
        stat = os.statvfs(root)
    except (EngineError, docker.errors.DockerException, OSError):
        return None
    return DiskSpace(root, stat.f_bavail * stat.f_frsize, stat.f_blocks * stat.f_frsize)


def image_exists(ref: str) -> bool:
    return image_attrs(ref) is not None


def image_tag(image_id: str, ref: str) -> None:
    """Gives a local image one more name (the engine's own store; nothing is fetched)."""
    repository, _, tag = ref.rpartition(":")
    try:
        client().api.tag(image_id, repository, tag)
    except docker.errors.APIError as exc:
        raise EngineError(f"tagging {image_id[:19]} as {ref}: {exc}") from exc


@functools.cache
def host_platform() -> str:
    """The platform the engine builds for, `os/arch`: the only one a build may ask for."""
    info = client().version()
    return f"{info.get('Os', 'linux')}/{info.get('Arch', 'amd64')}"


def image_remove(ref: str) -> None:
    """Removes a tag (and the image if nothing else holds it). Missing is fine."""
    try:
        client().images.remove(ref, force=True, noprune=False)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 404:
            raise EngineError(f"removing {ref}: {exc}") from exc


def build_cache_records() -> list[dict[str, Any]]:
    """BuildKit's cache records: id, type, description, size, created and in-use."""
    try:
        records: list[dict[str, Any]] = client().df().get("BuildCache") or []
    except docker.errors.APIError as exc:
        raise EngineError(f"listing the build cache: {exc}") from exc
    return records


def build_cache_prune(ids: Sequence[str]) -> int:
    """Removes these build cache records (those not in use); returns the bytes reclaimed."""
    reclaimed = 0
    for record in ids:  # the engine takes one value per filter
        try:
            done = client().api.prune_builds(filters={"id": [record]})
        except docker.errors.APIError as exc:
            raise EngineError(f"pruning the build cache: {exc}") from exc
        reclaimed += int(done.get("SpaceReclaimed") or 0)
    return reclaimed


@dataclass(frozen=True)
class BuildScope:
    """The names one grading gives the engine: its tag and the labels on everything it makes."""

    owner: str
    tag: str
    labels: Mapping[str, str]


@contextlib.contextmanager
def build_scope(owner: str) -> Iterator[BuildScope]:
    """Owns one grading's tag, labels and clean-up, so no caller cleans up by hand. Anything an
    earlier attempt of the same owner left is removed first; on the way out the tag and every
    container and image labelled with the owner go. Clean-up never raises: an engine that is
    down is logged and the reaper removes the rest later, so the grading's own outcome (or its
    error) is what the caller sees."""
    safe = re.sub(r"[^a-z0-9_.-]", "-", owner.lower())[:60] or "x"
    scope = BuildScope(
        owner=owner, tag=f"layerlab-{safe}:{uuid.uuid4().hex[:12]}", labels={LABEL_SUBMISSION: owner}
    )
    _quietly(remove_labelled, LABEL_SUBMISSION, owner)
    try:
        yield scope
    finally:
        _quietly(image_remove, scope.tag)
        _quietly(remove_labelled, LABEL_SUBMISSION, owner)


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.warning("clean-up %s%r failed; the reaper will retry it", fn.__name__, args, exc_info=True)


def labelled_leftovers(label: str = LABEL_SUBMISSION, value: str | None = None) -> dict[str, list[str]]:
    """Containers and images carrying a Layerlab label (optionally with a given value)."""
    selector = f"{label}={value}" if value is not None else label
    c = client()
    containers = [x.id for x in c.containers.list(all=True, filters={"label": selector})]
    images = [x.id for x in c.images.list(all=True, filters={"label": selector})]
    return {"containers": containers, "images": images}


def remove_labelled(
    label: str = LABEL_SUBMISSION, value: str | None = None, older_than_seconds: float = 0
) -> dict[str, int]:
    """Removes containers and images carrying a Layerlab label, created more than
    `older_than_seconds` ago. The reaper for anything a killed worker left behind."""
    selector = f"{label}={value}" if value is not None else label
    c = client()
    now = time.time()
    removed = {"containers": 0, "images": 0}
    for container in c.containers.list(all=True, filters={"label": selector}):
        created = _created_epoch(container.attrs.get("Created", ""))
        if now - created >= older_than_seconds:
            try:
                container.remove(force=True)
                removed["containers"] += 1
            except docker.errors.NotFound:
                pass
    for image in c.images.list(all=True, filters={"label": selector}):
        created = _created_epoch(image.attrs.get("Created", ""))
        if now - created >= older_than_seconds:
            for ref in image.tags or [image.id]:
                image_remove(ref)
            removed["images"] += 1
    return removed


def parse_timestamp(stamp: Any) -> float:
    """Seconds since the epoch from the engine's RFC 3339 (nanoseconds) or epoch stamps."""
    return _created_epoch(stamp)


def _created_epoch(stamp: Any) -> float:
    if isinstance(stamp, int | float):
        return float(stamp)
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(stamp)[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0


def import_rootfs(rootfs_dir: Path, ref: str, changes: Sequence[str] = ()) -> str:
    """`tar -C DIR -c . | docker import - REF` with Dockerfile `changes` (LABEL, CMD, ENV)."""
    argv = [_cli_candidates()[0], "import"]
    for change in changes:
        argv += ["--change", change]
    argv += ["-", ref]
    tar = subprocess.Popen(
        ["tar", "-C", str(rootfs_dir), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    )
    try:
        done = subprocess.run(argv, stdin=tar.stdout, capture_output=True, text=True, check=False)
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar.wait()
    if tar.returncode != 0 or done.returncode != 0:
        raise EngineError(f"docker import {ref} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def build_trusted(
    dockerfile: str,
    ref: str,
    *,
    network: str = "default",
    build_args: Mapping[str, str] | None = None,
    context_files: Mapping[str, bytes] | None = None,
) -> Iterator[str]:
    """Builds one of the platform's own images (never a student's) and yields its output lines.
    Trusted builds may use the network (through the package proxy) to fetch Debian packages."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="layerlab-seed-") as tmp:
        ctx = Path(tmp)
        for name, data in (context_files or {}).items():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            (ctx / name).write_bytes(data)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        proc = start_build(context_dir=ctx, tag=ref, labels={}, network=network, build_args=build_args)
        assert proc.stdout is not None
        tail: list[str] = []
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail = [*tail[-40:], line]
            yield line
        if proc.wait() != 0:
            raise EngineError(f"building {ref} failed:\n" + "\n".join(tail))


@functools.cache
def server_version() -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", engine_versions()["engine"])
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def keeps_setuid_chmod() -> bool:
    """Docker 20.10's BuildKit turns `COPY --chmod=4755` into 0755 (checked on that engine);
    newer engines are taken to keep the bits."""
    return server_version() >= (23, 0)


def supports_heredocs() -> bool:
    """Heredocs are built into the Dockerfile frontend from Docker Engine 23; with `# syntax=`
    refused, an older engine cannot build them at all."""
    return server_version() >= (23, 0)


# Containers for behaviour tests (sandbox.run). Everything below creates containers only under
# the locks the caller passes, labels each one, and removes each one before returning.

NOOP_COMMAND = ("layerlab-noop-never-run",)
"""The command of a container that is created only to read its filesystem: it is never started,
but the engine refuses to create a container of an image that has neither ENTRYPOINT nor CMD."""

_LOCKED_HOST_KEYS = frozenset(
    {
        "mem_limit",
        "memswap_limit",
        "nano_cpus",
        "cpuset_cpus",
        "pids_limit",
        "read_only",
        "tmpfs",
        "network_mode",
        "cap_drop",
        "security_opt",
        "runtime",
        "ulimits",
        "init",
    }
)
"""The only host settings a caller may pass. Anything that widens a container (privileged,
cap_add, binds, devices, host namespaces, published ports) is not in the list, so no caller can
ask for it by mistake."""

_REQUIRED_HOST_KEYS = frozenset(
    {"mem_limit", "memswap_limit", "pids_limit", "network_mode", "cap_drop", "security_opt"}
)


def _labels_or_default(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Every container carries a submission label so the reaper can find what a killed worker
    left behind."""
    found = dict(labels or {})
    if not found:
        found = {LABEL_SUBMISSION: "adhoc"}
    return found


def _host_config(host: Mapping[str, Any]) -> Any:
    unknown = set(host) - _LOCKED_HOST_KEYS
    if unknown:
        raise ValueError(f"host settings not allowed for a sandboxed container: {sorted(unknown)}")
    missing = _REQUIRED_HOST_KEYS - set(host)
    if missing:
        raise ValueError(f"a sandboxed container needs these host settings: {sorted(missing)}")
    settings = {k: v for k, v in host.items() if v is not None}
    return client().api.create_host_config(
        **settings,
        privileged=False,
        log_config={"type": "none", "config": {}},
    )


def container_create(
    image: str,
    *,
    command: Sequence[str] | None,
    entrypoint: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    host: Mapping[str, Any],
) -> str:
    """Creates (never starts) a container and returns its id. `entrypoint=[]` clears the image's
    entrypoint; `None` keeps it. The caller owns the id and must `container_remove` it."""
    api = client().api
    try:
        created = api.create_container(
            image,
            command=list(command) if command is not None else None,
            entrypoint=list(entrypoint) if entrypoint is not None else None,
            environment=dict(env) if env else None,
            user=user or None,
            labels=_labels_or_default(labels),
            host_config=_host_config(host),
            network_disabled=host.get("network_mode") == "none",
            use_config_proxy=False,
        )
    except docker.errors.ImageNotFound as exc:
        raise EngineError(f"image {image} is not in the engine") from exc
    except docker.errors.APIError as exc:
        raise EngineError(f"creating a container of {image}: {exc}") from exc
    return str(created["Id"])


def container_remove(container_id: str) -> None:
    """Force-removes a container with its anonymous volumes (an image's VOLUME makes one on
    every create). Missing is fine."""
    try:
        client().api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 404:
            raise EngineError(f"removing container {container_id[:12]}: {exc}") from exc


@contextlib.contextmanager
def container_created(
    image: str, *, labels: Mapping[str, str] | None, host: Mapping[str, Any]
) -> Iterator[str]:
    """A created-not-started container for reading the image's filesystem through the archive
    API: works on images without a shell or any binary at all (scratch, distroless)."""
    container_id = container_create(image, command=NOOP_COMMAND, labels=labels, host=host)
    try:
        yield container_id
    finally:
        container_remove(container_id)


class _Capped:
    """Collects one output stream up to a cap and counts what it had to drop."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.cap - self.kept
        if room > 0:
            self.chunks.append(data[:room])
            self.kept += min(room, len(data))
        self.dropped += max(0, len(data) - max(room, 0))

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _drain(stream: Any, out: _Capped, err: _Capped) -> None:
    """Reads the attached stream to its end, past the caps too: a writer blocked on a full pipe
    would otherwise look like a program that hangs."""
    try:
        for stdout, stderr in stream:
            if stdout:
                out.add(stdout)
            if stderr:
                err.add(stderr)
    except Exception:  # noqa: S110 (the stream breaks when the container is killed: keep what we have)
        pass


def _wait_exit(container_id: str, timeout: float) -> bool:
    """True when the container exited within `timeout` seconds."""
    if timeout <= 0:
        return False
    try:
        client().api.wait(container_id, timeout=timeout)
    except OSError:  # requests' ReadTimeout and ConnectionError: still running at the deadline
        return False
    except docker.errors.APIError as exc:
        raise EngineError(f"waiting for container {container_id[:12]}: {exc}") from exc
    return True


def _start_error(container_id: str, exc: docker.errors.APIError) -> str:
    """The runtime's message when the image could not start its process (no such executable,
    unknown user): the student's fault. Anything else is the engine's, and raises."""
    state = client().api.inspect_container(container_id).get("State") or {}
    if state.get("Error"):
        return str(state["Error"])
    raise EngineError(f"starting container {container_id[:12]}: {exc}") from exc


def container_run_locked(
    image: str,
    *,
    command: Sequence[str] | None,
    entrypoint: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    host: Mapping[str, Any],
    timeout_seconds: float,
    output_cap_bytes: int,
    commit_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Runs one container to its end or to the wall-clock limit (then SIGKILL), and removes it
    whatever happens. Output is read from an attach made before the start, so nothing is lost
    and nothing is written to the engine's disk (the log driver is `none`).

    Returns plain data: exit_code (None when it never ran), stdout and stderr (bytes, each at
    most `output_cap_bytes`), stdout_dropped and stderr_dropped (bytes past the cap), truncated,
    timed_out, oom_killed, seconds, start_error (the
    engine's message when the process could not be started, e.g. no such executable) and image
    (the id of the committed result when `commit_labels` is given and the process ran)."""
    api = client().api
    container_id = container_create(
        image, command=command, entrypoint=entrypoint, env=env, user=user, labels=labels, host=host
    )
    out, err = _Capped(output_cap_bytes), _Capped(output_cap_bytes)
    reader: threading.Thread | None = None
    result: dict[str, Any] = {
        "exit_code": None,
        "timed_out": False,
        "oom_killed": False,
        "seconds": 0.0,
        "start_error": None,
        "image": None,
    }
    try:
        try:
            stream = api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
        except docker.errors.APIError as exc:
            raise EngineError(f"attaching to container {container_id[:12]}: {exc}") from exc
        reader = threading.Thread(target=_drain, args=(stream, out, err), daemon=True)
        reader.start()
        started = time.monotonic()
        try:
            api.start(container_id)
        except docker.errors.APIError as exc:
            result["start_error"] = _start_error(container_id, exc)
        if result["start_error"] is None:
            exited = _wait_exit(container_id, timeout_seconds - (time.monotonic() - started))
            result["seconds"] = time.monotonic() - started
            if not exited:
                result["timed_out"] = True
                with contextlib.suppress(docker.errors.APIError):
                    api.kill(container_id)
                _wait_exit(container_id, 10)
        reader.join(timeout=5)
        state = api.inspect_container(container_id).get("State") or {}
        if result["start_error"] is None or state.get("ExitCode"):
            result["exit_code"] = int(state.get("ExitCode", -1))
        result["oom_killed"] = bool(state.get("OOMKilled"))
        if commit_labels is not None and result["start_error"] is None and not result["timed_out"]:
            changes = [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in commit_labels.items()]
            result["image"] = str(api.commit(container_id, changes=changes)["Id"])
    except docker.errors.APIError as exc:
        raise EngineError(f"running a container of {image}: {exc}") from exc
    finally:
        container_remove(container_id)
        if reader is not None:
            reader.join(timeout=5)
    result["stdout"] = out.value()
    result["stderr"] = err.value()
    result["stdout_dropped"] = out.dropped
    result["stderr_dropped"] = err.dropped
    result["truncated"] = bool(out.dropped or err.dropped)
    return result


def _archive_response(container_id: str, path: str) -> Any:
    """The raw archive response for `path` (the daemon tars it lazily; the caller reads as little
    as it needs and must close it, or a later remove of the container waits on it)."""
    api = client().api
    res = api._get(api._url("/containers/{0}/archive", container_id), params={"path": path}, stream=True)
    return res


def container_stat_path(container_id: str, path: str) -> dict[str, Any] | None:
    """lstat of a path in a (created) container: None when it does not exist. `mode` is Go's
    os.FileMode (what container-structure-test prints), uid/gid come from the archive's first
    header, `link_target` is the engine's resolution of a symlink inside the container."""
    res = _archive_response(container_id, path)
    try:
        if res.status_code == 404:
            return None
        if res.status_code >= 400:
            message = res.text.strip()
            if res.status_code == 500 and "not a directory" in message:
                return None
            raise EngineError(f"reading {path} in container {container_id[:12]}: {message}")
        stat = json.loads(base64.b64decode(res.headers.get("X-Docker-Container-Path-Stat", "")))
        res.raw.decode_content = True
        with tarfile.open(fileobj=res.raw, mode="r|") as archive:
            first = archive.next()
        return {
            "name": str(stat.get("name", "")),
            "mode": int(stat.get("mode", 0)),
            "size": int(stat.get("size", 0)),
            "link_target": str(stat.get("linkTarget", "")),
            "uid": first.uid if first is not None else None,
            "gid": first.gid if first is not None else None,
        }
    except (tarfile.TarError, ValueError) as exc:
        raise EngineError(f"reading {path} in container {container_id[:12]}: {exc}") from exc
    finally:
        res.close()


def container_read_file(container_id: str, path: str, cap_bytes: int) -> tuple[bytes, bool] | None:
    """The first `cap_bytes` of a regular file in a (created) container and whether there was
    more. None when the path does not exist or is not a regular file (symlinks are not followed
    here: the caller resolves them with `container_stat_path`)."""
    res = _archive_response(container_id, path)
    try:
        if res.status_code >= 400:
            return None
        res.raw.decode_content = True
        with tarfile.open(fileobj=res.raw, mode="r|") as archive:
            first = archive.next()
            if first is None or not first.isreg():
                return None
            handle = archive.extractfile(first)
            if handle is None:
                return None
            data = handle.read(cap_bytes + 1)
        return data[:cap_bytes], len(data) > cap_bytes
    except tarfile.TarError as exc:
        raise EngineError(f"reading {path} in container {container_id[:12]}: {exc}") from exc
    finally:
        res.close()


def container_health(
    image: str,
    *,
    labels: Mapping[str, str] | None = None,
    host: Mapping[str, Any],
    wait_seconds: float,
    poll_seconds: float = 0.25,
) -> dict[str, Any]:
    """Starts the image's own entrypoint/cmd detached under the locks, polls the engine's health
    status until it settles or `wait_seconds` pass, then kills and removes the container.

    Returns status ("healthy", "unhealthy", "none", "timeout", or "exited" when the process
    ended before its check settled), exit_code (when it exited) and log (the engine's probe
    records: exit code and output)."""
    api = client().api
    container_id = container_create(image, command=None, labels=labels, host=host)
    status, exit_code, log = "timeout", None, []
    try:
        try:
            api.start(container_id)
        except docker.errors.APIError as exc:
            message = _start_error(container_id, exc)
            return {"status": "exited", "exit_code": None, "log": [{"exit_code": None, "output": message}]}
        deadline = time.monotonic() + wait_seconds
        while True:
            state = api.inspect_container(container_id).get("State") or {}
            health = state.get("Health")
            log = list((health or {}).get("Log") or [])
            if health is None:
                status = "none"
                break
            if health.get("Status") in ("healthy", "unhealthy"):
                status = str(health["Status"])
                break
            if not state.get("Running"):
                status, exit_code = "exited", state.get("ExitCode")
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(poll_seconds)
    except docker.errors.APIError as exc:
        raise EngineError(f"health check of {image}: {exc}") from exc
    finally:
        container_remove(container_id)
    return {
        "status": status,
        "exit_code": exit_code,
        "log": [
            {"exit_code": entry.get("ExitCode"), "output": str(entry.get("Output", ""))} for entry in log
        ],
    }
