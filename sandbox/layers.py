"""Reads an image's layers once, as dive reads them, and finds what should not be there.

The export (`docker save`) is the expensive part: the engine materialises every layer before
the first byte. So the archive is parsed as a stream while it arrives (never written to disk),
each layer is summarised (its entries, not its contents) and the summary is cached by the
layer's diff id. Base layers are shared by every submission of an exercise: once summarised,
an image whose layers are all known is analysed without exporting it at all. When the engine's
overlay2 storage is on this machine, layers not cached yet are not exported either: the
engine's tar-split record of each (the headers `docker save` would replay, in its order) is
parsed by the same tar parser, so the summaries are the export's, entry for entry.

The efficiency numbers reproduce dive 0.13.1 (`dive/filetree/efficiency.go`,
`dive/image/docker/image_archive.go`) decision for decision, including its quirks, so that a
student who runs dive sees the same numbers we grade with. The findings look at every layer
where dockle looks only at the merged filesystem: a key added in one layer and deleted in the
next is still in the image for anyone who pulls it.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import gzip
import hashlib
import json
import os
import posixpath
import queue
import re
import stat
import struct
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from sandbox import engine

ENV_CACHE_DIR = "LAYERLAB_LAYER_CACHE"
ENV_FROM_DISK = "LAYERLAB_LAYERS_FROM_DISK"
"""Set to 0 to always read missing layers from an export, never from the engine's storage."""
DEFAULT_CACHE_DIR = Path("~/.cache/layerlab/layers")
CACHE_FORMAT = 1
MEMORY_LAYERS = 64
"""Layer summaries kept in process per cache directory; a base layer is a few MB of entries."""
HEADER_THRESHOLD = 50
"""More C headers than this means -dev packages (libc6-dev alone brings hundreds)."""
SIZE_MATCH_MIN = 64 * 1024
"""A legacy `docker save` names layers by v1 id, which says nothing about the diff id, so a
cached layer is recognised by its tar size and skipped unread. Layers smaller than this are
cheaper to parse than to risk a second export when a new layer happens to have that size."""
SHADOW_MAX = 1 << 20

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

    @cached_property
    def size(self) -> int:
        """dive's layer size: the sum of the tar headers' sizes, whatever their type."""
        return sum(e.size for e in self.entries)

    @cached_property
    def dive(self) -> _DiveLayer:
        return _dive_layer(self.entries)

    @cached_property
    def notable(self) -> tuple[_Notable, ...]:
        return _notable(self.entries)

    @cached_property
    def changes(self) -> _Changes:
        return _changes(self.entries)

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


@dataclass(frozen=True)
class LayerInfo:
    index: int
    diff_id: str
    size_bytes: int
    entries: int
    from_cache: bool


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


# --- cache -------------------------------------------------------------------------------


_MEMORY: dict[str, OrderedDict[str, LayerSummary]] = {}
_ANALYSES: OrderedDict[tuple[str, ...], tuple[_Metrics, _Findings]] = OrderedDict()
_MEMORY_LOCK = threading.Lock()


class LayerCache:
    """Layer summaries by diff id: in process first, then one gzip'd JSON file per diff id.
    Files are written to a temporary name and renamed, so a reader never sees half a file and
    two workers writing the same layer both leave a whole one."""

    def __init__(self, directory: Path | None = None) -> None:
        chosen = directory or Path(os.environ.get(ENV_CACHE_DIR) or DEFAULT_CACHE_DIR)
        self.directory = chosen.expanduser()
        with _MEMORY_LOCK:
            self._memory = _MEMORY.setdefault(str(self.directory.resolve()), OrderedDict())

    def _file(self, diff_id: str) -> Path:
        if not _DIGEST.match(diff_id):
            raise LayerError(f"not a sha256 diff id: {diff_id!r}")
        return self.directory / (diff_id.replace(":", "-") + ".json.gz")

    def get(self, diff_id: str) -> LayerSummary | None:
        with _MEMORY_LOCK:
            summary = self._memory.get(diff_id)
            if summary is not None:
                self._memory.move_to_end(diff_id)
                return summary
        try:
            data = json.loads(gzip.decompress(self._file(diff_id).read_bytes()))
            if data.get("format") != CACHE_FORMAT or data.get("diff_id") != diff_id:
                return None
            summary = LayerSummary.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None
        self._remember(summary)
        return summary

    def put(self, summary: LayerSummary) -> None:
        self._remember(summary)
        path = self._file(summary.diff_id)
        payload = gzip.compress(json.dumps(summary.to_json(), separators=(",", ":")).encode(), 3, mtime=0)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json.gz", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _remember(self, summary: LayerSummary) -> None:
        with _MEMORY_LOCK:
            self._memory[summary.diff_id] = summary
            self._memory.move_to_end(summary.diff_id)
            while len(self._memory) > MEMORY_LAYERS:
                self._memory.popitem(last=False)


def forget_memory() -> None:
    """Drops the in-process summaries (tests and benchmarks measure the disk path with it)."""
    with _MEMORY_LOCK:
        _MEMORY.clear()
        _ANALYSES.clear()


# --- reading the export --------------------------------------------------------------------


class _Header(NamedTuple):
    name: str
    size: int
    type: bytes
    mode: int
    uid: int
    gid: int


_REGULAR = (b"0", b"\0", b"7")
_HEADER_ONLY = (b"1", b"2", b"3", b"4", b"5", b"6")
_BLOCK = 512
_FIELDS = struct.Struct("100s8s8s8s12s12x8xc")
"""name, mode, uid, gid, size, (mtime, checksum skipped), typeflag."""


def _number(field: bytes) -> int:
    """A tar numeric field: octal text, or GNU base-256 for values that do not fit."""
    try:
        return int(field[:-1], 8)  # the usual "0000644\0"; anything else takes the long way
    except ValueError:
        pass
    if field and field[0] & 0x80:
        if field[0] & 0x40:
            raise LayerError("negative number in a tar header")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise LayerError(f"bad number {field!r} in a tar header") from None


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        length = int(data[pos:space])
        if length <= 0:
            break
        key, _, value = data[space + 1 : pos + length].rstrip(b"\n").partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


class _Sink:
    """Where one member's data goes as it streams past."""

    def write(self, data: memoryview) -> None:
        pass

    def close(self) -> None:
        pass


