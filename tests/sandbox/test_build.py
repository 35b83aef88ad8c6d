"""sandbox.build on the real engine: steps and lines, limits, cleanup."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from sandbox.build import BuildRequest, StepSource, _ProgressParser, stages_needed, step_sources
from sandbox.context import ContextError, build_context, read_context_dir
from sandbox.dockerfile import parse
from sandbox.limits import BuildLimits
from tests.sandbox.builds import build

BASE = "debian:bookworm-slim"


def run(
    dockerfile: str, files: dict[str, str] | None = None, **limits: Any
) -> tuple[Any, list[dict[str, Any]]]:
    return build(dockerfile, files, **limits)


@pytest.mark.docker
def test_steps_report_their_dockerfile_line_and_cache_state() -> None:
    dockerfile = (
        f"FROM {BASE} AS build\n"
        "ARG GREETING=hi\n"
        "RUN --mount=type=cache,target=/var/cache/x echo \\\n"
        '    "$GREETING" > /greeting\n'
        "WORKDIR /app\n"
        "COPY app.txt .\n"
        f"FROM {BASE}\n"
        "COPY --from=build /greeting /greeting\n"
    )
    result, events = run(dockerfile, {"app.txt": "x"})
    assert result.ok, result.message
    steps = {e["name"]: e for e in events if e["kind"] == "step" and not e["internal"]}
    lines = {name.split(" ", 1)[0] + ":" + str(e["line"]) for name, e in steps.items()}
    assert {"RUN:3", "WORKDIR:5", "COPY:6", "COPY:8"} <= lines
    again, events = run(dockerfile, {"app.txt": "x"})
    assert again.ok
    states = [e["state"] for e in events if e["kind"] == "step" and e["name"].startswith("RUN")]
    assert states[-1] == "cached"


@pytest.mark.docker
def test_a_failing_run_reports_its_line_and_output() -> None:
    result, _ = run(f"FROM {BASE}\nRUN echo first\nRUN echo 'it broke here' >&2; false\n")
    assert not result.ok
    assert result.code == "run_failed"
    assert result.line == 3
    assert "it broke here" in result.output


@pytest.mark.docker
def test_a_missing_copy_source_is_the_students_fault_with_a_line() -> None:
    result, _ = run(f"FROM {BASE}\nCOPY does-not-exist.txt /\n")
    assert not result.ok and result.code == "copy_source_missing"
    assert result.line == 2
    assert "does-not-exist.txt" in result.message


@pytest.mark.docker
def test_a_chatty_build_log_is_capped_with_a_notice_and_the_build_goes_on() -> None:
    result, events = run(
        f"FROM {BASE}\nRUN echo {uuid.uuid4().hex}; for i in $(seq 2000); do echo line-$i; done\n",
        log_cap_bytes=4096,
    )
    assert result.ok
    assert result.log_truncated
    logs = [e for e in events if e["kind"] == "log"]
    assert sum(len(e["line"]) + 1 for e in logs if not e.get("truncated")) <= 4096
    assert logs[-1].get("truncated") and "truncated" in logs[-1]["line"]


@pytest.mark.docker
def test_an_image_over_the_size_cap_is_refused() -> None:
    result, _ = run(f"FROM {BASE}\nRUN head -c 3000000 /dev/urandom > /blob\n", image_cap_bytes=1_000_000)
    assert not result.ok
    assert result.code == "image_too_large"
    assert "limit" in result.message


@pytest.mark.docker
def test_a_build_step_has_no_network() -> None:
    result, _ = run(f"FROM {BASE}\nRUN getent hosts deb.debian.org || (echo no-network >&2; exit 7)\n")
    assert not result.ok
    assert "no-network" in result.output


@pytest.mark.docker
def test_too_many_processes_in_a_run_step_fail_the_build_at_its_own_share() -> None:
    pids_max = Path("/sys/fs/cgroup/pids/layerlab/pids.max")
    v2 = Path("/sys/fs/cgroup/layerlab/pids.max")
    cap = pids_max if pids_max.exists() else v2
    assert cap.exists(), "bin/host-setup starts dockerd under the layerlab cgroup parent"
    share = BuildLimits().pids_max
    assert share < int(cap.read_text())
    dockerfile = (
        f"FROM {BASE}\nRUN i=0; while [ $i -lt {share + 200} ]; do sleep 60 & i=$((i+1)); done; wait\n"
    )
    result, _ = run(dockerfile, timeout_seconds=120)
    assert result.code == "pids_limit"
    assert result.line == 2
    assert f"it reached its limit of {share} processes at once" in result.message


def test_context_paths_cannot_escape_the_context() -> None:
    for name in ("../evil", "/etc/passwd", "a/../../b", ""):
        with (
            pytest.raises(ContextError),
            build_context(dockerfile="FROM scratch\n", files={name: "x"}, cap_bytes=100),
        ):
            pass


def test_context_over_the_cap_is_refused_and_leaves_no_temp_dir(tmp_path: Path) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("layerlab-ctx-*"))
    with (
        pytest.raises(ContextError, match="larger than"),
        build_context(dockerfile="FROM scratch\n", files={"big": "x" * 200}, cap_bytes=100),
    ):
        pass
    assert set(Path(tempfile.gettempdir()).glob("layerlab-ctx-*")) == before


def test_a_context_dir_with_a_symlink_out_of_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)")
    (tmp_path / "secret").symlink_to("/etc/shadow")
    with pytest.raises(ContextError, match="symlink"):
        read_context_dir(tmp_path, cap_bytes=10_000)


def test_step_sources_number_vertex_instructions_per_stage_as_buildkit_does() -> None:
    # BuildKit gives no number to a FROM that starts from an earlier stage or from scratch.
    parsed = parse(
        "ARG V=1\nFROM debian:bookworm-slim AS a\nENV X=1\nRUN true\nFROM a\nCOPY x y\n"
        "FROM scratch AS files\nCOPY --from=1 z /z\n"
    )
    assert step_sources(parsed) == (
        StepSource(0, "a", 1, "FROM debian:bookworm-slim AS a", 2),
        StepSource(0, "a", 2, "RUN true", 4, "true"),
        StepSource(1, "", 0, "FROM a", 5),
        StepSource(1, "", 1, "COPY x y", 6),
        StepSource(2, "files", 0, "FROM scratch AS files", 7),
        StepSource(2, "files", 1, "COPY --from=1 z /z", 8),
    )


def test_a_stage_the_final_image_does_not_need_does_not_run() -> None:
    parsed = parse(
        "FROM debian:bookworm-slim AS base\nRUN true\n"
        "FROM base AS unused\nRUN echo unused\n"
        "FROM debian:bookworm-slim AS tools\nRUN echo tools\n"
        "FROM scratch AS files\nCOPY a /a\n"
        "FROM base\nCOPY --from=files /a /a\nRUN --mount=type=bind,from=tools,target=/t true\n"
    )
    assert stages_needed(parsed) == {0, 2, 3, 4}
    assert [s.text for s in step_sources(parsed) if not s.runs] == ["FROM base AS unused", "RUN echo unused"]


def events_of(dockerfile: str, lines: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    request = BuildRequest(
        dockerfile=dockerfile, context_files={}, tag="t", labels={}, sources=step_sources(parse(dockerfile))
    )
    parser = _ProgressParser(request, events.append)
    parser.announce()
    for line in lines:
        parser.feed(line)
    return events


def test_the_planned_steps_are_announced_waiting_in_dockerfile_order() -> None:
    events = events_of(
        "FROM debian:bookworm-slim AS build\nRUN make\nFROM debian:bookworm-slim\nCOPY --from=build /a /a\n",
        [],
    )
    assert [(e["id"], e["name"], e["state"], e["order"], e["steps"], e["stage"]) for e in events] == [
        ("s0.1", "FROM debian:bookworm-slim AS build", "waiting", 1, 4, "build"),
        ("s0.2", "RUN make", "waiting", 2, 4, "build"),
        ("s1.1", "FROM debian:bookworm-slim", "waiting", 3, 4, "stage-1"),
        ("s1.2", "COPY --from=build /a /a", "waiting", 4, 4, "stage-1"),
    ]


def test_a_step_buildkit_merged_with_another_is_cached_once_its_stage_moves_on() -> None:
    # Two stages FROM the same base: BuildKit reports the FROM once, under the first stage.
    events = events_of(
        "FROM debian:bookworm-slim AS build\nRUN make\nFROM debian:bookworm-slim\nCOPY --from=build /a /a\n",
        [
            "#4 [build 1/2] FROM docker.io/library/debian:bookworm-slim",
            "#4 DONE 0.1s",
            "#5 [build 2/2] RUN make",
            "#5 0.120 \x1b[1;31mmaking\x1b[0m",
            "#5 DONE 2.5s",
            "#6 [stage-1 2/2] COPY --from=build /a /a",
            "#6 DONE 0.0s",
        ],
    )
    started = [(e["id"], e["state"]) for e in events[4:] if e["kind"] == "step"]
    assert started == [
        ("s0.1", "running"),
        ("s0.1", "done"),
        ("s0.2", "running"),
        ("s0.2", "done"),
        ("s1.1", "cached"),
        ("s1.2", "running"),
        ("s1.2", "done"),
    ]
    assert [(e["step"], e["line"]) for e in events if e["kind"] == "log"] == [
        ("s0.2", "\x1b[1;31mmaking\x1b[0m")
    ]


def test_log_lines_keep_their_colours_and_lose_every_other_escape_code() -> None:
    events: list[dict[str, Any]] = []
    request = BuildRequest(dockerfile="", context_files={}, tag="t", labels={})
    parser = _ProgressParser(request, events.append)
    parser.feed("#5 [2/2] RUN make")
    parser.feed("#5 0.210 \x1b[1;31merror:\x1b[0m \x1b]0;a title\x07build \x1b[2Kfailed\x1b(B")
    assert [e["line"] for e in events if e["kind"] == "log"] == ["\x1b[1;31merror:\x1b[0m build failed"]


@pytest.mark.docker
def test_a_coloured_build_log_reaches_the_page_with_its_colour_only() -> None:
    nonce = uuid.uuid4().hex[:8]
    result, events = run(f"FROM {BASE}\nRUN printf '\\033]0;title\\007\\033[32m{nonce} ok\\033[0m\\n'\n")
    assert result.ok, result.message
    assert [e["line"] for e in events if e["kind"] == "log"] == [f"\x1b[32m{nonce} ok\x1b[0m"]


@pytest.mark.docker
def test_steps_of_a_long_dockerfile_keep_their_lines() -> None:
    # BuildKit pads the step number when there are ten or more: "[ 5/11]".
    nonce = uuid.uuid4().hex[:8]
    runs = [f"RUN echo {nonce}-{i}" for i in range(1, 11)]
    runs[3] = f"RUN echo {nonce}-broken; exit 4"
    result, events = run(f"FROM {BASE}\n" + "\n".join(runs) + "\n")
    assert (result.code, result.line) == ("run_failed", 5)
    first = next(e for e in events if e["kind"] == "step" and e["name"] == f"RUN echo {nonce}-1")
    assert (first["index"], first["total"], first["line"], first["internal"]) == (2, 11, 2, False)


def test_a_cache_hit_reported_after_a_later_step_of_its_stage_keeps_its_row() -> None:
    events = events_of(
        "FROM debian:bookworm-slim\nRUN useradd app\nWORKDIR /app\n",
        [
            "#4 [1/3] FROM docker.io/library/debian:bookworm-slim",
            "#4 DONE 0.0s",
            "#6 [3/3] WORKDIR /app",
            "#6 CACHED",
            "#5 [2/3] RUN useradd app",
            "#5 CACHED",
        ],
    )
    steps = [(e["id"], e["state"]) for e in events[3:] if e["kind"] == "step"]
    assert steps == [
        ("s0.1", "running"),
        ("s0.1", "done"),
        ("s0.2", "cached"),  # presumed, when step 3 started
        ("s0.3", "running"),
        ("s0.3", "cached"),
        ("s0.2", "running"),  # BuildKit's own report of it, under the same id
        ("s0.2", "cached"),
    ]
