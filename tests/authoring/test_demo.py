"""The demo course `bin/up` loads is solvable: its reference solution scores 100 and the
starter scores lower, graded for real."""

from __future__ import annotations

import contextlib
import json
from io import StringIO

import pytest
from django.core.management import call_command

from authoring.demo import DEMO_USERS, demo_load
from labs.models import Exercise

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db]


def grade(tmp_path, text: str) -> dict:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    out = StringIO()
    with contextlib.suppress(SystemExit):
        call_command("grade", "--exercise", "demo-python-app", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_demo_is_loaded_twice_without_duplicates_and_its_logins_work(client):
    demo_load()
    demo_load()
    assert Exercise.objects.filter(slug="demo-python-app").count() == 1
    assert client.login(username="student", password=DEMO_USERS["student"])


def test_the_demo_solution_scores_100_and_the_starter_scores_lower(tmp_path):
    demo_load()
    exercise = Exercise.objects.get(slug="demo-python-app")
    solution = grade(tmp_path, exercise.solution_dockerfile)
    assert {c["id"]: c["detail"] for c in solution["criteria"] if c["verdict"] != "pass"} == {}
    assert solution["score"] == 100.0
    starter = grade(tmp_path, exercise.starter_dockerfile)
    assert starter["status"] == "done"
    assert starter["score"] < 60
