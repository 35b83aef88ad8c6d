"""A regrade never stays running for ever: a lost item is sent again, an item that keeps losing
its worker ends as an error, and the preview becomes ready with it listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labs import services
from labs.models import Regrade, RegradeItem, Submission
from tests.factories import AssignmentFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def running():  # type: ignore[no-untyped-def]
    assignment = AssignmentFactory()
    regrade = Regrade.objects.create(assignment=assignment)
    return regrade


def item(regrade: Regrade, **fields: object) -> RegradeItem:
    submission = SubmissionFactory(status=Submission.Status.DONE, score=50.0)
    return RegradeItem.objects.create(regrade=regrade, submission=submission, old_score=50.0, **fields)


def test_the_sweep_sends_again_what_was_sent_long_ago_and_never_started(
    running, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue_regrade", sent.append)  # the broker is not what this is about
    long_ago = timezone.now() - timedelta(seconds=settings.LAYERLAB_QUEUE_RESEND_SECONDS + 60)
    lost = item(running, enqueued_at=long_ago)
    item(running, enqueued_at=timezone.now())  # sent just now: waiting its turn
    item(running, enqueued_at=long_ago, started_at=timezone.now())  # a live worker has it
    dead = item(
        running,
        enqueued_at=long_ago,
        started_at=long_ago - timedelta(seconds=settings.LAYERLAB_TASK_TIME_LIMIT),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.regrade_sweep() == 2
    assert sorted(sent) == sorted([lost.pk, dead.pk])


def test_an_item_that_lost_its_worker_too_often_ends_as_an_error_and_the_preview_is_ready(
    running, settings
) -> None:
    worn = item(running, attempts=settings.LAYERLAB_MAX_GRADE_ATTEMPTS)
    services.regrade_item_run(item_id=worn.pk)
    worn.refresh_from_db()
    assert (worn.status, worn.message) == (
        RegradeItem.Status.ERROR,
        "could not regrade: a worker was lost each time",
    )
    assert Regrade.objects.get(pk=running.pk).status == Regrade.Status.READY


def test_a_duplicate_delivery_of_an_item_a_live_worker_has_does_nothing(running) -> None:
    busy = item(running, started_at=timezone.now(), attempts=1)
    services.regrade_item_run(item_id=busy.pk)
    busy.refresh_from_db()
    assert (busy.status, busy.attempts) == (RegradeItem.Status.PENDING, 1)
