"""One way for sandbox tests to run a build on the real engine and read what it said."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox import engine
from sandbox.build import BuildRequest, BuildResult, build_image, step_sources
from sandbox.dockerfile import parse
from sandbox.limits import BuildLimits

Event = dict[str, Any]


def build(
    dockerfile: str,
    files: dict[str, str] | None = None,
    *,
    network: str = "none",
    written: str | None = None,
    **limits: Any,
) -> tuple[BuildResult, list[Event]]:
    """Builds `dockerfile` under `limits` (BuildLimits fields) and removes its image. `written`
    is what the student wrote when `dockerfile` is its rewritten form: steps are found in it."""
    events: list[Event] = []
    tag = f"layerlab-test/build:{uuid.uuid4().hex[:10]}"
    request = BuildRequest(
        dockerfile=dockerfile,
        context_files=files or {},
        tag=tag,
        labels={engine.LABEL_SUBMISSION: f"test-{tag[-10:]}"},
        limits=BuildLimits(**limits),
        network=network,
        sources=step_sources(parse(written or dockerfile)),
    )
    try:
        return build_image(request, events.append), events
    finally:
        engine.image_remove(tag)


def logs(events: list[Event]) -> str:
    return "\n".join(e["line"] for e in events if e["kind"] == "log")
