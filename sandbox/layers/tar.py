"""Tar streams read as Go's archive/tar (what dive uses) reads them, and one layer tar summarised
while it is hashed (its digest is the layer's diff id). The parser is fed slices as they arrive
and never holds a member's data: it reads the `docker save` archive and the layer tars inside
it (export.py) and the engine's tar-split records of layers (overlay.py).
"""

from __future__ import annotations

import hashlib
import posixpath
import struct
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

from sandbox.layers.summary import (
    _WH,
    _WH_META,
    _WH_OPAQUE,
    DIR,
    FILE,
    HARDLINK,
    OPAQUE,
    OTHER,
    SYMLINK,
    WHITEOUT,
    Entry,
    LayerError,
    LayerSummary,
    _child,
)

SHADOW_MAX = 1 << 20


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
