"""The editor's findings before building: the lint endpoint says what grading would say of a
draft before any build (the policy's refusals, the exercise's Dockerfile criteria)."""

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import ExerciseFactory, UserFactory

pytestmark = pytest.mark.django_db

RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 10}, {"id": "run.behaviour", "weight": 20}]}


@pytest.fixture(autouse=True)
def fresh_allowance(clean_redis: None) -> Iterator[None]:
    """Every test starts with a full allowance: the counters are in the real Redis."""
    r = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    for key in r.scan_iter(f"{prefix}:rate:lint:*"):
        r.delete(key)
    yield


def _lint(client: Client, exercise, dockerfile: str, **extra):
    url = reverse("labs:lint", kwargs={"course_slug": exercise.course.slug, "slug": exercise.slug})
    return client.post(url, {"dockerfile": dockerfile, "dockerignore": ""}, **extra)


def _client() -> Client:
    client = Client()
    client.force_login(UserFactory())
    return client


def test_a_shell_form_cmd_is_a_failed_finding_on_its_line_in_both_languages():
    exercise = ExerciseFactory(rubric=RUBRIC)
    response = _lint(_client(), exercise, "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n")
    assert response.status_code == 200
    findings = response.json()["findings"]
    # Only the rubric's Dockerfile criteria: the behaviour tests need an image.
    assert [(f["kind"], f["criterion"], f["verdict"], f["lines"]) for f in findings] == [
        ("check", "opt.exec_form", "fail", [3])
    ]
    exec_form = findings[0]
    assert exec_form["detail"] == {
        "en": 'line 3: `CMD python /app/app.py` is shell form; write `CMD ["python", "/app/app.py"]`',
        "ko": '3번째 줄: `CMD python /app/app.py`는 셸 형식입니다. `CMD ["python", "/app/app.py"]`로 쓰세요',
    }
    assert exec_form["title"]["en"] == "CMD and ENTRYPOINT in exec form"
    assert exec_form["why"]["ko"] and exec_form["fix"]["en"]


def test_the_fixed_line_passes():
    exercise = ExerciseFactory(rubric=RUBRIC)
    response = _lint(
        _client(), exercise, 'FROM python:3.11-slim\nCOPY . /app\nCMD ["python", "/app/app.py"]\n'
    )
    assert [(f["criterion"], f["verdict"]) for f in response.json()["findings"]] == [
        ("opt.exec_form", "pass")
    ]


def test_a_base_the_exercise_does_not_allow_is_refused_on_its_line_and_nothing_else_is_said():
    exercise = ExerciseFactory(rubric=RUBRIC, allowed_base_images=["python:3.11-slim"])
    response = _lint(_client(), exercise, "FROM ubuntu:22.04\nCMD python app.py\n")
    findings = response.json()["findings"]
    assert [(f["kind"], f["criterion"], f["verdict"], f["lines"]) for f in findings] == [
        ("refusal", "base_not_allowed", "fail", [1])
    ]
    assert findings[0]["detail"]["ko"] == (
        '1번째 줄: 베이스 이미지 "ubuntu:22.04"는 여기서 쓸 수 없습니다. '
        "다음 중 하나를 쓰세요: python:3.11-slim"
    )


def test_bytes_that_are_not_utf8_are_refused_on_their_line_as_a_submission_is():
    exercise = ExerciseFactory(rubric=RUBRIC)
    url = reverse("labs:lint", kwargs={"course_slug": exercise.course.slug, "slug": exercise.slug})
    body = b"dockerfile=FROM+python%3A3.11-slim%0ARUN+echo+%FF%0A&dockerignore="
    response = _client().post(url, body, content_type="application/x-www-form-urlencoded")
    findings = response.json()["findings"]
    assert [(f["kind"], f["criterion"], f["lines"]) for f in findings] == [("refusal", "not_utf8", [2])]


def test_a_dockerfile_over_the_submission_cap_is_a_json_error_in_the_page_language():
    exercise = ExerciseFactory(rubric=RUBRIC)
    big = "FROM python:3.11-slim\n" + "# x\n" * 20000
    response = _lint(_client(), exercise, big, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json() == {"error": "The Dockerfile is larger than 64 KiB."}


def test_a_body_far_over_the_cap_is_refused_unread():
    exercise = ExerciseFactory(rubric=RUBRIC)
    response = _lint(_client(), exercise, "#" * 400_000, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json() == {"error": "The Dockerfile is larger than 64 KiB."}


def test_without_a_login_it_answers_401_in_json():
    exercise = ExerciseFactory(rubric=RUBRIC)
    response = _lint(Client(), exercise, "FROM python:3.11-slim\n", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json() == {"error": "Log in again to check your Dockerfile."}


def test_it_needs_the_csrf_token():
    exercise = ExerciseFactory(rubric=RUBRIC)
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert _lint(client, exercise, "FROM python:3.11-slim\n").status_code == 403


def test_each_user_has_an_allowance_per_minute_and_is_told_in_their_language(settings):
    settings.LAYERLAB_LINT_PER_MINUTE = 2
    exercise = ExerciseFactory(rubric=RUBRIC)
    client = _client()
    assert [_lint(client, exercise, "FROM python:3.11-slim\n").status_code for _ in range(2)] == [200, 200]
    refused = _lint(client, exercise, "FROM python:3.11-slim\n")
    assert refused.status_code == 429
    wait = refused.json()["retry_after"]
    assert 1 <= wait <= 60
    assert refused.json()["error"] == (
        f"확인을 잠시 멈췄습니다: 1분 동안 확인이 너무 많았습니다. {wait}초 뒤에 다시 확인합니다."
    )
    english = _lint(client, exercise, "FROM python:3.11-slim\n", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["error"] == (
        f"Checking paused: too many checks in a minute. It resumes in {english['retry_after']} s."
    )
    assert _lint(_client(), exercise, "FROM python:3.11-slim\n").status_code == 200  # another student


def test_the_dockerignore_field_is_open_and_explained_when_the_rubric_grades_it():
    criteria = [{"id": "opt.dockerignore", "weight": 15}, {"id": "opt.exec_form", "weight": 5}]
    graded = ExerciseFactory(rubric={"criteria": criteria})
    plain = ExerciseFactory(rubric=RUBRIC)
    client = _client()
    page = client.get(graded.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-role="dockerignore-field" data-expected="true"' in page
    assert "Graded here: “.dockerignore covers heavy and secret files” (75.0 points)." in page
    page = client.get(plain.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-role="dockerignore-field" data-expected="false"' in page
    assert "<summary>.dockerignore (optional): files to keep out of the build context</summary>" in page


def test_a_solution_with_a_dockerignore_makes_the_field_expected():
    exercise = ExerciseFactory(rubric=RUBRIC, solution_dockerignore=".git\n")
    page = _client().get(exercise.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-expected="true"' in page
    assert "This exercise's solution has one: what it lists is kept out of the build context." in page
