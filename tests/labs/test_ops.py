"""The health endpoint and the Prometheus metrics, as a monitor and a scraper read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.test import Client
from django.utils import timezone

from labs import hosts, metrics, services
from labs.events import event_emit
from labs.models import BuildHost, Submission
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db

Status = Submission.Status


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


def host(name: str, *, ago: float = 0, missing: list[str] | None = None) -> BuildHost:
    return BuildHost.objects.create(
        name=name,
        queue=hosts.host_queue(name),
        engine_ok=True,
        engine_version="20.10.24",
        bases=["debian:bookworm-slim"],
        missing=missing or [],
        seen_at=timezone.now() - timedelta(seconds=ago),
    )


def test_health_is_ok_with_one_live_build_host_and_names_what_another_lacks(client, clean_redis) -> None:
    host("a")
    host("b", missing=["node:18-bookworm-slim"])

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert sorted(body["checks"]["build_hosts"]["hosts"]) == ["a", "b"]
    assert body["checks"]["build_hosts"]["hosts"]["b"]["missing_bases"] == ["node:18-bookworm-slim"]


def test_health_is_503_when_no_build_host_has_reported_lately(client, clean_redis, settings) -> None:
    host("gone", ago=settings.LAYERLAB_HOST_STALE_SECONDS + 5)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["build_hosts"]["ok"] is False
    assert body["checks"]["build_hosts"]["hosts"]["gone"]["ok"] is False


def test_a_host_is_low_on_disk_by_its_own_threshold_not_the_webs(client, clean_redis, settings) -> None:
    settings.LAYERLAB_ENGINE_MIN_FREE_BYTES = 1024**3  # the web server's own setting plays no part
    roomy = host("roomy")
    roomy.disk_free_bytes, roomy.disk_min_free_bytes = 652 * 10**6, 64 * 1024**2
    roomy.save()
    tight = host("tight")
    tight.disk_free_bytes, tight.disk_min_free_bytes = 40 * 10**6, 64 * 1024**2
    tight.save()

    response = client.get("/healthz")

    hosts_seen = response.json()["checks"]["build_hosts"]["hosts"]
    assert hosts_seen["roomy"]["ok"] is True
    assert hosts_seen["tight"]["ok"] is False
    assert hosts_seen["tight"]["error"] == "the engine's disk is nearly full: 40 MB free"


def test_health_is_503_when_redis_does_not_answer(client, settings) -> None:
    host("a")
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    metrics._redis.cache_clear()
    try:
        response = client.get("/healthz")
    finally:
        metrics._redis.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False


def scrape(client: Client) -> dict[str, float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_outcomes_by_failure_code_and_time_the_gradings(client, clean_redis) -> None:
    now = timezone.now()
    for seconds, status, code in [
        (3, Status.DONE, ""),
        (40, Status.FAILED, "run_failed"),
        (50, Status.FAILED, "run_failed"),
    ]:
        SubmissionFactory(
            status=status,
            failure_code=code,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
            build_seconds=seconds / 2,
        )
    SubmissionFactory(status=Status.QUEUED)

    samples = scrape(client)

    assert samples['layerlab_submissions_finished_total{failure_code="",status="done"}'] == 1
    assert samples['layerlab_submissions_finished_total{failure_code="run_failed",status="failed"}'] == 2
    assert samples['layerlab_submissions_active{status="queued"}'] == 1
    assert samples['layerlab_grading_seconds_bucket{le="5.0"}'] == 1
    assert samples['layerlab_grading_seconds_bucket{le="30.0"}'] == 1
    assert samples['layerlab_grading_seconds_bucket{le="60.0"}'] == 3
    assert samples["layerlab_grading_seconds_count"] == 3
    assert samples["layerlab_grading_seconds_sum"] == pytest.approx(93, abs=0.5)
    assert samples['layerlab_build_seconds_bucket{le="15.0"}'] == 1
    assert samples["layerlab_build_seconds_sum"] == pytest.approx(46.5)


def test_metrics_read_each_queues_depth_from_the_broker(client, clean_redis) -> None:
    host("b")
    broker = redis.Redis.from_url(settings.REDIS_URL)
    # Sent as the web app sends them (no worker of host b runs now): the keys are the broker's own.
    for _ in range(3):
        current_app.send_task(services.GRADE_TASK, args=[0], queue="sandbox.b")
    try:
        samples = scrape(client)
    finally:
        broker.delete(settings.LAYERLAB_BROKER_PREFIX + "sandbox.b")
    assert samples['layerlab_queue_depth{queue="sandbox.b"}'] == 3
    assert samples['layerlab_queue_depth{queue="default"}'] == 0
    assert samples['layerlab_build_host_up{host="b"}'] == 1


def test_each_pushed_event_is_counted(client, clean_redis, django_capture_on_commit_callbacks) -> None:
    submission = SubmissionFactory()
    before = scrape(client)["layerlab_events_pushed_total"]
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(submission_id=submission.pk, kind="log", payload={"lines": []})
        event_emit(submission_id=submission.pk, kind="log", payload={"lines": []})
    assert scrape(client)["layerlab_events_pushed_total"] == before + 2


def test_the_system_check_refuses_a_metrics_allow_entry_that_is_not_an_address(settings, capsys) -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.LAYERLAB_METRICS_ALLOW = ["127.0.0.1", "prometheus.internal", "10.0.0.0/8"]
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--tag", "layerlab")
    assert "layerlab.E001" in str(raised.value)
    assert "not addresses or networks: prometheus.internal" in str(raised.value)


def test_metrics_are_not_served_to_an_address_outside_the_allow_list(client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"layerlab_" not in response.content
