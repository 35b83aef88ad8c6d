"""A `docker save` stream read once, as it arrives (never written to disk): layers not summarised
yet are parsed and hashed, known ones are skipped unread, and reading stops as soon as nothing
is left to learn. Both layouts are read: legacy (`<v1 id>/layer.tar`) and OCI
(`blobs/sha256/<diff id>`).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sandbox.layers.summary import LayerSummary
from sandbox.layers.tar import _REGULAR, _Capture, _Header, _LayerReader, _Sink, _TarStream

SIZE_MATCH_MIN = 64 * 1024
"""A legacy `docker save` names layers by v1 id, which says nothing about the diff id, so a
cached layer is recognised by its tar size and skipped unread. Layers smaller than this are
cheaper to parse than to risk a second export when a new layer happens to have that size."""


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
