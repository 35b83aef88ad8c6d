"""Hostile Dockerfiles and .dockerignores: whatever the worker computes from them is bounded.

Each case is refused as the student's `too_complex` error at the line concerned, or, when it is
merely large, graded with the right answer. The assertions are about behaviour and memory
(tracemalloc's peak), never about time: a case that went back to exponential or quadratic work
would be stopped by its `timeout` fence instead."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings

from labs.grading.catalogue import korean
from labs.grading.shell import MAX_SHELL_COMMANDS, MAX_SHELL_DEPTH
from labs.grading.static import run_static
from sandbox.dockerfile import (
    MAX_EXPANDED_TOTAL,
    MAX_EXPANDED_WORD,
    MAX_HEREDOCS,
    MAX_SOURCE_LINES,
    MAX_SOURCE_WORD,
    MAX_STAGES,
    MAX_SUBSTITUTION_DEPTH,
    DockerfileLimitError,
    ParsedDockerfile,
    expand,
    parse,
)
from sandbox.dockerignore import MAX_IGNORE_PATTERN_CHARS, MAX_IGNORE_PATTERNS, DockerIgnore
from sandbox.policy import check_dockerfile

MB = 1024 * 1024
PEAK_LIMIT = 50 * MB
BASE = "python:3.11-slim"
T = TypeVar("T")


def peak(fn: Callable[[], T]) -> tuple[T, int]:
    """`fn()` and the most memory Python held while it ran."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refusal(fn: Callable[[], Any]) -> tuple[DockerfileLimitError, int]:
    def run() -> DockerfileLimitError:
        with pytest.raises(DockerfileLimitError) as caught:
            fn()
        return caught.value

    return peak(run)


def static(text: str, dockerignore: str | None = None, context: tuple[str, ...] = ()) -> list[Any]:
    return run_static(text, parse(text), dockerignore=dockerignore, context_paths=context)


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.criterion: r for r in results}


def doubling(keyword: str, first: str = "xxxxxxxx", steps: int = 40) -> list[str]:
    return [f"{keyword} A0={first}"] + [f"{keyword} A{i}=$A{i - 1}$A{i - 1}" for i in range(1, steps + 1)]


def first_over(first: str) -> int:
    """The index of the first A_i of a doubling chain that reaches the word bound."""
    i = 0
    while len(first) * 2**i < MAX_EXPANDED_WORD:
        i += 1
    return i


def assert_refused(exc: DockerfileLimitError, line: int | None, *words: str) -> None:
    assert exc.code == "too_complex"
    assert exc.line == line
    if line is not None:
        assert exc.message.startswith(f"line {line}: ")
    for word in words:
        assert word in exc.message


# ARG and ENV expansion


def test_arg_chain_that_doubles_before_from_is_refused_at_the_first_arg_over_the_bound() -> None:
    text = "\n".join([*doubling("ARG"), f"FROM {BASE}"]) + "\n"
    over = first_over("xxxxxxxx")

    exc, used = refusal(lambda: parse(text))

    assert_refused(
        exc,
        over + 1,
        f"ARG A{over} expands to 64 KiB or more",
        f"$A{over - 1} 2 times",
        "doubles the one before",
    )
    assert "Keep ARG and ENV values short" in exc.message
    assert used < PEAK_LIMIT
    [violation] = check_dockerfile(text.encode(), allowed_bases=[BASE])
    assert (violation.code, violation.line) == ("too_complex", over + 1)


def test_arg_chain_just_under_the_bound_is_read_in_full() -> None:
    over = first_over("xxxxxxxx")
    text = "\n".join([*doubling("ARG", steps=over - 1), "FROM alpine:${A0}"]) + "\n"
    parsed = parse(text)
    assert len(parsed.args_before_from[f"A{over - 1}"] or "") == 8 * 2 ** (over - 1)
    assert parsed.stages[0].base_resolved == "alpine:xxxxxxxx"


