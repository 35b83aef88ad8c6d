"""Runs a validated container-structure-test spec against an image.

The semantics are container-structure-test's docker driver, checked against its 1.19.1 binary,
so an instructor's existing file gives the same verdicts: commands run with the image's
entrypoint cleared; each `setup` command runs in its own container committed as the base of the
next (with a writable root, as do the command after it); `teardown` is accepted and not run
(every test gets fresh containers); `$VAR` in command, args and paths is replaced before
anything runs (Go's os.Expand); regexes are Go's (RE2: `$` is the end of the text unless
`(?m)`); file tests read the image through the archive API without starting it; permissions
print as Go's os.FileMode. Where CST has a bug, Layerlab does the evident intent instead:
envVars values are expanded for the command too (`PATH=/x:$PATH`), args see the test's envVars,
relative symlinks are followed by fileContentTests, and `exposedPorts: ["53/udp"]` compares the
protocol too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sandbox import engine
from sandbox.limits import MiB
from sandbox.run.go import _GO_MODE_DIR, _GO_MODE_SYMLINK, go_expand, go_mode_string
from sandbox.run.locked import DEFAULT_LIMITS, RunLimits, _run_result
from sandbox.run.spec import (
    _CommandTest,
    _EnvVar,
    _FileContentTest,
    _FileExistenceTest,
    _MetadataTest,
    validate_spec,
)


@dataclass(frozen=True)
class StructureTestResult:
    kind: Literal["command", "file_existence", "file_content", "metadata"]
    name: str
    passed: bool
    messages: tuple[str, ...]
    seconds: float


def _image_config(ref: str) -> dict[str, Any]:
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    config: dict[str, Any] = attrs.get("Config") or {}
    return config


def _env_map(entries: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        found[key] = value
    return found


def _expand_env(env_vars: Sequence[_EnvVar], base: Mapping[str, str]) -> dict[str, str]:
    """Test env values may refer to the image's env and to earlier entries (`PATH=/x:$PATH`)."""
    seen = dict(base)
    added: dict[str, str] = {}
    for var in env_vars:
        value = go_expand(var.value, lambda k: seen.get(k, ""))
        seen[var.key] = added[var.key] = value
    return added


def _shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _run_command_test(
    ref: str,
    test: _CommandTest,
    *,
    image_env: Mapping[str, str],
    global_env: Mapping[str, str],
    run_user: str | None,
    limits: RunLimits,
    labels: Mapping[str, str] | None,
) -> tuple[bool, list[str]]:
    env = {**global_env, **_expand_env(test.env_vars, {**image_env, **global_env})}
    scope = {**image_env, **env}
    argv = [go_expand(a, lambda k: scope.get(k, "")) for a in (test.command, *test.args)]
    commit_labels = dict(labels or {}) or {engine.LABEL_SUBMISSION: "adhoc"}
    committed: list[str] = []
    base = ref
    try:
        for step in test.setup:
            raw = engine.container_run_locked(
                base,
                command=step,
                entrypoint=[],
                env=env,
                user=run_user,
                labels=labels,
                host=limits.host(writable=True),
                timeout_seconds=limits.wall_seconds,
                output_cap_bytes=limits.output_cap_bytes,
                commit_labels=commit_labels,
            )
            if raw["image"] is None:
                why = raw["start_error"] or f"timed out after {limits.wall_seconds:g} s"
                return False, [f"Setup command {list(step)} failed: {why}"]
            committed.append(raw["image"])
            base = raw["image"]
        raw = engine.container_run_locked(
            base,
            command=argv,
            entrypoint=[],
            env=env,
            user=run_user,
            labels=labels,
            host=limits.host(writable=bool(test.setup)),
            timeout_seconds=limits.wall_seconds,
            output_cap_bytes=limits.output_cap_bytes,
        )
        result = _run_result(raw, limits)
    finally:
        for image in reversed(committed):
            engine.image_remove(image)
    if result.start_error is not None:
        return False, [f"Error creating container: {result.start_error}"]
    messages = []
    if result.timed_out:
        messages.append(f"Test '{test.name}' timed out after {limits.wall_seconds:g} s and was killed")
    if result.oom_killed:
        messages.append(f"Test '{test.name}' was killed for using more than {limits.memory_bytes // MiB} MiB")
    out, err = result.stdout, result.stderr
    for rx in test.expected_error:
        if not rx.compiled.search(err):
            messages.append(f"Expected string '{rx.source}' not found in error '{_shorten(err)}'")
    for rx in test.excluded_error:
        if rx.compiled.search(err):
            messages.append(f"Excluded string '{rx.source}' found in error '{_shorten(err)}'")
    for rx in test.expected_output:
        if not rx.compiled.search(out):
            messages.append(f"Expected string '{rx.source}' not found in output '{_shorten(out)}'")
    for rx in test.excluded_output:
        if rx.compiled.search(out):
            messages.append(f"Excluded string '{rx.source}' found in output '{_shorten(out)}'")
    if not result.timed_out and result.exit_code != test.exit_code:
        messages.append(
            f"Test '{test.name}' exited with incorrect error code. "
            f"Expected: {test.exit_code}, Actual: {result.exit_code}"
        )
    return not messages, messages


