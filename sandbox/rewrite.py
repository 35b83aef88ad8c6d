"""What the engine is given to build: the student's Dockerfile with every base image and every
`COPY --from=<image>` pinned to an image this engine already holds, and every cache mount moved
into the student's own namespace.

The rewrite works from the parsed instructions, never from the text (a comment or a blank line
inside a continuation cannot hide a flag from it), keeps every instruction on its line, and is
then checked by parsing its own result: unless every base is a pinned local image, nothing asks
for a platform, and every cache mount's id is inside the namespace, the build does not start.

Pinned bases are named `layerlab.invalid/base:<image id>`, a tag the catalogue puts on each
allowlisted image. BuildKit finds it in the engine's own store; were it ever missing, the name
points at a registry that cannot exist, so nothing is fetched instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.dockerfile import DockerfileSyntaxError, Instruction, ParsedDockerfile, Stage, parse
from sandbox.policy import LocalImage, LocalImages, mount_options, normalize_image, resolve_image

ALIAS_REPOSITORY = "layerlab.invalid/base"
CACHE_ID_PREFIX = "ll"
_NAMESPACE = re.compile(r"^[0-9a-f]{16,64}$")
_BOM = "\ufeff"
_QUOTE_NEEDED = re.compile(r"[\s\"'\\]")


def alias_of(image: LocalImage) -> str:
    return f"{ALIAS_REPOSITORY}:{image.id.removeprefix('sha256:')}"


def cache_namespace(key: bytes, owner: str) -> str:
    """The cache namespace of one owner (a student, or a tool such as check_course): a keyed
    hash, so nobody can name another student's caches by guessing."""
    return hmac.new(key, f"cache-namespace:{owner}".encode(), hashlib.sha256).hexdigest()[:24]


def cache_id(namespace: str, own: str) -> str:
    """The id BuildKit shares a cache mount by. `own` is what the student named it (their id=,
    else the target path): their mounts of the same name share, nobody else's do."""
    return f"{CACHE_ID_PREFIX}-{namespace}-{hashlib.sha256(own.encode()).hexdigest()[:16]}"


class RewriteError(ValueError):
    """The Dockerfile could not be turned into one that is safe to build, and is refused."""

    code = "unverifiable"

    def __init__(self, line: int | None, message: str) -> None:
        prefix = f"line {line}: " if line is not None else ""
        super().__init__(prefix + message)
        self.line = line
        self.message = prefix + message


@dataclass(frozen=True)
class _Target:
    images: LocalImages
    allowed: frozenset[str]
    namespace: str

    @property
    def aliases(self) -> frozenset[str]:
        return frozenset(alias_of(i) for i in self.images.values())


def rewrite_for_engine(text: str, parsed: ParsedDockerfile, *, images: LocalImages, namespace: str) -> str:
    """The Dockerfile to hand to the engine. `parsed` is `text` parsed, already passed by
    `policy.check_dockerfile` with the same `images`; `images` maps each allowlisted name
    (normalised, scratch excluded) to the engine's image."""
    if not _NAMESPACE.match(namespace):
        raise ValueError(f"not a cache namespace: {namespace!r}")
    target = _Target(images, frozenset(images), namespace)
    lines = text.removeprefix(_BOM).split("\n")
    stages = {stage.line: stage for stage in parsed.stages}
    for ins in parsed.instructions:
        new = _rewritten(ins, parsed, stages, target)
        if new is not None:
            lines[ins.start_line - 1 : ins.end_line] = [new] + [""] * (ins.end_line - ins.start_line)
    out = "\n".join(lines)
    verify(out, parsed, target)
    return out


def _rewritten(
    ins: Instruction, parsed: ParsedDockerfile, stages: Mapping[int, Stage], target: _Target
) -> str | None:
    if ins.keyword == "FROM":
        stage = stages[ins.start_line]
        name = f" AS {stage.name}" if stage.name else ""
        return f"FROM {_base_ref(stage, target)}{name}"
    if ins.keyword in ("COPY", "ADD") and ins.flag_values("from"):
        flags = [_from_flag(f, parsed, ins, target) for f in ins.flags]
        return _instruction_line(ins, flags)
    if ins.keyword == "RUN" and any(_is_cache(spec) for spec in ins.flag_values("mount")):
        flags = [_mount_flag(f, target.namespace) for f in ins.flags]
        return _instruction_line(ins, flags)
    return None


def _base_ref(stage: Stage, target: _Target) -> str:
    if stage.is_stage_ref or normalize_image(stage.base_resolved) == "scratch":
        return stage.base_resolved
    image = resolve_image(stage.base_resolved, set(target.allowed), target.images)
    if image is None:
        raise RewriteError(stage.line, f'the base image "{stage.base_resolved}" is not available here')
    return alias_of(image)


def _split_flag(flag: str) -> tuple[str, str | None]:
    name, eq, value = flag.removeprefix("--").partition("=")
    return name, value if eq else None


def _from_flag(flag: str, parsed: ParsedDockerfile, ins: Instruction, target: _Target) -> str:
    name, value = _split_flag(flag)
    if name.lower() != "from" or value is None or _stage_of(parsed, value, ins) is not None:
        return flag
    image = resolve_image(value, set(target.allowed), target.images)
    if image is None:
        raise RewriteError(ins.start_line, f"--from={value} is not an available image or stage")
    return f"--{name}={alias_of(image)}"


