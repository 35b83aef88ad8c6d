"""One student's build cannot reach another's: caches, bases, registries (real engine)."""

from __future__ import annotations

import socket
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox import catalogue, engine
from sandbox.build import BuildRequest, BuildResult, build_image
from sandbox.dockerfile import parse
from sandbox.policy import check_dockerfile
from sandbox.rewrite import cache_id, cache_namespace, rewrite_for_engine
from tests.sandbox import builds

pytestmark = pytest.mark.docker

BASE = "debian:bookworm-slim"
KEY = uuid.uuid4().bytes  # a fresh key per run: nothing here can meet an earlier run's caches


def build(dockerfile: str, owner: str) -> tuple[BuildResult, str]:
    """Checks, rewrites and builds `dockerfile` as `owner` would be, returning the build and
    every log line it printed."""
    images = catalogue.local_images([BASE, "scratch"])
    assert check_dockerfile(dockerfile.encode(), allowed_bases=[BASE], local_images=images) == []
    parsed = parse(dockerfile)
    built = rewrite_for_engine(dockerfile, parsed, images=images, namespace=cache_namespace(KEY, owner))
    result, events = builds.build(built, written=dockerfile)
    return result, builds.logs(events)


def test_a_comment_in_the_flags_cannot_reach_another_students_cache_even_at_the_same_time() -> None:
    nonce = uuid.uuid4().hex
    alice_id = cache_id(cache_namespace(KEY, "alice"), "/root/.cache/pip")
    plant = (
        f"FROM {BASE}\n"
        f"RUN --mount=type=cache,target=/root/.cache/pip echo secret-{nonce} > /root/.cache/pip/planted\n"
    )
    read = (
        f"FROM {BASE}\n"
        f"RUN --mount=type=cache,target=/root/.cache/pip echo {nonce}-read; "
        "cat /root/.cache/pip/planted || echo NOTHING-PLANTED\n"
    )
    steal = (
        f"FROM {BASE}\n"
        "RUN --mount=type=cache,target=/tmp/mine \\\n"
        "# a comment line used to end the rewrite of the flags below it\n"
        f"    --mount=type=cache,id={alice_id},target=/a \\\n"
        "    --mount=type=cache,id=layerlab-ualice-/root/.cache/pip,target=/b \\\n"
        "    --mount=type=cache,target=/root/.cache/pip \\\n"
        f"    echo {nonce}-steal; cat /a/planted /b/planted /root/.cache/pip/planted || echo NOTHING-STOLEN\n"
    )
    planted, _ = build(plant, "alice")
    assert planted.ok, planted.message
    with ThreadPoolExecutor(max_workers=2) as pool:
        own = pool.submit(build, read, "alice")
        other = pool.submit(build, steal, "mallory")
        (read_result, read_log), (steal_result, steal_log) = own.result(), other.result()
    assert read_result.ok and f"secret-{nonce}" in read_log
    assert steal_result.ok, steal_result.message
    assert "NOTHING-STOLEN" in steal_log and f"secret-{nonce}" not in steal_log


def test_the_engine_cannot_contact_a_registry_even_when_one_answers() -> None:
    """A listener on the engine host's bridge address stands in for a reachable registry. A
    build that names it bypasses the policy on purpose: the engine itself must not connect."""
    gateway = (
        subprocess.run(
            ["ip", "-4", "-o", "addr", "show", "dev", "docker0"], capture_output=True, text=True, check=True
        )
        .stdout.split()[3]
        .split("/")[0]
    )
    listener = socket.socket()
    listener.bind((gateway, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    connections: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            connections.append(str(peer))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        dockerfile = f"FROM {gateway}:{port}/probe:latest\nRUN true\n"
        tag = f"layerlab-test/isolation:{uuid.uuid4().hex[:10]}"
        try:
            build_image(BuildRequest(dockerfile=dockerfile, context_files={}, tag=tag, labels={}), print)
        except engine.EngineError as exc:
            print(exc)
        engine.image_remove(tag)
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert connections == []
    assert not engine.image_exists(tag)