class _Capture(_Sink):
    """Keeps a small member's bytes (a pax header, a config, /etc/shadow) up to a limit."""

    def __init__(self, limit: int, done: Callable[[bytes], None] | None = None) -> None:
        self.data = bytearray()
        self._limit = limit
        self._done = done

    def write(self, data: memoryview) -> None:
        room = self._limit - len(self.data)
        if room > 0:
            self.data += data[:room]

    def close(self) -> None:
        if self._done is not None:
            self._done(bytes(self.data))


class _TarStream:
    """A push parser for a tar stream, fed slices as they arrive. tarfile's stream mode reads
    member data through four layers of Python buffers; here member data is handed on as
    zero-copy slices and skipped by arithmetic, which is what lets a 300 MB export be parsed as
    fast as the engine sends it. Headers are read as Go's archive/tar (what dive uses) reads
    them: ustar prefix only with the ustar magic, pax and GNU long names, a trailing slash on a
    V7 regular file makes it a directory, and the first zero block ends the archive."""

    def __init__(self, on_member: Callable[[_Header], _Sink | None]) -> None:
        self._on_member = on_member
        self._partial = bytearray()
        self._left = 0
        self._pad = 0
        self._sink: _Sink | None = None
        self._special: _Capture | None = None
        self._special_type = b""
        self._pax: dict[str, str] = {}
        self._long_name: str | None = None
        self.done = False

    @property
    def wants_data(self) -> bool:
        """Whether the member being read has a sink for its contents."""
        return self._sink is not None

    def feed(self, data: memoryview) -> None:
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._left or self._pad:
                if self._left:
                    take = min(self._left, end - pos)
                    if self._sink is not None:
                        self._sink.write(data[pos : pos + take])
                    self._left -= take
                    pos += take
                    if self._left:
                        return
                skip = min(self._pad, end - pos)
                self._pad -= skip
                pos += skip
                if self._pad:
                    return
                self._end_member()
                continue
            if self._partial or end - pos < _BLOCK:
                need = _BLOCK - len(self._partial)
                self._partial += data[pos : pos + need]
                pos += min(need, end - pos)
                if len(self._partial) < _BLOCK:
                    return
                block = bytes(self._partial)
                self._partial.clear()
            else:
                block = bytes(data[pos : pos + _BLOCK])
                pos += _BLOCK
            try:
                self._header(block)
            except ValueError as exc:
                raise LayerError(f"unreadable tar header: {exc}") from None

    def _end_member(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.close()
        if self._special is not None:
            special, self._special = self._special, None
            if self._special_type in (b"x", b"X"):
                self._pax = _pax_records(bytes(special.data))
            elif self._special_type == b"L":
                self._long_name = bytes(special.data).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    def _header(self, block: bytes) -> None:
        if block[257:262] != b"ustar":
            if not block.strip(b"\0"):
                self.done = True
                return
            stored = _number(block[148:156])
            if stored != sum(block) - sum(block[148:156]) + 8 * 32:
                raise LayerError("tar header checksum mismatch")
        name, mode, uid, gid, size_field, kind = _FIELDS.unpack_from(block)
        size = _number(size_field)
        length = size if kind not in _HEADER_ONLY else 0
        self._left, self._pad = length, -length % _BLOCK
        if kind in (b"x", b"X", b"g", b"L", b"K"):
            self._special = _Capture(1 << 20)
            self._special_type = kind
            self._sink = self._special
            if not length:
                self._end_member()
            return
        name = name.split(b"\0", 1)[0]
        if block[257:263] == b"ustar\0":
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        text = name.decode("utf-8", "surrogateescape")
        if self._long_name is not None:
            text, self._long_name = self._long_name, None
        pax, self._pax = self._pax, {}
        if pax:
            text = pax.get("path", text)
            size = int(pax.get("size", size))
            if "size" in pax and kind not in _HEADER_ONLY:
                self._left, self._pad = size, -size % _BLOCK
        if kind == b"\0" and text.endswith("/"):
            kind = b"5"
        header = _Header(
            text,
            size,
            kind,
            _number(mode),
            int(pax["uid"]) if "uid" in pax else _number(uid),
            int(pax["gid"]) if "gid" in pax else _number(gid),
        )
        self._sink = self._on_member(header)
        if not self._left and not self._pad:
            self._end_member()


class _HashingSink(_Sink):
    """Hashes every byte of a layer as it passes: the digest is the layer's diff id. Big slices
    are hashed on a helper thread (hashlib lets go of the GIL), in order, while this thread
    parses the same bytes."""

    def __init__(self, pool: ThreadPoolExecutor | None = None) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self._pool = pool
        self._pending: deque[Future[None]] = deque()

    def write(self, data: memoryview) -> None:
        self.size += len(data)
        if self._pool is not None and len(data) >= 1 << 16:
            self._pending.append(self._pool.submit(self.sha.update, data))
            while len(self._pending) > 8:
                self._pending.popleft().result()
        else:
            self._settle()
            self.sha.update(data)

    def _settle(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    @property
    def digest(self) -> str:
        self._settle()
        return "sha256:" + self.sha.hexdigest()


def _child(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name


_KINDS = {b"5": DIR, b"2": SYMLINK, b"1": HARDLINK, b"3": "char", b"4": "block", b"6": "fifo"}


def _entry(header: _Header) -> Entry | None:
    path = "/" + header.name.strip("/")
    if "/." in path or "//" in path:
        path = posixpath.normpath(path)
    if path == "/":
        return None
    kind = FILE if header.type in _REGULAR else _KINDS.get(header.type, OTHER)
    parent, _, base = path.rpartition("/")
    if base.startswith(_WH):
        if base == _WH_OPAQUE:
            kind, path = OPAQUE, parent or "/"
        elif not base.startswith(_WH_META):
            kind, path = WHITEOUT, _child(parent or "/", base[len(_WH) :])
    return Entry(path, header.size, kind, header.mode & 0o7777, header.uid, header.gid)


def _empty_password_users(content: bytes) -> tuple[str, ...]:
    users = []
    for line in content.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 2 and fields[0] and fields[1] == "":
            users.append(fields[0])
    return tuple(users)


class _LayerReader(_HashingSink):
    """Summarises one layer.tar while hashing it, from the slices of the outer stream."""

    def __init__(
        self, on_done: Callable[[LayerSummary], None] | None = None, pool: ThreadPoolExecutor | None = None
    ) -> None:
        super().__init__(pool)
        self.entries: list[Entry] = []
        self.shadow: tuple[str, ...] | None = None
        self._tar = _TarStream(self._member)
        self._on_done = on_done

    def write(self, data: memoryview) -> None:
        super().write(data)
        if not self._tar.done:
            self._tar.feed(data)

    def close(self) -> None:
        if self._on_done is not None:
            self._on_done(self.summary())

    def summary(self) -> LayerSummary:
        return LayerSummary(self.digest, self.size, tuple(self.entries), self.shadow)

    def _member(self, header: _Header) -> _Sink | None:
        entry = _entry(header)
        if entry is None:
            return None
        self.entries.append(entry)
        if entry.path != "/etc/shadow":
            return None
        self.shadow = None
        if entry.kind != FILE:
            return None
        return _Capture(SHADOW_MAX, self._shadow)

    def _shadow(self, content: bytes) -> None:
        self.shadow = _empty_password_users(content)


def read_layer_tar(chunks: Iterable[bytes]) -> LayerSummary:
    """Summarises one uncompressed layer tar given as chunks (its digest is its diff id)."""
    reader = _LayerReader()
    for chunk in chunks:
        reader.write(memoryview(chunk))
    return reader.summary()


@dataclass
class _ExportRead:
    parsed: dict[str, LayerSummary] = field(default_factory=dict)
    skipped_by_size: int = 0
    config_diff_ids: list[str] | None = None


class _ExportParser:
    """Decides, member by member, what to do with a `docker save` archive (legacy layout, where
    layers are `<v1 id>/layer.tar`, or OCI, where they are `blobs/sha256/<diff id>`)."""

    def __init__(self, missing: set[str], by_size: dict[int, int], pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.missing = missing
        self.by_size = by_size
        self.result = _ExportRead()
        self.tar = _TarStream(self._member)

    def _member(self, header: _Header) -> _Sink | None:
        if header.type not in _REGULAR:
            return None
        name = posixpath.normpath(header.name).lstrip("/")
        if name.startswith("blobs/sha256/"):
            blob = "sha256:" + name.rsplit("/", 1)[-1]
            return _LayerReader(self._parsed, self.pool) if blob in self.missing else None
        if not name.endswith("layer.tar"):
            if "/" not in name and name.endswith(".json") and name != "manifest.json":
                return _Capture(16 << 20, self._config)
            return None
        if self.by_size.get(header.size, 0) > 0:
            self.by_size[header.size] -= 1
            self.result.skipped_by_size += 1
            return None
        return _LayerReader(self._parsed, self.pool)

    def _parsed(self, summary: LayerSummary) -> None:
        if summary.diff_id in self.missing:
            self.result.parsed[summary.diff_id] = summary
            self.missing.discard(summary.diff_id)

    def _config(self, content: bytes) -> None:
        try:
            ids = json.loads(content)["rootfs"]["diff_ids"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(ids, list):
            self.result.config_diff_ids = [str(x) for x in ids]


def _close(it: Iterator[bytes]) -> None:
    close = getattr(it, "close", None)
    if callable(close):
        close()


def _coalesce(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The engine's HTTP chunks are ~32 KB; parsing runs better on bigger pieces."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield pending[0] if len(pending) == 1 else b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


class _Prefetch:
    """Reads the engine's stream on a helper thread while this one parses: the socket and
    HTTP-chunk work (much of it outside the GIL) overlaps with parsing and hashing. Stopping
    early tells the helper to close the stream, which drops the connection."""

    _END = b""

    def __init__(self, chunks: Iterator[bytes], piece: int, ahead: int) -> None:
        self._chunks = chunks
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(piece,), name="layerlab-export", daemon=True)
        self._thread.start()

    def _run(self, piece: int) -> None:
        try:
            for chunk in _coalesce(self._chunks, piece):
                if self._stop.is_set():
                    break
                self._queue.put(chunk)
            self._queue.put(self._END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._queue.put(exc)
        finally:
            _close(self._chunks)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is self._END or not item:
                return
            yield item

    def stop(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()


def _read_export(
    chunks: Iterable[bytes], wanted: Sequence[str], cached: Mapping[str, LayerSummary], *, match_sizes: bool
) -> _ExportRead:
    """One pass over a `docker save` stream. Layers not yet summarised are parsed and hashed;
    known ones are skipped unread. Stops as soon as nothing is left to learn, which may be
    before the manifest and config (they come last in a legacy archive).

    A legacy archive names a layer by its v1 id, which says nothing of its diff id before it is
    read, so a cached layer is recognised by its tar size. If a new layer happens to have the
    size of a cached one it is skipped too, stays missing, and the caller reads again with
    `match_sizes=False`."""
    wanted_set = set(wanted)
    by_size: dict[int, int] = {}
    if match_sizes:
        for diff_id, summary in cached.items():
            if diff_id in wanted_set and summary.tar_size >= SIZE_MATCH_MIN:
                by_size[summary.tar_size] = by_size.get(summary.tar_size, 0) + 1
    # Threads are made per export, never kept: a worker process forked from one that had them
    # would inherit executors whose threads do not exist.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="layerlab-sha256") as pool:
        parser = _ExportParser(wanted_set - set(cached), by_size, pool)
        prefetch = _Prefetch(iter(chunks), 1 << 20, 8)
        try:
            for chunk in prefetch:
                parser.tar.feed(memoryview(chunk))
                if not parser.missing:
                    break
        finally:
            prefetch.stop()
    return parser.result


# --- reading a layer from the engine's overlay2 storage -------------------------------------------


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


# --- dive's efficiency, exactly ---------------------------------------------------------------


def _key(raw: str) -> str:
    """A tree path as a sort key: with NUL for "/", sorting keys orders nodes as dive's
    depth-first walk over name-sorted children does, and a node's subtree is one key range."""
    return raw.replace("/", "\0")


@dataclass(frozen=True)
class _DiveLayer:
    """One layer as dive's FileTree sees it, flattened: every node (entries, and parents the
    tar never listed, which dive creates without a payload and so not as directories)."""

    keys: tuple[str, ...]
    """Every node's key, sorted: dive's visiting order."""
    info: Mapping[str, tuple[bool, int]]
    """IsDir and Size of every node."""
    leaves: tuple[tuple[str, int, bool], ...]
    """(path, size, is whiteout) of the leaves, the only nodes dive's efficiency visits."""
    has_whiteout: bool

    def graft(self) -> list[tuple[str, str, bool, int, bool]]:
        """(key, path, is dir, size, is whiteout) of every node, children before their parent:
        the order in which FileTree.Stack applies a layer."""
        out: list[tuple[str, str, bool, int, bool]] = []
        pending: list[str] = []

        def emit(key: str) -> None:
            parent, _, name = key.rpartition("\0")
            whiteout = name.startswith(_WH)
            real = parent + "\0" + name[len(_WH) :] if whiteout else key
            isdir, size = self.info[key]
            out.append((real, real.replace("\0", "/"), isdir, size, whiteout))

        for key in self.keys:
            while pending and not key.startswith(pending[-1] + "\0"):
                emit(pending.pop())
            pending.append(key)
        while pending:
            emit(pending.pop())
        return out


def _raw_name(entry: Entry) -> str:
    if entry.kind == WHITEOUT:
        parent, _, base = entry.path.rpartition("/")
        return _child(parent or "/", _WH + base)
    if entry.kind == OPAQUE:
        return _child(entry.path, _WH_OPAQUE)
    return entry.path


def _add_parents(info: dict[str, tuple[bool, int]], parent: str) -> bool:
    """FileTree.AddPath's walk down to a missing parent: what is missing is created without a
    payload, except a `.wh..wh..` name, where dive gives up on the whole path."""
    walked = ""
    for name in parent.split("\0")[1:]:
        walked += "\0" + name
        if walked not in info:
            if name.startswith(_WH_META):
                return False
            info[walked] = (False, 0)
    return True


def _dive_layer(entries: Iterable[Entry]) -> _DiveLayer:
    """FileTree.AddPath for every entry in tar order: a later duplicate replaces the payload,
    and a `.wh..wh..` name is never added (dive ignores opaque markers entirely)."""
    info: dict[str, tuple[bool, int]] = {}
    for entry in entries:
        key = _key(_raw_name(entry))
        parent, _, name = key.rpartition("\0")
        if parent and parent not in info and not _add_parents(info, parent):
            continue
        if key in info or not name.startswith(_WH_META):
            info[key] = (entry.kind == DIR, entry.size)
    keys = sorted(info)
    leaves: list[tuple[str, int, bool]] = []
    last = len(keys) - 1
    for i, key in enumerate(keys):
        if i < last and keys[i + 1].startswith(key + "\0"):
            continue
        parent, _, name = key.rpartition("\0")
        whiteout = name.startswith(_WH)
        path = (parent + "\0" + name[len(_WH) :] if whiteout else key).replace("\0", "/")
        leaves.append((path, info[key][1], whiteout))
    return _DiveLayer(tuple(keys), info, tuple(leaves), any(w for _, _, w in leaves))


class _Stacked:
    """StackTreeRange(trees, 0, k-1), built lazily and advanced one layer at a time. Like dive
    it starts from a copy of layer 0 (whiteout names and all) and stacks layer 0 onto it
    again. Kept as a dict and sorted keys, so a removed directory is one slice; keys added by
    a layer are sorted in once, before the next lookup that needs the order."""

    def __init__(self, layers: Sequence[LayerSummary]) -> None:
        self._layers = layers
        base = layers[0].dive
        self._keys = list(base.keys)
        self._added: list[str] = []
        self.info = dict(base.info)
        self._stacked = 0

    def upto(self, k: int) -> _Stacked:
        while self._stacked < k:
            layer = self._layers[self._stacked].dive
            if layer.has_whiteout:
                for key, _, isdir, size, whiteout in layer.graft():
                    if whiteout:
                        self._remove(key)
                    else:
                        self._add(key, isdir, size)
            elif self._stacked > 0:
                # Without whiteouts the order of AddPath calls cannot matter: every node of the
                # layer, parents included, ends up with the layer's payload.
                self._added.extend(k for k in layer.keys if k not in self.info)
                self.info.update(layer.info)
            self._stacked += 1
        return self

    def size_of(self, path: str) -> int | None:
        """What a whiteout of `path` weighs for dive, or None where dive's GetNode fails."""
        key = _key(path)
        found = self.info.get(key)
        if found is None:
            return None
        if not found[0]:
            return 0
        keys = self._sorted()
        lo, hi = bisect.bisect_left(keys, key), bisect.bisect_left(keys, key + "\x01")
        return sum(self.info[k][1] for k in keys[lo:hi])

    def _sorted(self) -> list[str]:
        if self._added:
            self._keys.extend(self._added)
            self._keys.sort()
            self._added = []
        return self._keys

    def _remove(self, key: str) -> None:
        if key in self.info:
            keys = self._sorted()
            lo, hi = bisect.bisect_left(keys, key), bisect.bisect_left(keys, key + "\x01")
            for k in keys[lo:hi]:
                del self.info[k]
            del keys[lo:hi]

    def _add(self, key: str, isdir: bool, size: int) -> None:
        parent = key.rpartition("\0")[0]
        if parent and parent not in self.info:
            walked = ""
            for name in parent.split("\0")[1:]:
                walked += "\0" + name
                if walked not in self.info:
                    if name.startswith(_WH_META):
                        return
                    self.info[walked] = (False, 0)
                    self._added.append(walked)
        if key not in self.info:
            if key.rpartition("\0")[2].startswith(_WH_META):
                return
            self._added.append(key)
        self.info[key] = (isdir, size)


@dataclass(frozen=True)
class _Metrics:
    efficiency: float
    wasted_bytes: int
    size_bytes: int
    user_size_bytes: int
    user_wasted_percent: float
    inefficiencies: tuple[Inefficiency, ...]


def _dive_metrics(layers: Sequence[LayerSummary]) -> _Metrics:
    """filetree.Efficiency and Image.Analyze. Only leaves are visited, so a directory counts
    only where a layer has it empty. A whiteout counts 0 unless the path was a directory below,
    then the whole subtree's size; and a whiteout whose path does not exist below makes dive
    abandon the rest of that layer (the visitor returns an error), leaving -1 in the minimum."""
    data: dict[str, list[int]] = {}
    matches: list[tuple[str, list[int]]] = []
    stacked: _Stacked | None = None
    for k, layer in enumerate(layers):
        for path, size, whiteout in layer.dive.leaves:
            record = data.get(path)
            if record is None:
                record = data[path] = [0, -1, 0]
            if whiteout:
                stacked = (stacked or _Stacked(layers)).upto(k)
                below = stacked.size_of(path)
                if below is None:
                    break
                size = below
            record[0] += size
            if record[1] < 0 or size < record[1]:
                record[1] = size
            record[2] += 1
            if record[2] == 2:
                matches.append((path, record))
    minimum = sum(r[1] for r in data.values())
    discovered = sum(r[0] for r in data.values())
    efficiency = 1.0 if discovered == 0 else float(minimum) / float(discovered)
    _go_sort(matches, lambda m: m[1][0])
    wasted = sum(r[0] for _, r in matches)
    sizes = [layer.size for layer in layers]
    user = sum(sizes[1:])
    # dive divides by zero here: +Inf, or NaN for 0/0 (which passes its CI rule, like 0.0)
    user_wasted = float(wasted) / float(user) if user else float("inf") if wasted else 0.0
    return _Metrics(
        efficiency=efficiency,
        wasted_bytes=wasted,
        size_bytes=sum(sizes),
        user_size_bytes=user,
        user_wasted_percent=user_wasted,
        inefficiencies=tuple(Inefficiency(p, r[2], r[0]) for p, r in reversed(matches)),
    )


class _GoSorter:
    """Go's sort.Sort (pattern-defeating quicksort, Go 1.19+), ported step for step: it is not
    stable, and dive lists inefficiencies in whatever order it leaves equal sizes in."""

    def __init__(self, items: list[Any], keys: list[int]) -> None:
        self.items = items
        self.keys = keys

    def less(self, i: int, j: int) -> bool:
        return self.keys[i] < self.keys[j]

    def swap(self, i: int, j: int) -> None:
        k, it = self.keys, self.items
        k[i], k[j] = k[j], k[i]
        it[i], it[j] = it[j], it[i]

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.less(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.less(first + child, first + child + 1):
                child += 1
            if not self.less(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, lo, hi = a, 0, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(lo, i, first)

    def pdqsort(self, a: int, b: int, limit: int) -> None:
        was_balanced, was_partitioned = True, True
        while True:
            length = b - a
            if length <= 12:
                self.insertion_sort(a, b)
                return
            if limit == 0:
                self.heap_sort(a, b)
                return
            if not was_balanced:
                self.break_patterns(a, b)
                limit -= 1
            pivot, hint = self.choose_pivot(a, b)
            if hint == _DECREASING:
                self.reverse_range(a, b)
                pivot = (b - 1) - (pivot - a)
                hint = _INCREASING
            if was_balanced and was_partitioned and hint == _INCREASING and self.partial_insertion_sort(a, b):
                return
            if a > 0 and not self.less(a - 1, pivot):
                a = self.partition_equal(a, b, pivot)
                continue
            mid, was_partitioned = self.partition(a, b, pivot)
            left, right = mid - a, b - mid
            threshold = length // 8
            if left < right:
                was_balanced = left >= threshold
                self.pdqsort(a, mid, limit)
                a = mid + 1
            else:
                was_balanced = right >= threshold
                self.pdqsort(mid + 1, b, limit)
                b = mid

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while i <= j and self.less(i, a):
            i += 1
        while i <= j and not self.less(j, a):
            j -= 1
        if i > j:
            self.swap(j, a)
            return j, True
        self.swap(i, j)
        i, j = i + 1, j - 1
        while True:
            while i <= j and self.less(i, a):
                i += 1
            while i <= j and not self.less(j, a):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i, j = i + 1, j - 1
        self.swap(j, a)
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while True:
            while i <= j and not self.less(a, i):
                i += 1
            while i <= j and self.less(a, j):
                j -= 1
            if i > j:
                return i
            self.swap(i, j)
            i, j = i + 1, j - 1

    def partial_insertion_sort(self, a: int, b: int) -> bool:
        i = a + 1
        for _ in range(5):
            while i < b and not self.less(i, i - 1):
                i += 1
            if i == b:
                return True
            if b - a < 50:
                return False
            self.swap(i, i - 1)
            if i - a >= 2:
                j = i - 1
                while j >= 1 and self.less(j, j - 1):
                    self.swap(j, j - 1)
                    j -= 1
            if b - i >= 2:
                j = i + 1
                while j < b and self.less(j, j - 1):
                    self.swap(j, j - 1)
                    j += 1
        return False

    def break_patterns(self, a: int, b: int) -> None:
        length = b - a
        if length >= 8:
            state = length
            modulus = 1 << length.bit_length()
            idx = a + (length // 4) * 2 - 1
            while idx <= a + (length // 4) * 2 + 1:
                state ^= (state << 13) & _MASK64
                state ^= state >> 7
                state ^= (state << 17) & _MASK64
                other = state & (modulus - 1)
                if other >= length:
                    other -= length
                self.swap(idx, a + other)
                idx += 1

    def choose_pivot(self, a: int, b: int) -> tuple[int, int]:
        n = b - a
        swaps = [0]
        i, j, k = a + n // 4 * 1, a + n // 4 * 2, a + n // 4 * 3
        if n >= 8:
            if n >= 50:
                i = self.median(i - 1, i, i + 1, swaps)
                j = self.median(j - 1, j, j + 1, swaps)
                k = self.median(k - 1, k, k + 1, swaps)
            j = self.median(i, j, k, swaps)
        if swaps[0] == 0:
            return j, _INCREASING
        if swaps[0] == 12:
            return j, _DECREASING
        return j, _UNKNOWN

    def order2(self, a: int, b: int, swaps: list[int]) -> tuple[int, int]:
        if self.less(b, a):
            swaps[0] += 1
            return b, a
        return a, b

    def median(self, a: int, b: int, c: int, swaps: list[int]) -> int:
        a, b = self.order2(a, b, swaps)
        b, c = self.order2(b, c, swaps)
        a, b = self.order2(a, b, swaps)
        return b

    def reverse_range(self, a: int, b: int) -> None:
        i, j = a, b - 1
        while i < j:
            self.swap(i, j)
            i, j = i + 1, j - 1


_UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2
_MASK64 = (1 << 64) - 1


def _go_sort(items: list[Any], key: Callable[[Any], int]) -> None:
    if len(items) > 1:
        _GoSorter(items, [key(x) for x in items]).pdqsort(0, len(items), len(items).bit_length())


# --- findings --------------------------------------------------------------------------------

_SECRET_NAMES = {
    "id_rsa": "SSH private key",
    "id_dsa": "SSH private key",
    "id_ecdsa": "SSH private key",
    "id_ed25519": "SSH private key",
    "id_ecdsa_sk": "SSH private key",
    "id_ed25519_sk": "SSH private key",
    ".env": "environment file",
    "credentials.json": "credentials file",
    ".git-credentials": "git credentials",
    ".netrc": "netrc credentials",
    ".pgpass": "PostgreSQL password file",
    "kubeconfig": "Kubernetes credentials",
    ".pypirc": "PyPI credentials",
    ".dockercfg": "registry credentials",
}
_SECRET_SUFFIXES = {
    ".pem": "PEM key or certificate",
    ".key": "private key",
    ".p12": "PKCS#12 key store",
    ".pfx": "PKCS#12 key store",
}
_SECRET_TAILS = {
    "/.aws/credentials": "AWS credentials",
    "/.kube/config": "Kubernetes credentials",
    "/.docker/config.json": "registry credentials",
}
_SUFFIX_KEYS = tuple(_SECRET_SUFFIXES)
_TAIL_KEYS = tuple(_SECRET_TAILS)
_ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")
_SECRET_SAFE_PREFIXES = (
    "/etc/ssl/certs/",
    "/usr/share/ca-certificates/",
    "/usr/local/share/ca-certificates/",
    "/etc/ca-certificates/",
    "/etc/pki/",
    "/usr/lib/ssl/certs/",
    "/usr/share/doc/",
)
_TEST_DIRS = {"test", "tests", "testdata", "test_data", "testing", "fixtures", "unittest"}
_CA_BUNDLES = {"cacert.pem", "ca-bundle.pem", "ca-certificates.pem", "cert.pem"}


def _secret_reason(path: str, base: str) -> str:
    """Names only: contents are never read. Public material that ships with every distro (CA
    bundles, test fixtures of installed languages) is not a secret and must not drown the
    student's own `COPY id_rsa .` in noise."""
    if not (
        base in _SECRET_NAMES
        or base.endswith(_SUFFIX_KEYS)
        or base.startswith(".env.")
        or path.endswith(_TAIL_KEYS)
    ):
        return ""
    reason = _SECRET_NAMES.get(base, "")
    if not reason and base.startswith(".env.") and not base.endswith(_ENV_TEMPLATES):
        reason = "environment file"
    if not reason and base.endswith(_SUFFIX_KEYS):
        suffix = base[base.rfind(".") :]
        reason = _SECRET_SUFFIXES.get(suffix, "") if len(base) > len(suffix) else ""
    if not reason and path.endswith(_TAIL_KEYS):
        reason = next(why for tail, why in _SECRET_TAILS.items() if path.endswith(tail))
    if not reason or path.startswith(_SECRET_SAFE_PREFIXES):
        return ""
    parts = path.split("/")
    if base in _CA_BUNDLES or "certifi" in parts:
        return ""  # public CA bundles, wherever a package manager put them (a venv, node_modules)
    installed = path.startswith("/usr/") or "site-packages" in parts or "node_modules" in parts
    if installed and _TEST_DIRS.intersection(parts):
        return ""
    return reason


_COMPILER = re.compile(
    r"^(?:[a-z0-9_]+-linux-gnu[a-z]*-)?"
    r"(?P<tool>gcc|g\+\+|c\+\+|cc|clang|clang\+\+|gfortran|ld|ld\.bfd|ld\.gold|ld\.lld)"
    r"(?:-\d+(?:\.\d+)*)?$"
)
_BUILD_BINARIES = {
    "make": "make",
    "gmake": "make",
    "cmake": "cmake",
    "ninja": "ninja",
    "rustc": "rustc",
    "cargo": "cargo",
}
_COMPILER_PASSES = {"cc1", "cc1plus", "cc1obj"}
_TOOL_HINTS = _COMPILER_PASSES
_INCLUDE_DIRS = ("/usr/include/", "/usr/local/include/")
_NPM_NOT_CACHE = ("/root/.npm/_logs/", "/root/.npm/_update-notifier-last-checked")
_PACKAGED_TREES = ("/usr/share/", "/usr/lib/", "/usr/local/lib/", "/usr/local/go/", "/usr/include/")
_DEPENDENCY_DIRS = ("/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/")
_APT_LISTS = "/var/lib/apt/lists/"
_CACHE_PREFIXES = (_APT_LISTS, "/var/cache/", "/root/.npm/")


def _build_tool(parent: str, base: str, kind: str) -> str:
    if base in _COMPILER_PASSES:
        return base if kind in (FILE, HARDLINK) else ""
    if not parent.endswith("/bin") or kind not in (FILE, HARDLINK, SYMLINK):
        return ""
    if base in _BUILD_BINARIES:
        return _BUILD_BINARIES[base]
    if base == "go" and kind != SYMLINK:
        return "go?"  # a toolchain only with its GOROOT's pkg/tool next to it
    m = _COMPILER.match(base)
    if m:
        tool = m.group("tool")
        return "ld" if tool.startswith("ld") else tool
    return ""


def _package_cache(path: str, entry: Entry) -> str:
    """'name root' of the package manager cache a file belongs to, or ''."""
    if not path.startswith(_CACHE_PREFIXES) and "/.cache/" not in path and "/.npm/" not in path:
        return ""
    if path.startswith(_APT_LISTS):
        rest = path[len(_APT_LISTS) :]
        if rest == "lock" or (rest.startswith("partial/") and entry.size == 0):
            return ""
        return "apt-lists /var/lib/apt/lists"
    if path.startswith("/var/cache/apt/archives/") and path.endswith(".deb"):
        return "apt-archives /var/cache/apt/archives"
    if path.startswith("/var/cache/apk/"):
        return "apk /var/cache/apk"
    if path.startswith("/root/.npm/") and not path.startswith(_NPM_NOT_CACHE):
        return "npm /root/.npm"
    for marker, name in (("/.cache/pip/", "pip"), ("/.npm/_cacache/", "npm"), ("/.cache/yarn/", "yarn")):
        at = path.find(marker)
        if at >= 0:
            return f"{name} {path[: at + len(marker) - 1]}"
    return ""


_STRAY_NAMES = {"Dockerfile": "dockerfile", "Containerfile": "dockerfile", ".DS_Store": "ds_store"}
_STRAY_NAMES[".dockerignore"] = "dockerignore"


def _stray(path: str, base: str, kind: str) -> tuple[str, str] | None:
    """What a missing .dockerignore lets in. Files that packages and dependencies install
    (the Go source tree has Dockerfiles of its own) are not the student's build context."""
    found: tuple[str, str] | None = None
    if base == ".git" and kind == DIR:
        found = "git", path
    elif "/.git/" in path:
        found = "git", path[: path.find("/.git/") + 5]
    elif kind in (FILE, HARDLINK, SYMLINK):
        if base in _STRAY_NAMES:
            found = _STRAY_NAMES[base], path
        elif base.startswith("Dockerfile."):
            found = "dockerfile", path
    if found is None or path.startswith(_PACKAGED_TREES) or any(d in path for d in _DEPENDENCY_DIRS):
        return None
    return found


class _Notable(NamedTuple):
    entry: Entry
    category: str
    detail: str


def _notable(entries: Iterable[Entry]) -> tuple[_Notable, ...]:
    """The entries of one layer that some finding is about, if they survive to the final
    filesystem (secrets count even if they do not). Computed once per layer, ever."""
    found: list[_Notable] = []
    for entry in entries:
        kind = entry.kind
        if kind in (WHITEOUT, OPAQUE):
            continue
        path = entry.path
        parent, _, base = path.rpartition("/")
        regular = kind in (FILE, HARDLINK)
        if regular:
            reason = _secret_reason(path, base)
            if reason:
                found.append(_Notable(entry, "secret", reason))
            if entry.mode & 0o6000:
                found.append(_Notable(entry, "setuid", ""))
            cache = _package_cache(path, entry)
            if cache:
                found.append(_Notable(entry, "cache", cache))
        tool = _build_tool(parent, base, kind) if base in _TOOL_HINTS or parent.endswith("/bin") else ""
        if tool:
            found.append(_Notable(entry, "tool", tool))
        if base.endswith(".h") and path.startswith(_INCLUDE_DIRS) and "/python3" not in path:
            found.append(
                _Notable(entry, "header", "/usr/include" if path[5] == "i" else "/usr/local/include")
            )
        stray = _stray(path, base, kind)
        if stray:
            found.append(_Notable(entry, "stray", f"{stray[0]} {stray[1]}"))
        if path == "/etc/shadow" and kind == FILE:
            found.append(_Notable(entry, "shadow", ""))
    return tuple(found)


class _Changes(NamedTuple):
    """What one layer does to the layers below it."""

    paths: frozenset[str]
    gone: frozenset[str]
    masked: frozenset[str]


def _changes(entries: Iterable[Entry]) -> _Changes:
    paths, gone, masked = set(), set(), set()
    for entry in entries:
        if entry.kind == WHITEOUT:
            gone.add(entry.path)
        elif entry.kind == OPAQUE:
            masked.add(entry.path)
        elif entry.kind != OTHER or not entry.path.rpartition("/")[2].startswith(_WH):
            paths.add(entry.path)
            if entry.kind != DIR:
                masked.add(entry.path)  # a file where a directory was hides what was below
    return _Changes(frozenset(paths), frozenset(gone), frozenset(masked))


class _Above:
    """Whether an entry of one layer is deleted or replaced by the layers above it: a whiteout
    of it or an ancestor, an opaque ancestor, or something else where an ancestor directory
    was. Ancestors are memoised; a layer's entries come grouped by directory."""

    def __init__(self, layers: Sequence[LayerSummary], index: int) -> None:
        self._upper = [layer.changes for layer in layers[index + 1 :]]
        self._memo: dict[str, bool] = {"": False}

    def deleted(self, path: str) -> bool:
        return any(path in c.gone for c in self._upper) or self._hidden_dir(path.rpartition("/")[0])

    def final(self, path: str) -> bool:
        if any(path in c.paths or path in c.gone for c in self._upper):
            return False
        return not self._hidden_dir(path.rpartition("/")[0])

    def _hidden_dir(self, directory: str) -> bool:
        chain: list[str] = []
        known = self._memo.get(directory)
        while known is None:
            chain.append(directory)
            if any(directory in c.gone or directory in c.masked for c in self._upper):
                known = True
            else:
                directory = directory.rpartition("/")[0]
                known = self._memo.get(directory)
        for d in chain:
            self._memo[d] = known
        return known


@dataclass(frozen=True)
class _Findings:
    secret_files: tuple[SecretFile, ...]
    setuid_files: tuple[SetuidFile, ...]
    build_tools: tuple[BuildTool, ...]
    package_caches: tuple[PackageCache, ...]
    stray_files: tuple[StrayFile, ...]
    empty_passwords: tuple[EmptyPassword, ...]


def _findings(layers: Sequence[LayerSummary]) -> _Findings:
    secrets: list[SecretFile] = []
    setuid: list[SetuidFile] = []
    tools: list[BuildTool] = []
    go: list[tuple[str, int]] = []
    headers: dict[str, list[int]] = {}
    caches: dict[str, list[Any]] = {}
    stray: dict[str, StrayFile] = {}
    shadow: tuple[str, ...] | None = None
    shadow_layer = -1
    for index, layer in enumerate(layers):
        if not layer.notable:
            continue
        above = _Above(layers, index)
        for entry, category, detail in layer.notable:
            if category == "secret":
                secrets.append(
                    SecretFile(
                        entry.path,
                        index,
                        entry.size,
                        detail,
                        above.deleted(entry.path),
                        above.final(entry.path),
                    )
                )
                continue
            if not above.final(entry.path):
                continue
            if category == "setuid":
                mode = entry.mode
                setuid.append(
                    SetuidFile(
                        entry.path, f"{mode:04o}", index, bool(mode & 0o4000), bool(mode & 0o2000), entry.uid
                    )
                )
            elif category == "tool" and detail == "go?":
                go.append((entry.path, index))
            elif category == "tool":
                tools.append(BuildTool(detail, entry.path, index))
            elif category == "header":
                slot = headers.setdefault(detail, [0, 0])
                slot[0] += 1
                slot[1] = max(slot[1], index)
            elif category == "cache":
                slot2 = caches.setdefault(detail, [0, 0, set()])
                slot2[0] += entry.size
                slot2[1] += 1
                slot2[2].add(index)
            elif category == "stray":
                kind, _, path = detail.partition(" ")
                stray[path] = StrayFile(kind, path, max(index, stray[path].layer) if path in stray else index)
            elif category == "shadow":
                shadow, shadow_layer = layer.shadow_empty, index
    for path, index in go:
        goroot = path[: -len("/bin/go")]
        if _has_final(layers, goroot + "/pkg/tool"):
            tools.append(BuildTool("go", path, index))
    for root, (count, index) in sorted(headers.items()):
        if count > HEADER_THRESHOLD:
            tools.append(BuildTool("headers", root, index, count))
    return _Findings(
        secret_files=tuple(sorted(secrets, key=lambda s: (s.layer, s.path))),
        setuid_files=tuple(sorted(setuid, key=lambda s: s.path)),
        build_tools=tuple(sorted(tools, key=lambda t: (t.tool, t.path))),
        package_caches=tuple(
            PackageCache(name, root, size, files, tuple(sorted(layer_set)))
            for (name, root), (size, files, layer_set) in sorted(
                (tuple(key.split(" ", 1)), value) for key, value in caches.items()
            )
        ),
        stray_files=tuple(sorted(stray.values(), key=lambda s: s.path)),
        empty_passwords=tuple(EmptyPassword(user, shadow_layer) for user in shadow or ()),
    )


def _has_final(layers: Sequence[LayerSummary], directory: str) -> bool:
    """Whether anything at or under `directory` is in the final filesystem."""
    prefix = directory + "/"
    for index in range(len(layers) - 1, -1, -1):
        above = _Above(layers, index)
        if any(
            (e.path == directory or e.path.startswith(prefix))
            and e.kind not in (WHITEOUT, OPAQUE)
            and above.final(e.path)
            for e in layers[index].entries
        ):
            return True
    return False


# --- public API ------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _report(
    ref: str, diff_ids: Sequence[str], summaries: Mapping[str, LayerSummary], read: set[str], exported: bool
) -> ImageReport:
    layers = [summaries[d] for d in diff_ids]
    if not layers:
        raise LayerError(f"{ref or 'image'} has no layers")
    key = tuple(diff_ids)
    with _MEMORY_LOCK:
        known = _ANALYSES.get(key)
    if known is None:
        known = (_dive_metrics(layers), _findings(layers))
        with _MEMORY_LOCK:
            _ANALYSES[key] = known
            while len(_ANALYSES) > MEMORY_LAYERS:
                _ANALYSES.popitem(last=False)
    metrics, findings = known
    unique = _unique(diff_ids)
    return ImageReport(
        ref=ref,
        layers=tuple(
            LayerInfo(i, s.diff_id, s.size, len(s.entries), s.diff_id not in read)
            for i, s in enumerate(layers)
        ),
        size_bytes=metrics.size_bytes,
        user_size_bytes=metrics.user_size_bytes,
        efficiency=metrics.efficiency,
        wasted_bytes=metrics.wasted_bytes,
        user_wasted_percent=metrics.user_wasted_percent,
        inefficiencies=metrics.inefficiencies,
        secret_files=findings.secret_files,
        setuid_files=findings.setuid_files,
        build_tools=findings.build_tools,
        package_caches=findings.package_caches,
        stray_files=findings.stray_files,
        empty_passwords=findings.empty_passwords,
        layers_read=sum(1 for d in unique if d in read),
        layers_from_cache=sum(1 for d in unique if d not in read),
        exported=exported,
    )


def _analyse(
    ref: str,
    diff_ids: Sequence[str],
    open_export: Callable[[], Iterable[bytes]],
    cache: LayerCache | None,
    *,
    can_reopen: bool,
    on_disk: Sequence[_LayerOnDisk] | None = None,
) -> ImageReport:
    for diff_id in diff_ids:
        if not _DIGEST.match(diff_id):
            raise LayerError(f"not a sha256 diff id: {diff_id!r}")
    summaries: dict[str, LayerSummary] = {}
    if cache is not None:
        for diff_id in _unique(diff_ids):
            found = cache.get(diff_id)
            if found is not None:
                summaries[diff_id] = found
    read: set[str] = set()
    exported = False
    if on_disk is not None and any(d not in summaries for d in diff_ids):
        for diff_id, where in zip(diff_ids, on_disk, strict=True):
            if diff_id in summaries:
                continue
            try:
                summary = _read_on_disk(diff_id, where)
            except (OSError, ValueError, KeyError, TypeError, LayerError, _NotExact):
                break  # gone, unreadable or not as the export would list it: export the rest
            summaries[diff_id] = summary
            read.add(diff_id)
            if cache is not None:
                cache.put(summary)
    if any(d not in summaries for d in diff_ids):
        exported = True
        result = _read_export(open_export(), diff_ids, summaries, match_sizes=True)
        if (
            result.skipped_by_size
            and can_reopen
            and any(d not in summaries and d not in result.parsed for d in diff_ids)
        ):
            # A new layer had the tar size of a cached one and was skipped: read again, parsing all.
            again = _read_export(open_export(), diff_ids, {**summaries, **result.parsed}, match_sizes=False)
            result.parsed.update(again.parsed)
        if result.config_diff_ids is not None and list(result.config_diff_ids) != list(diff_ids):
            raise LayerError(f"the export of {ref or 'the image'} is of another image")
        for summary in result.parsed.values():
            summaries[summary.diff_id] = summary
            read.add(summary.diff_id)
            if cache is not None:
                cache.put(summary)
        absent = [d for d in _unique(diff_ids) if d not in summaries]
        if absent:
            raise LayerError(f"the export of {ref or 'the image'} lacks layers {', '.join(absent)}")
    return _report(ref, diff_ids, summaries, read, exported)


def analyse_export(
    stream: Iterable[bytes] | Callable[[], Iterable[bytes]],
    diff_ids: Sequence[str],
    *,
    ref: str = "",
    cache: LayerCache | None = None,
) -> ImageReport:
    """Analyses a `docker save` archive given as chunks, layers ordered by `diff_ids` (the
    config's rootfs.diff_ids). Without a cache every layer is parsed; with one, known layers are
    taken from it and the stream may not be read at all. Given a callable that exports again,
    a new layer skipped for having a cached layer's size is read on a second pass; given a
    one-shot stream, that (rare) case is a LayerError."""
    if callable(stream):
        return _analyse(ref, list(diff_ids), stream, cache, can_reopen=True)
    chunks = stream
    return _analyse(ref, list(diff_ids), lambda: chunks, cache, can_reopen=False)


def analyse_image(ref: str, *, cache_dir: Path | None = None) -> ImageReport:
    """Analyses an image in the engine. Layers not cached yet are read from the engine's
    overlay2 storage when it is on this machine and readable (no export: `docker save` stages
    the whole image before its first byte), otherwise from an export. LAYERLAB_LAYERS_FROM_DISK=0
    turns the storage path off."""
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    diff_ids = [str(d) for d in (attrs.get("RootFS") or {}).get("Layers") or []]
    cache = LayerCache(cache_dir)
    on_disk = _layer_dirs(attrs, diff_ids) if any(cache.get(d) is None for d in diff_ids) else None
    return _analyse(
        ref, diff_ids, lambda: engine.image_export_stream(ref), cache, can_reopen=True, on_disk=on_disk
    )
