"""Grading service behaviour that needs no worker: faults kept apart, idempotence, batching."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from labs import services
from labs.events import LogBatcher, event_emit
from labs.models import Submission, SubmissionEvent
from sandbox import engine
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    with translation.override("en"):
        yield


@pytest.fixture
def engine_down(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A real unreachable engine: the SDK and the CLI both point at a socket that isn't there."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    for cached in (engine.client, engine.server_version):
        cached.cache_clear()
    yield
    monkeypatch.undo()
    for cached in (engine.client, engine.server_version):
        cached.cache_clear()


def test_an_engine_outage_is_retried_then_reported_as_ours_never_as_the_students(engine_down, settings):
    settings.LAYERLAB_MAX_GRADE_ATTEMPTS = 2
    submission = SubmissionFactory()

    with pytest.raises(services.RetryLater):
        services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.QUEUED
    last = submission.events.filter(kind="status").last().payload
    assert "retried" in last["message"] and "problem on our side" in last["message"]

    services.submission_grade(submission_id=submission.pk)  # the last attempt: no more retries
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ERROR
    assert submission.failure_code == "our_fault"
    assert "does not count against you" in submission.failure_message


@pytest.mark.docker
def test_a_finished_submission_is_not_graded_again_by_a_redelivered_task():
    submission = SubmissionFactory(dockerfile="FROM ubuntu:latest\n")
    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    count = submission.events.count()

    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.events.count() == count
    assert submission.attempts == 1


def test_a_worker_killed_mid_build_gets_a_retry_and_then_gives_up_visibly(settings):
    settings.LAYERLAB_MAX_GRADE_ATTEMPTS = 2
    submission = SubmissionFactory(status=Submission.Status.BUILDING, attempts=2)
    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ERROR
    assert submission.events.filter(kind="status").last().payload["code"] == "our_fault"


def test_events_get_strictly_increasing_seq_per_submission():
    a, b = SubmissionFactory(), SubmissionFactory()
    for i in range(3):
        event_emit(submission_id=a.pk, kind="log", payload={"i": i})
    event_emit(submission_id=b.pk, kind="log", payload={})
    assert list(a.events.values_list("seq", flat=True)) == [1, 2, 3]
    assert list(b.events.values_list("seq", flat=True)) == [1]


def test_log_lines_are_batched_into_few_events_and_none_is_lost():
    submission = SubmissionFactory()
    now = [0.0]
    batcher = LogBatcher(submission.pk, interval=0.2, clock=lambda: now[0])
    for i in range(500):
        now[0] = i * 0.001  # 500 lines in half a second
        batcher.add("#5", f"line {i}")
    batcher.flush()
    events = SubmissionEvent.objects.filter(submission=submission, kind="log")
    assert 2 <= events.count() <= 4
    lines = [entry["line"] for e in events for entry in e.payload["lines"]]
    assert lines == [f"line {i}" for i in range(500)]


def test_a_quiet_moment_flushes_the_batch_on_the_idle_tick():
    submission = SubmissionFactory()
    now = [0.0]
    batcher = LogBatcher(submission.pk, interval=0.2, clock=lambda: now[0])
    batcher.add("#5", "only line")
    assert not submission.events.exists()
    now[0] = 0.21
    batcher.tick()
    assert submission.events.get().payload["lines"] == [{"step": "#5", "line": "only line"}]


def test_too_many_submissions_in_flight_are_refused_with_a_clear_message(settings):
    settings.LAYERLAB_MAX_ACTIVE_SUBMISSIONS = 1
    student = UserFactory()
    first = SubmissionFactory(owner=student, status=Submission.Status.BUILDING)
    with pytest.raises(ValidationError, match="being graded"):
        services.submission_create(owner=student, exercise=first.exercise, dockerfile="FROM scratch\n")
    assert Submission.objects.filter(owner=student).count() == 1


def test_an_oversized_dockerfile_is_refused_before_anything_is_stored():
    sub = SubmissionFactory()
    with pytest.raises(ValidationError, match="larger than 64 KiB"):
        services.submission_create(owner=sub.owner, exercise=sub.exercise, dockerfile="#" * 70_000)
    assert Submission.objects.count() == 1


def test_more_than_the_per_minute_limit_on_one_exercise_is_refused_counting_what_its_history_shows(settings):
    settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE = 2
    student = UserFactory()
    exercise = ExerciseFactory()
    for _ in range(2):
        SubmissionFactory(owner=student, exercise=exercise, status=Submission.Status.DONE)
    SubmissionFactory(owner=student, status=Submission.Status.DONE)  # another exercise: not counted
    with pytest.raises(ValidationError) as refused:
        services.submission_create(owner=student, exercise=exercise, dockerfile="FROM scratch\n")
    assert refused.value.code == "rate_limited"
    assert refused.value.messages[0].startswith(
        "You have submitted to this exercise 2 times in the last minute. Try again in "
    )
    other = services.submission_create(owner=student, exercise=ExerciseFactory(), dockerfile="FROM scratch\n")
    assert other.status == Submission.Status.QUEUED


def test_refusals_reach_a_korean_student_in_korean_with_the_line():
    from labs.grading.catalogue import korean

    text = korean(
        "base_not_allowed",
        'line 1: base image "ubuntu:latest" is not available here.',
        {"line": "1", "base": "ubuntu:latest", "allowed": "python:3.11-slim, scratch"},
        1,
    )
    assert (
        text
        == '1번째 줄: 베이스 이미지 "ubuntu:latest"는 여기서 쓸 수 없습니다. 다음 중 하나를 쓰세요: python:3.11-slim, scratch'  # noqa: E501
    )
    assert korean("no_such_code", "English stays", {}, None) == "English stays"


def test_a_students_second_submission_waits_while_their_first_is_being_built():
    student = UserFactory()
    building = SubmissionFactory(
        owner=student, status=Submission.Status.BUILDING, heartbeat_at=timezone.now()
    )
    waiting = SubmissionFactory(owner=student, status=Submission.Status.QUEUED)
    classmate = SubmissionFactory(status=Submission.Status.QUEUED)
    with pytest.raises(services.OwnerBusy):
        services.submission_grade(submission_id=waiting.pk)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (Submission.Status.QUEUED, 0)
    assert services._claim(classmate.pk).status == Submission.Status.BUILDING  # others are not held up
    Submission.objects.filter(pk=building.pk).update(status=Submission.Status.DONE)
    assert services._claim(waiting.pk).status == Submission.Status.BUILDING