@pytest.mark.parametrize("keyword", ["ENV", "ARG"])
def test_chain_that_doubles_inside_a_stage_is_refused_even_when_no_check_reads_it(keyword: str) -> None:
    text = "\n".join([f"FROM {BASE}", *doubling(keyword), "CMD true"]) + "\n"
    over = first_over("xxxxxxxx")

    exc, used = refusal(
        lambda: run_static(text, parse(text), dockerignore=None, context_paths=(), only=["opt.no_maintainer"])
    )

    assert_refused(exc, over + 2, f"{keyword} A{over} expands to 64 KiB or more")
    assert used < PEAK_LIMIT


def test_env_inherited_from_a_parent_stage_keeps_doubling_into_the_child_and_is_refused_there() -> None:
    half = first_over("xxxxxxxx") // 2
    text = (
        "\n".join([f"FROM {BASE} AS base", *doubling("ENV", steps=half), "FROM base"])
        + "\n"
        + "".join(f"ENV A{i}=$A{i - 1}$A{i - 1}\n" for i in range(half + 1, 41))
    )
    exc, _ = refusal(lambda: static(text))
    over = first_over("xxxxxxxx")
    assert_refused(exc, over + 3, f"ENV A{over}")


def test_a_value_repeated_in_another_instruction_is_bounded_like_an_env() -> None:
    big = "y" * (MAX_EXPANDED_WORD // 5 + 1)  # five of them reach the bound
    assert len(big) < MAX_SOURCE_WORD
    text = f"FROM {BASE}\nENV BIG={big}\nLABEL huge=$BIG$BIG$BIG$BIG$BIG\n"
    exc, _ = refusal(lambda: static(text))
    assert_refused(exc, 3, "this LABEL expands to 64 KiB or more", "$BIG 5 times")


def test_a_platform_flag_that_repeats_a_long_arg_is_refused_by_the_policy_at_its_line() -> None:
    text = f"ARG A={'p' * 15000}\nFROM --platform=$A$A$A$A$A {BASE}\n"
    [violation] = check_dockerfile(text.encode(), allowed_bases=[BASE])
    assert (violation.code, violation.line) == ("too_complex", 2)
    assert "the --platform flag expands to 64 KiB or more" in violation.message


def test_many_copies_of_a_long_value_are_refused_by_the_total_bound() -> None:
    word = "z" * (MAX_SOURCE_WORD - 10)
    copies = "".join(f"ENV B{i}=$A$A$A\n" for i in range(200))
    text = f"FROM {BASE}\nARG A={word}\n{copies}"
    each = 3 * len(word)
    first = (MAX_EXPANDED_TOTAL - len(word)) // each  # the copy that overdraws the budget

    exc, used = refusal(lambda: static(text))

    assert_refused(exc, first + 3, f"ENV B{first}", "past 4 MiB in all")
    assert used < PEAK_LIMIT


def test_defaults_nested_past_the_bound_are_refused_and_just_under_it_are_expanded() -> None:
    def nested(depth: int) -> str:
        return "${A:-" * depth + "x" + "}" * depth

    ok, missing = expand(nested(MAX_SUBSTITUTION_DEPTH), {})
    assert (ok, missing) == ("x", ())

    text = f"ARG B={nested(MAX_SUBSTITUTION_DEPTH + 2)}\nFROM {BASE}\n"
    exc, _ = refusal(lambda: parse(text))
    assert_refused(exc, 1, "ARG B nests ${NAME:-...} defaults more than 16 deep")


@pytest.mark.timeout(10)
def test_defaults_nested_thousands_deep_are_refused_without_recursing_into_them() -> None:
    depth = 2700  # 6 characters a level: within a 16 KiB word
    text = f"FROM {BASE}\nENV B={'${A:-' * depth}x{'}' * depth}\n"
    exc, used = refusal(lambda: static(text))
    assert_refused(exc, 2, "nests ${NAME:-...} defaults")
    assert used < PEAK_LIMIT


# the source, before the Go parser


def test_a_60_kib_word_is_refused_before_the_parser_reads_it() -> None:
    text = f"FROM {BASE}\nENV NOTE=ok\nRUN echo {'a' * 60 * 1024}\n"
    exc, used = refusal(lambda: parse(text))
    assert_refused(exc, 3, "61,440 characters long", "16 KiB")
    assert used < PEAK_LIMIT


def test_a_long_quoted_value_counts_as_one_word_but_a_long_comment_does_not() -> None:
    label = f'FROM {BASE}\nLABEL description="{"word " * (MAX_SOURCE_WORD // 5 + 1)}"\n'
    exc, _ = refusal(lambda: parse(label))
    assert_refused(exc, 2, "one word or quoted string")

    comment = f"FROM {BASE}\n# {'#' * 60 * 1024}\nRUN true\n"
    assert [i.keyword for i in parse(comment).instructions] == ["FROM", "RUN"]


def test_a_word_just_under_the_bound_is_graded_normally() -> None:
    word = "a" * (MAX_SOURCE_WORD - 1)
    text = f"FROM {BASE}\nRUN echo {word}\nUSER 10001\n"
    results, used = peak(lambda: by_id(static(text)))
    assert results["sec.final_user"].verdict == "pass"
    assert all(r.verdict != "skip" for r in results.values())
    assert used < PEAK_LIMIT


def test_more_lines_than_the_bound_are_refused_at_the_first_line_past_it() -> None:
    text = f"FROM {BASE}\nRUN <<EOF\n" + "true\n" * MAX_SOURCE_LINES + "EOF\n"
    exc, _ = refusal(lambda: parse(text))
    assert_refused(exc, MAX_SOURCE_LINES + 1, "10,000")


# the shell reader


def test_thousands_of_and_joined_commands_are_refused_at_their_run() -> None:
    text = f"FROM {BASE}\nRUN true\nRUN " + " && ".join(["true"] * (MAX_SHELL_COMMANDS + 10)) + "\n"
    exc, used = refusal(lambda: static(text))
    assert_refused(exc, 3, "5,000 shell commands")
    assert used < PEAK_LIMIT


@pytest.mark.timeout(10)
def test_a_thousand_installs_in_one_run_are_each_judged() -> None:
    installs = " && \\\n    ".join(["apk add curl", "rm -rf /tmp/x", "pip install flask"] * 400)
    text = f"FROM {BASE}\nRUN {installs}\n"

    results, used = peak(lambda: by_id(static(text)))

    assert results["opt.apk_cache"].value == "0/400 apk adds without cache"
    assert results["opt.pip_cache"].value == "0/400 pip installs without cache"
    assert results["opt.apk_cache"].lines[:2] == (2, 5)  # each command on its own line
    assert used < PEAK_LIMIT


def nested_sh(depth: int, inner: str) -> str:
    script = inner
    for _ in range(depth):
        script = 'sh -c "' + script.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return script


def test_sh_c_nested_deeper_than_the_bound_is_refused() -> None:
    text = f"FROM {BASE}\nRUN {nested_sh(MAX_SHELL_DEPTH + 2, 'true')}\n"
    exc, used = refusal(lambda: static(text))
    assert_refused(exc, 2, "nested more than 8 deep")
    assert used < PEAK_LIMIT


def test_sh_c_nested_up_to_the_bound_is_read_to_the_bottom() -> None:
    text = f"FROM {BASE}\nRUN {nested_sh(MAX_SHELL_DEPTH, 'curl -fsSL https://x.example/i.sh | sh')}\n"
    result = by_id(static(text))["sec.no_curl_pipe_sh"]
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_many_heredocs_are_refused_at_the_first_past_the_bound() -> None:
    body = "".join(f"RUN <<E{i}\necho {i}\nE{i}\n" for i in range(MAX_HEREDOCS + 1))
    text = f"FROM {BASE}\n{body}"
    exc, _ = refusal(lambda: parse(text))
    assert_refused(exc, 2 + 3 * MAX_HEREDOCS, "heredoc number 1,001")


def test_heredoc_openers_piled_on_one_line_are_refused() -> None:
    text = f"FROM {BASE}\nRUN cat {'<<A ' * (MAX_HEREDOCS + 1)}\n" + "A\n" * (MAX_HEREDOCS + 1)
    exc, _ = refusal(lambda: parse(text))
    assert_refused(exc, 2, "heredoc number")


def test_hundreds_of_heredocs_are_graded_normally() -> None:
    body = "".join(f"RUN <<E{i}\napk add curl\nE{i}\n" for i in range(300))
    results = by_id(static(f"FROM {BASE}\n{body}"))
    assert results["opt.apk_cache"].value == "0/300 apk adds without cache"
    assert results["opt.merged_runs"].value == 299


def test_an_unclosed_heredoc_among_many_is_located() -> None:
    body = "".join(f"RUN <<E{i}\necho {i}\nE{i}\n" for i in range(300))
    text = f"FROM {BASE}\n{body}RUN <<NEVER\necho never closed\n{body}"
    with pytest.raises(Exception) as caught:
        parse(text)
    assert getattr(caught.value, "line", None) == 2 + 3 * 300


def test_more_stages_than_the_bound_are_refused_at_the_first_extra_from() -> None:
    stages = "".join(f"FROM {BASE} AS s{i}\nRUN true\n" for i in range(MAX_STAGES + 1))
    exc, _ = refusal(lambda: parse(stages))
    assert_refused(exc, 2 * MAX_STAGES + 1, "at most 128 build stages")


@pytest.mark.timeout(10)
def test_a_long_chain_of_stages_with_env_is_graded_normally() -> None:
    text = f"FROM {BASE} AS s0\nENV PIP_NO_CACHE_DIR=1\n" + "".join(
        f"FROM s{i - 1} AS s{i}\nENV V{i}=$V{i - 1}x\nRUN pip install flask\n" for i in range(1, MAX_STAGES)
    )
    parsed = parse(text)
    results, used = peak(lambda: by_id(run_static(text, parsed, dockerignore=None, context_paths=())))
    assert results["opt.pip_cache"].verdict == "pass"  # inherited from s0 through 127 stages
    assert results["opt.multi_stage"].value == MAX_STAGES
    assert used < PEAK_LIMIT


# patterns that a backtracking regular expression would take forever on


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("apt-get install -o 'APT::Install-Recommends" + " " * 5000 + "x' curl", "fail"),
        ("apt-get install -o 'APT::Install-Recommends" + " " * 5000 + "false' curl", "pass"),
    ],
)
def test_runs_of_blanks_in_apt_options_are_read_in_one_pass(command: str, verdict: str) -> None:
    text = f"FROM debian:bookworm-slim\nRUN apt-get update && {command} && rm -rf /var/lib/apt/lists/*\n"
    result = by_id(static(text))["opt.apt_hygiene"]
    assert (result.verdict == "pass") == (verdict == "pass")


