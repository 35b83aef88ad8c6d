"""Warns when the build engine is older than the releases that fixed the known escapes
(docs/sandbox.md). Never an error: the platform refuses the risky syntax anyway."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from sandbox import cgroups, engine

BUILDKIT_FIXED_ENGINE = (25, 0, 2)
RUNC_FIXED = (1, 1, 12)


def _version(text: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def _debian_runc_patched() -> bool:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "runc"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except OSError:
        return False
    return "deb12u" in out


@register("layerlab")
def metrics_allow_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every LAYERLAB_METRICS_ALLOW entry must be an address or a network: /metrics compares the
    client's address with them, and a host name there would fail every scrape."""
    wrong = []
    for entry in settings.LAYERLAB_METRICS_ALLOW:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            wrong.append(entry)
    if not wrong:
        return []
    return [
        Error(
            f"LAYERLAB_METRICS_ALLOW has entries that are not addresses or networks: {', '.join(wrong)}",
            hint="Give addresses or networks, e.g. 127.0.0.1,10.0.0.0/8 (no host names).",
            id="layerlab.E001",
        )
    ]


@register("layerlab")
def broker_visibility_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A task the broker hands out again while it still runs is not graded twice (the second
    delivery finds the submission alive and waits), but it is work and log noise for nothing."""
    hard_limit = settings.CELERY_TASK_TIME_LIMIT
    if hard_limit < settings.LAYERLAB_VISIBILITY_TIMEOUT:
        return []
    return [
        Warning(
            f"The broker's visibility timeout ({settings.LAYERLAB_VISIBILITY_TIMEOUT} s) is not longer "
            f"than a grading may run ({hard_limit} s): long builds will be delivered again while "
            "they run.",
            hint="Leave LAYERLAB_VISIBILITY_TIMEOUT unset (twice LAYERLAB_TASK_TIME_LIMIT) or raise it.",
            id="layerlab.W006",
        )
    ]


@register("layerlab")
def engine_versions_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    try:
        versions = engine.engine_versions()
    except engine.EngineError as exc:
        return [
            Warning(
                f"Docker engine unreachable: {exc}", hint="Run bin/host-setup as root.", id="layerlab.W001"
            )
        ]
    warnings = []
    if _version(versions["engine"]) < BUILDKIT_FIXED_ENGINE:
        warnings.append(
            Warning(
                f"Docker Engine {versions['engine']} bundles a BuildKit older than 0.12.5 "
                "(CVE-2024-23651/23652/23653).",
                hint="Layerlab refuses `# syntax=` lines and cache mounts with source=/from= and never "
                "passes secrets or ssh; upgrade to Docker Engine 25.0.2 or newer anyway.",
                id="layerlab.W002",
            )
        )
    if not engine.registry_proxy():
        warnings.append(
            Warning(
                "The Docker engine can reach registries: nothing stops it pulling an image a "
                "Dockerfile names if the platform's own checks ever miss one.",
                hint="Start dockerd with HTTPS_PROXY and HTTP_PROXY set to a closed local port "
                "(bin/host-setup uses http://127.0.0.1:9).",
                id="layerlab.W004",
            )
        )
    reason = cgroups.available(settings.LAYERLAB_CGROUP)
    if reason:
        warnings.append(
            Warning(
                f"Builds cannot get a cgroup each: {reason}.",
                hint="Every build then shares the engine's one pids and memory cap, so one fork bomb "
                "can fail the builds beside it. Run the worker as root on an engine bin/host-setup started.",
                id="layerlab.W005",
            )
        )
    runc = versions.get("runc", "")
    if runc and _version(runc) < RUNC_FIXED and not _debian_runc_patched():
        warnings.append(
            Warning(
                f"runc {runc} predates the fix for CVE-2024-21626 (Leaky Vessels).",
                hint="Upgrade runc to 1.1.12 or newer (Debian 12: 1.1.5+ds1-1+deb12u1).",
                id="layerlab.W003",
            )
        )
    return warnings
