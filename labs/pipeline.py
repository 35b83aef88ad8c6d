"""One grading, start to finish, with no database in sight: policy → static criteria → build →
evidence from the image and sandboxed runs (gathered in parallel) → criteria → score. Every
step and result goes to a `Sink` as it happens; `labs.services` stores and pushes them, the
`grade` command prints them. Docker is reached only through `sandbox`."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from labs.grading.catalogue import CheckResult, korean
from labs.grading.image import ImageEvidence, Rebuild, RebuildStep
from labs.grading.registry import all_criteria
from labs.grading.rubric import Rubric, Score, default_rubric, score
from labs.grading.static import run_static
from sandbox import catalogue, engine, policy
from sandbox.build import BuildRequest, BuildResult, build_image, step_sources
from sandbox.dockerfile import DockerfileSyntaxError, ParsedDockerfile, parse
from sandbox.image import ImageFacts, image_facts
from sandbox.layers.analyse import analyse_image
from sandbox.layers.browse import KEEP_FILES, image_listings
from sandbox.limits import BuildLimits
from sandbox.network import BuildNetwork
from sandbox.rewrite import RewriteError, rewrite_for_engine
from sandbox.run.locked import effective_user, healthcheck
from sandbox.run.spec import SpecError
from sandbox.run.structure import run_structure_tests
from sandbox.speed import compare_speed

DEPENDENCY_INSTALL = re.compile(
    r"\b(pip3?|python3?\s+-m\s+pip)\s+install\b|\bnpm\s+(ci|install|i)\b|\byarn(\s+install)?\b|"
    r"\bgo\s+mod\s+download\b|\bbundle\s+install\b|\bpoetry\s+install\b|\bcomposer\s+install\b|"
    r"\bmvn\b.*dependency:|\bapt-get\s+install\b|\bapk\s+add\b",
    re.I,
)
MANIFESTS = re.compile(
    r"(^|/)(requirements[^/]*\.txt|pyproject\.toml|poetry\.lock|Pipfile(\.lock)?|package(-lock)?\.json|"
    r"yarn\.lock|pnpm-lock\.yaml|go\.(mod|sum)|Gemfile(\.lock)?|composer\.(json|lock)|pom\.xml)$"
)
SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".ts", ".go", ".rb", ".java", ".php", ".rs", ".c", ".html")
COMMENT = {".py": ("#", ""), ".rb": ("#", ""), ".html": ("<!--", " -->")}


class Sink(Protocol):
    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None: ...
    def step(self, payload: dict[str, Any]) -> None: ...
    def log(self, step: str, line: str, truncated: bool) -> None: ...
    def idle(self) -> None: ...
    def check(self, payload: dict[str, Any]) -> None: ...
    def score(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ExerciseSpec:
    """What grading needs to know about an exercise, as plain data."""

    context_files: Mapping[str, str | bytes]
    allowed_bases: tuple[str, ...]
    limits: BuildLimits
    rubric: Rubric | None = None
    behaviour_tests: Mapping[str, Any] = field(default_factory=dict)
    reference_size: int | None = None
    network: BuildNetwork = field(default_factory=BuildNetwork)
    benchmark: Mapping[str, Any] = field(default_factory=dict)


class ExerciseFault(Exception):
    """The exercise itself is broken (its behaviour tests, its context, its baseline): never
    scored against the student; the submission waits until the authors fix it. `kind` is
    stable; `detail` is for staff."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    line: int | None = None
    output: tuple[str, ...] = ()
    violations: tuple[dict[str, Any], ...] = ()


@dataclass
class Outcome:
    failure: Failure | None = None
    facts: ImageFacts | None = None
    results: list[CheckResult] = field(default_factory=list)
    score: Score | None = None
    build_seconds: float = 0.0
    layers: dict[str, Any] | None = None
    """The image's layers as a person browses them (`layer_view`); None when not built."""

    @property
    def ok(self) -> bool:
        return self.failure is None


