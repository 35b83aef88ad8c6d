"""A layer read from the engine's overlay2 storage, when it is on this machine and readable,
instead of from an export (`docker save` stages the whole image before its first byte). The
engine's tar-split record of a layer (the headers `docker save` would replay, in its order) is
parsed by the same tar parser, so the summary is the export's, entry for entry. The only module
that knows the engine's disk layout.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sandbox.layers.summary import _WH, _WH_OPAQUE, FILE, Entry, LayerSummary
from sandbox.layers.tar import SHADOW_MAX, _empty_password_users, _entry, _Header, _LayerReader

ENV_FROM_DISK = "LAYERLAB_LAYERS_FROM_DISK"
"""Set to 0 to always read missing layers from an export, never from the engine's storage."""


class _NotExact(Exception):
    """A layer directory holds something its export would not list the same way."""


_OPAQUE_XATTR = "trusted.overlay.opaque"
_UNSUPPORTED_XATTRS = ("trusted.overlay.redirect", "user.overlay.redirect", "user.overlay.opaque")
_DISK_OFF = ("0", "false", "no", "off")


def _from_disk_enabled() -> bool:
    return os.environ.get(ENV_FROM_DISK, "1").strip().lower() not in _DISK_OFF


def _chain_ids(diff_ids: Sequence[str]) -> list[str]:
    chain: list[str] = []
    for diff_id in diff_ids:
        if chain:
            diff_id = "sha256:" + hashlib.sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest()
        chain.append(diff_id)
    return chain


class _LayerOnDisk(NamedTuple):
    diff_dir: Path
    tar_split: Path
    """The engine's record of the layer's original tar: its headers, in order, with the file
    contents left out. `docker save` replays it, filling contents in from `diff_dir`."""


def _layer_dirs(attrs: Mapping[str, Any], diff_ids: Sequence[str]) -> list[_LayerOnDisk] | None:
    """Where each layer is in the engine's overlay2 storage, bottom first, or None when it
    cannot be read here (another storage driver, a remote engine, no permission) or the
    mapping from GraphDriver's directories to diff ids is not confirmed by the engine's own
    layer database (`image/overlay2/layerdb/sha256/<chain id>/` holds the layer's diff id and,
    in `cache-id`, the name of its overlay2 directory)."""
    if not diff_ids or not _from_disk_enabled():
        return None
    driver = attrs.get("GraphDriver") or {}
    data = driver.get("Data") or {}
    upper, lower = data.get("UpperDir"), data.get("LowerDir") or ""
    if driver.get("Name") != "overlay2" or not isinstance(upper, str) or not isinstance(lower, str):
        return None
    listed = [upper, *(d for d in lower.split(":") if d)]
    if len(listed) != len(diff_ids) or not all(os.path.isabs(d) for d in listed):
        return None
    dirs = [Path(d) for d in reversed(listed)]
    layerdb = dirs[0].parent.parent.parent / "image" / "overlay2" / "layerdb" / "sha256"
    found: list[_LayerOnDisk] = []
    try:
        for directory, diff_id, chain_id in zip(dirs, diff_ids, _chain_ids(diff_ids), strict=True):
            if directory.name != "diff" or directory.parent.parent != dirs[0].parent.parent:
                return None
            record = layerdb / chain_id.removeprefix("sha256:")
            if (
                (record / "diff").read_text().strip() != diff_id
                or (record / "cache-id").read_text().strip() != directory.parent.name
                or not os.access(directory, os.R_OK | os.X_OK)
            ):
                return None
            found.append(_LayerOnDisk(directory, record / "tar-split.json.gz"))
    except (OSError, ValueError):
        return None
    return found


def _read_on_disk(diff_id: str, where: _LayerOnDisk) -> LayerSummary:
    """The layer's tar-split record replayed when there is one (what `docker save` sends);
    without one the engine's export walks the directory, and so does this."""
    if where.tar_split.exists():
        return read_layer_split(diff_id, where.tar_split, where.diff_dir)
    return read_layer_dir(diff_id, where.diff_dir)


_ZEROS = memoryview(bytes(1 << 20))


