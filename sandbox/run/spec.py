"""A container-structure-test spec (schema 2.0.0), validated whole before anything runs, with
CST's field names and its strictness: an unknown field is an error, not ignored, and a regex
that Go would not compile is refused. What would loosen the sandbox (containerRunOptions but
`user`) and what Layerlab does not run (licenseTests) are refused too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.run.go import go_regex


class SpecError(ValueError):
    """The structure-test spec is malformed: the instructor's to fix, found before anything runs."""


@dataclass(frozen=True)
class _Regex:
    source: str
    compiled: re.Pattern[str]


@dataclass(frozen=True)
class _EnvVar:
    key: str
    value: str
    regex: _Regex | None = None


@dataclass(frozen=True)
class _CommandTest:
    name: str
    command: str
    args: tuple[str, ...]
    setup: tuple[tuple[str, ...], ...]
    env_vars: tuple[_EnvVar, ...]
    exit_code: int
    expected_output: tuple[_Regex, ...]
    excluded_output: tuple[_Regex, ...]
    expected_error: tuple[_Regex, ...]
    excluded_error: tuple[_Regex, ...]


@dataclass(frozen=True)
class _FileExistenceTest:
    name: str
    path: str
    should_exist: bool
    permissions: str
    uid: int | None
    gid: int | None
    executable_by: str


@dataclass(frozen=True)
class _FileContentTest:
    name: str
    path: str
    expected: tuple[_Regex, ...]
    excluded: tuple[_Regex, ...]