def effective_rubric(spec: ExerciseSpec) -> Rubric:
    if spec.rubric is not None and spec.rubric.items:
        return spec.rubric
    absent = set()  # evidence this exercise cannot give
    if not spec.behaviour_tests:
        absent.add("structure")
    if not spec.benchmark:
        absent.add("speed")
    return default_rubric(
        i
        for i, r in all_criteria().items()
        if r.criterion.in_default_rubric and not absent & set(r.criterion.needs)
    )


def check_payload(result: CheckResult, rubric: Rubric) -> dict[str, Any]:
    registered = all_criteria()[result.criterion]
    c = registered.criterion
    item = rubric.item(result.criterion)
    total = sum(i.weight for i in rubric.items) or 1.0
    weight = item.weight if item else 0.0
    return {
        **result.as_dict(),
        "category": c.category,
        "title": {"en": c.title.en, "ko": c.title.ko},
        "why": {"en": c.why.en, "ko": c.why.ko},
        "fix": {"en": c.fix.en, "ko": c.fix.ko},
        "anchors": list(c.anchors),
        "weight": weight,
        "required": bool(item and item.required),
        "max_points": round(100 * weight / total, 2),
    }


def score_payload(result: Score) -> dict[str, Any]:
    return {
        "score": result.total,
        "capped": result.capped,
        "failed_required": list(result.failed_required),
        "items": [
            {
                "criterion": s.result.criterion,
                "points": s.points,
                "max_points": s.max_points,
                "verdict": s.result.verdict,
            }
            for s in result.items
        ],
    }


REFUSED_TITLE = {"en": "Refused: this would not be built", "ko": "거부됨: 이대로는 빌드되지 않습니다"}


