"""The lessons of Docker's own build checks (`docker build --check`, BuildKit's linter rules):
variables defined before use, clear stage names, one CMD/ENTRYPOINT/HEALTHCHECK per stage,
ENV/LABEL in key=value form, EXPOSE with container ports only, consistent instruction casing,
no blank lines inside a continuation, no COPY of what .dockerignore excludes.

Where this differs from BuildKit, on purpose: `${NAME:-default}` (and the other forms that say
what to do when NAME is unset) is not reported, since it handles the unset case; a base image's
own ENV cannot be seen from the text, so names official images commonly set (`PATH`,
`PYTHON_VERSION`, ...) count as defined unless the stage chain starts FROM scratch; a duplicate
stage name never reaches these checks (the parser refuses it); and CopyIgnoredFile also judges
.dockerignore files with `!` exceptions, using the exercise's context files.

A `# check=skip=...` parser directive does not switch any of this off: it is read as a comment,
and `sandbox.policy.notices` tells the student so.

Each check is named after its criterion (`texts/buildkit.yaml`). Every pass over the student's
text is linear in it, and words are expanded within the bounds of `sandbox.dockerfile.expand`."""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterator, Mapping

from labs.grading.catalogue import CheckResult, Finding, Say, clip
from labs.grading.facts import StaticInput, split_image
from sandbox.dockerfile import DockerfileLimitError, ExpansionBudget, Instruction, Stage, expand
from sandbox.dockerignore import dockerignore_rules, norm_context_path

# --------------------------------------------------------------------------- undefined variables

PLATFORM_ARGS = frozenset(
    f"{side}{part}" for side in ("BUILD", "TARGET") for part in ("PLATFORM", "OS", "ARCH", "VARIANT")
)
PREDEFINED_ARGS = PLATFORM_ARGS | frozenset(
    {
        *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "FTP", "NO", "ALL")),
        *(f"{name}_proxy" for name in ("http", "https", "ftp", "no", "all")),
        "SOURCE_DATE_EPOCH",
        "BUILDKIT_SBOM_SCAN_CONTEXT",
        "BUILDKIT_SBOM_SCAN_STAGE",
    }
)
"""ARGs BuildKit defines without an ARG instruction (the platform ones, the proxies, ...)."""

BASE_IMAGE_ENV = frozenset(
    {
        "PATH", "LANG", "LC_ALL", "LANGUAGE", "GPG_KEY", "SSL_CERT_FILE",
        "PYTHON_VERSION", "PYTHON_SHA256", "PYTHON_PIP_VERSION", "PYTHON_SETUPTOOLS_VERSION",
        "PYTHON_GET_PIP_URL", "PYTHON_GET_PIP_SHA256",
        "NODE_VERSION", "YARN_VERSION",
        "GOLANG_VERSION", "GOTOOLCHAIN", "GOPATH",
        "JAVA_HOME", "JAVA_VERSION", "MAVEN_HOME", "MAVEN_CONFIG",
        "NGINX_VERSION", "NJS_VERSION", "NJS_RELEASE", "PKG_RELEASE", "DYNPKG_RELEASE",
        "RUBY_VERSION", "RUBY_DOWNLOAD_SHA256", "GEM_HOME", "BUNDLE_SILENCE_ROOT_WARNING", "BUNDLE_APP_CONFIG",
        "PHP_VERSION", "PHP_INI_DIR", "RUSTUP_HOME", "CARGO_HOME", "RUST_VERSION",
    }
)  # fmt: skip
"""ENV names official base images commonly set. The Dockerfile text does not say what its base
image defines, so these count as defined in a stage whose chain does not start FROM scratch
(HOME is not among them: images do not set it as ENV, so `$HOME` outside RUN is empty)."""

_EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
"""Instructions whose arguments BuildKit expands while building (RUN, CMD, ENTRYPOINT and
HEALTHCHECK are read by a shell or at run time instead); ARG defaults and FROM are handled on
their own."""

