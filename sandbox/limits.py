"""The limits one build runs under. Defaults follow shared/reference/sandbox.md."""

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class BuildLimits:
    timeout_seconds: float = 300.0
    log_cap_bytes: int = 1 * MiB
    context_cap_bytes: int = 50 * MiB
    image_cap_bytes: int = 2048 * MiB
    dockerfile_cap_bytes: int = 64 * 1024
