"""Build hosts. Each runs its own Docker engine and a worker that takes work from the shared
`sandbox` queue and from its own `sandbox.<name>` queue. The worker reports what its engine can
build (the engine answers, which allowlisted base images it has, whether builds there can reach
the package archives) in its BuildHost row; a host that lacks something an exercise needs
passes the submission to a host that has it instead of failing the student, and the health
endpoint shows what each host lacks. The web app only reads the rows: it never touches an engine.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from labs.models import BuildHost, Exercise
from sandbox import engine
from sandbox.catalogue import CATALOGUE
from sandbox.policy import normalize_image

log = logging.getLogger(__name__)


def host_queue(name: str) -> str:
    return f"sandbox.{name}"


def _catalogue_refs() -> list[str]:
    return [image.ref for image in CATALOGUE if not image.is_scratch]


def build_host_report() -> BuildHost:
    """Asks this host's engine what it can build and writes this host's row (run by the worker)."""
    name = settings.LAYERLAB_BUILD_HOST
    bases: list[str] = []
    missing: list[str] = []
    version = error = ""
    space = None
    ok = engine.reachable()
    if ok:
        try:
            version = engine.engine_versions().get("engine", "")
            space = engine.disk_space()
            for ref in _catalogue_refs():
                (bases if engine.image_exists(ref) else missing).append(ref)
        except Exception as exc:  # the engine went away between the ping and the questions
            ok, error = False, str(exc)[:500]
    else:
        error = "the engine does not answer"
    host, _ = BuildHost.objects.update_or_create(
        name=name,
        defaults={
            "queue": host_queue(name),
            "engine_ok": ok,
            "engine_version": version,
            "engine_error": error,
            "bases": bases,
            "missing": missing,
            "package_network": bool(settings.LAYERLAB_PACKAGE_PROXY),
            "disk_free_bytes": space.free_bytes if space else None,
            "disk_total_bytes": space.total_bytes if space else None,
            "disk_min_free_bytes": settings.LAYERLAB_ENGINE_MIN_FREE_BYTES,
            "concurrency": settings.LAYERLAB_BUILD_CONCURRENCY,
            "seen_at": timezone.now(),
        },
    )
    return host


def report_forever(stop: threading.Event) -> None:
    """The worker's main process reports its host now and then until `stop` is set."""
    while True:
        try:
            build_host_report()
        except Exception:
            log.warning("could not report build host %s", settings.LAYERLAB_BUILD_HOST, exc_info=True)
        finally:
            close_old_connections()
        if stop.wait(settings.LAYERLAB_HOST_REPORT_SECONDS):
            return


def _needs(exercise: Exercise) -> list[str]:
    wanted = {normalize_image(ref) for ref in exercise.allowed_base_images}
    return [ref for ref in _catalogue_refs() if normalize_image(ref) in wanted]


def build_host_lacks(exercise: Exercise) -> str:
    """What this host's engine lacks to grade the exercise, in staff's terms; empty if nothing.
    Asks the engine itself (a row may be minutes old); an engine that does not answer is not a
    lack (the grading's own retry handles it)."""
    if exercise.network == "packages" and not settings.LAYERLAB_PACKAGE_PROXY:
        return "no package proxy on this host (network: packages)"
    try:
        absent = [ref for ref in _needs(exercise) if not engine.image_exists(ref)]
    except engine.EngineError:
        return ""
    if absent:
        return f"base images not seeded here: {', '.join(absent)} (run manage.py seed_base_images)"
    return ""


def build_host_for(exercise: Exercise) -> BuildHost | None:
    """Another live host that reported everything the exercise needs (the one with the most
    builds at once first), or None."""
    fresh = timezone.now() - timedelta(seconds=settings.LAYERLAB_HOST_STALE_SECONDS)
    needs = set(_needs(exercise))
    candidates = BuildHost.objects.filter(engine_ok=True, seen_at__gte=fresh).exclude(
        name=settings.LAYERLAB_BUILD_HOST
    )
    if exercise.network == "packages":
        candidates = candidates.filter(package_network=True)
    able = [host for host in candidates.order_by("-concurrency", "name") if needs <= set(host.bases)]
    return able[0] if able else None


def build_hosts_reported() -> list[BuildHost]:
    """Every host that ever reported, each with `live` set: seen within the stale time."""
    fresh = timezone.now() - timedelta(seconds=settings.LAYERLAB_HOST_STALE_SECONDS)
    hosts = list(BuildHost.objects.all())
    for host in hosts:
        host.live = host.seen_at >= fresh  # type: ignore[attr-defined]
    return hosts