def read_layer_split(diff_id: str, tar_split: Path, diff_dir: Path) -> LayerSummary:
    """Summarises a layer from the engine's tar-split record of it: the tar headers exactly as
    the export would send them (the export is this record replayed), parsed by the same tar
    parser. File contents are not in the record; the only one needed, /etc/shadow, is read
    from the layer's directory. The tar size is the record's; no byte is hashed (the record is
    found by diff id)."""
    reader = _LayerReader()
    tar = reader._tar  # fed directly: nothing to hash, the record was found by its diff id
    tar_size = 0
    with gzip.open(tar_split, "rb") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("type") == 2:
                data = base64.b64decode(item.get("payload") or "")
                tar_size += len(data)
                if not tar.done:
                    tar.feed(memoryview(data))
            elif item.get("type") == 1:
                size = int(item.get("size") or 0)
                tar_size += size
                if tar.done or not size:
                    continue
                if tar.wants_data:
                    name = str(item["name"])
                    with open(diff_dir / name.lstrip("/"), "rb") as f:
                        content = f.read(size + 1)
                    if len(content) != size:
                        raise _NotExact(f"{name}: not the size the tar-split record says")
                    tar.feed(memoryview(content))
                    continue
                while size:
                    take = min(size, len(_ZEROS))
                    tar.feed(_ZEROS[:take])
                    size -= take
            else:
                raise _NotExact(f"unknown tar-split entry type {item.get('type')!r}")
    return LayerSummary(diff_id, tar_size, tuple(reader.entries), reader.shadow)


def _shadow_users(path: bytes) -> tuple[str, ...]:
    with open(path, "rb") as f:
        return _empty_password_users(f.read(SHADOW_MAX))


def read_layer_dir(diff_id: str, root: Path) -> LayerSummary:
    """Summarises one overlay2 `diff` directory as its export would be summarised: the entries
    Docker's archiver writes for it (pkg/archive with the overlay whiteout format), in its
    order (a depth-first walk, names sorted bytewise, a directory before its contents).
    A 0/0 character device is a whiteout (`.wh.NAME`, mode 0600), a directory with
    trusted.overlay.opaque=y is followed by its `.wh..wh..opq` marker, a regular file seen
    again by inode is a hardlink of size 0, sockets are left out. The tar size is not known
    without the export, so it is 0: the summary is never matched by size."""
    entries: list[Entry] = []
    shadow: tuple[str, ...] | None = None
    seen: set[tuple[int, int]] = set()

    def add(name: str, size: int, kind: bytes, st: os.stat_result, mode: int) -> Entry | None:
        entry = _entry(_Header(name, size, kind, mode, st.st_uid, st.st_gid))
        if entry is not None:
            entries.append(entry)
        return entry

    def walk(directory: bytes, prefix: str) -> None:
        nonlocal shadow
        with os.scandir(directory) as it:
            children = sorted((e.name, e.path) for e in it)
        for raw, full in children:
            name = prefix + os.fsdecode(raw)
            st = os.lstat(full)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                add(name, 0, b"5", st, mode)
                xattrs = os.listxattr(full, follow_symlinks=False)
                if any(x in xattrs for x in _UNSUPPORTED_XATTRS):
                    raise _NotExact(f"{name}: overlay redirect")
                if (
                    _OPAQUE_XATTR in xattrs
                    and os.getxattr(full, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
                ):
                    add(name + "/" + _WH_OPAQUE, 0, b"0", st, mode & 0o777)
                walk(full, name + "/")
            elif stat.S_ISREG(mode):
                kind, size = b"0", st.st_size
                if st.st_nlink > 1:
                    inode = (st.st_dev, st.st_ino)
                    if inode in seen:
                        kind, size = b"1", 0
                    seen.add(inode)
                entry = add(name, size, kind, st, mode)
                if entry is not None and entry.path == "/etc/shadow":
                    shadow = _shadow_users(full) if entry.kind == FILE else None
            elif stat.S_ISCHR(mode) and st.st_rdev == 0:
                parent, _, base = name.rpartition("/")
                add(parent + ("/" if parent else "") + _WH + base, 0, b"0", st, 0o600)
            elif stat.S_ISLNK(mode):
                add(name, 0, b"2", st, mode)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                add(name, 0, b"3" if stat.S_ISCHR(mode) else b"4" if stat.S_ISBLK(mode) else b"6", st, mode)
            elif not stat.S_ISSOCK(mode):
                raise _NotExact(f"{name}: unknown file type {mode:o}")

    walk(os.fsencode(root), "")
    return LayerSummary(diff_id, 0, tuple(entries), shadow)
