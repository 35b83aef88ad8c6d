"""Assembles a build context in a private temp dir from plain data. Nothing from outside the
given files gets in: paths are checked, nothing is a symlink, and the size is capped."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath


class ContextError(ValueError):
    """The exercise's files cannot form a safe context (a path escapes, or it is too big)."""


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(part in ("..", "") for part in path.parts) or "\0" in name:
        raise ContextError(f"context path {name!r} is not a plain relative path")
    return path


@contextmanager
def build_context(*, dockerfile: str, files: Mapping[str, bytes | str], cap_bytes: int) -> Iterator[Path]:
    """Yields a private directory (mode 0700) holding `files` and the submitted Dockerfile;
    removes it afterwards, whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix="layerlab-ctx-"))
    try:
        os.chmod(tmp, 0o700)
        total = 0
        for name, content in files.items():
            rel = _safe_relative(name)
            data = content.encode("utf-8") if isinstance(content, str) else content
            total += len(data)
            if total > cap_bytes:
                raise ContextError(f"the build context is larger than {cap_bytes} bytes")
            target = tmp.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or not target.resolve().is_relative_to(tmp.resolve()):
                raise ContextError(f"context path {name!r} escapes the context")
            target.write_bytes(data)
        (tmp / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_context_dir(root: Path, *, cap_bytes: int) -> dict[str, bytes]:
    """Reads a directory into plain data without following symlinks out of it."""
    out: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink():
                raise ContextError(f"{path.relative_to(root)} is a symlink; contexts may not hold symlinks")
            data = path.read_bytes()
            total += len(data)
            if total > cap_bytes:
                raise ContextError(f"the build context is larger than {cap_bytes} bytes")
            out[path.relative_to(root).as_posix()] = data
        for d in dirnames:
            if Path(dirpath, d).is_symlink():
                raise ContextError(
                    f"{Path(dirpath, d).relative_to(root)} is a symlink; contexts may not hold symlinks"
                )
    return out