def _stage_of(parsed: ParsedDockerfile, ref: str, ins: Instruction) -> Stage | None:
    stage = parsed.stage_named(ref)
    if stage is None or ins.stage is None or stage.index == ins.stage:
        return None
    return stage


def _is_cache(spec: str) -> bool:
    return mount_options(spec).get("type", "bind").strip().lower() == "cache"


def _mount_flag(flag: str, namespace: str) -> str:
    name, value = _split_flag(flag)
    if name.lower() != "mount" or value is None or not _is_cache(value):
        return flag
    options = mount_options(value)
    own = options.get("id") or options.get("target") or options.get("dst") or options.get("destination") or ""
    kept = [f for f in value.split(",") if f.partition("=")[0].strip().lower() != "id"]
    return f"--{name}=" + ",".join([*kept, f"id={cache_id(namespace, own)}"])


def _quoted(flag: str) -> str:
    """A flag as BuildKit's flag reader takes it back: the value in double quotes, with `"` and
    `\\` escaped, whenever it holds a space, a quote or a backslash."""
    name, value = _split_flag(flag)
    if value is None or not _QUOTE_NEEDED.search(value):
        return flag
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'--{name}="{escaped}"'


def _instruction_line(ins: Instruction, flags: list[str]) -> str:
    if ins.heredocs:
        raise RewriteError(
            ins.start_line,
            f"{ins.keyword} with a heredoc cannot also use --mount=type=cache or --from=<image> "
            "here; put the script in a file in the build context",
        )
    if ins.json:
        rest = json.dumps(list(ins.args), ensure_ascii=False)
    elif ins.keyword == "RUN":
        rest = ins.args[0] if ins.args else ""
    else:
        rest = " ".join(ins.args)
    return " ".join([ins.keyword, *(_quoted(f) for f in flags), rest])


def verify(out: str, original: ParsedDockerfile, target: _Target) -> None:
    """Parses the rewritten Dockerfile and refuses it unless it is the original with exactly the
    intended changes: same instructions on the same lines, every base and image source a pinned
    local image or an earlier stage, no platform, every cache mount in the namespace."""
    try:
        again = parse(out)
    except DockerfileSyntaxError as exc:
        raise RewriteError(exc.line, f"the Dockerfile could not be prepared safely ({exc.message})") from None
    if len(again.instructions) != len(original.instructions):
        raise RewriteError(None, "the Dockerfile could not be prepared safely (instructions moved)")
    aliases = target.aliases
    for before, after in zip(original.instructions, again.instructions, strict=True):
        _verify_one(before, after, again, aliases, target.namespace)


def _verify_one(
    before: Instruction, after: Instruction, again: ParsedDockerfile, aliases: frozenset[str], namespace: str
) -> None:
    line = before.start_line

    def refuse(what: str) -> RewriteError:
        return RewriteError(
            line, f"this instruction could not be prepared safely ({what}); write it more plainly"
        )

    if (before.keyword, before.start_line, before.heredocs) != (
        after.keyword,
        after.start_line,
        after.heredocs,
    ):
        raise refuse("it changed")
    if after.keyword == "FROM":
        stage = next(s for s in again.stages if s.line == line)
        ok = stage.is_stage_ref or stage.base_resolved in aliases or stage.base_resolved == "scratch"
        if after.flags or not ok or "$" in stage.base:
            raise refuse("its base is not a pinned local image")
        return
    if (before.args, before.json) != (after.args, after.json):
        raise refuse("its arguments changed")
    if after.keyword in ("COPY", "ADD"):
        for ref in after.flag_values("from"):
            if ref not in aliases and _stage_of(again, ref, after) is None:
                raise refuse(f"--from={ref} is not a pinned local image or stage")
        if _without(before.flags, "from") != _without(after.flags, "from"):
            raise refuse("its flags changed")
        return
    if after.keyword == "RUN":
        if _without(before.flags, "mount") != _without(after.flags, "mount"):
            raise refuse("its flags changed")
        mounts = list(zip(before.flag_values("mount"), after.flag_values("mount"), strict=False))
        if len(mounts) != len(after.flag_values("mount")) or len(mounts) != len(before.flag_values("mount")):
            raise refuse("its mounts changed")
        for old, new in mounts:
            if not _is_cache(new):
                if old != new:
                    raise refuse("a mount changed")
                continue
            given = mount_options(new).get("id", "")
            if not re.fullmatch(rf"{CACHE_ID_PREFIX}-{namespace}-[0-9a-f]{{16}}", given):
                raise refuse("a cache mount is outside your own caches")
            if _cache_fields(old) != _cache_fields(new):
                raise refuse("a cache mount changed")
        return
    if before.flags != after.flags:
        raise refuse("its flags changed")


def _without(flags: tuple[str, ...], name: str) -> list[str]:
    return [f for f in flags if _split_flag(f)[0].lower() != name]


def _cache_fields(spec: str) -> dict[str, str]:
    return {k: v for k, v in mount_options(spec).items() if k != "id"}


__all__ = [
    "ALIAS_REPOSITORY",
    "RewriteError",
    "alias_of",
    "cache_id",
    "cache_namespace",
    "rewrite_for_engine",
]
