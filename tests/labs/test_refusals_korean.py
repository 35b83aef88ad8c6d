"""Every refusal a student meets on a Korean page says it in Korean: the exercise form (empty,
too big, not UTF-8, the rate and the queue), an assignment's attempt cap, joining and signing up."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from labs.models import Submission
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

GOOD = "FROM python:3.11-slim\n"


def alerts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<li class="msg-error" role="alert">(.*?)</li>', response.content.decode(), re.S)


def field_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    lists = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return [item for found in lists for item in re.findall(r"<li>(.*?)</li>", found, re.S)]


@pytest.fixture
def korean() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(UserFactory(username="ara"))
    return client


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"dockerfile": " \n"}, "Dockerfile이 비어 있습니다."),
        ({"dockerfile": "RUN true\n" * 8000}, "Dockerfile이 64KiB를 넘습니다."),
        ({"dockerfile": GOOD, "dockerignore": "x" * 17000}, ".dockerignore가 16KiB를 넘습니다."),
        (
            {"dockerfile": SimpleUploadedFile("Dockerfile", b"FROM \xff\n")},
            "1번째 줄: Dockerfile이 올바른 UTF-8 텍스트가 아닙니다(7바이트 중 6번째 바이트). "
            "UTF-8로 저장하고 바이너리 데이터를 지우세요.",
        ),
        (
            {"dockerfile": SimpleUploadedFile("Dockerfile", b"#" * 70000)},
            "Dockerfile이 70000바이트로 한도 65536바이트를 넘습니다. "
            "긴 스크립트는 빌드 컨텍스트의 파일로 옮겨 COPY 하세요.",
        ),
    ],
    ids=["empty", "too-large", "dockerignore-too-large", "not-utf8", "upload-too-large"],
)
def test_a_refused_dockerfile_is_told_in_korean(korean: Client, data: dict, said: str) -> None:
    exercise = ExerciseFactory()
    response = korean.post(exercise.get_absolute_url(), data)
    assert alerts(response) == [said]
    assert not Submission.objects.exists()


def test_the_rate_limit_is_told_in_korean(korean: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE = 1
    exercise = ExerciseFactory()
    first = korean.post(exercise.get_absolute_url(), {"dockerfile": GOOD})
    assert first.status_code == 302
    response = korean.post(exercise.get_absolute_url(), {"dockerfile": GOOD})
    [said] = alerts(response)
    assert re.fullmatch(r"최근 1분 동안 이 실습에 1번 제출했습니다\. (\d+)초 뒤에 다시 제출하세요\.", said)


def test_a_full_queue_is_told_in_korean(korean: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LAYERLAB_MAX_ACTIVE_SUBMISSIONS = 1
    exercise = ExerciseFactory()
    SubmissionFactory(owner=UserFactory(username="ara"), exercise=exercise, status=Submission.Status.QUEUED)
    response = korean.post(exercise.get_absolute_url(), {"dockerfile": GOOD})
    assert alerts(response) == [
        "이미 제출물 1개가 채점을 기다리거나 채점 중입니다. 하나가 끝난 뒤 다시 제출하세요."
    ]


def test_the_attempt_cap_is_told_in_korean(korean: Client) -> None:
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course)
    student = UserFactory(username="ara")
    MembershipFactory(run=run, user=student)
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=1)
    SubmissionFactory(
        owner=student,
        exercise=exercise,
        assignment=assignment,
        status=Submission.Status.DONE,
        score=50,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    response = korean.post(
        exercise.get_absolute_url(), {"dockerfile": GOOD, "assignment": str(assignment.pk)}
    )
    assert alerts(response) == ["이 과제에서 이 실습의 시도 1회를 모두 썼습니다. 더 이상 제출할 수 없습니다."]


def test_a_wrong_invitation_code_is_told_in_korean(korean: Client) -> None:
    response = korean.post("/join/", {"code": "NOPE2345"})
    assert field_errors(response) == ["이 초대 코드에 해당하는 강좌 학기가 없습니다."]


def test_sign_up_refusals_are_told_in_korean() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    response = client.post(
        "/join/", {"username": "bad name!", "email": "not-an-address", "password": "x", "code": "NOPE2345"}
    )
    assert field_errors(response) == [
        "유효한 사용자 이름을 입력하세요. 이곳에는 문자, 숫자, @/./+/-/_만 가능합니다.",
        "올바른 이메일 주소를 입력하세요.",
    ]
