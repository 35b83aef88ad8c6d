"""Each build gets its own share of processes, memory and disk (real engine, real cgroups)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox import cgroups, engine
from sandbox.build import BuildResult
from sandbox.limits import MiB
from tests.sandbox import builds

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE = "debian:bookworm-slim"
PARENT = "layerlab"


def build(dockerfile: str, **limits: Any) -> tuple[BuildResult, str]:
    result, events = builds.build(dockerfile, **limits)
    return result, builds.logs(events)


def build_groups() -> set[str]:
    """Build cgroups and step records on the host (other builds may be running beside)."""
    found = {p.name for c in ("pids", "memory") for p in Path(f"/sys/fs/cgroup/{c}/{PARENT}").glob("b-*")}
    return found | {p.name for p in cgroups.RUN_DIR.glob("*")}


@pytest.fixture(autouse=True)
def _needs_cgroups_and_leaves_none() -> Iterator[None]:
    reason = cgroups.available(PARENT)
    assert reason == "", reason  # not a skip: CI runs as root with bin/host-setup's engine
    before = build_groups()
    yield
    assert build_groups() - before == set()


def test_a_fork_bomb_uses_its_own_share_and_a_build_beside_it_still_starts_its_processes() -> None:
    nonce = uuid.uuid4().hex[:8]
    bomb = f"FROM {BASE}\nRUN echo {nonce}; bash -c ':(){{ :|:& }};:'; sleep 600\n"
    good = f"FROM {BASE}\nRUN echo {nonce}; for i in $(seq 300); do sleep 6 & done; wait; echo ALL-300-RAN\n"
    with ThreadPoolExecutor(max_workers=2) as pool:
        bombing = pool.submit(build, bomb, timeout_seconds=30, pids_max=512)
        time.sleep(5)  # the bomb has its share by now
        beside = pool.submit(build, good, timeout_seconds=120, pids_max=512)
        (bomb_result, _), (good_result, good_log) = bombing.result(), beside.result()
    assert good_result.ok, good_result.message
    assert "ALL-300-RAN" in good_log
    assert bomb_result.code == "pids_limit"
    assert bomb_result.line == 2
    assert "reached its limit of 512 processes at once" in bomb_result.message


def test_a_memory_hog_is_stopped_at_its_share_and_told_so() -> None:
    hog = f"FROM {BASE}\nRUN echo {uuid.uuid4().hex[:8]}\nRUN head -c 1500m /dev/zero | tail > /dev/null\n"
    result, _ = build(hog, memory_max_bytes=256 * MiB)
    assert result.code == "memory_limit"
    assert result.line == 3
    assert result.message.startswith(
        "The build was stopped while running `RUN head -c 1500m /dev/zero | tail > /dev/null` (line 3): "
        "it went over its memory limit of 256 MiB"
    )
    assert "137" not in result.message


def test_a_process_killed_for_memory_is_named_even_when_the_step_exits_with_its_own_code() -> None:
    """A compiler killed for memory makes `make` exit 2: the step's code is not 137, and the
    student must still hear it was memory, not a failed command."""
    nonce = uuid.uuid4().hex[:8]
    hog = f"FROM {BASE}\nRUN echo {nonce}\nRUN head -c 1500m /dev/zero | tail > /dev/null || exit 2\n"
    result, _ = build(hog, memory_max_bytes=256 * MiB)
    assert result.code == "memory_limit"
    assert result.line == 3


def _free_bytes() -> int:
    st = os.statvfs("/var/lib/docker")
    return st.f_bavail * st.f_frsize


def _records_of(command: str) -> list[dict[str, Any]]:
    return [r for r in engine.build_cache_records() if command in str(r.get("Description"))]


def test_a_build_that_writes_too_much_is_stopped_while_it_writes_and_its_disk_comes_back() -> None:
    nonce = uuid.uuid4().hex[:8]
    keep = f"echo {nonce}-kept > /kept"
    flood = f"for i in $(seq 60); do head -c 40m /dev/urandom > /f$i; sleep 0.3; done; echo {nonce}-WROTE-ALL"
    dockerfile = f"FROM {BASE}\nRUN {keep}\nRUN {flood}\n"
    before = _free_bytes()
    result, log = build(dockerfile, disk_cap_bytes=300 * MiB)
    assert result.code == "disk_limit"
    assert result.line == 3
    assert f"{nonce}-WROTE-ALL" not in log
    assert "wrote more than 300 MiB to disk" in result.message
    assert _records_of(f"{nonce}-kept") == []  # the failed build's cache entries are gone too
    assert _records_of(f"{nonce}-WROTE-ALL") == []
    assert _free_bytes() > before - 50 * MiB


def test_a_fast_writer_between_two_measures_is_caught_at_the_end() -> None:
    nonce = uuid.uuid4().hex[:8]
    dockerfile = f"FROM {BASE}\nRUN head -c 400m /dev/zero > /big && echo {nonce}\n"
    before = _free_bytes()
    result, _ = build(dockerfile, disk_cap_bytes=200 * MiB)
    assert result.code == "disk_limit"
    assert result.ok is False
    assert _records_of(nonce) == []
    assert _free_bytes() > before - 50 * MiB


def test_the_sweep_removes_step_records_a_dead_build_left_without_its_cgroup(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cgroups, "RUN_DIR", tmp_path)
    old, fresh = tmp_path / cgroups.new_token(), tmp_path / cgroups.new_token()
    for path in (old, fresh):
        path.mkdir()
        (path / "step").write_text("/var/lib/docker/overlay2/x/diff")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    cgroups.reap(PARENT, older_than_seconds=600)  # also removes any real leftovers this old
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name]
    shutil.rmtree(fresh)  # the fixture that looks for leftovers may read RUN_DIR before it is put back


def test_a_build_cgroup_that_cannot_be_removed_still_loses_its_step_records(tmp_path) -> None:
    stuck = tmp_path / "cgroup"  # a directory rmdir refuses, as the kernel refuses a busy cgroup
    stuck.mkdir()
    (stuck / "busy").write_text("")
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "step").write_text("/var/lib/docker/overlay2/x/diff")
    group = cgroups.BuildCgroup(cgroups.new_token(), PARENT, 0, 0, steps, made=[stuck])
    assert cgroups.remove(group, wait_seconds=0.0) is False
    assert not steps.exists()
