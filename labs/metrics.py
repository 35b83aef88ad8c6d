"""What Prometheus scrapes from `/metrics`, and the health checks of `/healthz`.

Read at scrape time from where the truth already is, so every web process answers the same and
nothing is lost when a worker dies: queue depths from the broker (Redis lists), outcomes and
durations from the submissions in the database, build hosts from their reported rows. The only
counters kept for this are the pushes of stored events (`count`), in Redis, because a push leaves
no row; a push that fails or a gap a watcher fills from the store is counted as dropped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from labs import hosts
from labs.models import Submission

log = logging.getLogger(__name__)

QUEUES = ("sandbox", "default")
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
"""Kombu's Redis transport keeps a queue's messages of each priority step in its own list."""
BUILD_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
WAIT_BUCKETS = (0.1, 0.5, 1, 5, 15, 30, 60, 300, 900)
EVENT_COUNTERS = {
    "events_pushed": "Stored events pushed to open pages.",
    "events_push_failed": "Pushes the channel layer refused (the page catches up from the store).",
    "events_gaps_filled": "Gaps a watcher found in the pushes and filled from the store.",
}


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _key(name: str) -> str:
    return f"{settings.LAYERLAB_REDIS_PREFIX}:metrics:{name}"


def count(name: str, by: int = 1) -> None:
    """Adds to one of EVENT_COUNTERS; never raises (a metric is not worth a lost event)."""
    try:
        _redis().incrby(_key(name), by)
    except redis.RedisError:
        log.debug("could not count %s", name, exc_info=True)


def queue_depths(queues: list[str]) -> dict[str, int]:
    client = _redis()
    depths = {}
    for queue in queues:
        with client.pipeline() as pipe:
            for suffix in PRIORITY_SUFFIXES:
                pipe.llen(settings.LAYERLAB_BROKER_PREFIX + queue + suffix)
            depths[queue] = sum(pipe.execute())
    return depths


def _histogram(
    name: str, doc: str, rows: QuerySet[Submission], buckets: tuple[float, ...]
) -> HistogramMetricFamily:
    """A histogram of `d` (seconds as a float or a duration) over `rows`, counted by the
    database in one query."""
    durations = isinstance(rows.query.annotations["d"].output_field, DurationField)

    def bound(seconds: float) -> float | timedelta:
        return timedelta(seconds=seconds) if durations else seconds

    got = rows.aggregate(
        total=Count("pk"),
        total_d=Sum("d"),
        **{f"le_{i}": Count("pk", filter=Q(d__lte=bound(b))) for i, b in enumerate(buckets)},
    )
    total_d = got["total_d"] or 0.0
    family = HistogramMetricFamily(name, doc)
    family.add_metric(
        [],
        [
            *((str(float(b)), float(got[f"le_{i}"])) for i, b in enumerate(buckets)),
            ("+Inf", float(got["total"])),
        ],
        sum_value=total_d.total_seconds() if isinstance(total_d, timedelta) else float(total_d),
    )
    return family


def _since(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


class LayerlabCollector(Collector):
    def collect(self) -> Iterator[Any]:
        reported = hosts.build_hosts_reported()
        queues = [*QUEUES, *(host.queue for host in reported)]
        try:
            depths = queue_depths(queues)
        except redis.RedisError:
            depths = {}
        depth = GaugeMetricFamily("layerlab_queue_depth", "Tasks waiting in a queue.", labels=["queue"])
        for queue, value in depths.items():
            depth.add_metric([queue], value)
        yield depth

        up = GaugeMetricFamily(
            "layerlab_build_host_up", "1 when the host reported a working engine lately.", labels=["host"]
        )
        lacking = GaugeMetricFamily(
            "layerlab_build_host_missing_bases", "Catalogue base images the host lacks.", labels=["host"]
        )
        disk = GaugeMetricFamily(
            "layerlab_build_host_disk_free_bytes", "Free bytes on the host engine's disk.", labels=["host"]
        )
        for host in reported:
            up.add_metric([host.name], 1.0 if host.live and host.engine_ok else 0.0)  # type: ignore[attr-defined]
            lacking.add_metric([host.name], len(host.missing))
            if host.disk_free_bytes is not None:
                disk.add_metric([host.name], host.disk_free_bytes)
        yield up
        yield lacking
        yield disk

        active = GaugeMetricFamily("layerlab_submissions_active", "Submissions by state.", labels=["status"])
        counts = dict(
            Submission.objects.filter(status__in=[*Submission.ACTIVE, Submission.Status.HELD])
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in [*Submission.ACTIVE, Submission.Status.HELD]:
            active.add_metric([status], counts.get(status, 0))
        yield active

        outcomes = CounterMetricFamily(
            "layerlab_submissions_finished",
            "Finished gradings by status and failure code (empty: none).",
            labels=["status", "failure_code"],
        )
        rows = (
            Submission.objects.filter(status__in=Submission.FINISHED)
            .values("status", "failure_code")
            .annotate(n=Count("pk"))
            .order_by("status", "failure_code")
        )
        for row in rows:
            outcomes.add_metric([row["status"], row["failure_code"]], row["n"])
        yield outcomes

        finished = Submission.objects.filter(
            status__in=Submission.FINISHED, started_at__isnull=False, finished_at__isnull=False
        )
        yield _histogram(
            "layerlab_grading_seconds",
            "Seconds from a worker taking a submission to its verdict.",
            finished.annotate(d=_since("finished_at", "started_at")),
            BUILD_BUCKETS,
        )
        yield _histogram(
            "layerlab_queue_wait_seconds",
            "Seconds from submitting to a worker taking it (its last attempt's start).",
            finished.annotate(d=_since("started_at", "created_at")),
            WAIT_BUCKETS,
        )
        yield _histogram(
            "layerlab_build_seconds",
            "Seconds the image build took.",
            Submission.objects.filter(build_seconds__isnull=False).annotate(d=F("build_seconds")),
            BUILD_BUCKETS,
        )

        for name, doc in EVENT_COUNTERS.items():
            family = CounterMetricFamily(f"layerlab_{name}", doc)
            try:
                value = float(_redis().get(_key(name)) or 0)
            except redis.RedisError:
                continue
            family.add_metric([], value)
            yield family


def health() -> dict[str, Any]:
    """Each part the platform needs, checked now (database, Redis) or as last reported (build
    hosts). `ok` is false when the web app cannot serve (database or Redis down, or no live build
    host); a host that lacks base images is reported but does not make the site unhealthy."""
    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": str(exc)[:300]}
    try:
        _redis().ping()
        checks["redis"] = {"ok": True}
    except redis.RedisError as exc:
        checks["redis"] = {"ok": False, "error": str(exc)[:300]}
    host_checks = {}
    if checks["database"]["ok"]:
        for host in hosts.build_hosts_reported():
            error = host.engine_error
            if host.disk_low:
                error = f"the engine's disk is nearly full: {host.disk_free_bytes / 1e6:.0f} MB free"
            host_checks[host.name] = {
                "ok": bool(host.live and host.engine_ok and not host.disk_low),  # type: ignore[attr-defined]
                "engine": host.engine_version,
                "error": error,
                "disk_free_bytes": host.disk_free_bytes,
                "seen_at": host.seen_at.isoformat(),
                "bases": len(host.bases),
                "missing_bases": host.missing,
            }
    checks["build_hosts"] = {
        "ok": any(h["ok"] for h in host_checks.values()),
        "hosts": host_checks,
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
