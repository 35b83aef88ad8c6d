from pathlib import Path

import pytest
from django.core.management import call_command

from authoring.files import CourseFileError, course_export, course_import, course_read
from courses.models import Course, Session
from labs.models import Exercise, Submission
from tests.factories import AssignmentFactory, CourseRunFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

COURSE_YAML = """\
slug: docker-basics
title: {ko: 도커 기초, en: Docker basics}
description: A short course.
sessions:
  - {slug: images, week: 2, day: 2, session: 1}
"""

SESSION_KO = """\
---
title: 이미지 최적화
week: 2
day: 2
session: 1
duration: 50
objectives: [멀티 스테이지 빌드]
exercises: [slim-python]
---
# 이미지 최적화

본문.
"""

SESSION_EN = """\
---
title: Image optimisation
---
# Image optimisation

Body.
"""

EXERCISE_YAML = """\
title: {ko: 파이썬 앱, en: A Python app}
instructions: |
  Make it small.
allowed_base_images: [python:3.11-slim]
limits: {build_timeout_seconds: 120}
rubric:
  criteria:
    - id: sec.non_root
      required: true
    - id: opt.layer_count
tests:
  schemaVersion: 2.0.0
  commandTests:
    - name: runs
      command: python
      args: [/app/app.py]
      expectedOutput: [hello]
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    write(root, "course.yaml", COURSE_YAML)
    write(root, "sessions/images.md", SESSION_KO)
    write(root, "sessions/images.en.md", SESSION_EN)
    write(root, "exercises/slim-python/exercise.yaml", EXERCISE_YAML)
    write(root, "exercises/slim-python/starter/Dockerfile", "FROM python:3.11-slim\n")
    write(root, "exercises/slim-python/context/app.py", 'print("hello")\n')
    write(root, "exercises/slim-python/context/lib/util.py", "X = 1\n")
    write(root, "exercises/slim-python/solution/Dockerfile", "FROM python:3.11-slim\nUSER 1000\n")
    write(root, "exercises/slim-python/solution/.dockerignore", ".git\n")
    return root


def test_import_creates_course_session_and_exercise(course_dir: Path) -> None:
    lines = course_import(course_read(course_dir))
    assert lines == ["created course docker-basics", "created session images", "created exercise slim-python"]
    session = Session.objects.get(slug="images")
    assert (session.title, session.title_en, session.week, session.day, session.number) == (
        "이미지 최적화",
        "Image optimisation",
        2,
        2,
        1,
    )
    assert session.duration_minutes == 50
    assert session.body_md.startswith("# 이미지 최적화")
    assert session.body_md_en.startswith("# Image optimisation")
    exercise = Exercise.objects.get(slug="slim-python")
    assert exercise.session == session
    assert exercise.context_files == {"app.py": 'print("hello")\n', "lib/util.py": "X = 1\n"}
    assert [c["id"] for c in exercise.rubric["criteria"]] == ["sec.non_root", "opt.layer_count"]
    assert exercise.behaviour_tests["commandTests"][0]["name"] == "runs"
    assert exercise.build_timeout_seconds == 120
    assert exercise.solution_dockerignore == ".git\n"


def test_importing_again_reports_unchanged_and_creates_nothing(course_dir: Path) -> None:
    course_import(course_read(course_dir))
    counts = (Course.objects.count(), Session.objects.count(), Exercise.objects.count())
    lines = course_import(course_read(course_dir))
    assert all(line.startswith("unchanged ") for line in lines), lines
    assert (Course.objects.count(), Session.objects.count(), Exercise.objects.count()) == counts


def test_editing_a_title_updates_in_place_and_keeps_submissions(course_dir: Path) -> None:
    course_import(course_read(course_dir))
    exercise = Exercise.objects.get(slug="slim-python")
    submission = SubmissionFactory(exercise=exercise)
    edited = SESSION_KO.replace("title: 이미지 최적화", "title: 이미지 줄이기")
    write(course_dir, "sessions/images.md", edited)
    lines = course_import(course_read(course_dir))
    assert "updated session images (title)" in lines
    assert "unchanged exercise slim-python" in lines
    assert Session.objects.get(slug="images").title == "이미지 줄이기"
    assert Exercise.objects.get(slug="slim-python").pk == exercise.pk
    assert Submission.objects.filter(pk=submission.pk, exercise=exercise).exists()


def test_export_then_read_gives_the_same_data(course_dir: Path, tmp_path: Path) -> None:
    original = course_read(course_dir)
    course_import(original)
    out = tmp_path / "exported"
    course_export(Course.objects.get(slug="docker-basics"), out)
    assert course_read(out) == original


def test_rubric_typo_names_file_and_line_and_writes_nothing(course_dir: Path) -> None:
    write(
        course_dir,
        "exercises/slim-python/exercise.yaml",
        EXERCISE_YAML.replace("id: opt.layer_count", "id: opt.layer_cuont"),
    )
    line = EXERCISE_YAML.splitlines().index("    - id: opt.layer_count") + 1
    with pytest.raises(CourseFileError) as caught:
        course_import(course_read(course_dir))
    assert str(caught.value).startswith(f"exercises/slim-python/exercise.yaml:{line}: unknown criterion id")
    assert not Course.objects.exists()


def test_import_command_exits_nonzero_on_a_rubric_typo(course_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write(
        course_dir,
        "exercises/slim-python/exercise.yaml",
        EXERCISE_YAML.replace("id: opt.layer_count", "id: opt.layer_cuont"),
    )
    with pytest.raises(SystemExit) as caught:
        call_command("import_course", str(course_dir))
    assert caught.value.code == 1
    assert "exercises/slim-python/exercise.yaml:" in capsys.readouterr().err
    assert not Course.objects.exists()


def test_missing_session_file_is_named(course_dir: Path) -> None:
    (course_dir / "sessions/images.md").unlink()
    with pytest.raises(CourseFileError) as caught:
        course_read(course_dir)
    assert caught.value.path == "course.yaml"
    assert caught.value.line == 5
    assert "sessions/images.md" in caught.value.message


def test_symlinked_context_file_is_refused(course_dir: Path) -> None:
    (course_dir / "exercises/slim-python/context/link.py").symlink_to(course_dir / "course.yaml")
    with pytest.raises(CourseFileError) as caught:
        course_read(course_dir)
    assert caught.value.path == "exercises/slim-python/context/link.py"


def test_unknown_key_is_reported_with_its_line(course_dir: Path) -> None:
    write(course_dir, "exercises/slim-python/exercise.yaml", EXERCISE_YAML + "timeout: 5\n")
    with pytest.raises(CourseFileError) as caught:
        course_read(course_dir)
    assert (caught.value.path, caught.value.line) == (
        "exercises/slim-python/exercise.yaml",
        len(EXERCISE_YAML.splitlines()) + 1,
    )


PGO_LIKE = """\
title: {ko: 런타임, en: Runtime}
instructions: 빌드하세요.
instructions_en: Build it.
allowed_base_images: [debian:bookworm-slim]
network: packages
assets:
  - path: Python-3.11.2.tar.gz
    url: http://deb.debian.org/debian/pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz
    sha256: 2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
    size: 26437858
