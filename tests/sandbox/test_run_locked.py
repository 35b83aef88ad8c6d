"""sandbox.run.locked on the real engine: a student's image under lock, its user and its health
check. Every image and container a test makes is removed."""

from __future__ import annotations

import re

import pytest

from sandbox import engine
from sandbox.run.locked import HealthResult, RunLimits, effective_user, healthcheck, run_command
from tests.sandbox.run_images import DEBIAN, PYTHON, build, tag


@pytest.mark.docker
def test_a_command_reports_its_output_and_exit_code(labels: dict[str, str]) -> None:
    result = run_command(DEBIAN, ["sh", "-c", "echo out; echo err >&2; exit 3"], labels=labels)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not (result.timed_out or result.oom_killed or result.truncated)
    assert result.start_error is None


@pytest.mark.docker
def test_a_missing_executable_is_a_start_error_not_an_engine_failure(labels: dict[str, str]) -> None:
    result = run_command(DEBIAN, ["no-such-program"], labels=labels)
    assert result.start_error is not None and "no-such-program" in result.start_error
    assert result.exit_code == 127


@pytest.mark.docker
def test_the_image_entrypoint_runs_unless_cleared(app_image: str, labels: dict[str, str]) -> None:
    assert run_command(app_image, ["echo", "hi"], labels=labels).exit_code == 1  # /bin/false echo hi
    cleared = run_command(app_image, ["echo", "hi"], entrypoint=[], env={"X": "1"}, labels=labels)
    assert (cleared.exit_code, cleared.stdout) == (0, "hi\n")


@pytest.mark.docker
def test_a_sleep_past_the_limit_is_killed_and_no_container_is_left(labels: dict[str, str]) -> None:
    result = run_command(DEBIAN, ["sleep", "100"], limits=RunLimits(wall_seconds=2), labels=labels)
    assert result.timed_out and result.exit_code is None
    assert 1.9 <= result.seconds < 5
    assert engine.labelled_leftovers(value=labels[engine.LABEL_SUBMISSION])["containers"] == []


@pytest.mark.docker
def test_a_memory_hog_is_oom_killed(labels: dict[str, str]) -> None:
    hog = "data = b'x' * (512 * 1024 * 1024); print('survived', len(data))"
    result = run_command(PYTHON, ["python", "-c", hog], labels=labels)
    assert result.oom_killed
    assert result.exit_code == 137
    assert "survived" not in result.stdout


@pytest.mark.docker
def test_a_fork_bomb_is_stopped_by_the_pids_limit(labels: dict[str, str]) -> None:
    bomb = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError as exc:\n"
        "    print(f'forked {n}: {exc.strerror}', flush=True)\n"
    )
    result = run_command(PYTHON, ["python", "-c", bomb], labels=labels)
    found = re.search(r"forked (\d+): Resource temporarily unavailable", result.stdout)
    assert found, result
    assert 10 < int(found.group(1)) < 64
    assert result.exit_code == 0 and not result.timed_out


@pytest.mark.docker
def test_there_is_no_network_inside(labels: dict[str, str]) -> None:
    probe = (
        "getent hosts example.com; echo getent=$?; ls /sys/class/net; "
        "python -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\""
    )
    result = run_command(PYTHON, ["sh", "-c", probe], labels=labels)
    assert "getent=2" in result.stdout
    assert result.stdout.split("getent=2\n", 1)[1].split() == ["lo"]
    assert "Network is unreachable" in result.stderr
    assert result.exit_code == 1


@pytest.mark.docker
def test_the_root_filesystem_is_read_only_but_tmp_is_writable(labels: dict[str, str]) -> None:
    script = (
        "touch /etc/evil; echo etc=$?; echo data > /tmp/ok && cat /tmp/ok; "
        "printf '#!/bin/sh\\necho ran-from-tmp\\n' > /tmp/s.sh && chmod +x /tmp/s.sh && /tmp/s.sh"
    )
    result = run_command(DEBIAN, ["sh", "-c", script], labels=labels)
    assert "Read-only file system" in result.stderr
    assert result.stdout.splitlines() == ["etc=1", "data", "ran-from-tmp"]


@pytest.mark.docker
def test_capabilities_are_dropped_so_root_cannot_chown(labels: dict[str, str]) -> None:
    script = "id -u; grep CapEff /proc/self/status; touch /tmp/f; chown 1:1 /tmp/f; echo chown=$?"
    result = run_command(DEBIAN, ["sh", "-c", script], labels=labels)
    assert result.stdout.splitlines()[0] == "0"  # root, and still it cannot
    assert "CapEff:\t0000000000000000" in result.stdout
    assert "chown=1" in result.stdout
    assert "Operation not permitted" in result.stderr


@pytest.mark.docker
def test_output_past_the_cap_is_truncated_with_a_marker(labels: dict[str, str]) -> None:
    script = "head -c 5000 /dev/zero | tr '\\0' a; echo small >&2"
    result = run_command(DEBIAN, ["sh", "-c", script], limits=RunLimits(output_cap_bytes=1000), labels=labels)
    assert result.truncated and result.exit_code == 0
    assert result.stdout.startswith("a" * 1000 + "\n[... output truncated: more than 1000 bytes")
    assert result.stderr == "small\n"


