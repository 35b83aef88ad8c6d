"""Refuses a Dockerfile before any build starts.

Everything refused here is something the student can fix, so every Violation names the line
and says what to do instead. The rules close the ways a Dockerfile can reach past the build
sandbox (see reference/sandbox.md): pulling images or frontends, fetching URLs, asking for
network or entitlements, cache-mount subpaths (CVE-2024-23651), secrets and ssh agents. The
engine must still be configured safely; this is the first fence, not the only one.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sandbox.dockerfile import (
    DockerfileSyntaxError,
    Instruction,
    ParsedDockerfile,
    expand,
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
class LocalImage:
    """An allowlisted base image as this engine holds it. A reference in a Dockerfile means this
    image or nothing: a digest must be this image's own, a platform must be the host's, because
    anything else would have to come from a registry."""

    ref: str  # the allowlisted name, normalised: python:3.11-slim
    id: str  # sha256:<hex> of the image config
    digests: tuple[str, ...] = ()  # registry digests the engine knows for it, if any
    platform: str = "linux/amd64"

    def has_digest(self, digest: str) -> bool:
        return digest == self.id or digest in self.digests


LocalImages = Mapping[str, LocalImage]

AUTOMATIC_PLATFORM_ARGS = ("BUILDPLATFORM", "TARGETPLATFORM")


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
    local_images: LocalImages | None = None,
    host_platform: str = "linux/amd64",
) -> list[Violation]:
    """Every reason to refuse `data`, ordered by line; an empty list means it may be built.

    `local_images` (the engine's own copies of the allowlisted bases, by normalised name) makes
    digests checkable: without it a digest after an allowed tag is taken on trust, as a pure
    text check must."""
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
    refused = check_utf8(data)
    if refused is not None:
        return [refused]
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")

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

    known = _Known(_allowed(allowed_bases), tuple(allowed_bases), local_images, host_platform)
    for stage in parsed.stages:
        violations.extend(_check_base(parsed, stage.index, known))
    for ins in parsed.instructions:
        violations.extend(_check_instruction(parsed, ins, ins, known))
        if ins.inner is not None:
            violations.extend(_check_instruction(parsed, ins, ins.inner, known))
            violations.extend(_check_trigger(ins))
        if ins.heredocs and not engine_supports_heredocs:
            violations.append(_heredoc(ins))
    return _ordered(violations)


def check_utf8(data: bytes) -> Violation | None:
    """The `not_utf8` refusal of `data`, or None when it is UTF-8 text. Never decodes with
    replacement: a Dockerfile that is not UTF-8 is refused, not silently changed."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line = data.count(b"\n", 0, offset) + 1
        return _v(
            "not_utf8",
            line,
            f"line {line}: the Dockerfile is not valid UTF-8 text (byte {offset + 1} of {len(data):,}). "
            "Save it as UTF-8 and remove any binary data.",
            byte=str(offset + 1),
            size=str(len(data)),
        )
    return None


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_CHMOD_BITS = ((0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky"))


def char_name(ch: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`: how a character a reader cannot see is named."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED CHARACTER')}"


def notices(data: bytes, parsed: ParsedDockerfile, *, engine_keeps_setuid_chmod: bool) -> list[Violation]:
    """What the student should know about a Dockerfile that is built anyway, ordered by line:
    invisible direction controls (the text shown is not the text run), `--chmod` bits this
    engine drops, ONBUILD triggers left in the final image, and a `# check=` directive (read
    as a comment: it switches no grading off). `data` has passed `check_dockerfile`."""
    found: list[Violation] = []
    check = parsed.directives.get("check")
    if check is not None:
        found.append(
            _v(
                "check_directive_ignored",
                check.line,
                f"line {check.line}: the '# check={check.value}' directive is ignored here: it is "
                "read as a comment, and every criterion is graded, including the ones that follow "
                "Docker's build checks. Keep it for your own `docker build --check` if you like.",
                value=check.value,
            )
        )
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    for number, line in enumerate(text.split("\n"), start=1):
        controls = list(dict.fromkeys(ch for ch in line if ch in BIDI_CONTROLS))
        if controls:
            names = ", ".join(char_name(ch) for ch in controls)
            found.append(
                _v(
                    "bidi_control",
                    number,
                    f"line {number}: this line contains invisible characters that change the "
                    f"direction text is shown in: {names}. What you see may not be what the engine "
                    "runs (the Trojan Source trick). Delete them unless you put them there on purpose.",
                    chars=names,
                )
            )
    for ins in parsed.instructions:
        for each in (ins, ins.inner):
            if each is None or each.keyword not in ("COPY", "ADD") or engine_keeps_setuid_chmod:
                continue
            for mode in each.flag_values("chmod"):
                found.extend(_chmod_notice(ins.start_line, each.keyword, mode))
    final = len(parsed.stages) - 1
    for ins in parsed.instructions:
        if ins.keyword == "ONBUILD" and ins.stage == final and final >= 0:
            trigger = ins.inner.keyword if ins.inner is not None else (ins.args[0] if ins.args else "")
            found.append(
                _v(
                    "onbuild_in_final",
                    ins.start_line,
                    f"line {ins.start_line}: ONBUILD {trigger} in the final stage leaves a trigger in "
                    "your image: it runs not in your build but in the build of whoever writes FROM "
                    "your image. Remove it unless you are making a base image for others.",
                    instruction=trigger,
                )
            )
    return _ordered(found)


def _chmod_notice(line: int, keyword: str, mode: str) -> list[Violation]:
    if not re.fullmatch(r"[0-7]{3,4}", mode):
        return []
    value = int(mode, 8)
    bits = [name for bit, name in _CHMOD_BITS if value & bit]
    if not bits:
        return []
    result = f"{value & 0o777:04o}"
    names = " and ".join(bits)
    asked = f"the {names} bit" + ("s" if len(bits) > 1 else "")
    return [
        _v(
            "chmod_bits_dropped",
            line,
            f"line {line}: {keyword} --chmod={mode} asks for {asked}, but this platform's "
            "engine (Docker 20.10's BuildKit) drops the setuid, setgid and sticky bits of --chmod: "
            f"the file will be {result}. If you really need it, set it with RUN chmod {mode} <path>; "
            f"otherwise write --chmod={result}.",
            instruction=keyword,
            mode=mode,
            bits=names,
            result=result,
        )
    ]


def _v(code: str, line: int | None, message: str, **params: str) -> Violation:
    if line is not None:
        params = {"line": str(line), **params}
    return Violation(code=code, line=line, message=message, params=params)


def _ordered(violations: Iterable[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (v.line is None, v.line or 0))


def _strip_hub(ref: str) -> str:
    for prefix in _DOCKER_HUB_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    for host in _DOCKER_HUB_HOSTS:
        if ref.startswith(host):
            return ref[len(host) :]
    return ref


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of a reference, Docker Hub prefixes dropped."""
    name, at, digest = _strip_hub(ref).partition("@")
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, ""
    return repository, tag or None, digest if at else None


def normalize_image(ref: str) -> str | None:
    """The comparable form of an image reference: Docker Hub prefixes dropped, `:latest`
    implied, a digest dropped when a tag is present. None for a digest without a tag: which
    tag it is cannot be told from the text."""
    repository, tag, digest = split_image(ref)
    if digest is not None and tag is None:
        return None
    if repository == "scratch" and tag is None:
        return "scratch"
    return f"{repository}:{tag or 'latest'}"


def resolve_image(ref: str, allowed: set[str], local_images: LocalImages) -> LocalImage | None:
    """The local image an allowed reference means, or None. A tag names the allowlisted image;
    a digest must be that image's own; a digest alone picks the allowlisted image of the same
    repository that has it."""
    repository, tag, digest = split_image(ref)
    if tag is not None:
        image = local_images.get(f"{repository}:{tag}") if f"{repository}:{tag}" in allowed else None
        if image is None or (digest is not None and not image.has_digest(digest)):
            return None
        return image
    if digest is None:
        return resolve_image(f"{repository}:latest", allowed, local_images)
    for name in sorted(allowed):
        image = local_images.get(name)
        if image is not None and split_image(name)[0] == repository and image.has_digest(digest):
            return image
    return None


@dataclass(frozen=True)
class _Known:
    """What references are checked against."""

    bases: set[str]
    allowed: tuple[str, ...]
    local_images: LocalImages | None
    host_platform: str

    def available(self) -> str:
        return _available(self.allowed)

    def image_ok(self, ref: str) -> bool:
        if "$" in ref:
            return False
        if normalize_image(ref) == "scratch":
            return "scratch" in self.bases
        if self.local_images is not None:
            return resolve_image(ref, self.bases, self.local_images) is not None
        normal = normalize_image(ref)
        return normal is not None and normal in self.bases


def _allowed(allowed_bases: Sequence[str]) -> set[str]:
    return {n for n in (normalize_image(b) for b in allowed_bases) if n is not None}


def _available(allowed_bases: Sequence[str]) -> str:
    return ", ".join(allowed_bases) if allowed_bases else "(none are configured)"


def _check_base(parsed: ParsedDockerfile, index: int, known: _Known) -> list[Violation]:
    stage = parsed.stages[index]
    found = _check_platform(parsed, index, known)
    if stage.is_stage_ref:
        return found
    available = known.available()
    if stage.unresolved_args:
        names = ", ".join(stage.unresolved_args)
        return [
            *found,
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
            ),
        ]
    resolved = stage.base_resolved
    if known.image_ok(resolved):
        return found
    shown = resolved if resolved == stage.base else f'{resolved}" (from "{stage.base}'
    repository, tag, digest = split_image(resolved)
    local = known.local_images or {}
    named = local.get(f"{repository}:{tag}") if tag is not None else None
    if digest is not None and named is not None and f"{repository}:{tag}" in known.bases:
        return [
            *found,
            _v(
                "digest_mismatch",
                stage.line,
                f'line {stage.line}: "{resolved}" asks for a different image than the '
                f"{repository}:{tag} this platform has, whose digest is {named.id}. Images are "
                "never downloaded here, so pin that digest or remove the @sha256:... part.",
                base=resolved,
                image=f"{repository}:{tag}",
                digest=named.id,
            ),
        ]
    if normalize_image(resolved) is None:
        advice = (
            "It is pinned by digest without a tag, and no available image has that digest. "
            f"Use one of: {available}"
        )
    else:
        advice = f"Use one of: {available}"
    lookalike = _lookalike_words(resolved, known) or _alpine_words(resolved, known)
    if lookalike is not None:
        words, params = lookalike
        return [
            *found,
            _v(
                "base_not_allowed",
                stage.line,
                f'line {stage.line}: base image "{shown}" is not available here. {words} {advice}',
                base=resolved,
                allowed=available,
                **params,
            ),
        ]
    return [
        *found,
        _v(
            "base_not_allowed",
            stage.line,
            f'line {stage.line}: base image "{shown}" is not available here. {advice}',
            base=resolved,
            allowed=available,
        ),
    ]


# Letters of other scripts (Cyrillic, Greek) and punctuation drawn like ASCII ones, by code point
# (after Unicode's confusables.txt); fullwidth and other compatibility forms are folded by NFKC.
# fmt: off
_CONFUSABLE_POINTS = (
    (0x0430, "a"), (0x0435, "e"), (0x043E, "o"), (0x0440, "p"), (0x0441, "c"), (0x0443, "y"), (0x0445, "x"),
    (0x0456, "i"), (0x0458, "j"), (0x0455, "s"), (0x04BB, "h"), (0x0501, "d"), (0x051B, "q"), (0x051D, "w"),
    (0x04CF, "l"), (0x0261, "g"), (0x03BF, "o"), (0x03B1, "a"), (0x03BD, "v"), (0x03B9, "i"), (0x03BA, "k"),
    (0x03C4, "t"), (0x03C1, "p"), (0x03C5, "u"), (0x03B5, "e"), (0x0410, "A"), (0x0412, "B"), (0x0415, "E"),
    (0x041A, "K"), (0x041C, "M"), (0x041D, "H"), (0x041E, "O"), (0x0420, "P"), (0x0421, "C"), (0x0422, "T"),
    (0x0425, "X"), (0x2010, "-"), (0x2011, "-"), (0x2012, "-"), (0x2013, "-"), (0x2014, "-"), (0x2212, "-"),
    (0x0589, ":"), (0x05C3, ":"), (0x2236, ":"), (0xA789, ":"), (0x2024, "."), (0x0131, "i"), (0x2113, "l"),
)
# fmt: on
CONFUSABLES: dict[str, str] = {chr(point): twin for point, twin in _CONFUSABLE_POINTS}


def _ascii_twin(ch: str) -> str | None:
    twin = CONFUSABLES.get(ch) or unicodedata.normalize("NFKC", ch)
    return twin if twin.isascii() and twin.isprintable() and len(twin) == 1 else None


def _lookalike_words(ref: str, known: _Known) -> tuple[str, dict[str, str]] | None:
    """How a base name with characters that are not ASCII differs from what it looks like:
    each such character, its position and name, the ASCII letter it passes for, and the real
    name when that is an available image. None for a plain ASCII name."""
    odd = [(i, ch) for i, ch in enumerate(ref, start=1) if not ch.isascii()]
    if not odd:
        return None
    parts = []
    for position, ch in odd:
        twin = _ascii_twin(ch)
        parts.append(f'#{position} "{ch}" {char_name(ch)}' + (f' → "{twin}"' if twin else ""))
    listing = "; ".join(parts)
    real = "".join(_ascii_twin(ch) or ch for ch in ref)
    if real.isascii() and known.image_ok(real):
        return (
            "It contains characters that only look like ASCII letters "
            f'(#position "character" name → the letter it passes for): {listing}. '
            f"The real name is {real}: type it in plain ASCII.",
            {"variant": "lookalike", "lookalikes": listing, "real": real},
        )
    return (
        f"Image names are plain ASCII, and it contains other characters: {listing}.",
        {"variant": "non_ascii", "lookalikes": listing},
    )


_ALPINE_WHY = {
    "Debian slim": "a small Debian with a shell and a package manager, as Alpine has; install "
    "packages with apt-get instead of apk",
    "distroless": "for a final stage that only runs your program: CA certificates, time zones and "
    "/etc/passwd, but no shell and no package manager (build in an earlier stage)",
    "empty image": "nothing at all, for a final stage that runs a static binary",
}


def _base_kind(ref: str) -> str:
    """What kind of base an allowlisted reference is, in a word or two for the student."""
    if normalize_image(ref) == "scratch":
        return "empty image"
    repository, tag, _ = split_image(ref.lower())
    name = repository.rsplit("/", 1)[-1]
    if "distroless" in repository:
        return "distroless"
    if "slim" in re.split(r"[-_.]", tag or ""):
        return "Debian slim"  # every official -slim image is Debian's
    return {"ubuntu": "Ubuntu", "busybox": "BusyBox"}.get(name, "Debian")


def _alpine_words(ref: str, known: _Known) -> tuple[str, dict[str, str]] | None:
    """For an Alpine base this platform does not have: why it cannot be had here, and the
    nearest base the exercise allows. Alpine is not refused for being Alpine (with a registry
    it would be pulled like any other); it cannot be made offline. None for other names, or
    when nothing is allowed."""
    repository, tag, _ = split_image(ref.lower())
    name = repository.rsplit("/", 1)[-1]
    if "alpine" not in name and "alpine" not in (tag or ""):
        return None
    candidates = [b for b in known.allowed if "alpine" not in b.lower() and "$" not in b]
    if not candidates:
        return None
    why: str | None = None
    family = [b for b in candidates if split_image(b.lower())[0].rsplit("/", 1)[-1] == name]
    if name != "alpine" and family:
        version = re.split(r"-?alpine", tag or "", maxsplit=1)[0]

        def distance(base: str) -> tuple[bool, bool]:
            btag = split_image(base.lower())[1] or "latest"
            same = bool(version) and (btag == version or btag.startswith(f"{version}-"))
            return (not same, _base_kind(base) != "Debian slim")

        nearest = min(family, key=distance)
        same_version = not distance(nearest)[0]
        what = f"the same {name} {version}" if same_version else f"the {name} image this exercise has,"
        why = f"{what} on Debian instead of Alpine; install packages with apt-get instead of apk"
    else:
        by_kind = {kind: [b for b in candidates if _base_kind(b) == kind] for kind in _ALPINE_WHY}
        debian = [b for b in by_kind["Debian slim"] if split_image(b.lower())[0].endswith("debian")]
        static = [b for b in by_kind["distroless"] if "static" in b]
        order = [*debian, *by_kind["Debian slim"], *static, *by_kind["distroless"], *by_kind["empty image"]]
        nearest = (order or candidates)[0]
        why = _ALPINE_WHY.get(_base_kind(nearest), "the closest this exercise allows")
    kind = _base_kind(nearest)
    return (
        "Alpine images cannot be made on this platform: there is no registry to pull them from, and "
        f"Alpine's apk packages are not available offline. Use {nearest} ({kind}), the nearest "
        f"available base: {why}.",
        {"variant": "alpine", "nearest": nearest, "kind": kind},
    )


def _platform_scope(parsed: ParsedDockerfile, host: str) -> dict[str, str]:
    scope = {k: v for k, v in parsed.args_before_from.items() if v is not None}
    os_name, _, arch = host.partition("/")
    for prefix in ("BUILD", "TARGET"):
        scope |= {f"{prefix}PLATFORM": host, f"{prefix}OS": os_name, f"{prefix}ARCH": arch.split("/")[0]}
    return scope


def normalize_platform(value: str) -> str:
    """`amd64` and `linux/amd64` are the same platform; `linux/amd64/v1` too."""
    value = value.strip().lower()
    if "/" not in value:
        value = f"linux/{value}"
    parts = value.split("/")
    if len(parts) == 3 and parts[2] == "v1" and parts[1] == "amd64":
        parts = parts[:2]
    return "/".join(parts)


def _check_platform(parsed: ParsedDockerfile, index: int, known: _Known) -> list[Violation]:
    """A FROM --platform other than the host's would make the engine fetch another image."""
    stage = parsed.stages[index]
    if stage.platform is None:
        return []
    value, missing = expand(stage.platform, _platform_scope(parsed, known.host_platform), parsed.escape)
    if not missing and normalize_platform(value) == normalize_platform(known.host_platform):
        return []
    return [
        _v(
            "platform_not_available",
            stage.line,
            f"line {stage.line}: FROM --platform={stage.platform} asks for an image built for "
            f"another kind of computer; this platform builds only {known.host_platform} images, "
            "and any other would have to be downloaded. Remove --platform.",
            platform=stage.platform,
            host=known.host_platform,
        )
    ]


def _check_instruction(
    parsed: ParsedDockerfile, outer: Instruction, ins: Instruction, known: _Known
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
            if not (_stage_ok(parsed, ins, ref, earlier=False) or known.image_ok(ref)):
                available = known.available()
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


def _check_trigger(outer: Instruction) -> list[Violation]:
    """An ONBUILD trigger runs inside a later stage that is built FROM this one, after every
    check and rewrite of the Dockerfile: what it mounts or copies from cannot be pinned."""
    inner = outer.inner
    assert inner is not None
    used = [f"--{name}" for name in ("mount", "from") if inner.flag_values(name)]
    if not used:
        return []
    return [
        _v(
            "onbuild_flags",
            outer.start_line,
            f"line {outer.start_line}: ONBUILD {inner.keyword} {' and '.join(used)} is not allowed "
            "here: a trigger runs later, in a stage built FROM this one, where its mounts and "
            f"sources cannot be checked. Write the {inner.keyword} in the stage that needs it.",
            instruction=inner.keyword,
            flags=" ".join(used),
        )
    ]


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


_PLAIN_FIELD = re.compile(r"^[A-Za-z0-9/._:=+@-]+$")


def _mount_fields(spec: str) -> list[str]:
    return next(csv.reader([spec]), [])


def mount_options(spec: str) -> dict[str, str]:
    """BuildKit reads a --mount value as one CSV record of key=value fields, keys
    case-insensitive; a bare field is a boolean option."""
    options: dict[str, str] = {}
    for item in _mount_fields(spec):
        key, _, value = item.partition("=")
        options[key.strip().lower()] = value
    return options


def _check_mount(
    parsed: ParsedDockerfile, ins: Instruction, spec: str, line: int, where: str
) -> list[Violation]:
    options = mount_options(spec)
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
    if kind == "cache" and not all(_PLAIN_FIELD.match(f) for f in _mount_fields(spec)):
        return [
            _v(
                "cache_mount_form",
                line,
                f"{where}write the cache mount as plain key=value fields (letters, digits and "
                "/ . _ - : = + @ only, no quotes or spaces), e.g. "
                "--mount=type=cache,target=/root/.cache/pip",
                spec=spec,
            )
        ]
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


__all__ = [
    "BIDI_CONTROLS",
    "DEFAULT_MAX_BYTES",
    "LocalImage",
    "LocalImages",
    "Violation",
    "char_name",
    "check_dockerfile",
    "check_utf8",
    "mount_options",
    "normalize_image",
    "normalize_platform",
    "notices",
    "resolve_image",
    "split_image",
]
