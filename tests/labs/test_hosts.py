"""Which build host gets work another host cannot do (the rows the workers report; no engine)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labs import hosts
from labs.models import BuildHost
from tests.factories import ExerciseFactory

pytestmark = pytest.mark.django_db

BASES = ["debian:bookworm-slim", "python:3.11-slim"]


def reported(
    name: str, *, bases: list[str], ago: float = 0, ok: bool = True, packages: bool = True, room: int = 2
):
    return BuildHost.objects.create(
        name=name,
        queue=hosts.host_queue(name),
        engine_ok=ok,
        bases=bases,
        package_network=packages,
        concurrency=room,
        seen_at=timezone.now() - timedelta(seconds=ago),
    )


def test_work_goes_to_a_live_host_with_every_base_the_exercise_allows(settings) -> None:
    settings.LAYERLAB_BUILD_HOST = "here"
    exercise = ExerciseFactory(allowed_base_images=BASES)
    reported("here", bases=BASES)
    reported("stale", bases=BASES, ago=settings.LAYERLAB_HOST_STALE_SECONDS + 1)
    reported("broken", bases=BASES, ok=False)
    reported("partial", bases=BASES[:1])
    reported("able", bases=[*BASES, "node:18-bookworm-slim"])

    chosen = hosts.build_host_for(exercise)

    assert chosen is not None
    assert (chosen.name, chosen.queue) == ("able", "sandbox.able")


def test_a_packages_exercise_goes_only_to_a_host_with_the_package_network(settings) -> None:
    settings.LAYERLAB_BUILD_HOST = "here"
    exercise = ExerciseFactory(allowed_base_images=BASES[:1], network="packages")
    reported("offline", bases=BASES, packages=False, room=8)
    reported("online", bases=BASES, room=1)

    assert hosts.build_host_for(exercise).name == "online"


def test_no_host_is_chosen_when_none_has_the_bases(settings) -> None:
    settings.LAYERLAB_BUILD_HOST = "here"
    reported("small", bases=BASES[:1])
    assert hosts.build_host_for(ExerciseFactory(allowed_base_images=BASES)) is None


def test_a_host_without_the_package_proxy_says_so_for_a_packages_exercise(settings) -> None:
    settings.LAYERLAB_PACKAGE_PROXY = ""
    lack = hosts.build_host_lacks(ExerciseFactory(network="packages"))
    assert lack == "no package proxy on this host (network: packages)"
