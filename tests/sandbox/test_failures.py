"""The failure classification table: one test per row on error text captured from real builds
on this platform's engine (Debian's docker.io 20.10.24, BuildKit through `DOCKER_BUILDKIT=1
/usr/bin/docker build --progress=plain --network=none`), then the commonest failures built for
real."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest

from labs.grading.catalogue import failure_templates, korean
from sandbox import engine, failures
from sandbox.build import step_sources
from sandbox.dockerfile import parse
from sandbox.failures import BuildFailure, FailedStep, classify, parse_message
from tests.sandbox import builds

BASE = "debian:bookworm-slim"

# The trailer BuildKit prints after a failed step: the step quoted between rulers, then the error.
RUN_TRAILER = (
    "------",
    " > [2/2] RUN {cmd}:",
    "------",
    "executor failed running [/bin/sh -c {cmd}]: exit code: {status}",
)


def run_step(
    cmd: str, status: int, tail: tuple[str, ...], line: int = 2, network: str = "none"
) -> BuildFailure:
    error = f"executor failed running [/bin/sh -c {cmd}]: exit code: {status}"
    trailer = tuple(t.format(cmd=cmd, status=status) for t in RUN_TRAILER)
    return BuildFailure(
        step=FailedStep(f"RUN {cmd}", error, line, tail=tail), trailer=trailer, network=network
    )


def copy_step(text: str, error: str, files: tuple[str, ...] = (), dockerfile: str = "") -> BuildFailure:
    line = dockerfile.count("\n") if dockerfile else 2
    return BuildFailure(
        step=FailedStep(text, error, line),
        trailer=("------", f" > [2/2] {text}:", "------", f"failed to compute cache key: {error}"),
        context_paths=files,
        sources=step_sources(parse(dockerfile)) if dockerfile else (),
    )


# Row: COPY/ADD source not in the build context (BuildKit's cache-key lookup).


def test_a_missing_copy_source_names_the_file_and_lists_the_build_context() -> None:
    found = classify(
        copy_step("COPY app.py /app/", '"/app.py" not found: not found', ("main.py", "requirements.txt"))
    )
    assert found.code == "copy_source_missing"
    assert found.line == 2
    assert found.message == (
        'line 2: "app.py" in `COPY app.py /app/` is not in the build context, so there is nothing to copy. '
        "The build context holds: main.py, requirements.txt"
    )


def test_a_copy_source_outside_the_build_context_says_so() -> None:
    found = classify(copy_step("COPY ../secret /app/", '"/secret" not found: not found', ("main.py",)))
    assert found.code == "copy_source_missing"
    assert found.message == (
        'line 2: "../secret" in `COPY ../secret /app/` is outside the build context: COPY and ADD read '
        'only files inside it, and "../" cannot leave it. The build context holds: main.py'
    )


def test_a_copy_source_left_out_by_the_dockerignore_says_so() -> None:
    found = classify(
        copy_step("COPY app.py /app/", '"/app.py" not found: not found', ("app.py", ".dockerignore"))
    )
    assert found.message == (
        'line 2: "app.py" in `COPY app.py /app/` is left out of the build context by your .dockerignore. '
        "Change the .dockerignore, or do not copy it."
    )


def test_a_long_build_context_listing_is_cut() -> None:
    files = tuple(f"f{i:02d}.txt" for i in range(20))
    found = classify(copy_step("COPY app.py /app/", '"/app.py" not found: not found', files))
    assert found.message.endswith(
        "The build context holds: f00.txt, f01.txt, f02.txt, f03.txt, f04.txt, f05.txt, f06.txt, "
        "f07.txt, f08.txt, f09.txt, f10.txt, f11.txt, … +8"
    )


# Row: COPY/ADD source under a path that does not exist (BuildKit walks the context mount).

WALK = (
    "failed to walk /var/lib/docker/tmp/buildkit-mount37116100/app.py: "
    "lstat /var/lib/docker/tmp/buildkit-mount37116100/app.py: no such file or directory"
)


def test_a_missing_copy_source_directory_never_shows_the_engines_mount_path() -> None:
    found = classify(copy_step("COPY app.py/x /app/", WALK, ("main.py",)))
    assert found.code == "copy_source_missing"
    assert found.message == (
        'line 2: "app.py/x" in `COPY app.py/x /app/` is not in the build context, so there is nothing '
        "to copy. The build context holds: main.py"
    )


def test_a_path_missing_in_an_earlier_stage_names_the_stage() -> None:
    dockerfile = f"FROM {BASE} AS b\nRUN true\nFROM {BASE}\nCOPY --from=b /nope/x /app/\n"
    error = (
        "failed to walk /var/lib/docker/tmp/buildkit-mount3985015053/nope: "
        "lstat /var/lib/docker/tmp/buildkit-mount3985015053/nope: no such file or directory"
    )
    found = classify(copy_step("COPY --from=b /nope/x /app/", error, dockerfile=dockerfile))
    assert found.line == 4
    assert found.message == (
        'line 4: "/nope/x" in `COPY --from=b /nope/x /app/` does not exist in the build stage "b". '
        "Check where that stage writes it, and copy that path."
    )


def test_a_path_missing_in_an_image_names_the_image() -> None:
    error = '"/nope" not found: not found'
    found = classify(copy_step("COPY --from=python:3.11-slim /nope /app/", error, ("main.py",)))
    assert found.message == (
        'line 2: "/nope" in `COPY --from=python:3.11-slim /nope /app/` does not exist in the image '
        "python:3.11-slim. Check the path inside that image."
    )


# Row: more layers than overlay2 can stack.


def test_max_depth_exceeded_is_too_many_layers() -> None:
    failure = BuildFailure(
        step=FailedStep(
            "COPY x /x128", "failed to prepare 6dor3vk700twjdxyd0i2mfuvh: max depth exceeded", 130
        ),
        trailer=("failed to prepare 6dor3vk700twjdxyd0i2mfuvh: max depth exceeded",),
    )
    found = classify(failure)
    assert found.code == "too_many_layers"
    assert found.line == 130
    assert found.message == (
        "line 130: `COPY x /x128` would put the image over the most layers the engine can stack (128, "
        "the base image's own layers included). Every RUN, COPY, ADD and WORKDIR adds a layer: join "
        "RUN commands with &&, and copy whole directories with one COPY."
    )


# Row: WORKDIR through a file.


def test_a_workdir_through_a_file_names_the_path_not_the_engines() -> None:
    error = "mkdir /var/lib/docker/overlay2/yx8ajczghgt1v3n41rqem3o5x/merged/etc/passwd: not a directory"
    found = classify(BuildFailure(step=FailedStep("WORKDIR /etc/passwd", error, 2)))
    assert found.code == "workdir_not_directory"
    assert found.message == (
        "line 2: WORKDIR /etc/passwd cannot be made: /etc/passwd or a directory above it is a file in the "
        "image, not a directory. Choose a directory path, e.g. WORKDIR /app."
    )


def test_a_workdir_below_a_file_is_the_same_row() -> None:
    error = "lstat /var/lib/docker/overlay2/rvfrl0a1hi6qaxo1n89kr2bws/merged/etc/passwd/sub: not a directory"
    found = classify(BuildFailure(step=FailedStep("WORKDIR /etc/passwd/sub", error, 2)))
    assert found.code == "workdir_not_directory"
    assert found.message.startswith("line 2: WORKDIR /etc/passwd/sub cannot be made: /etc/passwd/sub or")


# Row: the runtime cannot create the working directory when a RUN starts.


def test_a_workdir_under_proc_points_at_the_workdir_line() -> None:
    dockerfile = f"FROM {BASE}\nWORKDIR /proc/foo\nRUN true\n"
    tail = (
        "runc run failed: unable to start container process: error during container init: "
        "mkdir /proc/foo: no such file or directory",
    )
    failure = run_step("true", 1, tail, line=3)
    found = classify(
        BuildFailure(step=failure.step, trailer=failure.trailer, sources=step_sources(parse(dockerfile)))
    )
    assert found.code == "workdir_refused"
    assert found.line == 2
    assert found.message == (
        "line 2: WORKDIR /proc/foo cannot be used: when `RUN true` started, the runtime could not create "
        "/proc/foo (no such file or directory). /proc is provided by the kernel and mounted over the image "
        "whenever a command runs, so nothing the image has there is seen. Choose a directory of your own, "
        "e.g. WORKDIR /app."
    )


# Row: RUN's program does not exist in the image.


def test_a_run_in_scratch_says_the_image_has_no_shell() -> None:
    tail = (
        'runc run failed: unable to start container process: exec: "/bin/sh": stat '
        "/bin/sh: no such file or directory",
    )
    found = classify(run_step("true", 1, tail))
    assert found.code == "run_no_program"
    assert found.message == (
        "line 2: `RUN true` could not start: this stage's image has no /bin/sh, and a RUN written as a plain "
        "command runs with /bin/sh -c. Images such as scratch have no shell: run commands in a stage that "
        "has one and COPY the results in."
    )


def test_an_exec_form_run_of_a_missing_program_names_it() -> None:
    tail = (
        'runc run failed: unable to start container process: exec: "/nonexistent": '
        "stat /nonexistent: no such file or directory",
    )
    failure = BuildFailure(
        step=FailedStep(
            'RUN ["/nonexistent"]', "executor failed running [/nonexistent]: exit code: 1", 2, tail=tail
        )
    )
    found = classify(failure)
    assert found.message == (
        'line 2: `RUN ["/nonexistent"]` could not start: the program /nonexistent does not exist in the '
        "image. Install it in an earlier step, use a base image that has it, or write its full path."
    )


# Row: USER names a user the image does not have.


def test_an_unknown_user_is_named() -> None:
    error = (
        "executor failed running [/bin/sh -c true]: "
        "unable to find user nouser: no matching entries in passwd file"
    )
    found = classify(BuildFailure(step=FailedStep("RUN true", error, 3)))
    assert found.code == "user_not_found"
    assert found.message == (
        "line 3: `RUN true` could not start: the user nouser (set by USER) does not exist in the image. "
        "Create it in an earlier step, e.g. RUN useradd --create-home nouser, or use a numeric id such as "
        "USER 10001."
    )


# Rows: the engine's own troubles are ours.

ENGINE_TROUBLE = [
    # captured: the daemon's socket is gone
    ("Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?", None),
    # captured: DOCKER_HOST points at a closed port
    (
        "failed to dial gRPC: cannot connect to the Docker daemon. Is 'docker daemon' running on this host?: "
        "dial tcp 127.0.0.1:1: connect: connection refused",
        None,
    ),
    # captured: an image the engine does not hold, pulls blocked by bin/host-setup's proxy
    (
        "failed to solve with frontend dockerfile.v0: failed to create LLB "
        "definition: failed to do request: Head "
        '"https://registry-1.docker.io/v2/library/alpine/manifests/3.19": proxyconnect tcp: dial tcp '
        "127.0.0.1:9: connect: connection refused",
        FailedStep(
            "load metadata for docker.io/library/alpine:3.19",
            'failed to do request: Head "https://registry-1.docker.io/v2/library/alpine/manifests/3.19": '
            "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused",
            internal=True,
        ),
    ),
    # the remaining markers in the form BuildKit 0.8 words them (not reproducible on a shared host)
    ("error during connect: Post http://docker/v1.41/build: EOF", None),
    (
        "failed to copy files: copy file range failed: no space left on device",
        FailedStep(
            "COPY big /big", "failed to copy files: copy file range failed: no space left on device", 2
        ),
    ),
    (
        "failed to solve with frontend dockerfile.v0: failed to create LLB "
        "definition: failed to resolve source "
        "metadata for docker.io/library/python:3.11-slim: no match for platform in manifest",
        None,
    ),
    ("pull access denied for layerlab.invalid/base, repository does not exist", None),
    (
        "failed to receive status: rpc error: code = Unavailable desc = closing "
        "transport due to: connection error",
        None,
    ),
    # seen here: a second engine started with "bridge": "none" deleted the first one's docker0
    (
        "executor failed running [/bin/sh -c echo hi]: failed to create endpoint r3xsk on network "
        "bridge: adding interface veth9919576 to bridge docker0 failed: could not find bridge "
        "docker0: route ip+net: no such network interface",
        FailedStep(
            "RUN echo hi",
            "executor failed running [/bin/sh -c echo hi]: failed to create endpoint r3xsk on network "
            "bridge: adding interface veth9919576 to bridge docker0 failed: could not find bridge docker0",
            2,
        ),
    ),
]


@pytest.mark.parametrize(("trailer", "step"), ENGINE_TROUBLE)
def test_the_engines_own_troubles_are_ours(trailer: str, step: FailedStep | None) -> None:
    with pytest.raises(engine.EngineError, match="build engine failure"):
        classify(BuildFailure(step=step, trailer=(trailer,)))


def test_a_run_that_prints_an_engine_message_is_still_the_students() -> None:
    cmd = 'echo "Cannot connect to the Docker daemon; no space left on device"; exit 1'
    found = classify(run_step(cmd, 1, ("Cannot connect to the Docker daemon; no space left on device",)))
    assert found.code == "run_failed"


def test_a_copy_source_named_like_an_engine_message_is_still_the_students() -> None:
    error = '"/failed to do request" not found: not found'
    found = classify(copy_step('COPY ["failed to do request", "/x"]', error, ("main.py",)))
    assert found.code == "copy_source_missing"


# Row: RUN reached for the network in an exercise without one.

PIP_TAIL = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, "
    "redirect=None, status=None)) after connection "
    "broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection "
    "object at 0x7f8035929cd0>: "
    "Failed to establish a new connection: [Errno -3] Temporary failure in "
    "name resolution')': /simple/flask/",
    "ERROR: Could not find a version that satisfies the requirement flask (from versions: none)",
    "ERROR: No matching distribution found for flask",
)
NETWORK_TAILS = [
    (
        "pip install flask",
        PIP_TAIL,
        # a line longer than 160 characters is quoted around what matched
        "…r.urllib3.connection.HTTPSConnection object at 0x7f8035929cd0>: Failed to establish a new "
        "connection: [Errno -3] Temporary failure in name resolution')': /simpl…",
    ),
    (
        "apt-get update && apt-get install -y curl",
        (
            "Err:1 http://deb.debian.org/debian bookworm InRelease",
            "  Temporary failure resolving 'deb.debian.org'",
            "E: Unable to locate package curl",
        ),
        "Temporary failure resolving 'deb.debian.org'",
    ),
    (
        "npm install left-pad",
        (
            "npm ERR! code EAI_AGAIN",
            "npm ERR! syscall getaddrinfo",
        ),
        "npm ERR! code EAI_AGAIN",
    ),
    (
        "go get github.com/pkg/errors",
        (
            "go: module github.com/pkg/errors: Get "
            '"https://proxy.golang.org/github.com/pkg/errors/@v/list": dial '
            "tcp: lookup proxy.golang.org on 10.255.255.53:53: dial udp "
            "10.255.255.53:53: connect: network is "
            "unreachable",
        ),
        '…oxy.golang.org/github.com/pkg/errors/@v/list": dial tcp: lookup proxy.golang.org on '
        "10.255.255.53:53: dial udp 10.255.255.53:53: connect: network is unreachable",
    ),
    (
        "curl -fsSL https://example.com",
        ("curl: (6) Could not resolve host: example.com",),
        "curl: (6) Could not resolve host: example.com",
    ),
    (
        "python fetch.py",
        ("urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>",),
        "urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>",
    ),
    (
        "node fetch.js",
        ("Error: getaddrinfo ENOTFOUND registry.npmjs.org",),
        "Error: getaddrinfo ENOTFOUND registry.npmjs.org",
    ),
]


@pytest.mark.parametrize(("cmd", "tail", "evidence"), NETWORK_TAILS)
def test_a_download_in_a_network_none_exercise_says_builds_have_no_network(
    cmd: str, tail: tuple[str, ...], evidence: str
) -> None:
    found = classify(run_step(cmd, 1, tail))
    assert found.code == "network_none"
    assert found.message == (
        f"line 2: `RUN {cmd}` tried to reach the network, but this exercise gives builds no network "
        f'(its output: "{evidence}"). Install only from files in the build context (COPY them in) or from '
        "what the base image already has."
    )


def test_the_same_download_with_the_package_proxy_is_a_plain_failed_command() -> None:
    found = classify(run_step("pip install flask", 1, PIP_TAIL, network="default"))
    assert found.code == "run_failed"


# Row: RUN's command was killed without reaching the memory limit.


def test_status_137_is_a_killed_command() -> None:
    found = classify(run_step("sh -c 'kill -9 $$'", 137, ("Killed",)))
    assert found.code == "run_killed"
    assert found.message == (
        "line 2: the command `sh -c 'kill -9 $$'` was killed (signal 9, "
        "SIGKILL) before it finished, although "
        "the build stayed within its memory limit: something in the step ended it, e.g. kill -9. Its last "
        "output:\n    Killed"
    )


# Row: RUN's command exited non-zero.


def test_a_failed_command_says_its_status_and_last_output_lines() -> None:
    tail = ("one", "two", "ls: cannot access '/nope': No such file or directory")
    found = classify(run_step("echo one && echo two >&2 && ls /nope", 2, tail))
    assert found.code == "run_failed"
    assert found.message == (
        "line 2: the command `echo one && echo two >&2 && ls /nope` exited with status 2, so the build "
        "stopped (a RUN step must end with status 0). Its last output:\n"
        "    one\n    two\n    ls: cannot access '/nope': No such file or directory"
    )
    assert "exit code" not in found.message


def test_only_the_last_five_output_lines_are_quoted_and_escape_codes_go() -> None:
    tail = tuple(f"\x1b[31mline {i}\x1b[0m" for i in range(1, 9))
    found = classify(run_step("make", 2, tail))
    assert found.message.endswith(
        "Its last output:\n    line 4\n    line 5\n    line 6\n    line 7\n    line 8"
    )
    assert found.output == tuple(f"line {i}" for i in range(1, 9))


def test_a_command_that_printed_nothing_says_so() -> None:
    found = classify(run_step("false", 1, ()))
    assert found.message == (
        "line 2: the command `false` exited with status 1, so the build stopped (a RUN step must end with "
        "status 0). It printed nothing."
    )


def test_status_127_names_the_program_the_shell_did_not_find() -> None:
    found = classify(run_step("pyhton app.py", 127, ("/bin/sh: 1: pyhton: not found",)))
    assert found.message == (
        "line 2: the command `pyhton app.py` exited with status 127: the shell "
        "found no program called pyhton. "
        "Install it in an earlier step or use a base image that has it. Its last output:\n"
        "    /bin/sh: 1: pyhton: not found"
    )


# Row: the engine's Dockerfile parser refused the file.


def test_an_unknown_instruction_is_the_students_with_its_line() -> None:
    trailer = (
        "failed to solve with frontend dockerfile.v0: failed to create LLB "
        "definition: dockerfile parse error "
        "line 2: unknown instruction: FOO",
    )
    found = classify(BuildFailure(step=None, trailer=trailer))
    assert found.code == "dockerfile_error"
    assert found.line == 2
    assert found.message == (
        "line 2: FOO is not a Dockerfile instruction. Check its spelling, and that the line before it ends "
        "with a backslash if it continues a long RUN."
    )


def test_another_parse_error_gives_the_engines_words() -> None:
    trailer = (
        "failed to solve with frontend dockerfile.v0: failed to create LLB "
        "definition: dockerfile parse error "
        "line 2: ENV requires at least one argument",
    )
    found = classify(BuildFailure(step=None, trailer=trailer))
    assert (found.code, found.line) == ("dockerfile_error", 2)
    assert (
        found.message
        == "line 2: the engine could not read the Dockerfile: ENV requires at least one argument"
    )


def test_a_bad_substitution_is_a_dockerfile_error() -> None:
    trailer = (
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to process "
        "\"${Y\": missing ':' in substitution",
    )
    found = classify(BuildFailure(step=None, trailer=trailer))
    assert (found.code, found.line) == ("dockerfile_error", None)
    assert found.message == (
        "the engine could not read the Dockerfile: failed to process \"${Y\": missing ':' in substitution"
    )


# No row: a failed student step stays the student's; nothing but the trailer is ours.


def test_a_failed_step_no_row_knows_is_a_build_error_without_engine_paths() -> None:
    error = (
        "failed to copy files: userspace copy failed: "
        "/var/lib/docker/overlay2/abc123/merged/app: invalid argument"
    )
    found = classify(BuildFailure(step=FailedStep("COPY app /app", error, 2, "[2/2] ")))
    assert found.code == "build_error"
    assert found.line == 2
    assert found.message == (
        "Step [2/2] COPY app /app failed: failed to copy files: userspace copy failed: /app: invalid argument"
    )


def test_a_failure_with_no_failed_step_and_no_row_is_ours_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="sandbox.failures"), pytest.raises(engine.EngineError):
        classify(BuildFailure(step=None, trailer=("failed to solve: something new went wrong",)))
    assert [r.getMessage() for r in caplog.records] == [
        "unclassified engine failure:\nfailed to solve: something new went wrong"
    ]


def test_a_failed_internal_step_no_row_knows_is_ours() -> None:
    step = FailedStep("load build context", "failed to read dockerignore: unexpected EOF", internal=True)
    with pytest.raises(engine.EngineError, match="unclassified engine failure"):
        classify(BuildFailure(step=step))


# The table as data: every row's wording has Korean, and the message alone gives it back.


def test_every_students_row_has_a_template_and_korean() -> None:
    codes = {row.code for row in failures.TABLE if row.party == "student"}
    assert codes <= failures.CODES
    assert set(failures.TEMPLATES) - {"build_error"} == set(failure_templates("build"))


@pytest.mark.parametrize("key", sorted(set(failures.TEMPLATES) - {"build_error"}))
def test_each_message_reads_back_into_korean(key: str) -> None:
    template = failures.TEMPLATES[key]
    names = set(re.findall(r"\{(\w+)\}", template))
    params = {n: ("7" if n in ("status", "signal") else f"<{n} value>") for n in names}
    if "output" in params:
        params["output"] = "    first line\n    last line"
    code = key.split(":", 1)[0]
    message = "line 3: " + template.format(**params)
    assert parse_message(code, message, 3) == (key, params)
    assert korean(code, message, line=3) == "3번째 줄: " + failure_templates("build")[key].format(**params)


def test_a_failed_command_in_korean() -> None:
    found = classify(run_step("false", 1, ("oops",)))
    assert korean(found.code, found.message, line=found.line) == (
        "2번째 줄: 명령 `false`이(가) 상태 1(으)로 끝나 빌드가 멈췄습니다"
        "(RUN 단계는 상태 0으로 끝나야 합니다). 마지막 출력:\n    oops"
    )


# Real builds on the engine: the commonest failures.


def build(dockerfile: str, files: dict[str, str] | None = None, network: str = "none") -> Any:
    return builds.build(dockerfile, files, network=network)[0]


@pytest.mark.docker
def test_a_real_missing_copy_source() -> None:
    result = build(f"FROM {BASE}\nCOPY app.py /app/\n", {"main.py": "print(1)\n"})
    assert (result.code, result.line) == ("copy_source_missing", 2)
    assert result.message == (
        'line 2: "app.py" in `COPY app.py /app/` is not in the build context, so there is nothing to copy. '
        "The build context holds: main.py"
    )


@pytest.mark.docker
def test_a_real_missing_source_directory_shows_no_engine_path() -> None:
    result = build(f"FROM {BASE}\nCOPY src/app.py /app/\n", {"main.py": "print(1)\n"})
    assert (result.code, result.line) == ("copy_source_missing", 2)
    assert result.message == (
        'line 2: "src/app.py" in `COPY src/app.py /app/` is not in the build context, so there is nothing '
        "to copy. The build context holds: main.py"
    )


@pytest.mark.docker
def test_a_real_failing_command() -> None:
    result = build(
        f"FROM {BASE}\nRUN echo {uuid.uuid4().hex[:6]} >/dev/null; echo 'it broke here' >&2; exit 3\n"
    )
    assert (result.code, result.line) == ("run_failed", 2)
    assert result.message.endswith(
        "exited with status 3, so the build stopped (a RUN step must end with status 0). Its last output:\n"
        "    it broke here"
    )


@pytest.mark.docker
def test_a_real_download_in_a_network_none_build() -> None:
    nonce = uuid.uuid4().hex[:6]
    cmd = f"python -c \"import socket; socket.getaddrinfo('pypi.org', 443)\" # {nonce}"
    result = build(f"FROM python:3.11-slim\nRUN {cmd}\n")
    assert (result.code, result.line) == ("network_none", 2)
    assert result.message == (
        f"line 2: `RUN {cmd}` tried to reach the network, but this exercise gives builds no network (its "
        'output: "socket.gaierror: [Errno -3] Temporary failure in name resolution"). Install only from '
        "files in the build context (COPY them in) or from what the base image already has."
    )


@pytest.mark.docker
@pytest.mark.slow
def test_a_real_build_of_more_than_128_layers() -> None:
    dockerfile = f"FROM {BASE}\n" + "".join(f"COPY x /x{i}\n" for i in range(130))
    result = build(dockerfile, {"x": uuid.uuid4().hex})
    assert result.code == "too_many_layers"
    assert result.line == 130  # the 129th COPY would sit on 129 layers
    assert result.message.startswith("line 130: `COPY x /x128` would put the image over the most layers")