@pytest.mark.docker
def test_a_container_is_removed_even_when_the_run_fails_midway(
    labels: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(container_id: str, timeout: float) -> bool:
        raise RuntimeError("worker bug")

    monkeypatch.setattr(engine, "_wait_exit", broken)
    with pytest.raises(RuntimeError, match="worker bug"):
        run_command(DEBIAN, ["sleep", "30"], labels=labels)
    # the `labels` fixture asserts that nothing with this label is left


@pytest.mark.docker
def test_containers_without_labels_are_labelled_adhoc(monkeypatch: pytest.MonkeyPatch) -> None:
    before = set(engine.labelled_leftovers(value="adhoc")["containers"])
    seen: list[str] = []
    original = engine.container_remove

    def spy(container_id: str) -> None:
        attrs = engine.client().api.inspect_container(container_id)
        seen.append(attrs["Config"]["Labels"].get(engine.LABEL_SUBMISSION))
        original(container_id)

    monkeypatch.setattr(engine, "container_remove", spy)
    assert run_command(DEBIAN, ["true"]).exit_code == 0
    assert seen == ["adhoc"]
    assert set(engine.labelled_leftovers(value="adhoc")["containers"]) == before


@pytest.mark.docker
def test_effective_user_comes_from_id_where_the_image_has_it(app_image: str, labels: dict[str, str]) -> None:
    found = effective_user(app_image, "10001", labels=labels)
    assert (found.uid, found.gid, found.method) == (10001, 10001, "shell")
    root = effective_user(DEBIAN, "", labels=labels)
    assert (root.uid, root.gid, root.method) == (0, 0, "shell")


@pytest.mark.docker
def test_effective_user_comes_from_the_config_in_a_scratch_image(
    scratch_images: dict[str, str], labels: dict[str, str]
) -> None:
    numeric = effective_user(scratch_images["numeric"], "65534", labels=labels)
    assert (numeric.uid, numeric.gid, numeric.method) == (65534, 0, "config")
    assert "executable file not found" in numeric.detail
    named = effective_user(scratch_images["named"], "app", labels=labels)
    assert (named.uid, named.gid, named.method) == (4242, 4343, "config")
    # what the binary itself reports agrees with the resolution from the config
    assert run_command(scratch_images["numeric"], None, labels=labels).stdout == "uid=65534 gid=0\n"
    assert run_command(scratch_images["named"], None, labels=labels).stdout == "uid=4242 gid=4343\n"


@pytest.mark.docker
def test_effective_user_reports_a_name_missing_from_passwd(
    scratch_images: dict[str, str], labels: dict[str, str]
) -> None:
    found = effective_user(scratch_images["numeric"], "ghost", labels=labels)
    assert (found.uid, found.gid, found.method) == (None, None, "config")
    assert "'ghost' is not in the image's /etc/passwd" in found.detail


def test_the_default_limits_follow_the_sandbox_reference() -> None:
    host = RunLimits().host()
    assert host["mem_limit"] == host["memswap_limit"] == 256 * 1024 * 1024
    assert (host["nano_cpus"], host["pids_limit"], host["network_mode"]) == (1_000_000_000, 64, "none")
    assert host["read_only"] and host["cap_drop"] == ["ALL"] and host["security_opt"] == ["no-new-privileges"]
    assert host["tmpfs"] == {"/tmp": "rw,exec,nosuid,nodev,size=67108864,mode=1777"}
    assert RunLimits(runtime="runsc").host()["runtime"] == "runsc"
    with pytest.raises(ValueError, match="not allowed"):
        engine._host_config({**host, "privileged": True})


@pytest.mark.docker
def test_healthcheck_reports_healthy_over_localhost_with_no_network(labels: dict[str, str]) -> None:
    ref = build(
        tag("healthy"),
        {
            "Dockerfile": (
                f"FROM {PYTHON}\n"
                "HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD "
                "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\"\n"
                'CMD ["python", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/tmp"]\n'
            )
        },
    )
    try:
        result = healthcheck(ref, wait_seconds=20, labels=labels)
    finally:
        engine.image_remove(ref)
    assert result.status == "healthy", result.log
    assert result.log and result.log[-1].startswith("exit 0")


@pytest.mark.docker
def test_healthcheck_reports_unhealthy_and_none(labels: dict[str, str]) -> None:
    ref = build(
        tag("unhealthy"),
        {
            "Dockerfile": (
                f"FROM {DEBIAN}\n"
                "HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD "
                "echo 'db not reachable' && false\n"
                'CMD ["sleep", "60"]\n'
            )
        },
    )
    try:
        result = healthcheck(ref, wait_seconds=20, labels=labels)
    finally:
        engine.image_remove(ref)
    assert result.status == "unhealthy"
    assert len(result.log) >= 2 and result.log[-1] == "exit 1: db not reachable"
    assert healthcheck(DEBIAN, labels=labels) == HealthResult("none", ())
