"""`network: packages` on the real engine: a build reaches the package archives through the
allowlisting proxy that bin/host-setup runs, and nothing else — not the internet, not the
host's own services, not link-local metadata addresses."""

from __future__ import annotations

import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from sandbox import engine
from sandbox.build import BuildRequest, build_image, step_sources
from sandbox.dockerfile import parse
from sandbox.network import BuildNetwork, NetworkUnavailable, build_network

PROBE = """\
import socket, sys, urllib.request
for target in sys.argv[1:]:
    if target.startswith("http"):
        try:
            print("OPEN", target, urllib.request.urlopen(target, timeout=10).status)
        except Exception as exc:
            print("BLOCKED", target, type(exc).__name__, exc)
        continue
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        print("OPEN", target)
    except OSError as exc:
        print("BLOCKED", target, exc)
"""


def build(dockerfile: str, network: BuildNetwork, files: dict[str, str] | None = None) -> tuple[Any, str]:
    tag = f"layerlab-test/net:{uuid.uuid4().hex[:10]}"
    lines: list[str] = []
    request = BuildRequest(
        dockerfile=dockerfile,
        context_files=files or {},
        tag=tag,
        labels={engine.LABEL_SUBMISSION: f"test-{tag[-10:]}"},
        network=network.mode,
        build_args=network.build_args,
        sources=step_sources(parse(dockerfile)),
    )
    try:
        result = build_image(request, lambda e: lines.append(e["line"]) if e["kind"] == "log" else None)
        history = engine.image_history(tag) if result.ok else []
        env = ((engine.image_attrs(tag) or {}).get("Config") or {}).get("Env") or []
    finally:
        engine.image_remove(tag)
    # the build's log, then the image's history and its environment
    return result, "\n".join([*lines, *(str(h.get("CreatedBy")) for h in history), *env])


def packages() -> BuildNetwork:
    return build_network("packages", settings.LAYERLAB_PACKAGE_PROXY)


def host_addresses() -> list[str]:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " lo " not in line]


@pytest.fixture
def open_port() -> Iterator[int]:
    """A service on every interface of the host, as a careless database might listen."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))  # noqa: S104 (the point of the test)
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.mark.docker
@pytest.mark.slow
def test_pip_and_apt_install_work_through_the_package_proxy() -> None:
    nonce = uuid.uuid4().hex
    dockerfile = (
        "FROM python:3.11-slim\n"
        f"RUN echo {nonce} && pip install --no-cache-dir six==1.16.0 "
        "&& python -c 'import six; print(\"six\", six.__version__)'\n"
        f"RUN echo {nonce} && apt-get update -q && apt-get install -y --no-install-recommends -q tini "
        "&& rm -rf /var/lib/apt/lists/* && tini --version\n"
    )
    result, output = build(dockerfile, packages())
    assert result.ok, result.message + output
    assert "six 1.16.0" in output
    assert "tini version" in output


@pytest.mark.docker
def test_proxy_arguments_stay_out_of_the_image_history_and_environment() -> None:
    nonce = uuid.uuid4().hex
    result, output = build(f"FROM debian:bookworm-slim\nRUN echo {nonce} > /n\n", packages())
    assert result.ok
    after_log = output[output.index(f"echo {nonce}") :]
    assert "3128" not in after_log and "proxy" not in after_log.lower()


@pytest.mark.docker
@pytest.mark.slow
def test_a_build_reaches_nothing_but_the_proxy(open_port: int) -> None:
    gateway = settings.LAYERLAB_PACKAGE_PROXY.split("//", 1)[1].rsplit(":", 1)[0]
    # the host itself can reach the test service, so a refusal below is the egress rules' doing
    socket.create_connection((gateway, open_port), timeout=2).close()
    targets = [
        f"{gateway}:6379",  # Redis's port on the host, through the bridge
        f"{gateway}:5432",  # PostgreSQL's
        f"{gateway}:{open_port}",  # a service listening on every interface
        *(f"{address}:{open_port}" for address in host_addresses()),
        "169.254.169.254:80",  # cloud metadata
        "deb.debian.org:80",  # an allowed archive, but directly rather than through the proxy
        "1.1.1.1:53",
        "http://example.com/",  # through the proxy: not an archive
        f"http://{gateway}:{open_port}/",  # through the proxy to the host
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
    ]
    nonce = uuid.uuid4().hex
    dockerfile = (
        "FROM python:3.11-slim\nCOPY probe.py /probe.py\n"
        f"RUN echo {nonce} && python /probe.py {' '.join(targets)}\n"
    )
    result, output = build(dockerfile, packages(), {"probe.py": PROBE})
    assert result.ok, result.message + output
    for target in targets:
        assert f"BLOCKED {target}" in output, f"{target} was reachable from a build:\n{output}"
    assert "OPEN" not in output


@pytest.mark.docker
def test_network_none_reaches_no_archive() -> None:
    nonce = uuid.uuid4().hex
    dockerfile = (
        f"FROM python:3.11-slim\nRUN echo {nonce} && pip install --no-cache-dir --retries 0 --timeout 3 six\n"
    )
    result, output = build(dockerfile, BuildNetwork())
    assert not result.ok, output
    assert result.line == 2


def test_packages_without_a_configured_proxy_is_our_fault_with_a_clear_message() -> None:
    with pytest.raises(NetworkUnavailable, match="LAYERLAB_PACKAGE_PROXY"):
        build_network("packages", "")
    with pytest.raises(ValueError, match="unknown network mode"):
        build_network("internet", "http://proxy:3128")
    assert build_network("none", "").mode == "none"
