"""What one layer is reduced to: its entries (path, size, kind, mode, owner; never a file's
contents) and the verdict on its /etc/shadow. Every reader (a `docker save` stream, the engine's
overlay2 storage) produces a LayerSummary, the cache keeps it by diff id, and dive's metrics and
the findings read it: a layer's bytes are read once, whatever is asked of it later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, cast

CACHE_FORMAT = 1

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
WHITEOUT = "whiteout"
OPAQUE = "opaque"
OTHER = "other"

_WH = ".wh."
_WH_META = ".wh..wh.."
_WH_OPAQUE = ".wh..wh..opq"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

_V = TypeVar("_V")


class LayerError(RuntimeError):
    """The export is not what the engine said it would be (a layer missing, another image)."""


class Entry(NamedTuple):
    """One tar entry of a layer. A whiteout's path is the path it deletes; an opaque marker's
    path is the directory whose lower contents it hides."""

    path: str
    size: int
    kind: str
    mode: int
    uid: int
    gid: int


@dataclass(frozen=True)
class LayerSummary:
    """Everything later analysis needs from one layer, so its bytes are never read twice.
    `shadow_empty` is None when the layer has no regular /etc/shadow, otherwise the users whose
    password field is empty: the only file content kept, and only as that verdict."""

    diff_id: str
    tar_size: int
    entries: tuple[Entry, ...]
    shadow_empty: tuple[str, ...] | None = None
    _views: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def size(self) -> int:
        """dive's layer size: the sum of the tar headers' sizes, whatever their type."""
        return sum(e.size for e in self.entries)

    def view(self, derive: Callable[[tuple[Entry, ...]], _V]) -> _V:
        """`derive(self.entries)`, worked out once per summary and kept with it: dive's tree of a
        layer and the entries a finding is about are computed once per layer, ever (the cache
        keeps summaries in process, so a base layer shared by many images is worked out once)."""
        if derive not in self._views:
            self._views[derive] = derive(self.entries)
        return cast(_V, self._views[derive])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "diff_id": self.diff_id,
            "tar_size": self.tar_size,
            "shadow_empty": None if self.shadow_empty is None else list(self.shadow_empty),
            "entries": [list(e) for e in self.entries],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LayerSummary:
        shadow = data.get("shadow_empty")
        return cls(
            diff_id=str(data["diff_id"]),
            tar_size=int(data["tar_size"]),
            entries=tuple(
                Entry(str(p), int(s), str(k), int(m), int(u), int(g)) for p, s, k, m, u, g in data["entries"]
            ),
            shadow_empty=None if shadow is None else tuple(str(u) for u in shadow),
        )


def _child(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name
