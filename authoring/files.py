"""A course as a folder of files: read it, import it into the database, export it back.

Layout: `course.yaml`, `sessions/<slug>.md` (+ optional `<slug>.en.md`), and
`exercises/<slug>/{exercise.yaml, starter/Dockerfile, context/**, solution/Dockerfile,
solution/.dockerignore}`. `course_read` checks everything before `course_import` writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from courses.models import Course, Session
from labs.grading.rubric import RubricError, load_yaml_with_lines, rubric_from_data
from labs.models import Exercise, default_base_images
from labs.selectors import assignments_to_regrade
from labs.services import exercise_problem_clear

Lines = dict[tuple[Any, ...], int]


class CourseFileError(ValueError):
    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass
class ExerciseData:
    slug: str
    title: str
    title_en: str = ""
    instructions_md: str = ""
    instructions_en: str = ""
    allowed_base_images: list[str] = field(default_factory=default_base_images)
    build_timeout_seconds: int = 300
    rubric: dict[str, Any] = field(default_factory=dict)
    behaviour_tests: dict[str, Any] = field(default_factory=dict)
    starter_dockerfile: str = ""
    context_files: dict[str, str] = field(default_factory=dict)
    solution_dockerfile: str = ""
    solution_dockerignore: str = ""
    network: str = "none"
    assets: list[dict[str, Any]] = field(default_factory=list)
    benchmark: dict[str, Any] = field(default_factory=dict)


@dataclass
class SessionData:
    slug: str
    title: str
    week: int = 0
    day: int = 0
    number: int = 0
    title_en: str = ""
    duration_minutes: int | None = None
    objectives: list[str] = field(default_factory=list)
    body_md: str = ""
    body_md_en: str = ""
    exercises: list[str] = field(default_factory=list)


@dataclass
class CourseData:
    slug: str
    title: str
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    sessions: list[SessionData] = field(default_factory=list)
    exercises: dict[str, ExerciseData] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------


def _text(root: Path, rel: str) -> str:
    path = root / rel
    if path.is_symlink():
        raise CourseFileError(rel, None, "must be a regular file, not a symlink")
    if not path.is_file():
        raise CourseFileError(rel, None, "file is missing")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CourseFileError(rel, None, "not UTF-8 text") from exc


def _yaml(text: str, rel: str, offset: int = 0) -> tuple[Any, Lines]:
    try:
        data, lines = load_yaml_with_lines(text, rel)
    except RubricError as exc:
        raise CourseFileError(rel, exc.line + offset if exc.line else None, exc.message) from exc
    return data, {k: v + offset for k, v in lines.items()}


class _Checker:
    """Line-aware type checks for one YAML document."""

    def __init__(self, rel: str, lines: Lines) -> None:
        self.rel, self.lines = rel, lines

    def fail(self, path: tuple[Any, ...], message: str) -> CourseFileError:
        while path and path not in self.lines:
            path = path[:-1]
        return CourseFileError(self.rel, self.lines.get(path), message)

    def mapping(self, value: Any, path: tuple[Any, ...], allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"{'.'.join(map(str, path)) or 'the file'} must be a mapping")
        for key in value:
            if key not in allowed:
                raise self.fail((*path, key), f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(value)):
            raise self.fail(path, f"missing key {key!r}")
        return value

    def str_(self, value: Any, path: tuple[Any, ...]) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(path, f"{path[-1]} must be text")
        return value

    def int_(self, value: Any, path: tuple[Any, ...], low: int = 0, high: int = 32767) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(path, f"{path[-1]} must be a whole number from {low} to {high}")
        return value

    def str_list(self, value: Any, path: tuple[Any, ...]) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"{path[-1]} must be a list of text")
        return list(value)

    def titles(self, value: Any, path: tuple[Any, ...]) -> tuple[str, str]:
        if isinstance(value, str):
            return value, ""
        title = self.mapping(value, path, {"ko", "en"}, {"ko"})
        return self.str_(title["ko"], (*path, "ko")), self.str_(title.get("en"), (*path, "en"))


def _front_matter(root: Path, rel: str) -> tuple[dict, str, _Checker]:
    text = _text(root, rel)
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        raise CourseFileError(rel, 1, "must start with a `---` line of YAML front matter")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---"), None)
    if end is None:
        raise CourseFileError(rel, 1, "front matter has no closing `---` line")
    data, line_map = _yaml("".join(lines[1:end]), rel, offset=1)
    check = _Checker(rel, line_map)
    keys = {"title", "week", "day", "session", "duration", "objectives", "exercises"}
    data = check.mapping(data if data is not None else {}, (), keys, {"title"})
    return data, "".join(lines[end + 1 :]), check


def _read_session(root: Path, slug: str, week: int, day: int, number: int) -> SessionData:
    rel = f"sessions/{slug}.md"
    front, body, check = _front_matter(root, rel)
    for key, expected in (("week", week), ("day", day), ("session", number)):
        if key in front and front[key] != expected:
            raise check.fail((key,), f"{key} is {front[key]!r} here but {expected!r} in course.yaml")
    duration = front.get("duration")
    session = SessionData(
        slug=slug,
        title=check.str_(front["title"], ("title",)),
        week=week,
        day=day,
        number=number,
        duration_minutes=None if duration is None else check.int_(duration, ("duration",), 1),
        objectives=check.str_list(front.get("objectives"), ("objectives",)),
        body_md=body,
        exercises=check.str_list(front.get("exercises"), ("exercises",)),
    )
    for index, ex_slug in enumerate(session.exercises):
        if session.exercises.index(ex_slug) != index:
            raise check.fail(("exercises", index), f"exercise {ex_slug!r} is listed twice")
        if not (root / "exercises" / ex_slug / "exercise.yaml").is_file():
            raise check.fail(("exercises", index), f"exercise {ex_slug!r} has no exercises/{ex_slug}/ folder")
    en_rel = f"sessions/{slug}.en.md"
    if (root / en_rel).exists() or (root / en_rel).is_symlink():
        en_front, session.body_md_en, en_check = _front_matter(root, en_rel)
        session.title_en = en_check.str_(en_front["title"], ("title",))
    return session


def _read_context(root: Path, slug: str) -> dict[str, str]:
    base = root / "exercises" / slug / "context"
    files: dict[str, str] = {}
    if not base.is_dir():
        return files
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise CourseFileError(rel, None, "context files must not be symlinks")
        if path.is_file():
            files[path.relative_to(base).as_posix()] = _text(root, rel)
    return files


def _read_exercise(root: Path, slug: str) -> ExerciseData:
    folder = f"exercises/{slug}"
    rel = f"{folder}/exercise.yaml"
    data, lines = _yaml(_text(root, rel), rel)
    check = _Checker(rel, lines)
    keys = {
        "title",
        "instructions",
        "instructions_en",
        "allowed_base_images",
        "limits",
        "network",
        "assets",
        "benchmark",
        "rubric",
        "tests",
    }
    data = check.mapping(data, (), keys, {"title"})
    title, title_en = check.titles(data["title"], ("title",))
    timeout = 300
    if data.get("limits") is not None:
        limits = check.mapping(data["limits"], ("limits",), {"build_timeout_seconds"}, set())
        if "build_timeout_seconds" in limits:
            path = ("limits", "build_timeout_seconds")
            timeout = check.int_(limits["build_timeout_seconds"], path, 1, 7200)
    rubric: dict[str, Any] = {}
    if data.get("rubric") is not None:
        try:
            rubric = rubric_from_data(data["rubric"], filename=rel, lines=lines, base=("rubric",)).as_data()
        except RubricError as exc:
            raise CourseFileError(rel, exc.line, exc.message) from exc
    tests = data.get("tests") or {}
    if not isinstance(tests, dict):
        raise check.fail(("tests",), "tests must be a container-structure-test mapping")
    bases = data.get("allowed_base_images")
    network = check.str_(data.get("network") or "none", ("network",))
    if network not in ("none", "packages"):
        raise check.fail(("network",), f"network must be none or packages, not {network!r}")
    return ExerciseData(
        slug=slug,
        title=title,
        title_en=title_en,
        instructions_md=check.str_(data.get("instructions"), ("instructions",)),
        instructions_en=check.str_(data.get("instructions_en"), ("instructions_en",)),
        allowed_base_images=default_base_images()
        if bases is None
        else check.str_list(bases, ("allowed_base_images",)),
        build_timeout_seconds=timeout,
        rubric=rubric,
        behaviour_tests=tests,
        starter_dockerfile=_text(root, f"{folder}/starter/Dockerfile"),
        context_files=_read_context(root, slug),
        solution_dockerfile=_text(root, f"{folder}/solution/Dockerfile"),
        solution_dockerignore=_text(root, f"{folder}/solution/.dockerignore")
        if (root / folder / "solution" / ".dockerignore").exists()
        else "",
        network=network,
        assets=_read_assets(data.get("assets"), check),
        benchmark=_read_benchmark(root, folder, data.get("benchmark"), check),
    )


def _read_assets(value: Any, check: _Checker) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise check.fail(("assets",), "assets must be a list of {path, url, sha256, size}")
    out = []
    for i, item in enumerate(value):
        here = ("assets", i)
        item = check.mapping(item, here, {"path", "url", "sha256", "size"}, {"path", "url", "sha256", "size"})
        path = check.str_(item["path"], (*here, "path"))
        if not path or path.startswith("/") or ".." in Path(path).parts:
            raise check.fail((*here, "path"), f"asset path {path!r} must be a plain relative path")
        url = check.str_(item["url"], (*here, "url"))
        if not url.startswith(("http://", "https://")):
            raise check.fail((*here, "url"), "asset url must be http:// or https://")
        sha = check.str_(item["sha256"], (*here, "sha256")).lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise check.fail((*here, "sha256"), "sha256 must be 64 hexadecimal digits")
        size = check.int_(item["size"], (*here, "size"), 1, 1 << 40)
        out.append({"path": path, "url": url, "sha256": sha, "size": size})
    return out


def _read_benchmark(root: Path, folder: str, value: Any, check: _Checker) -> dict[str, Any]:
    """`benchmark: {script, baseline, runs}`: a Python script run in the student's image and in
    a baseline image built from `baseline` (a Dockerfile in the exercise folder) on the same
    context, for the benchmark criterion."""
    if value is None:
        return {}
    data = check.mapping(value, ("benchmark",), {"script", "baseline", "runs"}, {"script", "baseline"})
    script_rel = f"{folder}/{check.str_(data['script'], ('benchmark', 'script'))}"
    baseline_rel = f"{folder}/{check.str_(data['baseline'], ('benchmark', 'baseline'))}"
    runs = check.int_(data.get("runs", 8), ("benchmark", "runs"), 3, 50)
    return {
        "script": data["script"],
        "script_text": _text(root, script_rel),
        "baseline": data["baseline"],
        "baseline_dockerfile": _text(root, baseline_rel),
        "runs": runs,
    }


def course_read(directory: str | Path) -> CourseData:
    root = Path(directory)
    data, lines = _yaml(_text(root, "course.yaml"), "course.yaml")
    check = _Checker("course.yaml", lines)
    data = check.mapping(data, (), {"slug", "title", "description", "sessions"}, {"slug", "title"})
    title, title_en = check.titles(data["title"], ("title",))
    description, description_en = (
        check.titles(data["description"], ("description",)) if data.get("description") else ("", "")
    )
    course = CourseData(
        slug=check.str_(data["slug"], ("slug",)),
        title=title,
        title_en=title_en,
        description=description,
        description_en=description_en,
    )
    entries = data.get("sessions") or []
    if not isinstance(entries, list):
        raise check.fail(("sessions",), "sessions must be a list")
    owner: dict[str, str] = {}
    for index, entry in enumerate(entries):
        here = ("sessions", index)
        entry = check.mapping(entry, here, {"slug", "week", "day", "session"}, {"slug"})
        slug = check.str_(entry["slug"], (*here, "slug"))
        if any(s.slug == slug for s in course.sessions):
            raise check.fail((*here, "slug"), f"session {slug!r} is listed twice")
        if not (root / "sessions" / f"{slug}.md").exists():
            raise check.fail((*here, "slug"), f"session {slug!r} has no file sessions/{slug}.md")
        week, day, number = (check.int_(entry.get(k, 0), (*here, k)) for k in ("week", "day", "session"))
        session = _read_session(root, slug, week, day, number)
        for ex_slug in session.exercises:
            if ex_slug in owner:
                message = f"exercise {ex_slug!r} is already in session {owner[ex_slug]!r}"
                raise CourseFileError(f"sessions/{slug}.md", None, message)
            owner[ex_slug] = slug
            course.exercises[ex_slug] = _read_exercise(root, ex_slug)
        course.sessions.append(session)
    return course


# --- importing -----------------------------------------------------------------------------


def _apply(obj: Any, values: dict[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return [name.removesuffix("_id") for name in changed]


def _report(kind: str, slug: str, created: bool, changed: list[str]) -> str:
    if created:
        return f"created {kind} {slug}"
    if changed:
        return f"updated {kind} {slug} ({', '.join(changed)})"
    return f"unchanged {kind} {slug}"


def _save(obj: Any, kind: str, slug: str, values: dict[str, Any], out: list[str]) -> None:
    created = obj.pk is None
    changed = _apply(obj, values)
    if created or changed:
        obj.full_clean()
        obj.save()
    out.append(_report(kind, slug, created, changed))


@transaction.atomic
def course_import(data: CourseData) -> list[str]:
    """Creates or updates the course in place, matched by slugs. Nothing is deleted."""
    out: list[str] = []
    course = Course.objects.filter(slug=data.slug).first() or Course(slug=data.slug)
    values = {
        "title": data.title,
        "title_en": data.title_en,
        "description": data.description,
        "description_en": data.description_en,
    }
    _save(course, "course", data.slug, values, out)
    listed = set()
    for position, s in enumerate(data.sessions):
        listed.add(s.slug)
        session = Session.objects.filter(course=course, slug=s.slug).first() or Session(
            course=course, slug=s.slug
        )
        values = {
            "title": s.title,
            "title_en": s.title_en,
            "body_md": s.body_md,
            "body_md_en": s.body_md_en,
            "position": position,
            "week": s.week,
            "day": s.day,
            "number": s.number,
            "duration_minutes": s.duration_minutes,
            "objectives": s.objectives,
        }
        _save(session, "session", s.slug, values, out)
        for ex_position, ex_slug in enumerate(s.exercises):
            e = data.exercises[ex_slug]
            exercise = Exercise.objects.filter(course=course, slug=ex_slug).first() or Exercise(
                course=course, slug=ex_slug
            )
            values = {
                "session_id": session.pk,
                "position": ex_position,
                "title": e.title,
                "title_en": e.title_en,
                "instructions_md": e.instructions_md,
                "instructions_en": e.instructions_en,
                "network": e.network,
                "assets": e.assets,
                "benchmark": e.benchmark,
                "allowed_base_images": e.allowed_base_images,
                "build_timeout_seconds": e.build_timeout_seconds,
                "rubric": e.rubric,
                "behaviour_tests": e.behaviour_tests,
                "starter_dockerfile": e.starter_dockerfile,
                "context_files": e.context_files,
                "solution_dockerfile": e.solution_dockerfile,
                "solution_dockerignore": e.solution_dockerignore,
            }
            was_broken = bool(exercise.problem)
            _save(exercise, "exercise", ex_slug, values, out)
            out.extend(_regrade_hints(exercise, out[-1]))
            if was_broken and out[-1].startswith("updated"):
                released = exercise_problem_clear(exercise=exercise)
                out.append(
                    f"cleared the problem of exercise {ex_slug}: {released} held submission(s) requeued"
                )
    for slug in course.sessions.exclude(slug__in=listed).values_list("slug", flat=True):
        out.append(f"kept session {slug} (not in the files; delete it by hand if meant)")
    return out


GRADING_FIELDS = (
    "rubric",
    "behaviour_tests",
    "solution_dockerfile",
    "solution_dockerignore",
    "context_files",
    "assets",
    "allowed_base_images",
    "network",
    "benchmark",
    "build_timeout_seconds",
)


def _regrade_hints(exercise: Exercise, report: str) -> list[str]:
    """An exercise whose grading changed: every assignment with graded attempts at it, and where
    its staff preview a regrade (nothing is regraded by itself)."""
    if not report.startswith("updated"):
        return []
    fields = report.partition("(")[2].rstrip(")").split(", ")
    changed = [f for f in GRADING_FIELDS if f in fields]
    if not changed:
        return []
    return [
        f"  grading of {exercise.slug} changed ({', '.join(changed)}): assignment {a.title!r} of run "
        f"{a.run.slug} has {count} graded attempt(s); preview a regrade at "
        f"/runs/{a.run.slug}/assignments/{a.pk}/gradebook/"
        for a, count in assignments_to_regrade(exercise)
    ]


# --- exporting -----------------------------------------------------------------------------


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def course_export(course: Course, directory: str | Path) -> None:
    root = Path(directory)
    sessions = list(course.sessions.order_by("position", "id"))
    _write(
        root,
        "course.yaml",
        _dump(
            {
                "slug": course.slug,
                "title": {"ko": course.title, "en": course.title_en},
                **(
                    {"description": {"ko": course.description, "en": course.description_en}}
                    if course.description_en
                    else {"description": course.description}
                    if course.description
                    else {}
                ),
                "sessions": [
                    {"slug": s.slug, "week": s.week, "day": s.day, "session": s.number} for s in sessions
                ],
            }
        ),
    )
    for s in sessions:
        exercises = list(s.exercises.order_by("position", "id"))
        front: dict[str, Any] = {"title": s.title, "week": s.week, "day": s.day, "session": s.number}
        if s.duration_minutes is not None:
            front["duration"] = s.duration_minutes
        front["objectives"] = list(s.objectives or [])
        front["exercises"] = [e.slug for e in exercises]
        _write(root, f"sessions/{s.slug}.md", f"---\n{_dump(front)}---\n{s.body_md}")
        if s.title_en or s.body_md_en:
            en_front = _dump({"title": s.title_en})
            _write(root, f"sessions/{s.slug}.en.md", f"---\n{en_front}---\n{s.body_md_en}")
        for e in exercises:
            _export_exercise(root, e)


def _export_exercise(root: Path, e: Exercise) -> None:
    folder = f"exercises/{e.slug}"
    spec: dict[str, Any] = {
        "title": {"ko": e.title, "en": e.title_en},
        "instructions": e.instructions_md,
        **({"instructions_en": e.instructions_en} if e.instructions_en else {}),
        "allowed_base_images": list(e.allowed_base_images),
        "limits": {"build_timeout_seconds": e.build_timeout_seconds},
        **({"network": e.network} if e.network != "none" else {}),
        **({"assets": list(e.assets)} if e.assets else {}),
    }
    if e.benchmark:
        spec["benchmark"] = {k: e.benchmark[k] for k in ("script", "baseline", "runs")}
        _write(root, f"{folder}/{e.benchmark['script']}", e.benchmark["script_text"])
        _write(root, f"{folder}/{e.benchmark['baseline']}", e.benchmark["baseline_dockerfile"])
    if e.rubric:
        spec["rubric"] = e.rubric
    if e.behaviour_tests:
        spec["tests"] = e.behaviour_tests
    _write(root, f"{folder}/exercise.yaml", _dump(spec))
    _write(root, f"{folder}/starter/Dockerfile", e.starter_dockerfile)
    for rel, text in sorted(e.context_files.items()):
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise CourseFileError(f"{folder}/context", None, f"refusing to write context path {rel!r}")
        _write(root, f"{folder}/context/{rel}", text)
    _write(root, f"{folder}/solution/Dockerfile", e.solution_dockerfile)
    if e.solution_dockerignore:
        _write(root, f"{folder}/solution/.dockerignore", e.solution_dockerignore)
