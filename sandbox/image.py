"""Facts about a built image, read from the engine's metadata (cheap: no export)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import engine


@dataclass(frozen=True)
class HistoryEntry:
    created_by: str
    size: int
    empty_layer: bool


@dataclass(frozen=True)
class ImageFacts:
    id: str
    size: int
    layer_count: int
    layer_ids: tuple[str, ...]
    user: str
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    workdir: str
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    labels: dict[str, str]
    healthcheck: dict[str, Any] | None
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def image_facts(ref: str) -> ImageFacts:
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    config: dict[str, Any] = attrs.get("Config") or {}
    layers = tuple(str(x) for x in (attrs.get("RootFS") or {}).get("Layers") or [])
    history = tuple(
        HistoryEntry(
            created_by=str(h.get("CreatedBy", "")),
            size=int(h.get("Size") or 0),
            empty_layer=int(h.get("Size") or 0) == 0 and "#(nop)" in str(h.get("CreatedBy", "")),
        )
        for h in reversed(engine.image_history(ref))
    )
    return ImageFacts(
        id=str(attrs["Id"]),
        size=int(attrs.get("Size") or 0),
        layer_count=len(layers),
        layer_ids=layers,
        user=str(config.get("User") or ""),
        entrypoint=_tuple(config.get("Entrypoint")),
        cmd=_tuple(config.get("Cmd")),
        workdir=str(config.get("WorkingDir") or ""),
        env=tuple(config.get("Env") or ()),
        exposed_ports=tuple(sorted((config.get("ExposedPorts") or {}).keys())),
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        healthcheck=config.get("Healthcheck"),
        history=history,
    )
