"""sandbox.layers.overlay: layers read from the engine's overlay2 storage give the export's
report, entry for entry, and anything it cannot read falls back to the export."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox import engine
from sandbox.layers import overlay
from sandbox.layers.analyse import analyse_image, forget_memory
from sandbox.layers.export import _read_export
from sandbox.layers.overlay import ENV_FROM_DISK, read_layer_dir, read_layer_split
from sandbox.layers.report import ImageReport
from tests.sandbox.layer_images import (
    BASE,
    assert_matches_dive,
    run_dive,
)

REWRITTEN = (
    f"FROM {BASE}\n"
    "RUN head -c 2000000 /dev/urandom > /big\n"
    "RUN head -c 2000000 /dev/urandom > /big && head -c 500000 /dev/urandom > /half\n"
    "RUN rm /half\n"
)
APT_LISTS = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /var/lib/apt/lists/partial"
    " && head -c 300000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_main_Packages.lz4"
    " && head -c 1000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"
    " && head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
    "RUN head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
)
MULTI_STAGE = (
    "FROM python:3.11-slim AS build\n"
    "WORKDIR /src\n"
    "COPY app.py .\n"
    "RUN python -m compileall -q . && mkdir -p /out && cp -r __pycache__ app.py /out/\n"
    "FROM python:3.11-slim\n"
    "RUN useradd --create-home app\n"
    "WORKDIR /app\n"
    "COPY --from=build /out/ ./\n"
    "RUN rm -rf /app/__pycache__ && touch /app/ready\n"
    "USER app\n"
)
DIR_DELETED = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /data/sub && head -c 1500000 /dev/urandom > /data/a"
    " && head -c 700000 /dev/urandom > /data/sub/b && mkdir /data/empty\n"
    "RUN rm -rf /data && mkdir /data2\n"
)
HARDLINKS = (
    f"FROM {BASE}\n"
    "RUN head -c 300000 /dev/urandom > /opt/m && ln /opt/m /opt/a && ln /opt/m /usr/local/bin/z"
    " && mkdir /opt/d && ln /opt/m /opt/d/n\n"
    "RUN ln /opt/a /opt/b && chmod 4755 /opt/m && ln /usr/bin/gzip /usr/local/bin/gz\n"
)
OPAQUE_DIR = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /srv/data/sub && head -c 400000 /dev/urandom > /srv/data/a"
    " && head -c 200000 /dev/urandom > /srv/data/sub/b && echo x > /etc/x\n"
    "RUN rm -rf /srv/data && mkdir /srv/data && echo c > /srv/data/c && rm /etc/x"
    " && rm -rf /usr/share/doc && mkdir /usr/share/doc\n"
)
SHADOW_AND_SETUID = (
    f"FROM {BASE}\n"
    "RUN head -c 100 /dev/zero > /usr/local/bin/helper && chmod 4755 /usr/local/bin/helper\n"
    "RUN passwd -d root\n"
    "COPY . /app\n"
)
DISK_CASES = {
    "rewritten-and-deleted": (REWRITTEN, {}),
    "apt-lists": (APT_LISTS, {}),
    "multi-stage-python": (MULTI_STAGE, {"app.py": b"print('hello')\n" * 50}),
    "directory-deleted": (DIR_DELETED, {}),
    "hardlinks": (HARDLINKS, {}),
    "opaque-directory": (OPAQUE_DIR, {}),
    "shadow-setuid-stray": (SHADOW_AND_SETUID, {"main.py": b"print(1)\n", ".git/HEAD": b"ref: x\n"}),
}


def _analysed(ref: str, from_disk: bool, monkeypatch: pytest.MonkeyPatch) -> ImageReport:
    monkeypatch.setenv(ENV_FROM_DISK, "1" if from_disk else "0")
    forget_memory()
    with tempfile.TemporaryDirectory(prefix="layerlab-layer-cache-") as tmp:
        report = analyse_image(ref, cache_dir=Path(tmp))
    forget_memory()
    return report


@pytest.mark.docker
@pytest.mark.parametrize("case", sorted(DISK_CASES))
def test_layers_read_from_overlay2_give_the_exports_report(
    case: str, images: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = images(*DISK_CASES[case])
    disk = _analysed(ref, True, monkeypatch)
    export = _analysed(ref, False, monkeypatch)
    assert (disk.exported, export.exported) == (False, True)
    assert disk == dataclasses.replace(export, exported=False)
    # and entry by entry, in the export's order: per layer, the record replayed and the walk
    monkeypatch.setenv(ENV_FROM_DISK, "1")
    attrs = engine.image_attrs(ref)
    assert attrs is not None
    diff_ids = attrs["RootFS"]["Layers"]
    on_disk = overlay._layer_dirs(attrs, diff_ids)
    assert on_disk is not None
    exported = _read_export(engine.image_export_stream(ref), diff_ids, {}, match_sizes=False).parsed
    pulled = {
        d for base in (BASE, "python:3.11-slim") for d in (engine.image_attrs(base) or {})["RootFS"]["Layers"]
    }
    for diff_id, where in zip(diff_ids, on_disk, strict=True):
        replayed = read_layer_split(diff_id, where.tar_split, where.diff_dir)
        assert replayed == exported[diff_id]  # tar size included
        if diff_id not in pulled:  # built here, so its tar was the walk of its directory
            walked = read_layer_dir(diff_id, where.diff_dir)
            assert (walked.entries, walked.shadow_empty) == (replayed.entries, replayed.shadow_empty)


@pytest.mark.docker
def test_hardlinks_and_an_opaque_directory_read_from_overlay2_match_dive(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_FROM_DISK, raising=False)
    for dockerfile in (HARDLINKS, OPAQUE_DIR):
        ref = images(dockerfile)
        report = analyse_image(ref, cache_dir=cache_dir)
        assert report.exported is False
        assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_setting_the_variable_to_0_exports_instead(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_FROM_DISK, "0")
    report = analyse_image(images(REWRITTEN), cache_dir=cache_dir)
    assert (report.exported, report.layers_read) == (True, 4)


@pytest.mark.docker
def test_storage_that_is_not_here_falls_back_to_the_export(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_FROM_DISK, raising=False)
    ref = images(REWRITTEN)
    attrs = engine.image_attrs(ref)
    assert attrs is not None
    diff_ids = attrs["RootFS"]["Layers"]
    assert overlay._layer_dirs(attrs, diff_ids) is not None
    driver = attrs["GraphDriver"]
    elsewhere = {**driver, "Data": {**driver["Data"], "UpperDir": "/nonexistent/overlay2/x/diff"}}
    assert overlay._layer_dirs({**attrs, "GraphDriver": elsewhere}, diff_ids) is None
    assert overlay._layer_dirs({**attrs, "GraphDriver": {**driver, "Name": "vfs"}}, diff_ids) is None
    swapped = driver["Data"]["LowerDir"].split(":")
    swapped[0], swapped[1] = swapped[1], swapped[0]
    moved = {**driver, "Data": {**driver["Data"], "LowerDir": ":".join(swapped)}}
    assert overlay._layer_dirs({**attrs, "GraphDriver": moved}, diff_ids) is None
    assert overlay._layer_dirs(attrs, diff_ids[1:]) is None  # counts differ
    monkeypatch.setattr(engine, "image_attrs", lambda _: {**attrs, "GraphDriver": elsewhere})
    report = analyse_image(ref, cache_dir=cache_dir)
    assert (report.exported, report.layers_read) == (True, 4)