_SUGGEST_FROM = 200
"""Names in scope past which no "did you mean" is looked for (difflib is quadratic-ish)."""


class _Defined(Mapping[str, str]):
    """The names in scope, each with an empty value: expanding a word against this finds the
    bare references (`$X`, `${X}`) to names outside it without building long values."""

    def __init__(self, names: set[str], image_env: bool) -> None:
        self.names = names
        self.image_env = image_env

    def __getitem__(self, name: str) -> str:
        if name in self.names or name in PREDEFINED_ARGS or (self.image_env and name in BASE_IMAGE_ENV):
            return ""
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _missing(word: str, values: Mapping[str, str], escape: str) -> tuple[str, ...]:
    if "$" not in word:
        return ()
    try:
        return expand(word, values, escape)[1]
    except DockerfileLimitError:
        # Empty values take every `${X:-...}` default, which may nest deeper than the values
        # the build really has: such a word is not judged here (the Facts already bounded it).
        return ()


_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_PORT = re.compile(r"[0-9]+")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def valid_image_name(ref: str) -> bool:
    """Whether `ref` parses as an image reference (`[host[:port]/]path[:tag][@digest]`, the path
    in lowercase), as distribution/reference's ParseNormalizedNamed reads it."""
    if not ref or len(ref) > 255:
        return False
    repo, tag, digest = split_image(ref)
    if tag is not None and not _TAG.fullmatch(tag):
        return False
    if "@" in ref and (digest is None or not _DIGEST.fullmatch(digest)):
        return False
    parts = repo.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _valid_domain(parts[0]):
            return False
        parts = parts[1:]
    return all(_COMPONENT.fullmatch(p) for p in parts)


def _valid_domain(domain: str) -> bool:
    """`host[:port]` or `[ipv6][:port]`, as a registry part of an image reference."""
    if domain.startswith("["):
        close = domain.find("]")
        host, rest = domain[1:close], domain[close + 1 :]
        if close < 0 or not host or any(c not in "0123456789abcdefABCDEF:." for c in host):
            return False
    else:
        host, colon, port = domain.partition(":")
        rest = colon + port
        if not all(_LABEL.fullmatch(label) for label in host.split(".")):
            return False
    return not rest or (rest[0] == ":" and _PORT.fullmatch(rest[1:]) is not None)


def _from_findings(inp: StaticInput, say: Say, stage: Stage, ins: Instruction) -> list[Finding]:
    parsed = inp.parsed
    declared = parsed.args_before_from
    line = stage.line
    words = [stage.base, *ins.flag_values("platform")]
    scope = _Defined(set(declared), image_env=False)
    undeclared = [
        name
        for word in words
        for name in _missing(word, scope, parsed.escape)
        if name not in declared and name not in PLATFORM_ARGS
    ]
    if undeclared:
        return [
            say.finding(line, "from_undefined", var=f"`${name}`", declare=f"`ARG {name}=...`")
            for name in dict.fromkeys(undeclared)
        ]
    if "$" not in stage.base or stage.is_stage_ref:
        return []
    defaults = {name: value or "" for name, value in declared.items()}
    try:
        result = expand(stage.base, defaults, parsed.escape)[0]
    except DockerfileLimitError:
        return []
    written = f"`FROM {clip(stage.base)}`"
    if not result:
        return [say.finding(line, "from_empty", **{"from": written})]
    if parsed.stage_named(result) is None and not valid_image_name(result):
        return [say.finding(line, "from_invalid", result=f"`{clip(result)}`", **{"from": written})]
    return []


def _checked_words(ins: Instruction) -> Iterator[str]:
    if ins.keyword in ("COPY", "ADD"):
        for flag in ins.flags:
            yield flag.partition("=")[2]
    if ins.keyword == "ENV":
        yield from ins.args[1::2]
    elif ins.keyword in _EXPANDED:
        yield from ins.args