@pytest.mark.timeout(10)
def test_repeated_prefixes_in_git_and_tls_options_are_read_in_one_pass() -> None:
    http = "http." * 3000
    text = (
        f"FROM {BASE}\n"
        f"RUN git -c {http}sslverify=false clone x\n"
        f"RUN git -c {http}x clone y\n"
        f"RUN apt-get -o 'Acquire::https::Verify-Peer{' ' * 5000}x' install -y --no-install-recommends z\n"
    )
    result = by_id(static(text))["sec.tls_verify"]
    assert (result.verdict, result.lines) == ("fail", (2,))


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("eyJ" * 5000, False),
        ("github_pat_-" * 1300, False),
        ("github_pat_" * 1400, True),
        ("github_pat_" + "A1b2" * 10, True),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", True),
    ],
)
def test_long_values_are_searched_for_keys_in_one_pass(value: str, secret: bool) -> None:
    result = by_id(static(f"FROM {BASE}\nENV NOTE={value}\n"))["sec.no_secret_args"]
    assert (result.verdict == "fail") is secret


# .dockerignore


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        ("a*" * 30 + "b", "a" * 200, False),
        ("a*" * 30 + "b", "a" * 199 + "b", True),
        ("*a" * 30, "a" * 29, False),
        ("*a" * 30, "b" * 170 + "a" * 30, True),
        ("**/" * 30 + "b", "a/" * 100 + "c", False),
        ("**/" * 30 + "b", "a/" * 100 + "b", True),
        ("**/*" * 30 + "b", "x/" * 100 + "yb", True),
        ("*/" * 40 + "x", "a/" * 39 + "x", False),
        ("?" * 200, "a" * 200, True),
    ],
)
def test_a_pattern_full_of_stars_gets_the_right_answer_without_backtracking(
    pattern: str, path: str, excluded: bool
) -> None:
    assert DockerIgnore(pattern).excludes(path) is excluded