_EXECUTABLE_BITS = {"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}


def _run_existence_test(container_id: str, test: _FileExistenceTest, scope: Mapping[str, str]) -> list[str]:
    path = go_expand(test.path, lambda k: scope.get(k, ""))
    stat = engine.container_stat_path(container_id, path)
    if stat is None:
        return [f"File {test.path} should exist but does not"] if test.should_exist else []
    messages = []
    if not test.should_exist:
        messages.append(f"File {test.path} should not exist but does")
    mode = int(stat["mode"])
    actual = go_mode_string(mode)
    if test.permissions and actual != test.permissions:
        messages.append(
            f"{test.path} has incorrect permissions. Expected: {test.permissions}, Actual: {actual}"
        )
    if test.executable_by and not mode & _EXECUTABLE_BITS[test.executable_by]:
        messages.append(
            f"{test.path} has incorrect executable bit. "
            f"Expected to be executable by {test.executable_by}, Actual: {actual}"
        )
    if test.uid is not None and stat["uid"] != test.uid:
        messages.append(
            f"{test.path} has incorrect user ownership. Expected: {test.uid}, Actual: {stat['uid']}"
        )
    if test.gid is not None and stat["gid"] != test.gid:
        messages.append(
            f"{test.path} has incorrect group ownership. Expected: {test.gid}, Actual: {stat['gid']}"
        )
    return messages


def _read_image_file(container_id: str, path: str, cap: int) -> tuple[bytes, bool] | str:
    """The file's bytes, following symlinks inside the image (a relative link too, which CST's
    docker driver gets wrong); or why it cannot be read."""
    for _ in range(40):
        stat = engine.container_stat_path(container_id, path)
        if stat is None:
            return f"Failed to open {path}. Error: no such file in the image"
        if int(stat["mode"]) & _GO_MODE_DIR:
            return (
                f"Failed to open {path}. Error: Cannot read specified path: {path} is a directory, not a file"
            )
        if int(stat["mode"]) & _GO_MODE_SYMLINK:
            path = stat["link_target"]
            continue
        found = engine.container_read_file(container_id, path, cap)
        if found is None:
            return f"Failed to open {path}. Error: not a regular file"
        return found
    return f"Failed to open {path}. Error: too many levels of symbolic links"


def _run_content_test(
    container_id: str, test: _FileContentTest, scope: Mapping[str, str], cap: int
) -> list[str]:
    path = go_expand(test.path, lambda k: scope.get(k, ""))
    found = _read_image_file(container_id, path, cap)
    if isinstance(found, str):
        return [found]
    data, truncated = found
    text = data.decode("utf-8", "replace")
    messages = []
    for rx in test.expected:
        if not rx.compiled.search(text):
            messages.append(
                f"Expected string '{rx.source}' not found in file content string '{_shorten(text)}'"
            )
    for rx in test.excluded:
        if rx.compiled.search(text):
            messages.append(f"Excluded string '{rx.source}' found in file content string '{_shorten(text)}'")
        elif truncated:
            messages.append(
                f"Excluded string '{rx.source}' could not be ruled out: only {cap} bytes were read"
            )
    return messages


def _port_listed(port: str, exposed: Sequence[str]) -> bool:
    """CST compares the port number only ("8080" matches "8080/tcp"); a spec that names the
    protocol ("9090/udp") is compared in full, where CST would never find it."""
    if "/" in port:
        return port in exposed
    return port in (p.split("/")[0] for p in exposed)


def _run_metadata_test(config: Mapping[str, Any], test: _MetadataTest) -> list[str]:
    messages = []
    env = _env_map(config.get("Env") or [])
    labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    for var in test.env_vars:
        if var.key not in env:
            messages.append(f"variable {var.key} not found in image env")
        elif not (var.regex.compiled.search(env[var.key]) if var.regex else env[var.key] == var.value):
            messages.append(
                f"env var {var.key} value {env[var.key]} does not match expected value: {var.value}"
            )
    for key in test.unbound_env_vars:
        if key in env:
            messages.append(f"env variable {key} should not be present in image metadata")
    for var in test.labels:
        if var.key not in labels:
            messages.append(f"label {var.key} not found in image metadata")
        elif not (var.regex.compiled.search(labels[var.key]) if var.regex else labels[var.key] == var.value):
            messages.append(
                f"label {var.key} value {labels[var.key]} does not match expected value: {var.value}"
            )
    image_cmd = list(config.get("Cmd") or [])
    if test.cmd is not None and list(test.cmd) != image_cmd:
        messages.append(f"Image Cmd {_go_list(image_cmd)} does not match expected Cmd: {_go_list(test.cmd)}")
    image_entrypoint = list(config.get("Entrypoint") or [])
    if test.entrypoint is not None and list(test.entrypoint) != image_entrypoint:
        messages.append(
            f"Image entrypoint {_go_list(image_entrypoint)} does not match expected entrypoint: "
            f"{_go_list(test.entrypoint)}"
        )
    workdir = str(config.get("WorkingDir") or "")
    if test.workdir and test.workdir != workdir:
        messages.append(f"Image workdir {workdir} does not match config workdir: {test.workdir}")
    user = str(config.get("User") or "")
    if test.user and test.user != user:
        messages.append(f"Image user {user} does not match config user: {test.user}")
    exposed = list((config.get("ExposedPorts") or {}).keys())
    for port in test.exposed_ports:
        if not _port_listed(port, exposed):
            messages.append(f"Port {port} not found in config")
    for port in test.unexposed_ports:
        if _port_listed(port, exposed):
            messages.append(f"Port {port} should not be exposed")
    volumes = list((config.get("Volumes") or {}).keys())
    for volume in test.volumes:
        if volume not in volumes:
            messages.append(f"Volume {volume} not found in config")
    for volume in test.unmounted_volumes:
        if volume in volumes:
            messages.append(f"Volume {volume} should not be mounted")
    return messages


def _go_list(items: Sequence[str]) -> str:
    return "[" + " ".join(items) + "]"


def run_structure_tests(
    ref: str,
    spec: Mapping[str, Any],
    *,
    limits: RunLimits = DEFAULT_LIMITS,
    labels: Mapping[str, str] | None = None,
) -> list[StructureTestResult]:
    """Runs a container-structure-test spec (schema 2.0.0, its field names) against an image,
    in CST's order: command tests, file existence, file content, metadata. The whole spec is
    validated first (SpecError). Command tests run under `limits`; file tests read the image
    through a created container and so work on scratch images."""
    parsed = validate_spec(spec)
    config = _image_config(ref)
    image_env = _env_map(config.get("Env") or [])
    global_env = _expand_env(parsed.global_env, image_env)
    scope = {**image_env, **global_env}
    results: list[StructureTestResult] = []

    for command in parsed.commands:
        started = time.monotonic()
        passed, messages = _run_command_test(
            ref,
            command,
            image_env=image_env,
            global_env=global_env,
            run_user=parsed.run_user,
            limits=limits,
            labels=labels,
        )
        results.append(
            StructureTestResult("command", command.name, passed, tuple(messages), time.monotonic() - started)
        )

    if parsed.existence or parsed.content:
        with engine.container_created(ref, labels=labels, host=limits.host()) as container_id:
            for existence in parsed.existence:
                started = time.monotonic()
                messages = _run_existence_test(container_id, existence, scope)
                results.append(
                    StructureTestResult(
                        "file_existence",
                        existence.name,
                        not messages,
                        tuple(messages),
                        time.monotonic() - started,
                    )
                )
            for content in parsed.content:
                started = time.monotonic()
                messages = _run_content_test(container_id, content, scope, limits.file_cap_bytes)
                results.append(
                    StructureTestResult(
                        "file_content",
                        content.name,
                        not messages,
                        tuple(messages),
                        time.monotonic() - started,
                    )
                )

    if parsed.metadata is not None:
        started = time.monotonic()
        messages = _run_metadata_test(config, parsed.metadata)
        results.append(
            StructureTestResult(
                "metadata", "Metadata Test", not messages, tuple(messages), time.monotonic() - started
            )
        )
    return results