def refusal_finding(
    code: str, line: int | None, message: str, params: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A refusal as a finding, shaped like a check's payload, in the words the live panel uses."""
    english = message[:1].upper() + message[1:]
    return {
        "kind": "refusal",
        "criterion": code,
        "verdict": "fail",
        "lines": [line] if line else [],
        "title": dict(REFUSED_TITLE),
        "detail": {"en": english, "ko": korean(code, message, params, line)},
        "why": {"en": "", "ko": ""},
        "fix": {"en": "", "ko": ""},
    }


def static_findings(
    *,
    spec: ExerciseSpec,
    dockerfile: str,
    dockerignore: str,
    engine_supports_heredocs: bool,
    host_platform: str,
) -> list[dict[str, Any]]:
    """What `grade` says of this text before it builds anything: the policy's refusals (then
    nothing else, as a submission stops there), or the exercise's Dockerfile criteria, each as
    the payload of the check event the live panel shows. The base images' digests are taken
    on trust (no engine lookup), and the engine rewrite is not run: both are checked again
    when the text is submitted."""
    violations = policy.check_dockerfile(
        dockerfile.encode("utf-8"),
        allowed_bases=list(spec.allowed_bases),
        max_bytes=spec.limits.dockerfile_cap_bytes,
        engine_supports_heredocs=engine_supports_heredocs,
        host_platform=host_platform,
    )
    if violations:
        return [refusal_finding(v.code, v.line, v.message, v.params) for v in violations]
    try:
        parsed = parse(dockerfile)
    except DockerfileSyntaxError as exc:
        return [refusal_finding(exc.code, exc.line, str(exc))]
    rubric = effective_rubric(spec)
    try:
        results = _static_results(spec, rubric, dockerfile, parsed, dockerignore)
    except DockerfileSyntaxError as exc:
        return [refusal_finding(exc.code, exc.line, str(exc))]
    return [{"kind": "check", **check_payload(result, rubric)} for result in results]


def _static_results(
    spec: ExerciseSpec, rubric: Rubric, dockerfile: str, parsed: ParsedDockerfile, dockerignore: str
) -> list[CheckResult]:
    """The rubric's Dockerfile criteria on this text: what `grade` streams before it builds and
    what the editor shows before building are one computation."""
    registry = all_criteria()
    static_ids = [i.id for i in rubric.items if registry[i.id].criterion.source == "dockerfile"]
    return run_static(
        dockerfile,
        parsed,
        dockerignore=dockerignore or None,
        context_paths=frozenset(spec.context_files),
        options_by_id={i: rubric.options_for(i) for i in static_ids},
        only=static_ids,
    )


def grade(
    *,
    spec: ExerciseSpec,
    dockerfile: str,
    dockerignore: str,
    tag: str,
    labels: Mapping[str, str],
    sink: Sink,
    cache_namespace: str,
    as_reference: bool = False,
) -> Outcome:
    """`as_reference`: this is the exercise's reference solution, so its own image size is the
    reference the size criterion compares with (check_course). `cache_namespace` (a keyed hash
    per student, `rewrite.cache_namespace`) keeps the student's `RUN --mount=type=cache` mounts
    apart from everyone else's."""
    outcome = Outcome()
    images = catalogue.local_images(spec.allowed_bases)
    violations = policy.check_dockerfile(
        dockerfile.encode("utf-8"),
        allowed_bases=list(spec.allowed_bases),
        engine_supports_heredocs=engine.supports_heredocs(),
        local_images=images,
        host_platform=engine.host_platform(),
    )
    if violations:
        first = violations[0]
        outcome.failure = Failure(
            first.code,
            "\n".join(v.message for v in violations),
            first.line,
            violations=tuple(
                {"code": v.code, "line": v.line, "message": v.message, "params": dict(v.params)}
                for v in violations
            ),
        )
        return outcome
    try:
        parsed = parse(dockerfile)
    except DockerfileSyntaxError as exc:
        outcome.failure = Failure(exc.code, str(exc), exc.line)
        return outcome
    try:
        built = rewrite_for_engine(dockerfile, parsed, images=images, namespace=cache_namespace)
    except RewriteError as exc:
        outcome.failure = Failure(exc.code, exc.message, exc.line)
        return outcome
    found = policy.notices(
        dockerfile.encode("utf-8"), parsed, engine_keeps_setuid_chmod=engine.keeps_setuid_chmod()
    )
    if found:
        notes = [
            {
                "code": n.code,
                "line": n.line,
                "message": n.message,
                "message_ko": korean(n.code, n.message, n.params, n.line),
            }
            for n in found
        ]
        sink.status("building", "Building your image.", "building", notices=notes)

    rubric = effective_rubric(spec)
    wanted = {i.id for i in rubric.items}
    registry = all_criteria()
    try:
        for result in _static_results(spec, rubric, dockerfile, parsed, dockerignore):
            outcome.results.append(result)
            sink.check(check_payload(result, rubric))
    except DockerfileSyntaxError as exc:  # a bound on reading student text was reached
        outcome.failure = Failure(exc.code, str(exc), exc.line)
        return outcome

    files = dict(spec.context_files)
    if dockerignore:
        files[".dockerignore"] = dockerignore
    result = _build(built, files, parsed, tag, labels, spec.limits, spec.network, sink)
    outcome.build_seconds = result.seconds
    if result.code == "context_too_large":  # only the exercise's files can make it so
        raise ExerciseFault("context", f"the exercise's build context cannot be used: {result.message}")
    if not result.ok:
        outcome.failure = Failure(result.code, result.message, result.line, tuple(result.output))
        return outcome

    sink.status("analysing", "Measuring your image.", "analysing")
    outcome.facts = image_facts(tag)
    if as_reference:
        spec = replace(spec, reference_size=outcome.facts.size)
    image_ids = [i for i in wanted if registry[i].criterion.source != "dockerfile"]
    evidence: dict[str, Any] = {}
    for r in _image_results(
        spec, rubric, image_ids, parsed, built, files, tag, labels, outcome.facts, sink, kept=evidence
    ):
        outcome.results.append(r)
    outcome.layers = layer_view(
        report=evidence.get("report"),
        facts=outcome.facts,
        parsed=parsed,
        base=_final_base(parsed),
        base_layer_count=int(evidence.get("base_layer_count") or 0),
    )
    outcome.score = score(rubric, outcome.results)
    sink.score(score_payload(outcome.score))
    return outcome


def _build(
    dockerfile: str,
    files: Mapping[str, str | bytes],
    parsed: ParsedDockerfile,
    tag: str,
    labels: Mapping[str, str],
    limits: BuildLimits,
    network: BuildNetwork,
    sink: Sink | None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> BuildResult:
    def on_event(event: dict[str, Any]) -> None:
        if event["kind"] == "log":
            if sink:
                sink.log(event["step"], event["line"], bool(event.get("truncated")))
            return
        payload = {k: v for k, v in event.items() if k != "kind"}
        if on_step:
            on_step(payload)
        if sink:
            sink.step(payload)

    request = BuildRequest(
        dockerfile=dockerfile,
        context_files=files,
        tag=tag,
        labels=labels,
        limits=limits,
        network=network.mode,
        build_args=network.build_args,
        sources=step_sources(parsed),
    )
    return build_image(request, on_event, on_idle=sink.idle if sink else None)


def _final_stage_lines(parsed: ParsedDockerfile) -> dict[str, Any]:
    final = parsed.stages[-1].index
    out: dict[str, Any] = {"from": parsed.stages[-1].line, "user": None, "healthcheck": None, "deps": []}
    for ins in parsed.instructions:
        if ins.stage != final:
            continue
        if ins.keyword == "USER":
            out["user"] = ins.start_line
        elif ins.keyword == "HEALTHCHECK":
            out["healthcheck"] = ins.start_line
        elif ins.keyword == "RUN" and DEPENDENCY_INSTALL.search(ins.original):
            out["deps"].append(ins.start_line)
    return out


def _final_base(parsed: ParsedDockerfile) -> str:
    stage = parsed.stages[-1]
    seen = 0
    while stage.is_stage_ref and seen < len(parsed.stages):
        ref = stage.base_resolved.lower()
        stage = next(s for s in parsed.stages if (s.name or "").lower() == ref or str(s.index) == ref)
        seen += 1
    return stage.base_resolved


def _base_facts(base: str) -> tuple[int, frozenset[str]]:
    if base == "scratch":
        return 0, frozenset()
    attrs = engine.image_attrs(base)
    if attrs is None:
        return 0, frozenset()
    count = len((attrs.get("RootFS") or {}).get("Layers") or [])
    report = analyse_image(base)
    return count, frozenset(str(f.path) for f in report.setuid_files)


def _probe_file(files: Mapping[str, str | bytes], wanted: str) -> str | None:
    if wanted:
        return wanted if wanted in files else None
    candidates = sorted(
        p for p in files if p.endswith(SOURCE_SUFFIXES) and not MANIFESTS.search(p) and not p.startswith(".")
    )
    return candidates[0] if candidates else None


def _rebuild(
    dockerfile: str,
    files: Mapping[str, str | bytes],
    parsed: ParsedDockerfile,
    tag: str,
    labels: Mapping[str, str],
    limits: BuildLimits,
    network: BuildNetwork,
    source_file: str,
) -> Rebuild:
    """Edits one application source file and builds again on the same engine, to see which
    steps BuildKit can take from its cache."""
    edited = dict(files)
    original = edited[source_file]
    suffix = "." + source_file.rsplit(".", 1)[-1] if "." in source_file else ""
    opener, closer = COMMENT.get(suffix, ("//", ""))
    probe = f"\n{opener} layerlab cache probe {uuid.uuid4().hex}{closer}\n"
    edited[source_file] = original + (probe if isinstance(original, str) else probe.encode())
    steps: dict[str, dict[str, Any]] = {}

    def on_step(payload: dict[str, Any]) -> None:
        if not payload.get("internal"):
            steps[payload["id"]] = payload

    rebuild_tag = f"{tag}-rebuild"
    try:
        result = _build(dockerfile, edited, parsed, rebuild_tag, labels, limits, network, None, on_step)
    finally:
        engine.image_remove(rebuild_tag)
    if not result.ok:
        return Rebuild(source_file, False, (), f"The rebuild failed: {result.message}")
    return Rebuild(
        source_file,
        True,
        tuple(
            RebuildStep(
                s["name"],
                s.get("line"),
                s["state"],
                s["name"].startswith("RUN") and bool(DEPENDENCY_INSTALL.search(s["name"])),
            )
            for s in steps.values()
        ),
    )


def _image_results(
    spec: ExerciseSpec,
    rubric: Rubric,
    ids: list[str],
    parsed: ParsedDockerfile,
    dockerfile: str,
    files: Mapping[str, str | bytes],
    tag: str,
    labels: Mapping[str, str],
    facts: ImageFacts,
    sink: Sink,
    *,
    kept: dict[str, Any] | None = None,
) -> list[CheckResult]:
    """Gathers evidence in parallel and judges each criterion as soon as what it needs is in.
    The layer analysis and the base's facts are always gathered (the layer view shows them);
    `kept` receives the evidence."""
    registry = all_criteria()
    lines = _final_stage_lines(parsed)
    evidence: dict[str, Any] = {
        "size": facts.size,
        "layer_count": facts.layer_count,
        "base_layer_count": 0,
        "config_user": facts.user,
        "history": tuple(h.created_by for h in facts.history),
        "final_from_line": lines["from"],
        "user_line": lines["user"],
        "healthcheck_line": lines["healthcheck"],
        "reference_size": spec.reference_size,
        "dependency_lines": tuple(lines["deps"]),
    }
    needs = {i: set(registry[i].criterion.needs) for i in ids if registry[i].criterion.source != "dockerfile"}
    pending = list(needs)

    def options_of(need: str) -> Mapping[str, Any]:
        """The rubric options of the criterion judged from `need` (one criterion asks for it)."""
        return next((rubric.options_for(i) for i in ids if need in needs.get(i, ())), {})

    health_options = options_of("health")

    def runs_user() -> dict[str, Any]:
        return {"user": effective_user(tag, facts.user, labels=labels)}

    def runs_structure() -> dict[str, Any]:
        try:
            results = run_structure_tests(tag, spec.behaviour_tests, labels=labels)
        except SpecError as exc:
            raise ExerciseFault(
                "behaviour_tests", f"the exercise's behaviour tests are invalid: {exc}"
            ) from exc
        return {"structure": results}

    def runs_health() -> dict[str, Any]:
        if not health_options.get("required"):
            return {"health": None}
        wait_s = float(health_options.get("wait_seconds", 30))
        return {"health": healthcheck(tag, wait_seconds=wait_s, labels=labels)}

    def rebuild() -> dict[str, Any]:
        options = options_of("rebuild")
        source = _probe_file(files, str(options.get("source_file", "")))
        if source is None:
            return {"rebuild": None}
        rebuilt = _rebuild(dockerfile, files, parsed, tag, labels, spec.limits, spec.network, source)
        return {"rebuild": rebuilt}

    def base() -> dict[str, Any]:
        count, setuid = _base_facts(_final_base(parsed))
        return {"base_layer_count": count, "base_setuid": setuid}

    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "layers": lambda: {"report": analyse_image(tag)},
        "base": base,
        "user": runs_user,
        "structure": runs_structure,
        "health": runs_health,
        "rebuild": rebuild,
    }
    # Timing runs alone, after everything else, so the other evidence does not skew it.
    wanted_jobs = ({need for i in pending for need in needs[i]} - {"speed"}) | {"layers", "base"}
    done: set[str] = set()
    results: list[CheckResult] = []

    def judge_ready() -> None:
        for cid in list(pending):
            if needs[cid] <= done:
                pending.remove(cid)
                ev = ImageEvidence(**evidence)
                result = registry[cid].check(ev, rubric.options_for(cid), registry[cid].say)
                results.append(result)
                sink.check(check_payload(result, rubric))

    judge_ready()
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="layerlab-evidence") as pool:
        futures: dict[Future[dict[str, Any]], str] = {pool.submit(jobs[name]): name for name in wanted_jobs}
        while futures:
            finished, _ = wait(futures, timeout=0.05, return_when=FIRST_COMPLETED)
            sink.idle()
            for future in finished:
                name = futures.pop(future)
                evidence.update(future.result())  # an EngineError here is ours: it propagates
                done.add(name)
            if finished:
                judge_ready()
    if any("speed" in needs[i] for i in pending):
        evidence.update(_speed(spec, tag, labels, sink))
        done.add("speed")
        judge_ready()
    if kept is not None:
        kept.update(evidence)
    return results


