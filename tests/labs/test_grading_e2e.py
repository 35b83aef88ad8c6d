"""Grading end to end on the real engine through `manage.py grade --json`: a clean multi-stage,
non-root solution scores 100; the same app single-stage as root with caches scores far lower and
the feedback names each reason with its line."""

from __future__ import annotations

import contextlib
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import ExerciseFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db]

APP = 'import sys\nprint("hello from layerlab")\n'
TESTS = {
    "schemaVersion": "2.0.0",
    "commandTests": [
        {
            "name": "the app says hello",
            "command": "python",
            "args": ["/app/app.py"],
            "expectedOutput": ["hello from layerlab"],
        },
    ],
    "fileExistenceTests": [{"name": "the app is in /app", "path": "/app/app.py", "shouldExist": True}],
}
RUBRIC = {
    "criteria": [
        {"id": "opt.multi_stage", "weight": 10, "required": True},
        {"id": "opt.slim_final_base", "weight": 5},
        {"id": "sec.pinned_base", "weight": 5},
        {"id": "sec.final_user", "weight": 5},
        {"id": "opt.pip_cache", "weight": 5},
        {"id": "opt.cache_order", "weight": 5},
        {"id": "opt.exec_form", "weight": 5},
        {"id": "opt.merged_runs", "weight": 3},
        {"id": "opt.image_size", "weight": 10, "options": {"full_at_mb": 200, "zero_at_mb": 600}},
        {"id": "opt.layer_count", "weight": 5},
        {"id": "opt.efficiency", "weight": 5},
        {"id": "opt.no_build_tools", "weight": 5},
        {"id": "opt.no_package_caches", "weight": 5},
        {"id": "sec.non_root", "weight": 10, "required": True},
        {"id": "sec.no_secret_files", "weight": 5},
        {"id": "sec.no_history_secrets", "weight": 3},
        {"id": "sec.setuid", "weight": 2},
        {"id": "run.behaviour", "weight": 15},
        {"id": "opt.build_cache", "weight": 5},
    ]
}

GOOD = """\
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY app.py .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN useradd --uid 10001 --no-create-home app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /src/app.py .
USER 10001
CMD ["python", "app.py"]
"""

BAD = """\
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN mkdir -p /var/lib/apt/lists && head -c 3000000 /dev/urandom > /var/lib/apt/lists/archive_Packages
RUN pip install -r requirements.txt
CMD python app.py
"""


@pytest.fixture
def exercise():
    return ExerciseFactory(
        slug="py-app",
        context_files={"app.py": APP, "requirements.txt": ""},
        behaviour_tests=TESTS,
        rubric=RUBRIC,
    )


def grade(tmp_path: Path, dockerfile: str) -> dict:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    out = StringIO()
    with contextlib.suppress(SystemExit):  # a failed grading exits 1 after printing its JSON
        call_command("grade", "--exercise", "py-app", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_clean_multi_stage_non_root_solution_scores_100(exercise, tmp_path):
    doc = grade(tmp_path, GOOD)
    not_passed = {c["id"]: c["detail"] for c in doc["criteria"] if c["verdict"] != "pass"}
    assert not_passed == {}
    assert doc["score"] == 100.0
    assert {c["id"] for c in doc["criteria"]} == {i["id"] for i in RUBRIC["criteria"]}


def test_the_same_app_single_stage_as_root_with_caches_scores_far_lower_and_says_why(exercise, tmp_path):
    doc = grade(tmp_path, BAD)
    by_id = {c["id"]: c for c in doc["criteria"]}
    assert doc["status"] == "done"
    assert doc["score"] <= 60
    assert set(doc["failed_required"]) == {"opt.multi_stage", "sec.non_root"}
    expected_failures = {
        "opt.multi_stage": 1,
        "sec.final_user": 1,
        "opt.exec_form": 6,
        "opt.cache_order": 3,
        "opt.pip_cache": 5,
        "sec.non_root": 1,
        "opt.no_package_caches": None,
        "opt.build_cache": 5,
    }
    for cid, line in expected_failures.items():
        assert by_id[cid]["verdict"] == "fail", (cid, by_id[cid])
        if line is not None:
            assert line in by_id[cid]["lines"], (cid, by_id[cid]["lines"])
    assert "/var/lib/apt/lists" in by_id["opt.no_package_caches"]["detail"]
    assert by_id["run.behaviour"]["verdict"] == "pass"  # it works; it is just not good


def test_grade_prints_a_table_and_exits_non_zero_on_a_refused_dockerfile(exercise, tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM ubuntu:latest\n")
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("grade", "--exercise", "py-app", str(path), stdout=out)
    assert exit_.value.code == 1
    assert "base_not_allowed" in out.getvalue() and "line 1" in out.getvalue()