@pytest.mark.timeout(10)
def test_a_dockerignore_of_pathological_patterns_is_graded_normally() -> None:
    ignore = "\n".join(["a*" * 30 + "b"] * 300 + ["**/" * 20 + "node_modules", ".git"])
    context = (".git/HEAD", *(f"web/node_modules/{'a' * 60}/x{i}.js" for i in range(50)))
    results, used = peak(
        lambda: by_id(static(f"FROM {BASE}\nCOPY . .\n", dockerignore=ignore, context=context))
    )
    assert results["opt.dockerignore"].verdict == "pass"
    assert used < PEAK_LIMIT


@pytest.mark.parametrize(
    ("ignore", "line", "says"),
    [
        ("x\n" * (MAX_IGNORE_PATTERNS + 1), MAX_IGNORE_PATTERNS + 1, "more than 1,000 patterns"),
        (".git\n" + "a" * (MAX_IGNORE_PATTERN_CHARS + 1) + "\n", 2, "more than the 1,024"),
        ("# comment\n" + "[*]*" * 3 + "\n", 2, "inside [ ]"),
    ],
)
def test_a_dockerignore_over_its_bounds_is_refused_naming_its_line(ignore: str, line: int, says: str) -> None:
    exc, _ = refusal(lambda: static(f"FROM {BASE}\nCOPY . .\n", dockerignore=ignore, context=(".git/HEAD",)))
    assert_refused(exc, None, f".dockerignore line {line}: ", says)