benchmark:
  script: benchmark/bench.py
  baseline: benchmark/baseline.Dockerfile
  runs: 5
"""


def test_network_assets_benchmark_and_english_instructions_round_trip(
    course_dir: Path, tmp_path: Path
) -> None:
    write(course_dir, "exercises/slim-python/exercise.yaml", PGO_LIKE)
    write(course_dir, "exercises/slim-python/benchmark/bench.py", "print(1.0)\n")
    write(course_dir, "exercises/slim-python/benchmark/baseline.Dockerfile", "FROM debian:bookworm-slim\n")
    course_import(course_read(course_dir))
    exercise = Exercise.objects.get(slug="slim-python")
    assert exercise.instructions_en == "Build it."
    assert exercise.network == "packages"
    assert exercise.assets[0]["size"] == 26437858
    assert exercise.benchmark["script_text"] == "print(1.0)\n"
    assert exercise.benchmark["runs"] == 5
    out = tmp_path / "out"
    course_export(Course.objects.get(slug="docker-basics"), out)
    assert course_read(out) == course_read(course_dir)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("sha256: 2411c7", "sha256: zz11c7"),
        ("url: http://deb", "url: ftp://deb"),
        ("path: Python-3.11.2.tar.gz", "path: ../escape.tgz"),
        ("baseline: benchmark/baseline.Dockerfile", "baseline: benchmark/missing.Dockerfile"),
    ],
)
def test_bad_assets_and_benchmarks_are_named_with_file_and_line(
    course_dir: Path, edit: tuple[str, str], message: str
) -> None:
    write(course_dir, "exercises/slim-python/exercise.yaml", PGO_LIKE.replace(edit, message))
    write(course_dir, "exercises/slim-python/benchmark/bench.py", "print(1.0)\n")
    write(course_dir, "exercises/slim-python/benchmark/baseline.Dockerfile", "FROM debian:bookworm-slim\n")
    with pytest.raises(CourseFileError) as caught:
        course_read(course_dir)
    assert caught.value.path.startswith("exercises/slim-python/")
    if "missing" not in message:
        assert caught.value.line is not None


def test_reimporting_a_broken_exercise_releases_its_held_submissions(course_dir: Path) -> None:
    course_import(course_read(course_dir))
    exercise = Exercise.objects.get(slug="slim-python")
    Exercise.objects.filter(pk=exercise.pk).update(problem="behaviour_tests: unknown field comand")
    held = SubmissionFactory(exercise=exercise, status=Submission.Status.HELD)
    write(
        course_dir,
        "exercises/slim-python/exercise.yaml",
        EXERCISE_YAML.replace("name: runs", "name: it runs"),
    )

    lines = course_import(course_read(course_dir))

    assert lines[-2:] == [
        "updated exercise slim-python (behaviour_tests)",
        "cleared the problem of exercise slim-python: 1 held submission(s) requeued",
    ]
    assert Exercise.objects.get(pk=exercise.pk).problem == ""
    assert Submission.objects.get(pk=held.pk).status == Submission.Status.QUEUED


def test_reimporting_a_changed_rubric_names_the_assignments_to_preview_a_regrade_for(
    course_dir: Path,
) -> None:
    course_import(course_read(course_dir))
    exercise = Exercise.objects.get(slug="slim-python")
    run = CourseRunFactory(course=exercise.course, slug="spring")
    assignment = AssignmentFactory(run=run, title="Week 1", exercises=[exercise])
    AssignmentFactory(run=run, title="Untouched", exercises=[exercise])  # nothing graded: not named
    for status in (Submission.Status.DONE, Submission.Status.FAILED, Submission.Status.ERROR):
        SubmissionFactory(exercise=exercise, assignment=assignment, status=status)
    write(
        course_dir,
        "exercises/slim-python/exercise.yaml",
        EXERCISE_YAML.replace("name: runs", "name: it runs"),
    )

    lines = course_import(course_read(course_dir))

    assert lines[-2:] == [
        "updated exercise slim-python (behaviour_tests)",
        "  grading of slim-python changed (behaviour_tests): assignment 'Week 1' of run spring has "
        f"2 graded attempt(s); preview a regrade at /runs/spring/assignments/{assignment.pk}/gradebook/",
    ]


def test_a_description_in_both_languages_is_read_imported_and_written_back(
    course_dir: Path, tmp_path: Path
) -> None:
    text = COURSE_YAML.replace(
        "description: A short course.", "description: {ko: 짧은 강좌., en: A short course.}"
    )
    write(course_dir, "course.yaml", text)
    original = course_read(course_dir)
    assert (original.description, original.description_en) == ("짧은 강좌.", "A short course.")
    course_import(original)
    course = Course.objects.get(slug="docker-basics")
    assert (course.description, course.description_en) == ("짧은 강좌.", "A short course.")
    out = tmp_path / "exported"
    course_export(course, out)
    assert "description:\n  ko: 짧은 강좌.\n  en: A short course.\n" in (out / "course.yaml").read_text()
    assert course_read(out) == original
