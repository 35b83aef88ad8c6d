"""sandbox.engine on the real engine: names of images, what the engine can build, the reaper, and
reading a created container's files. Every image and container a test makes is removed."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import engine
from sandbox.limits import MiB

BASE = "debian:bookworm-slim"
LOCKS = {
    "mem_limit": 64 * MiB,
    "memswap_limit": 64 * MiB,
    "pids_limit": 16,
    "network_mode": "none",
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}
GO_MODE_SETUID = 1 << 23
"""os.ModeSetuid: the bit container_stat_path's Go file mode carries for a setuid file."""


@pytest.fixture
def label() -> Iterator[str]:
    """A label value of this test's own; whatever the test did, nothing may carry it afterwards."""
    value = f"test-engine-{uuid.uuid4().hex[:10]}"
    yield value
    assert engine.labelled_leftovers(value=value) == {"containers": [], "images": []}


def build(dockerfile: str, files: dict[str, bytes], label: str) -> tuple[str | None, str]:
    """Builds offline with the engine's own build path; returns the tag (None when the build
    failed) and the build's output."""
    tag = f"layerlab-test/engine:{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="layerlab-test-engine-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        for name, data in files.items():
            (ctx / name).write_bytes(data)
        proc = engine.start_build(context_dir=ctx, tag=tag, labels={engine.LABEL_SUBMISSION: label})
        output, _ = proc.communicate(timeout=300)
    return (tag if proc.returncode == 0 else None), output.decode("utf-8", "replace")


@pytest.mark.docker
def test_a_second_name_for_an_image_lasts_until_it_is_removed_and_the_image_stays() -> None:
    attrs = engine.image_attrs(BASE)
    assert attrs is not None
    name = f"layerlab-test/engine:{uuid.uuid4().hex[:10]}"
    assert not engine.image_exists(name)
    assert engine.image_attrs(name) is None
    engine.image_tag(attrs["Id"], name)
    try:
        assert engine.image_exists(name)
        assert (engine.image_attrs(name) or {})["Id"] == attrs["Id"]
    finally:
        engine.image_remove(name)
    assert not engine.image_exists(name)
    assert (engine.image_attrs(BASE) or {})["Id"] == attrs["Id"]  # its other name still holds it
    engine.image_remove(name)  # a name that is gone already is no error


@pytest.mark.docker
def test_the_host_platform_is_the_one_the_engine_reports() -> None:
    reported = subprocess.run(
        [engine.build_cli().argv[0], "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert engine.host_platform() == reported


@pytest.mark.docker
def test_supports_heredocs_says_whether_the_engine_builds_a_heredoc(label: str) -> None:
    plain, plain_log = build(f"FROM {BASE}\nRUN echo plain > /greeting\n", {}, label)
    heredoc, heredoc_log = build(f"FROM {BASE}\nRUN <<EOF\necho from-a-heredoc > /greeting\nEOF\n", {}, label)
    try:
        assert plain is not None, plain_log[-2000:]
        assert (heredoc is not None) is engine.supports_heredocs(), heredoc_log[-2000:]
    finally:
        for tag in (plain, heredoc):
            if tag is not None:
                engine.image_remove(tag)


@pytest.mark.docker
def test_keeps_setuid_chmod_says_whether_copy_chmod_keeps_the_setuid_bit(label: str) -> None:
    ref, log = build(
        f"FROM {BASE}\nCOPY --chmod=4755 tool /usr/local/bin/tool\n", {"tool": b"#!/bin/sh\n"}, label
    )
    assert ref is not None, log[-2000:]
    try:
        with engine.container_created(
            ref, labels={engine.LABEL_SUBMISSION: label}, host=LOCKS
        ) as container_id:
            found = engine.container_stat_path(container_id, "/usr/local/bin/tool")
    finally:
        engine.image_remove(ref)
    assert found is not None
    assert found["mode"] & 0o777 == 0o755
    assert bool(found["mode"] & GO_MODE_SETUID) is engine.keeps_setuid_chmod()


@pytest.mark.docker
def test_the_reaper_removes_only_its_labels_containers_and_only_once_they_are_old_enough(label: str) -> None:
    other = f"{label}-other"
    mine = engine.container_create(
        BASE, command=["true"], labels={engine.LABEL_SUBMISSION: label}, host=LOCKS
    )
    theirs = engine.container_create(
        BASE, command=["true"], labels={engine.LABEL_SUBMISSION: other}, host=LOCKS
    )
    try:
        assert engine.remove_labelled(value=label, older_than_seconds=3600) == {"containers": 0, "images": 0}
        assert engine.labelled_leftovers(value=label) == {"containers": [mine], "images": []}
        assert engine.remove_labelled(value=label) == {"containers": 1, "images": 0}
        assert engine.labelled_leftovers(value=label) == {"containers": [], "images": []}
        assert engine.labelled_leftovers(value=other) == {"containers": [theirs], "images": []}
    finally:
        engine.container_remove(mine)
        engine.container_remove(theirs)
    assert engine.labelled_leftovers(value=other) == {"containers": [], "images": []}


@pytest.mark.docker
def test_a_created_container_reads_a_file_up_to_its_cap_and_nothing_else(label: str) -> None:
    with engine.container_created(BASE, labels={engine.LABEL_SUBMISSION: label}, host=LOCKS) as container_id:
        whole = engine.container_read_file(container_id, "/etc/debian_version", 1 << 20)
        capped = engine.container_read_file(container_id, "/etc/debian_version", 2)
        directory = engine.container_read_file(container_id, "/etc", 1 << 20)
        missing = engine.container_read_file(container_id, "/no/such/file", 1 << 20)
        missing_stat = engine.container_stat_path(container_id, "/no/such/file")
    assert whole is not None and whole[1] is False
    assert whole[0].startswith(b"12.")
    assert capped == (whole[0][:2], True)
    assert (directory, missing, missing_stat) == (None, None, None)
