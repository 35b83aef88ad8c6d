"""What the analysis of one image reports: plain data (dive's metrics, the findings, where each
layer came from), serialisable with `ImageReport.as_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LayerInfo:
    index: int
    diff_id: str
    size_bytes: int
    entries: int
    from_cache: bool
    wasted_bytes: int = 0
    """The part of the image's wasted bytes this layer holds (dive's metric, split by layer)."""


@dataclass(frozen=True)
class Inefficiency:
    """A path dive lists as inefficient: seen in `count` layers, `cumulative_size` bytes in all."""

    path: str
    count: int
    cumulative_size: int


@dataclass(frozen=True)
class SecretFile:
    path: str
    layer: int
    size: int
    reason: str
    deleted_later: bool
    in_final_image: bool


@dataclass(frozen=True)
class SetuidFile:
    path: str
    mode: str
    layer: int
    setuid: bool
    setgid: bool
    uid: int


@dataclass(frozen=True)
class BuildTool:
    tool: str
    path: str
    layer: int
    count: int = 1


@dataclass(frozen=True)
class PackageCache:
    cache: str
    path: str
    size_bytes: int
    files: int
    layers: tuple[int, ...]


@dataclass(frozen=True)
class StrayFile:
    kind: str
    path: str
    layer: int


@dataclass(frozen=True)
class EmptyPassword:
    user: str
    layer: int


@dataclass(frozen=True)
class ImageReport:
    """Plain data about one image. Metrics match dive's; `layers_read` counts layers parsed
    from an export in this call, `layers_from_cache` the ones whose summary was already known
    (both count distinct diff ids), and `exported` says whether the engine was asked at all."""

    ref: str
    layers: tuple[LayerInfo, ...]
    size_bytes: int
    user_size_bytes: int
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    inefficiencies: tuple[Inefficiency, ...]
    secret_files: tuple[SecretFile, ...]
    setuid_files: tuple[SetuidFile, ...]
    build_tools: tuple[BuildTool, ...]
    package_caches: tuple[PackageCache, ...]
    stray_files: tuple[StrayFile, ...]
    empty_passwords: tuple[EmptyPassword, ...]
    layers_read: int
    layers_from_cache: int
    exported: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
