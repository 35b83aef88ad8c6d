"""The JSON API as a program meets it (Django's test client, the real Redis for rate limits):
tokens and their scopes, the same object access and refusals as the pages, errors as JSON in
the request's language, the generated schema. The live server, worker and engine are in
tests/client/."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.utils import timezone

from api.models import Token
from api.services import token_create, token_revoke
from courses.models import Membership
from courses.services import profile_language_set
from labs.events import event_emit
from labs.models import Submission
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_redis")]


@pytest.fixture(autouse=True)
def fresh_allowance() -> None:
    r = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    for key in r.scan_iter(f"{prefix}:rate:*"):
        r.delete(key)


def bearer(raw: str, language: str = "en") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": language}


def token_for(user: Any, scope: str = "submit") -> str:
    return token_create(user=user, name="laptop", scope=scope)[1]


def post_json(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def test_a_token_is_kept_only_as_its_hash_and_works_until_revoked() -> None:
    user = UserFactory()
    token, raw = token_create(user=user, name="laptop", scope="submit")
    assert raw.startswith("ll_") and len(raw) == 46
    stored = Token.objects.get(pk=token.pk)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.prefix == raw[:9]
    client = Client()
    assert client.get("/api/v1/me", **bearer(raw)).json() == {
        "username": user.username,
        "language": "en",
        "token": "laptop",
        "scope": "submit",
    }
    assert Token.objects.get(pk=token.pk).last_used_at is not None
    token_revoke(user=user, token_id=token.pk)
    refused = client.get("/api/v1/me", **bearer(raw))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    assert refused["WWW-Authenticate"] == "Bearer"


def test_no_token_or_a_made_up_one_is_refused_in_the_requested_language() -> None:
    client = Client()
    english = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 401
    assert english.json() == {
        "code": "unauthorized",
        "message": "This needs a valid token: make one on your account page, or run `layerlab login`.",
    }
    korean = client.get("/api/v1/me", **bearer("ll_" + "x" * 43, "ko"))
    assert korean.status_code == 401
    assert korean.json()["message"] == (
        "유효한 토큰이 필요합니다. 내 계정 페이지에서 만들거나 `layerlab login`을 실행하세요."
    )


def test_without_accept_language_the_answer_is_in_the_accounts_language() -> None:
    user = UserFactory()
    profile_language_set(user=user, language="en")
    raw = token_for(user)
    response = Client().get("/api/v1/submissions/999999", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_a_read_token_cannot_submit() -> None:
    user, exercise = UserFactory(), ExerciseFactory()
    raw = token_for(user, scope="read")
    response = post_json(
        Client(),
        "/api/v1/submissions",
        {"course": exercise.course.slug, "exercise": exercise.slug, "dockerfile": "FROM scratch\n"},
        **bearer(raw),
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": "This token may only read. Make one that may submit.",
    }
    assert not Submission.objects.filter(owner=user).exists()


def test_another_students_submission_is_404_through_the_api_as_on_the_pages() -> None:
    owner, other = UserFactory(), UserFactory()
    submission = SubmissionFactory(owner=owner)
    event_emit(submission_id=submission.pk, kind="status", payload={"status": "queued", "message": ""})
    client = Client()
    client.force_login(other)
    assert client.get(f"/labs/submissions/{submission.pk}/").status_code == 404
    raw = token_for(other)
    for path in ("", "/events", "/stream"):
        response = client.get(f"/api/v1/submissions/{submission.pk}{path}", **bearer(raw))
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    mine = Client().get(f"/api/v1/submissions/{submission.pk}", **bearer(token_for(owner)))
    assert mine.status_code == 200
    assert mine.json()["status"] == "queued"


def test_a_submission_through_the_api_is_queued_like_one_from_the_page() -> None:
    user, exercise = UserFactory(), ExerciseFactory()
    response = post_json(
        Client(),
        "/api/v1/submissions",
        {
            "course": exercise.course.slug,
            "exercise": exercise.slug,
            "dockerfile": '\ufeffFROM python:3.11-slim\r\nCMD ["python"]\r\n',
            "dockerignore": ".git\n",
        },
        **bearer(token_for(user)),
    )
    assert response.status_code == 201
    body = response.json()
    made = Submission.objects.get(owner=user)
    assert made.dockerfile == 'FROM python:3.11-slim\nCMD ["python"]\n'
    assert made.dockerignore == ".git\n"
    assert body["id"] == made.pk
    assert body["url"] == f"http://testserver/labs/submissions/{made.pk}/"
    assert body["status"] == "queued"
    assert body["passing_score"] == 60.0
    assert body["last_event_seq"] == 1
    events = Client().get(f"/api/v1/submissions/{made.pk}/events?after=0", **bearer(token_for(user)))
    assert [(e["seq"], e["kind"], e["payload"]["status"]) for e in events.json()["events"]] == [
        (1, "status", "queued")
    ]


@pytest.mark.parametrize(
    ("dockerfile", "status", "code", "message"),
    [
        ("  \n", 400, "empty", "The Dockerfile is empty."),
        ("FROM scratch\n" + "#" * 70_000, 400, "too_large", "The Dockerfile is larger than 64 KiB."),
        ("FROM scratch\nRUN echo \ud800\n", 400, "not_utf8", None),
    ],
)
def test_a_refused_dockerfile_is_told_with_its_code(
    dockerfile: str, status: int, code: str, message: str | None
) -> None:
    user, exercise = UserFactory(), ExerciseFactory()
    response = post_json(
        Client(),
        "/api/v1/submissions",
        {"course": exercise.course.slug, "exercise": exercise.slug, "dockerfile": dockerfile},
        **bearer(token_for(user)),
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    if message:
        assert response.json()["message"] == message
    else:
        assert response.json()["message"].startswith("Line 2")
    assert not Submission.objects.filter(owner=user).exists()


def test_the_attempt_cap_holds_through_the_api_and_runs_say_how_many_are_left() -> None:
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course, time_zone="Asia/Seoul")
    student = MembershipFactory(run=run, user=UserFactory()).user
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=1)
    raw = token_for(student)
    client = Client()
    listed = client.get("/api/v1/runs", **bearer(raw)).json()
    assert [(r["slug"], r["role"]) for r in listed] == [(run.slug, "student")]
    [shown] = listed[0]["assignments"]
    assert (shown["id"], shown["phase"], shown["time_zone"], shown["max_attempts"]) == (
        assignment.pk,
        "open",
        "Asia/Seoul",
        1,
    )
    assert [
        (e["slug"], e["attempts_used"], e["attempts_left"], e["refusal"]) for e in shown["exercises"]
    ] == [(exercise.slug, 0, 1, None)]
    body = {
        "course": exercise.course.slug,
        "exercise": exercise.slug,
        "assignment": assignment.pk,
        "dockerfile": "FROM python:3.11-slim\n",
    }
    assert post_json(client, "/api/v1/submissions", body, **bearer(raw)).status_code == 201
    refused = post_json(client, "/api/v1/submissions", body, **bearer(raw, "ko"))
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "no_attempts",
        "message": "이 과제에서 이 실습의 시도 1회를 모두 썼습니다. 더 이상 제출할 수 없습니다.",
    }
    again = client.get("/api/v1/runs", **bearer(raw)).json()[0]["assignments"][0]["exercises"][0]
    assert (again["attempts_used"], again["attempts_left"], again["refusal_code"]) == (1, 0, "no_attempts")


def test_an_assignment_of_another_run_is_404() -> None:
    exercise = ExerciseFactory()
    assignment = AssignmentFactory(run=CourseRunFactory(course=exercise.course), exercises=[exercise])
    outsider = UserFactory()
    response = post_json(
        Client(),
        "/api/v1/submissions",
        {
            "course": exercise.course.slug,
            "exercise": exercise.slug,
            "assignment": assignment.pk,
            "dockerfile": "FROM scratch\n",
        },
        **bearer(token_for(outsider)),
    )
    assert response.status_code == 404
    assert not Submission.objects.exists()


def test_the_per_minute_pace_is_a_429_with_retry_after(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE = 1
    user, exercise = UserFactory(), ExerciseFactory()
    body = {
        "course": exercise.course.slug,
        "exercise": exercise.slug,
        "dockerfile": "FROM python:3.11-slim\n",
    }
    client = Client()
    assert post_json(client, "/api/v1/submissions", body, **bearer(token_for(user))).status_code == 201
    Submission.objects.update(status=Submission.Status.DONE)
    refused = post_json(client, "/api/v1/submissions", body, **bearer(token_for(user)))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 61


def test_an_exercise_gives_what_the_page_shows_and_not_the_solution() -> None:
    exercise = ExerciseFactory(
        solution_dockerfile="FROM python:3.11-slim AS secret-solution\n",
        rubric={"required_cap": 59, "passing_score": 80, "criteria": [{"id": "sec.non_root", "weight": 10}]},
    )
    body = Client().get(
        f"/api/v1/exercises/{exercise.course.slug}/{exercise.slug}", **bearer(token_for(UserFactory()))
    )
    data = body.json()
    assert data["starter_dockerfile"] == exercise.starter_dockerfile
    assert data["passing_score"] == 80.0
    assert [(f["path"], f["size"], f["text"]) for f in data["context_files"]] == [
        ("app.py", 28, 'print("hello from the app")\n'),
        ("requirements.txt", 0, ""),
    ]
    assert "secret-solution" not in body.content.decode()
    listed = Client().get("/api/v1/exercises", **bearer(token_for(UserFactory()))).json()
    assert [(e["course"], e["slug"], e["passing_score"]) for e in listed] == [
        (exercise.course.slug, exercise.slug, 80.0)
    ]


def test_events_come_a_page_at_a_time_and_say_when_there_are_more() -> None:
    user = UserFactory()
    submission = SubmissionFactory(owner=user)
    for n in range(7):
        event_emit(
            submission_id=submission.pk, kind="log", payload={"lines": [{"step": "s", "line": str(n)}]}
        )
    client, auth = Client(), bearer(token_for(user))
    first = client.get(f"/api/v1/submissions/{submission.pk}/events?after=0&limit=5", **auth).json()
    assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4, 5]
    assert (first["more"], first["finished"]) == (True, False)
    rest = client.get(f"/api/v1/submissions/{submission.pk}/events?after=5&limit=5", **auth).json()
    assert [e["seq"] for e in rest["events"]] == [6, 7]
    assert rest["more"] is False


def test_staff_get_the_gradebook_and_students_a_404() -> None:
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course)
    student = MembershipFactory(run=run, user=UserFactory(username="bora")).user
    teacher = MembershipFactory(run=run, user=UserFactory(), role=Membership.Role.INSTRUCTOR).user
    assignment = AssignmentFactory(run=run, exercises=[exercise])
    url = f"/api/v1/runs/{run.slug}/assignments/{assignment.pk}/gradebook"
    book = Client().get(url, **bearer(token_for(teacher)))
    assert book.status_code == 200
    assert [s["username"] for s in book.json()["students"]] == ["bora"]
    assert Client().get(url, **bearer(token_for(student))).status_code == 404


def test_a_token_from_a_password_is_rate_limited_per_username(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LAYERLAB_TOKEN_TRIES_PER_MINUTE = 3
    UserFactory(username="dana")
    client = Client()
    wrong = {"username": "dana", "password": "nope", "name": "cli"}
    statuses = [
        post_json(client, "/api/v1/tokens", wrong, HTTP_ACCEPT_LANGUAGE="en").status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    right = {"username": "dana", "password": "pw-for-tests", "name": "cli"}
    limited = post_json(client, "/api/v1/tokens", right, HTTP_ACCEPT_LANGUAGE="en")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert not Token.objects.exists()


def test_a_token_from_a_password_works_once_made() -> None:
    UserFactory(username="eun")
    made = post_json(
        Client(),
        "/api/v1/tokens",
        {"username": "eun", "password": "pw-for-tests", "name": "cli", "scope": "read"},
    )
    assert made.status_code == 201
    assert made.json()["scope"] == "read"
    me = Client().get("/api/v1/me", **bearer(made.json()["token"]))
    assert me.json()["username"] == "eun"
    gone = Client().delete("/api/v1/tokens/current", **bearer(made.json()["token"]))
    assert gone.status_code == 204
    assert Client().get("/api/v1/me", **bearer(made.json()["token"])).status_code == 401


def test_the_schema_is_generated_and_the_reference_page_served() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Layerlab API"
    assert set(schema["paths"]) == {
        "/api/v1/tokens",
        "/api/v1/tokens/current",
        "/api/v1/me",
        "/api/v1/runs",
        "/api/v1/exercises",
        "/api/v1/exercises/{course}/{slug}",
        "/api/v1/submissions",
        "/api/v1/submissions/{submission_id}",
        "/api/v1/submissions/{submission_id}/events",
        "/api/v1/submissions/{submission_id}/stream",
        "/api/v1/runs/{run}/assignments/{assignment_id}/gradebook",
    }
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in page.content  # served here, not from a CDN


def test_the_account_page_makes_shows_once_and_revokes_tokens() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    made = client.post("/account/", {"name": "course CI", "scope": "read"}, HTTP_ACCEPT_LANGUAGE="en")
    assert made.status_code == 200
    token = Token.objects.get(user=user)
    shown = made.content.decode()
    raw = shown.split('data-role="token" tabindex="0">')[1].split("<")[0]
    assert raw.startswith(token.prefix)
    assert Client().get("/api/v1/me", **bearer(raw)).json()["scope"] == "read"
    again = client.get("/account/").content.decode()
    assert raw not in again and f"{token.prefix}…" in again
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert Token.objects.get(pk=token.pk).revoked_at is not None
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401
    other = Client()
    other.force_login(UserFactory())
    assert other.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404


def test_last_use_is_written_at_most_once_a_minute() -> None:
    user = UserFactory()
    token, raw = token_create(user=user, name="ci", scope="read")
    earlier = timezone.now() - timedelta(seconds=30)
    Token.objects.filter(pk=token.pk).update(last_used_at=earlier)
    Client().get("/api/v1/me", **bearer(raw))
    assert Token.objects.get(pk=token.pk).last_used_at == earlier
    Token.objects.filter(pk=token.pk).update(last_used_at=earlier - timedelta(minutes=1))
    Client().get("/api/v1/me", **bearer(raw))
    assert Token.objects.get(pk=token.pk).last_used_at > earlier