@dataclass(frozen=True)
class _MetadataTest:
    env_vars: tuple[_EnvVar, ...] = ()
    unbound_env_vars: tuple[str, ...] = ()
    labels: tuple[_EnvVar, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    unexposed_ports: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str = ""
    volumes: tuple[str, ...] = ()
    unmounted_volumes: tuple[str, ...] = ()
    user: str = ""


@dataclass(frozen=True)
class _Spec:
    global_env: tuple[_EnvVar, ...] = ()
    run_user: str | None = None
    commands: tuple[_CommandTest, ...] = ()
    existence: tuple[_FileExistenceTest, ...] = ()
    content: tuple[_FileContentTest, ...] = ()
    metadata: _MetadataTest | None = None


_TOP_LEVEL = {
    "schemaVersion",
    "globalEnvVars",
    "commandTests",
    "fileExistenceTests",
    "fileContentTests",
    "metadataTest",
    "licenseTests",
    "containerRunOptions",
}
_COMMAND_FIELDS = {
    "name",
    "setup",
    "teardown",
    "envVars",
    "command",
    "args",
    "exitCode",
    "expectedOutput",
    "excludedOutput",
    "expectedError",
    "excludedError",
}
_EXISTENCE_FIELDS = {"name", "path", "shouldExist", "permissions", "uid", "gid", "isExecutableBy"}
_CONTENT_FIELDS = {"name", "path", "expectedContents", "excludedContents"}
_METADATA_FIELDS = {
    "envVars",
    "unboundEnvVars",
    "labels",
    "exposedPorts",
    "unexposedPorts",
    "entrypoint",
    "cmd",
    "workdir",
    "volumes",
    "unmountedVolumes",
    "user",
}
_FIELD_HINTS = {"env": "envVars", "unboundEnv": "unboundEnvVars", "expectedContent": "expectedContents"}


def _fields(where: str, item: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(item).__name__}")
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        hints = [
            f"{k!r} (did you mean {_FIELD_HINTS[k]!r}?)" if k in _FIELD_HINTS else repr(k) for k in unknown
        ]
        raise SpecError(f"{where}: unknown field {', '.join(hints)}; allowed: {', '.join(sorted(allowed))}")
    return item


def _str(where: str, value: Any, name: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise SpecError(f"{where}: {name!r} is required")
        return ""
    if not isinstance(value, str):
        raise SpecError(f"{where}: {name!r} must be a string, got {type(value).__name__}")
    return value


def _str_list(where: str, value: Any, name: str, *, scalars: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, str) or (scalars and isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise SpecError(f"{where}: {name!r} must be a list of strings")
    return tuple(str(v) for v in value)


def _int(where: str, value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"{where}: {name!r} must be an integer")
    return value


def _regexes(where: str, value: Any, name: str) -> tuple[_Regex, ...]:
    found = []
    for source in _str_list(where, value, name):
        found.append(_regex(where, source, name))
    return tuple(found)


def _regex(where: str, source: str, name: str) -> _Regex:
    try:
        return _Regex(source, go_regex(source))
    except (ValueError, re.error) as exc:
        raise SpecError(f"{where}: {name} regex {source!r} is not valid: {exc}") from exc


def _env_vars(where: str, value: Any, name: str, *, need_value: bool, regex_ok: bool) -> tuple[_EnvVar, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError(f"{where}: {name!r} must be a list of {{key, value}}")
    found = []
    allowed = {"key", "value", "isRegex"} if regex_ok else {"key", "value"}
    for n, item in enumerate(value):
        entry = _fields(f"{where} {name}[{n}]", item, allowed)
        key = _str(f"{where} {name}[{n}]", entry.get("key"), "key", required=True)
        raw_value = entry.get("value")
        if isinstance(raw_value, int | float) and not isinstance(raw_value, bool):
            raw_value = str(raw_value)
        text = _str(f"{where} {name}[{n}]", raw_value, "value", required=need_value)
        is_regex = entry.get("isRegex", False)
        if not isinstance(is_regex, bool):
            raise SpecError(f"{where} {name}[{n}]: 'isRegex' must be true or false")
        found.append(_EnvVar(key, text, _regex(where, text, f"{name}[{n}]") if is_regex else None))
    return tuple(found)


def _items(spec: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any], str]]:
    """Each test of a list with a label for messages (`commandTests[2] "name"`) and its name."""
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{key} must be a list of tests")
    found = []
    for n, item in enumerate(value):
        name = item.get("name") if isinstance(item, Mapping) else None
        label = f'{key}[{n}] "{name}"' if isinstance(name, str) and name else f"{key}[{n}] (no name)"
        found.append((label, item, name if isinstance(name, str) else ""))
    return found


def validate_spec(spec: Mapping[str, Any]) -> _Spec:
    """Checks a whole spec before anything runs, with container-structure-test's field names and
    its strictness (an unknown field is an error, not ignored). Raises SpecError."""
    top = _fields("the spec", spec, _TOP_LEVEL)
    version = top.get("schemaVersion", "2.0.0")
    if str(version) != "2.0.0":
        raise SpecError(f'schemaVersion {version!r} is not supported: use "2.0.0"')
    if top.get("licenseTests"):
        raise SpecError("licenseTests are not supported by Layerlab")
    run_user = None
    if top.get("containerRunOptions") is not None:
        options = top["containerRunOptions"]
        if isinstance(options, Mapping) and set(options) - {"user"}:
            refused = ", ".join(sorted(str(k) for k in set(options) - {"user"}))
            raise SpecError(
                f"containerRunOptions: {refused} would loosen the sandbox (or read the grader's "
                "environment) and is not supported; only 'user' is"
            )
        run_user = _str(
            "containerRunOptions", _fields("containerRunOptions", options, {"user"}).get("user"), "user"
        )
    global_env = _env_vars(
        "globalEnvVars", top.get("globalEnvVars"), "globalEnvVars", need_value=True, regex_ok=False
    )

    commands = []
    for where, item, name in _items(top, "commandTests"):
        test = _fields(where, item, _COMMAND_FIELDS)
        _str(where, name, "name", required=True)
        command = _str(where, test.get("command"), "command", required=True)
        steps = []
        for key in ("setup", "teardown"):
            value = test.get(key) or []
            if not isinstance(value, list) or not all(
                isinstance(step, list) and step and all(isinstance(a, str) for a in step) for step in value
            ):
                raise SpecError(f"{where}: {key!r} must be a list of non-empty commands (lists of strings)")
            if key == "setup":
                steps = [tuple(step) for step in value]
        exit_code = _int(where, test.get("exitCode"), "exitCode")
        commands.append(
            _CommandTest(
                name=name,
                command=command,
                args=_str_list(where, test.get("args"), "args"),
                setup=tuple(steps),
                env_vars=_env_vars(where, test.get("envVars"), "envVars", need_value=True, regex_ok=False),
                exit_code=exit_code or 0,
                expected_output=_regexes(where, test.get("expectedOutput"), "expectedOutput"),
                excluded_output=_regexes(where, test.get("excludedOutput"), "excludedOutput"),
                expected_error=_regexes(where, test.get("expectedError"), "expectedError"),
                excluded_error=_regexes(where, test.get("excludedError"), "excludedError"),
            )
        )

    existence = []
    for where, item, name in _items(top, "fileExistenceTests"):
        test = _fields(where, item, _EXISTENCE_FIELDS)
        _str(where, name, "name", required=True)
        should_exist = test.get("shouldExist", True)
        if not isinstance(should_exist, bool):
            raise SpecError(f"{where}: 'shouldExist' must be true or false")
        executable_by = _str(where, test.get("isExecutableBy"), "isExecutableBy")
        if executable_by not in ("", "owner", "group", "other", "any"):
            raise SpecError(
                f"{where}: isExecutableBy must be owner, group, other or any, not {executable_by!r}"
            )
        existence.append(
            _FileExistenceTest(
                name=name,
                path=_str(where, test.get("path"), "path", required=True),
                should_exist=should_exist,
                permissions=_str(where, test.get("permissions"), "permissions"),
                uid=_int(where, test.get("uid"), "uid"),
                gid=_int(where, test.get("gid"), "gid"),
                executable_by=executable_by,
            )
        )

    content = []
    for where, item, name in _items(top, "fileContentTests"):
        test = _fields(where, item, _CONTENT_FIELDS)
        _str(where, name, "name", required=True)
        content.append(
            _FileContentTest(
                name=name,
                path=_str(where, test.get("path"), "path", required=True),
                expected=_regexes(where, test.get("expectedContents"), "expectedContents"),
                excluded=_regexes(where, test.get("excludedContents"), "excludedContents"),
            )
        )

    metadata = None
    if top.get("metadataTest") is not None:
        where = "metadataTest"
        meta = _fields(where, top["metadataTest"], _METADATA_FIELDS)
        unbound = _env_vars(
            where, meta.get("unboundEnvVars"), "unboundEnvVars", need_value=False, regex_ok=False
        )
        entrypoint = meta.get("entrypoint")
        cmd = meta.get("cmd")
        user = meta.get("user")
        metadata = _MetadataTest(
            env_vars=_env_vars(where, meta.get("envVars"), "envVars", need_value=False, regex_ok=True),
            unbound_env_vars=tuple(e.key for e in unbound),
            labels=_env_vars(where, meta.get("labels"), "labels", need_value=False, regex_ok=True),
            exposed_ports=_str_list(where, meta.get("exposedPorts"), "exposedPorts", scalars=True),
            unexposed_ports=_str_list(where, meta.get("unexposedPorts"), "unexposedPorts", scalars=True),
            entrypoint=None if entrypoint is None else _str_list(where, entrypoint, "entrypoint"),
            cmd=None if cmd is None else _str_list(where, cmd, "cmd"),
            workdir=_str(where, meta.get("workdir"), "workdir"),
            volumes=_str_list(where, meta.get("volumes"), "volumes"),
            unmounted_volumes=_str_list(where, meta.get("unmountedVolumes"), "unmountedVolumes"),
            user=str(user)
            if isinstance(user, int) and not isinstance(user, bool)
            else _str(where, user, "user"),
        )
    if not (commands or existence or content or metadata):
        raise SpecError(
            "the spec has no tests (commandTests, fileExistenceTests, fileContentTests, metadataTest)"
        )
    return _Spec(
        global_env=global_env,
        run_user=run_user or None,
        commands=tuple(commands),
        existence=tuple(existence),
        content=tuple(content),
        metadata=metadata,
    )
