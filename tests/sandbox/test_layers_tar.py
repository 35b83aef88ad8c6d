"""sandbox.layers.tar: a layer tar's entries are what tarfile reads, whatever the tar format,
and its digest is its diff id."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from sandbox.layers.tar import read_layer_tar
from tests.sandbox.layer_images import (
    F,
    chunks,
    layer_tar,
)


def as_entry_path(name: str) -> str:
    """A whiteout entry names what it deletes; an opaque marker names the directory it hides."""
    parent, _, base = ("/" + name).rpartition("/")
    if base == ".wh..wh..opq":
        return parent
    return parent + "/" + base.removeprefix(".wh.")


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_layer_entries_are_what_tarfile_reads(fmt: int) -> None:
    long_dir = "usr/share/" + "/".join(["averyveryverylongdirectoryname"] * 6)
    entries = [
        F("usr", dir=True),
        F(long_dir, dir=True),
        F(long_dir + "/file.txt", 1234),
        F("etc/.wh..wh..opq"),
        F("etc/.wh.motd"),
        F("bin/su", 5000, mode=0o4755),
        F("ünïcode/naïve.txt", 7),
    ]
    data = layer_tar(entries, fmt)
    summary = read_layer_tar(chunks(data, 777))
    assert summary.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert summary.tar_size == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [(m.name, m.size, m.mode & 0o7777) for m in tar.getmembers()]
    assert [(e.path, e.size, e.mode) for e in summary.entries] == [
        (as_entry_path(n), s, m) for n, s, m in expected
    ]
    kinds = {e.path: e.kind for e in summary.entries}
    assert kinds["/etc"] == "opaque" and kinds["/etc/motd"] == "whiteout"
    assert kinds["/" + long_dir] == "dir" and kinds["/bin/su"] == "file"