def test_character_classes_read_ranges_and_negation_as_moby_does() -> None:
    assert DockerIgnore("[0-9]*.log").excludes("7-debug.log")
    assert not DockerIgnore("[0-9]*.log").excludes("-debug.log")
    assert DockerIgnore("[^a]x").excludes("bx") and not DockerIgnore("[^a]x").excludes("ax")
    assert not DockerIgnore("[z-a]").excludes("m")  # Go's regexp refuses the range: never matches


# large but fine


@pytest.mark.timeout(10)
def test_a_large_realistic_dockerfile_is_graded_normally() -> None:
    parts = [f"FROM {BASE} AS build", "ARG VERSION=1.2.3", "ENV APP_HOME=/srv/app PATH=/venv/bin:$PATH"]
    for i in range(400):
        parts.append(f"ENV STEP_{i}=${{APP_HOME}}/step-{i}-$VERSION")
        parts.append(f"RUN apt-get update && apt-get install -y --no-install-recommends pkg{i} \\")
        parts.append("    && rm -rf /var/lib/apt/lists/*")
    parts += ["FROM python:3.11-slim", "COPY --from=build /srv/app /srv/app", "USER 10001"]
    text = "\n".join(parts) + "\n"
    assert len(text.encode()) < 64 * 1024

    results, used = peak(lambda: by_id(static(text)))

    assert all(r.verdict != "skip" for r in results.values())
    assert results["opt.apt_hygiene"].verdict == "pass"
    assert results["opt.merged_runs"].verdict == "pass"  # an ENV between every two RUNs
    assert results["sec.final_user"].value == "10001"
    assert used < PEAK_LIMIT