LAYER_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")
"""The instructions that can make a layer (BuildKit's WORKDIR does when it creates the directory)."""
INSTRUCTION_CHARS = 200
KEEP_FILES_TOTAL = 2000
"""Files kept across all of a submission's layers (each keeps at most `KEEP_FILES`)."""


def _instruction(created_by: str) -> str:
    """A history entry as the Dockerfile wrote it: BuildKit's "RUN /bin/sh -c … # buildkit"
    becomes "RUN …"; bounded (it is the student's text)."""
    text = created_by.strip().removesuffix("# buildkit").strip()
    text = re.sub(r"^RUN\s+/bin/sh\s+-c\s+", "RUN ", text)
    text = re.sub(r"^/bin/sh\s+-c\s+#\(nop\)\s*", "", text)
    return text if len(text) <= INSTRUCTION_CHARS else text[: INSTRUCTION_CHARS - 1] + "…"


def _keyword(created_by: str) -> str:
    text = _instruction(created_by)
    return text.split(" ", 1)[0].upper() if text else ""


def _student_history(
    facts: ImageFacts, base: str, count: int, parsed: ParsedDockerfile
) -> list[tuple[str, int | None]]:
    """(instruction, Dockerfile line) of each of the student's `count` layers, bottom up, where
    the image's history tells them apart: the entries after the base's that can make a layer,
    matched in order with the final stage's instructions that can. ("", None) where it cannot."""
    try:
        skip = 0 if base == "scratch" else len(engine.image_history(base))
    except engine.EngineError:
        return [("", None)] * count
    entries = [h for h in facts.history[skip:] if _keyword(h.created_by) in LAYER_KEYWORDS]
    final = parsed.stages[-1].index
    lines = [i.start_line for i in parsed.instructions if i.stage == final and i.keyword in LAYER_KEYWORDS]
    paired: list[tuple[str, int | None]] = [
        (_instruction(h.created_by), lines[n] if len(lines) == len(entries) else None)
        for n, h in enumerate(entries)
    ]
    # An instruction whose layer BuildKit left out (nothing changed) has none: the empty
    # WORKDIRs go first, then the empty RUNs.
    for keyword in ("WORKDIR", "RUN"):
        for n in range(len(paired) - 1, -1, -1):
            if len(paired) <= count:
                break
            if entries[n].size == 0 and _keyword(entries[n].created_by) == keyword:
                del paired[n], entries[n]
    if len(paired) != count:
        return [("", None)] * count
    return paired


