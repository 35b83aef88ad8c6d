"""The limits one build runs under. The run limits follow what Judge0, PrairieLearn and
INGInious use; the per-build shares are the engine's caps (bin/host-setup) divided by the
builds a worker host runs at once."""

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class BuildLimits:
    timeout_seconds: float = 300.0
    log_cap_bytes: int = 1 * MiB
    context_cap_bytes: int = 50 * MiB
    image_cap_bytes: int = 2 * GiB
    dockerfile_cap_bytes: int = 64 * 1024
    pids_max: int = 512
    """Processes the build's RUN steps may have at once, all steps together."""
    memory_max_bytes: int = 4 * GiB
    """Memory the build's RUN steps may use at once, all steps together."""
    disk_cap_bytes: int = 4 * GiB
    """What the build's RUN steps may write in all, watched while they run."""
    max_files: int = 500_000
    """Files the build's RUN steps may create in all."""
    engine_min_free_bytes: int = 1 * GiB
    """Free space the engine's disk must keep: a build that failed with less left failed
    because the host's disk is full (ours), whatever its step printed."""
    cgroup_parent: str = "layerlab"
    """The engine's cgroup parent (dockerd --cgroup-parent), under which each build gets its own."""