def undefined_vars(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit UndefinedVar, UndefinedArgInFrom and InvalidDefaultArgInFrom. A stage sees the
    ARG and ENV names of the stages it is FROM (ARGs included, as BuildKit carries them over),
    its own ARG names (with or without a value) from their line on, and its own ENV names from
    the instruction after theirs (`ENV A=1 B=$A` reads the A from before)."""
    facts, parsed = inp.facts, inp.parsed
    escape = parsed.escape
    global_args = set(parsed.args_before_from)
    findings: list[Finding] = []
    final_names: dict[int, set[str]] = {}
    for stage in parsed.stages:
        instructions = facts.by_stage[stage.index]
        findings.extend(_from_findings(inp, say, stage, instructions[0]))
        parent = facts.parent(stage)
        names = set(final_names[parent.index]) if parent is not None else set()
        root = facts.chain(stage)[-1]
        scope = _Defined(names, image_env=root.base_resolved.lower() != "scratch")
        for ins in instructions[1:]:
            reported: set[str] = set()
            if ins.keyword == "ARG":
                for token in ins.args:
                    name, eq, value = token.partition("=")
                    if eq:
                        reported.update(_missing(value, scope, escape))
                    names.add(name)
            else:
                for word in _checked_words(ins):
                    reported.update(_missing(word, scope, escape))
                if ins.keyword == "ENV":
                    names.update(ins.args[::2])
            for name in sorted(reported):
                findings.append(_undefined(say, ins, name, names, global_args))
        final_names[stage.index] = names
    if findings:
        findings.sort(key=lambda f: f.line)
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok"))


def _undefined(say: Say, ins: Instruction, name: str, names: set[str], global_args: set[str]) -> Finding:
    var = f"`${name}`"
    line = ins.start_line
    if name in global_args:
        return say.finding(
            line, "undefined_global", keyword=ins.keyword, var=var, name=name, redeclare=f"`ARG {name}`"
        )
    if len(names) <= _SUGGEST_FROM:
        close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.75)
        if close:
            return say.finding(
                line, "undefined_suggest", keyword=ins.keyword, var=var, suggest=f"`${close[0]}`"
            )
    return say.finding(line, "undefined", keyword=ins.keyword, var=var)


# --------------------------------------------------------------------------- stage names

RESERVED_STAGE_NAMES = {"scratch": "reserved_scratch", "context": "reserved_context"}
"""Names BuildKit keeps for itself, and the template that says why each cannot name a stage."""


def stage_names(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit ReservedStageName and StageNameCasing (a reserved name in any case is reported
    as reserved only: the fix is another name)."""
    findings: list[Finding] = []
    named = 0
    for stage in inp.parsed.stages:
        if stage.name is None:
            continue
        named += 1
        ins = inp.facts.by_stage[stage.index][0]
        written = f"`{ins.args[1]} {stage.name}`"
        lower = stage.name.lower()
        if lower in RESERVED_STAGE_NAMES:
            key = RESERVED_STAGE_NAMES[lower]
            findings.append(say.finding(stage.line, key, **{"as": written}))
        elif stage.name != lower:
            fixed = f"`{ins.args[1]} {lower}`"
            findings.append(say.finding(stage.line, "casing", fixed=fixed, **{"as": written}))
    if findings:
        return say.findings("fail", len(findings), findings)
    if not named:
        return say.result("pass", 0, (), say.text("unnamed"))
    return say.result("pass", 0, (), say.text("ok"))


# --------------------------------------------------------------------------- repeated instructions

_ONCE = ("CMD", "ENTRYPOINT", "HEALTHCHECK")


def repeated_instructions(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit MultipleInstructionsDisallowed: within one stage (a stage FROM another starts
    afresh), every CMD, ENTRYPOINT or HEALTHCHECK but the last is reported on its own line."""
    findings: list[Finding] = []
    for instructions in inp.facts.by_stage.values():
        last: dict[str, int] = {}
        for ins in reversed(instructions):
            if ins.keyword in _ONCE:
                if ins.keyword in last:
                    findings.append(
                        say.finding(ins.start_line, "ignored", keyword=ins.keyword, last=last[ins.keyword])
                    )
                else:
                    last[ins.keyword] = ins.start_line
    if findings:
        findings.sort(key=lambda f: f.line)
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok"))


# --------------------------------------------------------------------------- key=value form


def _written_keyword(ins: Instruction) -> str:
    """The instruction's keyword as the student wrote it (`run`, `From`)."""
    word = ins.original.split(None, 1)[0] if ins.original.strip() else ""
    return word if word.upper() == ins.keyword else ins.keyword


def _quoted(value: str) -> str:
    if value[:1] in ("'", '"') or not re.search(r"\s", value):
        return value
    return '"' + value.replace('"', '\\"') + '"'


def key_value_form(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit LegacyKeyValueFormat: an ENV or LABEL whose first word has no `=` (the parser
    then takes the rest of the line as that one key's value)."""
    findings: list[Finding] = []
    for ins in inp.parsed.instructions:
        if ins.keyword not in ("ENV", "LABEL") or not ins.args:
            continue
        words = ins.original.split(None, 2)
        if len(words) < 2 or "=" in words[1]:
            continue
        keyword = _written_keyword(ins)
        key = ins.args[0]
        value = ins.args[1] if len(ins.args) > 1 else ""
        old = f"`{keyword} {clip(key, 40)} {clip(value, 40)}`"
        new = f"`{keyword} {clip(key, 40)}={clip(_quoted(value), 40)}`"
        findings.append(say.finding(ins.start_line, "legacy", old=old, new=new))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok"))


# --------------------------------------------------------------------------- EXPOSE


def _expose_finding(say: Say, line: int, raw: str) -> Finding | None:
    port, slash, proto = raw.partition("/")
    tail = f"/{proto.lower()}" if slash else ""
    parts = port.split(":")
    expose = f"`EXPOSE {clip(raw, 40)}`"
    if len(parts) > 1:
        container = parts[-1]
        if len(parts) == 2 and "." not in parts[0]:
            publish = port
        else:
            address = ":".join(parts[:-2]) if len(parts) > 2 else parts[0]
            host = parts[-2] if len(parts) > 2 else ""
            publish = f"{address}:{host}:{container}"
        return say.finding(
            line,
            "mapping",
            expose=expose,
            fixed=f"`EXPOSE {clip(container + tail, 40)}`",
            run=f"`docker run -p {clip(publish, 40)}`",
        )
    if proto != proto.lower():
        return say.finding(line, "proto", expose=expose, fixed=f"`EXPOSE {clip(port + tail, 40)}`")
    return None


def expose_format(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit ExposeInvalidFormat and ExposeProtoCasing, on each port as BuildKit reads it
    (expanded with the ARG and ENV values in force, then split into words)."""
    facts, parsed = inp.facts, inp.parsed
    budget = ExpansionBudget()
    findings: list[Finding] = []
    used = False
    for ins in parsed.instructions:
        if ins.keyword != "EXPOSE":
            continue
        used = True
        values = facts.env_at(ins)
        for arg in ins.args:
            words = [arg]
            if "$" in arg:
                words = expand(
                    arg, values, parsed.escape, line=ins.start_line, what="this EXPOSE", budget=budget
                )[0].split()
            for word in words:
                found = _expose_finding(say, ins.start_line, word)
                if found is not None:
                    findings.append(found)
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok" if used else "unused"))


# --------------------------------------------------------------------------- instruction casing


def instruction_casing(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit ConsistentInstructionCasing and FromAsCasing. As BuildKit does, the instructions
    of the stages count (not ARGs before the first FROM); the majority case wins, uppercase on a
    tie, and a keyword in mixed case (`From`) is always reported."""
    instructions = [i for i in inp.parsed.instructions if i.stage is not None]
    written = [_written_keyword(i) for i in instructions]
    lower = sum(1 for w in written if w == w.lower())
    upper = sum(1 for w in written if w == w.upper())
    to_lower = lower > upper
    findings: list[Finding] = []
    for ins, word in zip(instructions, written, strict=True):
        fixed = word.lower() if to_lower else word.upper()
        if word != fixed:
            key = "to_lower" if to_lower else "to_upper"
            findings.append(say.finding(ins.start_line, key, word=f"`{word}`", fixed=f"`{fixed}`"))
        elif ins.keyword == "FROM" and len(ins.args) == 3:
            as_word = ins.args[1]
            as_fixed = as_word.lower() if word == word.lower() else as_word.upper()
            if as_word != as_fixed:
                findings.append(
                    say.finding(
                        ins.start_line,
                        "as_casing",
                        fixed=f"`{as_fixed}`",
                        **{"as": f"`{as_word}`", "from": f"`{word}`"},
                    )
                )
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok_lower" if to_lower else "ok_upper"))


# --------------------------------------------------------------------------- empty continuation


def empty_continuation(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit NoEmptyContinuation: a blank line after a line that ends in the escape
    character, read from the raw text over each instruction's own lines (comment lines inside a
    continuation are skipped, as the parser does; a heredoc body after it is not read)."""
    lines = inp.facts.lines
    escape = inp.parsed.escape
    findings: list[Finding] = []

    def continues(text: str) -> bool:
        return text.rstrip(" \t\r").endswith(escape)

    for ins in inp.parsed.instructions:
        if ins.end_line <= ins.start_line or not continues(lines[ins.start_line - 1]):
            continue
        number = ins.start_line + 1
        while number <= ins.end_line and number <= len(lines):
            text = lines[number - 1]
            stripped = text.strip()
            if not stripped:
                findings.append(say.finding(number, "blank", keyword=ins.keyword, start=ins.start_line))
            elif not stripped.startswith("#") and not continues(text):
                break
            number += 1
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok"))


# --------------------------------------------------------------------------- COPY of ignored files

_MAX_SOURCES = 256
"""COPY/ADD sources matched against the .dockerignore: each costs a pass over its patterns."""
_WILDCARDS = re.compile(r"[*?\[]")
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)


def copy_ignored(inp: StaticInput, say: Say) -> CheckResult:
    """BuildKit CopyIgnoredFile, for sources read from the build context (not `--from`, URLs,
    heredocs, wildcards or sources with variables). A source the .dockerignore excludes is
    reported unless a file under it is let back in with `!`; `.` only when every context file
    is excluded."""
    if inp.dockerignore is None:
        return say.result("pass", "no .dockerignore", (), say.text("no_dockerignore"))
    ignore = dockerignore_rules(inp.dockerignore)
    kept = [p for p in inp.context_paths if not ignore.excludes(p)]
    findings: list[Finding] = []
    checked = 0
    for ins in inp.parsed.instructions:
        if ins.keyword not in ("COPY", "ADD") or ins.flag_values("from") or len(ins.args) < 2:
            continue
        for source in ins.args[:-1]:
            if source.startswith("<<") or _URL.match(source) or "$" in source or _WILDCARDS.search(source):
                continue
            if checked == _MAX_SOURCES:
                break
            checked += 1
            copy = f"`{_written_keyword(ins)} {clip(source, 40)}`"
            path = posixpath.normpath(norm_context_path(source) or ".")
            if path == ".":
                if inp.context_paths and not kept:
                    findings.append(say.finding(ins.start_line, "root_ignored", copy=copy))
                continue
            if path.startswith("../") or not ignore.excludes(path):
                continue
            if any(p.startswith(path + "/") for p in kept):
                continue
            findings.append(say.finding(ins.start_line, "ignored", copy=copy, source=f"`{clip(source, 40)}`"))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("ok"))
