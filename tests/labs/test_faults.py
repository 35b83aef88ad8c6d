"""Each failure goes to the party that caused it, and nothing is left in a state nothing moves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labs import services
from labs.models import Exercise, Submission
from sandbox import engine
from tests.factories import ExerciseFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

Status = Submission.Status
GOOD = 'FROM python:3.11-slim\nWORKDIR /app\nCOPY app.py .\nUSER 1000\nCMD ["python3", "app.py"]\n'
INVALID_TESTS = {"schemaVersion": "2.0.0", "commandTests": [{"name": "hello", "comand": "python3"}]}
VALID_TESTS = {
    "schemaVersion": "2.0.0",
    "fileExistenceTests": [{"name": "the app is there", "path": "/app/app.py", "shouldExist": True}],
}


@pytest.mark.docker
def test_an_invalid_behaviour_test_holds_the_submission_and_tells_staff_not_the_student() -> None:
    exercise = ExerciseFactory(behaviour_tests=INVALID_TESTS)
    submission = SubmissionFactory(exercise=exercise, dockerfile=GOOD)

    services.submission_grade(submission_id=submission.pk)

    submission.refresh_from_db()
    exercise.refresh_from_db()
    assert submission.status == Status.HELD
    assert submission.score is None
    assert submission.counts_as_attempt is False
    assert submission.failure_code == "exercise_behaviour_tests"
    assert submission.failure_message == services.HELD_MESSAGE
    final = submission.events.filter(kind="status").last().payload
    assert final["message_ko"].startswith("이 실습 문제에 출제자가 고쳐야 할 문제가 있으며")
    assert "comand" not in final["message"]  # the detail is for staff
    assert exercise.problem.startswith("behaviour_tests: the exercise's behaviour tests are invalid:")
    assert "comand" in exercise.problem
    assert engine.labelled_leftovers(value=str(submission.pk)) == {"containers": [], "images": []}


@pytest.mark.docker
def test_fixing_the_exercise_grades_its_held_submissions() -> None:
    exercise = ExerciseFactory(behaviour_tests=INVALID_TESTS)
    submission = SubmissionFactory(exercise=exercise, dockerfile=GOOD)
    services.submission_grade(submission_id=submission.pk)

    Exercise.objects.filter(pk=exercise.pk).update(behaviour_tests=VALID_TESTS)
    assert services.exercise_problem_clear(exercise=exercise) == 1
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED
    assert submission.events.filter(kind="status").last().payload["code"] == "released"

    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Status.DONE
    assert submission.counts_as_attempt is True
    assert Exercise.objects.get(pk=exercise.pk).problem == ""


@pytest.mark.docker
def test_a_broken_context_is_the_exercises_fault_not_context_too_large_for_the_student() -> None:
    exercise = ExerciseFactory(context_files={"../outside.txt": "x", "app.py": "print(1)\n"})
    submission = SubmissionFactory(exercise=exercise, dockerfile=GOOD)

    services.submission_grade(submission_id=submission.pk)

    submission.refresh_from_db()
    assert submission.status == Status.HELD
    assert submission.failure_code == "exercise_context"
    assert "'../outside.txt' is not a plain relative path" in Exercise.objects.get(pk=exercise.pk).problem


def test_a_submission_a_live_worker_is_grading_is_left_to_it() -> None:
    submission = SubmissionFactory(status=Status.BUILDING, attempts=1, heartbeat_at=timezone.now())
    with pytest.raises(services.Busy):
        services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.attempts) == (Status.BUILDING, 1)


def test_the_sweep_moves_on_what_a_dead_worker_left_and_nothing_else(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.LAYERLAB_MAX_GRADE_ATTEMPTS = 3
    long_ago = timezone.now() - timedelta(seconds=settings.LAYERLAB_HEARTBEAT_STALE_SECONDS + 5)
    dead = SubmissionFactory(status=Status.BUILDING, attempts=1, heartbeat_at=long_ago)
    spent = SubmissionFactory(status=Status.ANALYSING, attempts=3, heartbeat_at=long_ago)
    alive = SubmissionFactory(status=Status.BUILDING, attempts=1, heartbeat_at=timezone.now())
    lost = SubmissionFactory(
        status=Status.QUEUED,
        enqueued_at=timezone.now() - timedelta(seconds=settings.LAYERLAB_QUEUE_RESEND_SECONDS + 5),
    )
    waiting = SubmissionFactory(status=Status.QUEUED, enqueued_at=timezone.now())
    held = SubmissionFactory(status=Status.HELD, heartbeat_at=long_ago)

    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue", sent.append)  # the broker is not what this is about
    settings.CHANNEL_LAYERS = {}  # nor the pushes to open pages (tests/labs/test_consumers.py)
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.submission_sweep()

    assert moved == {"requeued": 1, "ended": 1, "resent": 1}
    assert sorted(sent) == sorted([dead.pk, lost.pk])
    states = {s.pk: s.status for s in Submission.objects.all()}
    assert states == {
        dead.pk: Status.QUEUED,
        spent.pk: Status.ERROR,
        alive.pk: Status.BUILDING,
        lost.pk: Status.QUEUED,
        waiting.pk: Status.QUEUED,
        held.pk: Status.HELD,
    }
    assert Submission.objects.get(pk=spent.pk).failure_code == "our_fault"
    assert Submission.objects.get(pk=dead.pk).events.last().payload["code"] == "retrying"


def test_a_build_scope_cleans_up_without_raising_when_the_engine_is_gone(monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine.client.cache_clear()
    try:
        with engine.build_scope("scope-test") as scope:
            assert scope.tag.startswith("layerlab-scope-test:")
            assert scope.labels == {engine.LABEL_SUBMISSION: "scope-test"}
    finally:
        monkeypatch.undo()
        engine.client.cache_clear()


def test_after_the_broker_lost_its_data_the_sweep_sends_every_queued_submission_again(
    settings, django_capture_on_commit_callbacks, monkeypatch, clean_redis
) -> None:
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(services._broker_mark())
    just_now = SubmissionFactory(status=Status.QUEUED, enqueued_at=timezone.now())
    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue", sent.append)
    settings.CHANNEL_LAYERS = {}

    assert services.broker_restarted() is True
    assert services.broker_restarted() is False  # the mark is back: nothing was lost since
    with django_capture_on_commit_callbacks(execute=True):
        assert services.submission_sweep(resend_all=False)["resent"] == 0
        assert services.submission_sweep(resend_all=True)["resent"] == 1
    assert sent == [just_now.pk]


def test_a_task_for_a_submission_deleted_since_it_was_sent_does_nothing(caplog) -> None:
    submission = SubmissionFactory()
    pk = submission.pk
    submission.delete()
    with caplog.at_level("INFO", logger="labs.services"):
        services.submission_grade(submission_id=pk)
    assert f"submission {pk} no longer exists" in caplog.text