def layer_view(
    *,
    report: Any,
    facts: ImageFacts,
    parsed: ParsedDockerfile,
    base: str,
    base_layer_count: int,
    keep: int = KEEP_FILES,
) -> dict[str, Any] | None:
    """What the submission keeps of its image's layers, bounded: a bar per layer (its
    instruction and Dockerfile line where the history tells, bytes, dive's wasted bytes in it),
    the base's layers apart and without trees, and each of the student's layers' files
    (`sandbox.layers.browse`: the largest `keep`, with directory totals)."""
    if report is None or not report.layers:
        return None
    diff_ids = [layer.diff_id for layer in report.layers]
    first = min(max(base_layer_count, 0), len(diff_ids))
    # An image of many layers keeps fewer files of each: the whole view stays bounded.
    keep = max(10, min(keep, KEEP_FILES_TOTAL // max(1, len(diff_ids) - first)))
    listings = image_listings(diff_ids, first=first, keep=keep)
    if listings is None:
        return None
    history = _student_history(facts, base, len(diff_ids) - first, parsed)
    base_layers = [
        {"index": info.index, "size": info.size_bytes, "wasted": info.wasted_bytes}
        for info in report.layers[:first]
    ]
    student = []
    for info, listing, (instruction, line) in zip(report.layers[first:], listings, history, strict=True):
        listed = listing.as_dict()
        student.append(
            {
                "index": info.index,
                "size": info.size_bytes,
                "wasted": info.wasted_bytes,
                "instruction": instruction,
                "line": line,
                **{k: v for k, v in listed.items() if k not in ("index", "size", "diff_id")},
            }
        )
    return {
        "format": 1,
        "keep": keep,
        "size": report.size_bytes,
        "wasted": report.wasted_bytes,
        "base": {"ref": base, "size": sum(b["size"] for b in base_layers), "layers": base_layers},
        "layers": student,
    }


BASELINE_LABEL = "org.layerlab.baseline"


def _speed(spec: ExerciseSpec, tag: str, labels: Mapping[str, str], sink: Sink) -> dict[str, Any]:
    bench = spec.benchmark
    if not bench:
        return {"speed_error": "The exercise defines no benchmark."}
    baseline = _baseline_image(spec, sink)
    if isinstance(baseline, Failure):
        raise ExerciseFault(
            "baseline", f"the exercise's benchmark baseline does not build: {baseline.message}"
        )
    sink.status(
        "analysing", "Timing your interpreter against a plain build (about half a minute).", "benchmark"
    )
    argv = ["python3", "-c", bench["script_text"]]
    return {"speed": compare_speed(tag, baseline, argv, pairs=int(bench.get("runs", 8)), labels=labels)}


def baseline_ref(spec: ExerciseSpec) -> str:
    """The tag of the exercise's baseline image: a digest of its Dockerfile and context."""
    digest = hashlib.sha256(spec.benchmark["baseline_dockerfile"].encode())
    for name in sorted(spec.context_files):
        content = spec.context_files[name]
        digest.update(name.encode() + b"\0")
        digest.update(content.encode() if isinstance(content, str) else content)
    return f"layerlab-baseline:{digest.hexdigest()[:16]}"


def _baseline_image(spec: ExerciseSpec, sink: Sink) -> str | Failure:
    """The plain build the student's interpreter is timed against: built once per exercise
    (same Dockerfile and context, same tag) and kept."""
    dockerfile = spec.benchmark["baseline_dockerfile"]
    ref = baseline_ref(spec)
    if engine.image_exists(ref):
        return ref
    sink.status(
        "analysing",
        "Building the plain interpreter your image is timed against (once per exercise, about 2 minutes).",
        "baseline",
    )
    parsed = parse(dockerfile)
    result = _build(
        dockerfile,
        spec.context_files,
        parsed,
        ref,
        {BASELINE_LABEL: ref.split(":", 1)[1]},
        spec.limits,
        spec.network,
        None,
    )
    if not result.ok:
        return Failure(result.code, result.message, result.line, tuple(result.output))
    return ref
