"""Starts the real parts a browser talks to: daphne (http + websockets) and a Celery worker,
each in its own process, on the test database and the test Redis database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_env() -> dict[str, str]:
    """Environment that points a child process at the database pytest-django made."""
    settings_dict = connection.settings_dict
    env = {"DJANGO_SETTINGS_MODULE": "config.settings_test"}
    if settings_dict["ENGINE"].endswith("sqlite3"):
        env["LAYERLAB_SQLITE_PATH"] = str(settings_dict["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        url = urlsplit(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(url._replace(path="/" + settings_dict["NAME"]))
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start(name: str, argv: list[str], env: dict[str, str]) -> Process:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"{name}.log"
    handle = log_path.open("wb")
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    if "LAYERLAB_SQLITE_PATH" in env:
        full_env.pop("DATABASE_URL", None)
    popen = subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=handle, stderr=subprocess.STDOUT)
    return Process(name, popen, log_path)


def start_web(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    proc = start(
        "daphne",
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{proc.log()}")
        try:
            urllib.request.urlopen(base + "/login/", timeout=2)  # noqa: S310
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"daphne did not answer within 30 s:\n{proc.log()}")


SECOND_ENGINE = "unix:///run/layerlab-engines/b/docker.sock"
"""The second build host's engine on this machine (bin/test starts it: LAYERLAB_ENGINE=b bin/host-setup)."""


def start_worker(env: dict[str, str], *, host: str = "local", engine: str = "") -> Process:
    """A worker for build host `host`: the shared queue, the host's own and the default one.
    `engine` is its DOCKER_HOST (empty: the default engine)."""
    host_env = {"LAYERLAB_BUILD_HOST": host, "LAYERLAB_HOST_REPORT_SECONDS": "2"}
    if engine:
        # A second engine has its own cgroup parent and no bridge: no package proxy there.
        host_env |= {
            "DOCKER_HOST": engine,
            "LAYERLAB_CGROUP": f"layerlab-{host}",
            "LAYERLAB_PACKAGE_PROXY": "",
        }
    proc = start(
        "celery" if host == "local" else f"celery-{host}",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            f"sandbox,sandbox.{host},default",
            "-c",
            "1",
            "--prefetch-multiplier",
            "1",
            "-n",
            f"test-{os.getpid()}-{host}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        {**env, **host_env},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{proc.log()}")
        if " ready." in proc.log():
            return proc
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"celery worker not ready within 60 s:\n{proc.log()}")


def start_beat(env: dict[str, str]) -> Process:
    """Celery beat, which sends the periodic sweep of stuck submissions (as bin/up runs it)."""
    schedule = ARTIFACTS / f"celerybeat-schedule-{os.getpid()}"
    proc = start(
        "beat",
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-s", str(schedule), "--loglevel", "INFO"],
        env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"celery beat exited:\n{proc.log()}")
        if "beat: Starting..." in proc.log():
            return proc
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"celery beat not ready within 30 s:\n{proc.log()}")