def test_the_refusal_reads_in_korean_with_its_line() -> None:
    exc, _ = refusal(lambda: parse("\n".join([*doubling("ARG"), f"FROM {BASE}"])))
    ko = korean(exc.code, exc.message, line=exc.line)
    assert ko.startswith(f"{exc.line}번째 줄: ") and "한도" in ko


# the real worker


def worker_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def address_space_limit(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError(f"no address space line for {pid}")


def pool_processes(stack: Any) -> Iterator[int]:
    deadline = time.monotonic() + 30
    while not (children := worker_children(stack.worker.popen.pid)):
        assert time.monotonic() < deadline, "the worker has no pool process"
        time.sleep(0.2)
    yield from children


@pytest.mark.docker
@pytest.mark.slow
def test_every_pool_process_of_the_live_worker_has_the_address_space_limit(stack: Any) -> None:
    limit = settings.LAYERLAB_WORKER_MEMORY_MAX
    assert limit > 0
    children = list(pool_processes(stack))
    for pid in children:
        assert address_space_limit(pid) == (str(limit), str(limit))
    assert address_space_limit(stack.worker.popen.pid) != (str(limit), str(limit)), (
        "the limit is the pool processes', not the main process's"
    )


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_live_workers_main_process_never_loads_the_go_parser_its_pool_uses(
    stack: Any, student: Any, exercise: Any
) -> None:
    """The pool processes are forked from the main one: a Go runtime loaded there before the fork
    would leave them a parser that hangs after a while (it did, mid-suite)."""
    from labs.models import Submission
    from labs.services import submission_create
    from tests.conftest import wait_finished

    submission = submission_create(owner=student, exercise=exercise, dockerfile=f"FROM {BASE}\nUSER 1000\n")
    assert wait_finished(submission.pk).status == Submission.Status.DONE

    def loaded(pid: int) -> bool:
        return "/dockerfile." in Path(f"/proc/{pid}/maps").read_text()

    assert not loaded(stack.worker.popen.pid)
    assert [loaded(pid) for pid in pool_processes(stack)] == [True]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["before FROM", "in a stage"])
def test_a_doubling_chain_fails_through_the_worker_at_its_line_and_the_worker_lives_on(
    stack: Any, student: Any, exercise: Any, where: str
) -> None:
    from labs.models import Submission
    from labs.services import submission_create
    from tests.conftest import wait_finished

    over = first_over("xxxxxxxx")
    if where == "before FROM":
        lines, line = [*doubling("ARG"), f"FROM {BASE}"], over + 1
    else:
        lines, line = [f"FROM {BASE}", *doubling("ENV"), "CMD true"], over + 2
    before = list(pool_processes(stack))

    submission = submission_create(owner=student, exercise=exercise, dockerfile="\n".join(lines) + "\n")
    finished = wait_finished(submission.pk)

    assert finished.status == Submission.Status.FAILED
    assert (finished.failure_code, finished.failure_line) == ("too_complex", line)
    assert f"line {line}: " in finished.failure_message and "64 KiB" in finished.failure_message
    assert finished.attempts == 1, "the student's error, graded once"
    assert stack.worker.popen.poll() is None, "the worker is still running"
    assert list(pool_processes(stack)) == before, "and its pool process was neither killed nor replaced"
    assert all(os.path.exists(f"/proc/{pid}") for pid in before)


def test_parsed_dockerfile_finds_stages_by_name_in_any_case() -> None:
    parsed: ParsedDockerfile = parse(f"FROM {BASE} AS Build\nFROM build AS run\nFROM 0\n")
    assert parsed.stage_named("BUILD") is parsed.stages[0]
    assert parsed.stages[1].is_stage_ref and parsed.stage_named("1") is parsed.stages[1]
    assert parsed.stage_named("missing") is None
