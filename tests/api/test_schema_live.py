"""The API checked from its own schema against the live server (daphne, the worker), as CI
runs it: schemathesis generates requests for every operation from `/api/v1/openapi.json` with
a student's token and finds no server error and no answer the schema does not describe
(status code, content type, body)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.services import token_create
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(stack, tmp_path):
    student = UserFactory(username="fuzz")
    exercise = ExerciseFactory()
    submission = SubmissionFactory(owner=student, exercise=exercise, status="done", score=80.0)
    token = token_create(user=student, name="schemathesis", scope="submit")[1]
    # Real identifiers, so requests reach past the 404 to the answers with bodies.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f"submission_id = {submission.pk}\n"
        f'course = "{exercise.course.slug}"\n'
        f'slug = "{exercise.slug}"\n'
    )
    schemathesis = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [
            str(schemathesis),
            "--config-file",
            str(config),
            "run",
            f"{stack.base_url}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            # It revokes the token the run uses; tests/api/test_api.py covers it.
            "--exclude-path",
            "/api/v1/tokens/current",
            "--max-examples",
            "30",
            "--request-timeout",
            "20",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "Authentication failed" not in report, report
    counts = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counts is not None and counts.group(1) == counts.group(2), report
