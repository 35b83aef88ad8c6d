"""A course kept in git and one edited in the browser stay one thing: edits saved in the
browser (its services) are what `export_course` writes, and the exported folder differs from
the one exported before the edits by exactly the edits; imported into a fresh database it gives
the edited course back."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from django.core.management import call_command

from authoring import services
from authoring.files import course_import, course_read
from courses.models import Course, Session
from labs.models import Exercise
from tests.authoring.test_files import COURSE_YAML, EXERCISE_YAML, SESSION_EN, SESSION_KO, write
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_RUBRIC = "criteria:\n  - id: sec.non_root\n    required: true\n    weight: 30\n  - id: opt.layer_count\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The course folder test_files imports: one session in two languages, one exercise."""
    root = tmp_path / "course"
    write(root, "course.yaml", COURSE_YAML)
    write(root, "sessions/images.md", SESSION_KO)
    write(root, "sessions/images.en.md", SESSION_EN)
    write(root, "exercises/slim-python/exercise.yaml", EXERCISE_YAML)
    write(root, "exercises/slim-python/starter/Dockerfile", "FROM python:3.11-slim\n")
    write(root, "exercises/slim-python/context/app.py", 'print("hello")\n')
    write(root, "exercises/slim-python/solution/Dockerfile", "FROM python:3.11-slim\nUSER 1000\n")
    return root


def files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_browser_edits_export_as_exactly_those_edits_and_import_back(folder: Path, tmp_path: Path) -> None:
    course_import(course_read(folder))
    before, after = tmp_path / "before", tmp_path / "after"
    call_command("export_course", "docker-basics", str(before))
    assert course_read(before) == course_read(folder), "the untouched course exports as its files say"

    author = UserFactory(username="writer")
    session = Session.objects.get(slug="images")
    exercise = Exercise.objects.get(slug="slim-python")
    services.session_body_save(
        session=session,
        field="body_md",
        text=session.body_md.replace("본문.", "본문을 고쳤습니다.\n\n```mermaid\ngraph LR\n  A --> B\n```\n"),
        author=author,
        note="diagram",
    )
    services.exercise_text_save(
        exercise=exercise,
        instructions_md=exercise.instructions_md,
        instructions_en=exercise.instructions_en,
        rubric_yaml=NEW_RUBRIC,
        tests_yaml=services.validation.dump(exercise.behaviour_tests),
        author=author,
    )
    call_command("export_course", "docker-basics", str(after))

    old, new = files(before), files(after)
    assert sorted(new) == sorted(old)
    assert sorted(rel for rel in new if new[rel] != old[rel]) == [
        "exercises/slim-python/exercise.yaml",
        "sessions/images.md",
    ]
    assert changed_lines(old["sessions/images.md"], new["sessions/images.md"]) == [
        "-본문.",
        "+본문을 고쳤습니다.",
        "+",
        "+```mermaid",
        "+graph LR",
        "+  A --> B",
        "+```",
        "+",
    ]
    assert changed_lines(
        old["exercises/slim-python/exercise.yaml"], new["exercises/slim-python/exercise.yaml"]
    ) == [
        "-    weight: 15.0",
        "+    weight: 30.0",
    ]

    Course.objects.all().delete()
    course_import(course_read(after))
    session, exercise = Session.objects.get(slug="images"), Exercise.objects.get(slug="slim-python")
    assert (
        session.body_md == "# 이미지 최적화\n\n본문을 고쳤습니다.\n\n```mermaid\ngraph LR\n  A --> B\n```\n\n"
    )
    assert exercise.rubric == {
        "required_cap": 59.0,
        "criteria": [
            {"id": "sec.non_root", "weight": 30.0, "required": True},
            {"id": "opt.layer_count", "weight": 5.0, "required": False},
        ],
    }
