"""The one boundary to the Docker engine: the only module that imports the docker SDK or runs
the docker CLI. Everything here takes and returns plain data."""

from __future__ import annotations

import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

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
    except docker.errors.DockerException as exc:
        raise EngineError(f"Docker engine unreachable: {exc}") from exc
    return c


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
    extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Starts a BuildKit build as a child process (its own session so a timeout can kill the
    whole group). Output is plain progress on stdout+stderr. Never pulls, never grants
    entitlements, never passes secrets or ssh."""
    cli = build_cli()
    argv = [*cli.argv, "--progress=plain", f"--network={network}", "--tag", tag]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
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


def image_history(ref: str) -> list[dict[str, Any]]:
    try:
        history: list[dict[str, Any]] = client().api.history(ref)
    except docker.errors.APIError as exc:
        raise EngineError(f"history of {ref}: {exc}") from exc
    return history


def image_exists(ref: str) -> bool:
    return image_attrs(ref) is not None


def image_remove(ref: str) -> None:
    """Removes a tag (and the image if nothing else holds it). Missing is fine."""
    try:
        client().images.remove(ref, force=True, noprune=False)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 404:
            raise EngineError(f"removing {ref}: {exc}") from exc


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


def build_trusted(dockerfile: str, ref: str, *, network: str = "default") -> Iterator[str]:
    """Builds one of the platform's own images (never a student's) and yields its output lines.
    Trusted builds may use the network to fetch Debian packages."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="layerlab-seed-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        proc = start_build(context_dir=ctx, tag=ref, labels={}, network=network)
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


def supports_heredocs() -> bool:
    """Heredocs are built into the Dockerfile frontend from Docker Engine 23; with `# syntax=`
    refused, an older engine cannot build them at all."""
    return server_version() >= (23, 0)
