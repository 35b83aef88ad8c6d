"""What a person browsing an image sees of each layer, as dive shows it: the files a layer adds,
changes or removes (compared with the layers below it) and each directory's total. Kept with a
submission, so it is bounded: a layer keeps its `keep` largest files, the directories above
them with the totals of everything under them, and says how many it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.layers.cache import LayerCache
from sandbox.layers.summary import DIR, OPAQUE, WHITEOUT, LayerSummary

KEEP_FILES = 100
"""Files kept per layer: the largest (a tree of thousands of entries is for dive, not a page)."""
MAX_PATH = 300
"""Characters of a path kept; a longer one ends in "…" (student text is hostile)."""

ADDED = "added"
MODIFIED = "modified"
REMOVED = "removed"


@dataclass(frozen=True)
class LayerListing:
    """One layer, bounded. `files` are (path, size, change, kind) sorted by path; `dirs` are
    (path, bytes under it, files under it) of every directory above a kept file; `files_total`
    counts the layer's non-directory entries, of which `len(files)` are kept."""

    index: int
    diff_id: str
    size: int
    files: tuple[tuple[str, int, str, str], ...]
    dirs: tuple[tuple[str, int, int], ...]
    files_total: int
    changes: dict[str, int]

    @property
    def trimmed(self) -> int:
        return self.files_total - len(self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "diff_id": self.diff_id,
            "size": self.size,
            "files": [list(f) for f in self.files],
            "dirs": [list(d) for d in self.dirs],
            "files_total": self.files_total,
            "trimmed": self.trimmed,
            "changes": dict(self.changes),
        }


def _ancestors(path: str) -> list[str]:
    """ "/a/b/c" → ["/a", "/a/b"] (the root is left out)."""
    parts = path.split("/")[1:-1]
    out, walked = [], ""
    for name in parts:
        walked += "/" + name
        out.append(walked)
    return out


def _short(path: str) -> str:
    return path if len(path) <= MAX_PATH else path[: MAX_PATH - 1] + "…"


def layer_listings(
    summaries: Sequence[LayerSummary], *, first: int = 0, keep: int = KEEP_FILES
) -> list[LayerListing]:
    """Listings of layers `first`… of an image whose layers, bottom up, are `summaries`. A path
    is "modified" when a layer below left it in the image, "removed" for a whiteout; the layers
    below `first` are read only to tell the two apart."""
    added_at: dict[str, int] = {}
    deleted_at: dict[str, int] = {}
    opaque_at: dict[str, int] = {}

    def below(path: str) -> bool:
        j = added_at.get(path)
        if j is None or deleted_at.get(path, -1) > j:
            return False
        return not any(deleted_at.get(a, -1) > j or opaque_at.get(a, -1) > j for a in _ancestors(path))

    out: list[LayerListing] = []
    for k, layer in enumerate(summaries):
        if k >= first:
            out.append(_listing(k, layer, below, keep))
        for e in layer.entries:
            if e.kind == WHITEOUT:
                deleted_at[e.path] = k
            elif e.kind == OPAQUE:
                opaque_at[e.path] = k
            else:
                added_at[e.path] = k
    return out


def _listing(k: int, layer: LayerSummary, below: Any, keep: int) -> LayerListing:
    files: list[tuple[str, int, str, str]] = []
    totals: dict[str, list[int]] = {}
    changes = {ADDED: 0, MODIFIED: 0, REMOVED: 0}
    for e in layer.entries:
        if e.kind in (DIR, OPAQUE):
            continue
        change = REMOVED if e.kind == WHITEOUT else MODIFIED if below(e.path) else ADDED
        changes[change] += 1
        files.append((e.path, e.size, change, e.kind))
        for a in _ancestors(e.path):
            total = totals.setdefault(a, [0, 0])
            total[0] += e.size
            total[1] += 1
    kept = sorted(files, key=lambda f: (-f[1], f[0]))[:keep]
    shown_dirs = sorted({a for f in kept for a in _ancestors(f[0])}, key=lambda d: (d.count("/"), d))
    del shown_dirs[4 * keep :]  # a hostile tree of deep paths keeps its shallowest directories
    return LayerListing(
        index=k,
        diff_id=layer.diff_id,
        size=layer.size,
        files=tuple(sorted((_short(p), s, c, kind) for p, s, c, kind in kept)),
        dirs=tuple(sorted((_short(d), totals[d][0], totals[d][1]) for d in shown_dirs)),
        files_total=len(files),
        changes=changes,
    )


def image_listings(
    diff_ids: Sequence[str], *, first: int = 0, keep: int = KEEP_FILES, cache: LayerCache | None = None
) -> list[LayerListing] | None:
    """The listings of an image just analysed (`analyse_image` left every layer's summary in
    the cache); None when one is no longer there."""
    cache = cache or LayerCache()
    summaries = []
    for diff_id in diff_ids:
        found = cache.get(diff_id)
        if found is None:
            return None
        summaries.append(found)
    return layer_listings(summaries, first=first, keep=keep)
