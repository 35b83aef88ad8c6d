"""Refuses a Dockerfile before any build starts.

Everything refused here is something the student can fix, so every Violation names the line
and says what to do instead. The rules close the ways a Dockerfile can reach past the build
sandbox (see reference/sandbox.md): pulling images or frontends, fetching URLs, asking for
network or entitlements, cache-mount subpaths (CVE-2024-23651), secrets and ssh agents. The
engine must still be configured safely; this is the first fence, not the only one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sandbox.dockerfile import (
    DockerfileSyntaxError,
    Instruction,
    ParsedDockerfile,
    frontend_directive,
    parse,
)

DEFAULT_MAX_BYTES = 64 * 1024

_DOCKER_HUB_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "library/")
_DOCKER_HUB_HOSTS = ("docker.io/", "index.docker.io/")
_REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
_HEREDOC_RE = re.compile(r"^\d*<<")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Violation:
    """One reason to refuse. `code` is stable (feedback and translations key on it); `message`
    is complete English; `params` carry the variable parts for a translated message."""

    code: str
    line: int | None
    message: str
    params: dict[str, str] = field(default_factory=dict)


def check_dockerfile(
    data: bytes,
    *,
    allowed_bases: Sequence[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    engine_supports_heredocs: bool = False,
) -> list[Violation]:
    """Every reason to refuse `data`, ordered by line; an empty list means it may be built."""
    if len(data) > max_bytes:
        return [
            _v(
                "too_large",
                None,
                f"the Dockerfile is {len(data):,} bytes, over the limit of {max_bytes:,} bytes. "
                "Make it shorter: move long scripts into files in the build context and COPY them.",
                size=str(len(data)),
                limit=str(max_bytes),
            )
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [
            _v(
                "not_utf8",
                line,
                f"line {line}: the Dockerfile is not valid UTF-8 text (byte {exc.start + 1}). "
                "Save it as UTF-8 and remove any binary data.",
                byte=str(exc.start + 1),
            )
        ]

    violations: list[Violation] = []
    frontend = frontend_directive(text)
    if frontend is not None:
        violations.append(
            _v(
                "syntax_directive",
                frontend.line,
                f"line {frontend.line}: the '# syntax={frontend.value}' directive is not allowed "
                "here: it makes the builder download and run a frontend image, which this "
                "sandbox cannot do offline and would not trust. Delete the line; the built-in "
                "Dockerfile syntax is used.",
                value=frontend.value,
            )
        )
    try:
        parsed = parse(text)
    except DockerfileSyntaxError as exc:
        violations.append(_v(exc.code, exc.line, exc.message))
        return _ordered(violations)

    bases = _allowed(allowed_bases)
    for stage in parsed.stages:
        violations.extend(_check_base(parsed, stage.index, bases, allowed_bases))
    for ins in parsed.instructions:
        violations.extend(_check_instruction(parsed, ins, ins, bases, allowed_bases))
        if ins.inner is not None:
            violations.extend(_check_instruction(parsed, ins, ins.inner, bases, allowed_bases))
        if ins.heredocs and not engine_supports_heredocs:
            violations.append(_heredoc(ins))
    return _ordered(violations)


def _v(code: str, line: int | None, message: str, **params: str) -> Violation:
    if line is not None:
        params = {"line": str(line), **params}
    return Violation(code=code, line=line, message=message, params=params)


def _ordered(violations: Iterable[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (v.line is None, v.line or 0))


def normalize_image(ref: str) -> str | None:
    """The comparable form of an image reference: Docker Hub prefixes dropped, `:latest`
    implied, a digest dropped when a tag is present. None for a digest without a tag: which
    tag it is cannot be told from the text."""
    for prefix in _DOCKER_HUB_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    else:
        for host in _DOCKER_HUB_HOSTS:
            if ref.startswith(host):
                ref = ref[len(host) :]
                break
    name, at, _digest = ref.partition("@")
    has_tag = ":" in name.rsplit("/", 1)[-1]
    if at and not has_tag:
        return None
    if name == "scratch" or has_tag:
        return name
    return f"{name}:latest"


def _allowed(allowed_bases: Sequence[str]) -> set[str]:
    return {n for n in (normalize_image(b) for b in allowed_bases) if n is not None}


def _available(allowed_bases: Sequence[str]) -> str:
    return ", ".join(allowed_bases) if allowed_bases else "(none are configured)"


def _check_base(
    parsed: ParsedDockerfile, index: int, bases: set[str], allowed_bases: Sequence[str]
) -> list[Violation]:
    stage = parsed.stages[index]
    if stage.is_stage_ref:
        return []
    available = _available(allowed_bases)
    if stage.unresolved_args:
        names = ", ".join(stage.unresolved_args)
        return [
            _v(
                "base_not_allowed",
                stage.line,
                f'line {stage.line}: the base image "{stage.base}" uses {names}, but no ARG '
                f"before the first FROM gives {names} a default, so the image cannot be known "
                f"before the build. Give it a default (ARG {stage.unresolved_args[0]}=...) or "
                f"write the image name. Available: {available}",
                base=stage.base,
                args=names,
                allowed=available,
            )
        ]
    resolved = stage.base_resolved
    normal = normalize_image(resolved)
    if normal is not None and normal in bases:
        return []
    shown = resolved if resolved == stage.base else f'{resolved}" (from "{stage.base}'
    if normal is None:
        advice = (
            "It is pinned by digest without a tag, so it cannot be matched to an available "
            f"image. Use one of: {available}"
        )
    else:
        advice = f"Use one of: {available}"
    return [
        _v(
            "base_not_allowed",
            stage.line,
            f'line {stage.line}: base image "{shown}" is not available here. {advice}',
            base=resolved,
            allowed=available,
        )
    ]


def _check_instruction(
    parsed: ParsedDockerfile,
    outer: Instruction,
    ins: Instruction,
    bases: set[str],
    allowed_bases: Sequence[str],
) -> list[Violation]:
    """`outer` is the instruction as written (an ONBUILD wrapper or `ins` itself): its line is
    the one reported."""
    line = outer.start_line
    where = f"line {line}: " + ("in ONBUILD, " if outer is not ins else "")
    found: list[Violation] = []
    if ins.keyword == "RUN":
        found.extend(_check_run(parsed, ins, line, where))
    elif ins.keyword == "ADD":
        found.extend(_check_add(parsed, ins, line, where))
    if ins.keyword in ("COPY", "ADD"):
        for ref in ins.flag_values("from"):
            if not _copy_source_ok(parsed, ins, ref, bases):
                available = _available(allowed_bases)
                found.append(
                    _v(
                        "copy_from_not_allowed",
                        line,
                        f"{where}{ins.keyword} --from={ref} names neither a build stage of this "
                        "Dockerfile nor an available image, so the builder would have to "
                        "download it. Name a stage (FROM ... AS <name>) or use one of: "
                        f"{available}",
                        ref=ref,
                        allowed=available,
                    )
                )
    return found


def _stage_ok(parsed: ParsedDockerfile, ins: Instruction, ref: str, *, earlier: bool) -> bool:
    if "$" in ref:
        return False
    stage = parsed.stage_named(ref)
    if stage is None or ins.stage is None:
        return False
    return stage.index < ins.stage if earlier or ref.isdigit() else stage.index != ins.stage


def _copy_source_ok(parsed: ParsedDockerfile, ins: Instruction, ref: str, bases: set[str]) -> bool:
    if _stage_ok(parsed, ins, ref, earlier=False):
        return True
    normal = normalize_image(ref)
    return "$" not in ref and normal is not None and normal in bases


def _check_run(parsed: ParsedDockerfile, ins: Instruction, line: int, where: str) -> list[Violation]:
    found: list[Violation] = []
    for value in ins.flag_values("security"):
        if value.strip().lower() == "insecure":
            found.append(
                _v(
                    "insecure_security",
                    line,
                    f"{where}RUN --security=insecure asks for a privileged build step, which "
                    "is never granted here. Remove the flag.",
                )
            )
    for value in ins.flag_values("network"):
        found.append(
            _v(
                "run_network",
                line,
                f"{where}RUN --network={value} is not allowed: every build step here runs "
                "without network access. Remove the flag, and install only from files in the "
                "build context or from what the base image already has.",
                network=value,
            )
        )
    for spec in ins.flag_values("mount"):
        found.extend(_check_mount(parsed, ins, spec, line, where))
    return found


def _mount_options(spec: str) -> dict[str, str]:
    """BuildKit reads a --mount value as one CSV record of key=value fields, keys
    case-insensitive; a bare field is a boolean option."""
    fields = next(csv.reader([spec]), [])
    options: dict[str, str] = {}
    for item in fields:
        key, _, value = item.partition("=")
        options[key.strip().lower()] = value
    return options


def _check_mount(
    parsed: ParsedDockerfile, ins: Instruction, spec: str, line: int, where: str
) -> list[Violation]:
    options = _mount_options(spec)
    kind = options.get("type", "bind").strip().lower()
    if "$" in kind:
        return [
            _v(
                "mount_type_not_allowed",
                line,
                f"{where}RUN --mount=type={kind} uses a variable for the mount type, which "
                "cannot be checked before the build. Write the type out, e.g. type=cache.",
                type=kind,
            )
        ]
    if kind in ("secret", "ssh"):
        what = "secrets" if kind == "secret" else "ssh agents"
        return [
            _v(
                "mount_type_not_allowed",
                line,
                f"{where}RUN --mount=type={kind} is not allowed: this platform never passes "
                f"{what} to a build. Remove the mount; put what the step needs in the build "
                "context instead (never real credentials).",
                type=kind,
            )
        ]
    source = options.get("source", options.get("src"))
    origin = options.get("from")
    if kind == "cache" and (source is not None or origin is not None):
        used = ", ".join(part for part, v in (("source=", source), ("from=", origin)) if v is not None)
        return [
            _v(
                "cache_mount_source",
                line,
                f"{where}a cache mount with {used} is not allowed (it can expose files outside "
                "the cache, CVE-2024-23651). Keep only type=cache,target=<dir> (and id=, "
                "sharing= if needed).",
                options=used,
            )
        ]
    if origin is not None and not _stage_ok(parsed, ins, origin, earlier=True):
        return [
            _v(
                "mount_from_not_allowed",
                line,
                f"{where}RUN --mount=...,from={origin} must name an earlier build stage of "
                "this Dockerfile (FROM ... AS <name>); anything else would be downloaded. Name "
                "an earlier stage, or COPY the files in instead.",
                ref=origin,
            )
        ]
    return []


def _check_add(parsed: ParsedDockerfile, ins: Instruction, line: int, where: str) -> list[Violation]:
    sources = [a for a in ins.args[:-1] if not (ins.heredocs and _HEREDOC_RE.match(a))]
    found: list[Violation] = []
    for src in sources:
        if _may_be_remote(parsed, src):
            found.append(
                _v(
                    "add_url",
                    line,
                    f'{where}ADD "{src}" would be fetched by the builder from outside the '
                    "sandbox, which is not allowed. Put the file in the build context and COPY "
                    "it instead.",
                    source=src,
                )
            )
    return found


def _may_be_remote(parsed: ParsedDockerfile, src: str) -> bool:
    """ADD expands ARG and ENV values in its sources, so `ADD $URL /x` is remote when URL's
    value is. A URL or `git@host:` always contains ':' or '@', in the source as written or in a
    value it refers to; any such source with a variable in it is treated as remote."""
    if _REMOTE_RE.match(src.strip("\"'")):
        return True
    names = {a or b for a, b in _VAR_RE.findall(src)}
    if not names:
        return False
    if ":" in src or "@" in src:
        return True
    return any(":" in v or "@" in v for v in _values_of(parsed, names))


def _values_of(parsed: ParsedDockerfile, names: set[str]) -> list[str]:
    """Every value the file assigns to `names` by ARG or ENV, following references."""
    pending, seen, values = set(names), set[str](), []
    while pending:
        name = pending.pop()
        seen.add(name)
        for value in _assignments(parsed, name):
            values.append(value)
            pending |= {a or b for a, b in _VAR_RE.findall(value)} - seen
    return values


def _assignments(parsed: ParsedDockerfile, name: str) -> Iterable[str]:
    for ins in parsed.instructions:
        if ins.keyword == "ARG":
            for token in ins.args:
                key, eq, value = token.partition("=")
                if eq and key == name:
                    yield value
        elif ins.keyword == "ENV":
            pairs = ins.args
            for i in range(0, len(pairs) - 1, 2):
                if pairs[i] == name:
                    yield pairs[i + 1]


def _heredoc(ins: Instruction) -> Violation:
    line = ins.start_line
    marker = f"<<{ins.heredocs[0].name}"
    word = ins.inner.keyword if ins.inner is not None else ins.keyword
    if word == "RUN":
        advice = (
            "Write the commands as one RUN joined with &&, continuing long lines with a "
            "backslash, e.g.\n    RUN apt-get update && \\\n        apt-get install -y curl"
        )
    else:
        advice = (
            "Put the file's content in a file in your build context and COPY it, or create it "
            "with RUN printf '...' > <path>."
        )
    return _v(
        "heredoc_unsupported",
        line,
        f"line {line}: heredocs ({marker}) need Docker Engine 23 or newer, and this "
        f"platform's engine is older, so {word} {marker} cannot be built here. {advice}",
        marker=marker,
        instruction=word,
    )


__all__ = ["DEFAULT_MAX_BYTES", "Violation", "check_dockerfile", "normalize_image"]


_RUN_FLAGS = re.compile(r"^(?P<lead>\s*(?:RUN\s+)?)(?P<flags>(?:--\S+\s+)*)", re.IGNORECASE)
_MOUNT_FLAG = re.compile(r"--mount=(?P<spec>\S+)", re.IGNORECASE)


def namespace_cache_mounts(dockerfile: str, namespace: str) -> str:
    """Gives every `RUN --mount=type=cache` an id inside `namespace`, on the same line (line
    numbers do not move). BuildKit shares a cache mount between all builds on an engine by its
    id (the target path by default): without this, one student could plant a poisoned pip or
    npm cache for every other student's build. A student keeps their own cache across their
    own submissions."""
    if not namespace:
        return dockerfile
    out: list[str] = []
    flags_go_on = False  # the RUN's flags continue on the next line (`RUN --mount=... \`)
    for line in dockerfile.splitlines(keepends=True):
        if flags_go_on or re.match(r"\s*RUN\s", line, re.IGNORECASE):
            m = _RUN_FLAGS.match(line)
            assert m is not None  # every group is optional
            rest = line[m.end() :]
            if m.group("flags"):
                flags = _MOUNT_FLAG.sub(
                    lambda f: "--mount=" + _namespaced(f.group("spec"), namespace), m.group("flags")
                )
                line = m.group("lead") + flags + rest
            flags_go_on = rest.strip() == "\\"
        out.append(line)
    return "".join(out)


def _namespaced(spec: str, namespace: str) -> str:
    options = _mount_options(spec)
    if options.get("type", "bind").strip().lower() != "cache":
        return spec
    fields = next(csv.reader([spec]), [])
    kept = [f for f in fields if f.partition("=")[0].strip().lower() != "id"]
    own = options.get("id") or options.get("target") or options.get("dst") or options.get("destination") or ""
    return ",".join([*kept, f"id=layerlab-{namespace}-{own}"])
