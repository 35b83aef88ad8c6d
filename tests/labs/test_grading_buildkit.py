"""The buildkit family (labs/grading/dockerfile/buildkit.py): the lessons of Docker's own build
checks, each broken and kept, with what the student reads; every shipped solution keeps them
all; a `# check=` directive switches none of them off."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from labs.grading.catalogue import CheckResult, Text, korean
from labs.grading.registry import DOCKERFILE_IDS, REGISTRY
from labs.grading.static import run_static
from sandbox.dockerfile import parse
from sandbox.policy import Violation, notices

BUILDKIT_IDS = [
    cid for cid, r in REGISTRY.items() if r.check.__module__ == "labs.grading.dockerfile.buildkit"
]
EXERCISES = Path(__file__).resolve().parents[2] / "content" / "image-optimisation" / "exercises"


def check(
    cid: str, text: str, *, dockerignore: str | None = None, context: Iterable[str] = ()
) -> CheckResult:
    [result] = run_static(text, parse(text), dockerignore=dockerignore, context_paths=context, only=[cid])
    return result


def test_the_family_is_registered_after_layout_in_this_order() -> None:
    assert BUILDKIT_IDS == [
        "run.undefined_vars",
        "run.stage_names",
        "run.repeated_instructions",
        "opt.key_value_form",
        "run.expose_format",
        "opt.instruction_casing",
        "run.empty_continuation",
        "run.copy_ignored",
    ]
    assert DOCKERFILE_IDS.index("run.undefined_vars") == DOCKERFILE_IDS.index("opt.no_maintainer") + 1
    assert all(1 <= REGISTRY[c].criterion.default_weight <= 3 for c in BUILDKIT_IDS)
    assert all(any(a.startswith("BuildKit ") for a in REGISTRY[c].criterion.anchors) for c in BUILDKIT_IDS)


# --------------------------------------------------------------------------- run.undefined_vars


def test_a_global_arg_used_inside_a_stage_is_undefined_there() -> None:
    text = "ARG VERSION=1.2\nFROM python:3.11-slim\nCOPY app-${VERSION}.tar.gz /tmp/\n"
    result = check("run.undefined_vars", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (3,))
    assert result.detail == Text(
        "line 3: COPY uses `$VERSION`: ARG VERSION is declared before the first FROM, which makes it "
        "visible only to FROM lines; write `ARG VERSION` again inside this stage",
        "3번째 줄: COPY에서 쓰는 `$VERSION`: ARG VERSION은 첫 FROM 앞에 선언되어 FROM 줄에서만 보입니다. "
        "이 스테이지 안에 `ARG VERSION`을 한 번 더 쓰세요",
    )


def test_a_variable_nothing_defines_is_undefined_with_a_suggestion_when_one_is_close() -> None:
    text = "FROM python:3.11-slim\nENV APP_HOME=/app\nWORKDIR $APP_HOM/src\nUSER $APPUSER\n"
    result = check("run.undefined_vars", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (3, 4))
    assert result.detail == Text(
        "line 3: WORKDIR uses `$APP_HOM`, which no ARG or ENV before it defines in this stage, so it "
        "becomes an empty string (did you mean `$APP_HOME`?); line 4: USER uses `$APPUSER`, which no "
        "ARG or ENV before it defines in this stage, so it becomes an empty string",
        "3번째 줄: WORKDIR에서 쓰는 `$APP_HOM`은 이 스테이지의 앞선 ARG나 ENV 어디에서도 정의되지 않아 "
        "빈 문자열이 됩니다(혹시 `$APP_HOME`를 쓰려던 것인가요?); 4번째 줄: USER에서 쓰는 `$APPUSER`는 "
        "이 스테이지의 앞선 ARG나 ENV 어디에서도 정의되지 않아 빈 문자열이 됩니다",
    )


def test_env_reads_the_values_from_before_its_own_line() -> None:
    result = check("run.undefined_vars", "FROM python:3.11-slim\nENV A=1 B=$A\n")
    assert (result.verdict, result.lines) == ("fail", (2,))
    assert result.detail.en.startswith("line 2: ENV uses `$A`, which no ARG or ENV before it defines")


def test_home_is_not_an_image_env_but_path_is() -> None:
    result = check(
        "run.undefined_vars", "FROM python:3.11-slim\nENV PATH=/venv/bin:$PATH\nWORKDIR $HOME/app\n"
    )
    assert (result.verdict, result.lines) == ("fail", (3,))
    assert result.detail.en.startswith("line 3: WORKDIR uses `$HOME`")


def test_from_scratch_has_no_image_env() -> None:
    result = check("run.undefined_vars", "FROM scratch\nENV PATH=/bin:$PATH\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_an_arg_not_declared_before_the_first_from_is_undefined_in_from() -> None:
    result = check("run.undefined_vars", "ARG PY=3.11\nFROM python:${PYTHON}-slim\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (2,))
    assert result.detail == Text(
        "line 2: FROM uses `$PYTHON`, but no ARG before the first FROM declares it; declare it there "
        "with a default, e.g. `ARG PYTHON=...`",
        "2번째 줄: FROM에서 쓰는 `$PYTHON`은 첫 FROM 앞의 어떤 ARG로도 선언되지 않았습니다. 그 자리에 "
        "기본값과 함께 선언하세요. 예: `ARG PYTHON=...`",
    )


def test_an_arg_default_that_makes_an_invalid_image_name_is_reported() -> None:
    result = check("run.undefined_vars", "ARG TAG\nFROM python:${TAG}\n")
    assert (result.verdict, result.lines) == ("fail", (2,))
    assert result.detail == Text(
        "line 2: with the ARG defaults, `FROM python:${TAG}` becomes `python:`, which is not a valid "
        "image name; give the ARG a default that makes one",
        "2번째 줄: ARG 기본값을 넣으면 `FROM python:${TAG}`는 `python:`이 되는데, 올바른 이미지 이름이 "
        "아닙니다. 올바른 이미지 이름이 되는 기본값을 ARG에 주세요",
    )
    empty = check("run.undefined_vars", "ARG BASE\nFROM ${BASE}\n")
    assert (empty.verdict, empty.lines) == ("fail", (2,))
    assert empty.detail.en == (
        "line 2: with the ARG defaults, `FROM ${BASE}` names no image at all (an empty name); "
        "give the ARG a default"
    )
    upper = check("run.undefined_vars", "ARG IMAGE=Python\nFROM ${IMAGE}:3.11\n")
    assert (upper.verdict, upper.lines) == ("fail", (2,))


def test_variables_defined_where_they_are_used_pass() -> None:
    text = (
        "ARG NODE=18\n"
        "ARG BASE=node:${NODE}-bookworm-slim\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "ARG NODE\n"
        "ARG TARGETARCH\n"
        "ARG OUT=/out/$TARGETARCH\n"
        "ENV APP=/app\n"
        "WORKDIR $APP\n"
        "COPY --chown=1000 app-${NODE}.js ${OUT}/\n"
        "RUN echo $UNDEFINED_IN_A_SHELL_IS_THE_SHELLS_BUSINESS\n"
        "FROM build\n"
        "COPY --from=build $OUT ${APP}\n"
        "LABEL version=${NODE} home=${HOME:-/root} proxy=$HTTP_PROXY\n"
        "CMD echo $ANYTHING\n"
    )
    result = check("run.undefined_vars", text)
    assert (result.verdict, result.value, result.lines) == ("pass", 0, ())
    assert result.detail == Text(
        "Every variable used outside RUN is defined by an ARG or ENV where it is used.",
        "RUN 밖에서 쓰는 모든 변수가 쓰이는 곳에서 ARG나 ENV로 정의되어 있습니다.",
    )


def test_a_variable_in_single_quotes_or_escaped_is_not_a_reference() -> None:
    result = check("run.undefined_vars", "FROM python:3.11-slim\nLABEL a='$NOT' b=\\$NOT\n")
    assert result.verdict == "pass"


# --------------------------------------------------------------------------- run.stage_names


def test_reserved_and_capitalised_stage_names_are_reported() -> None:
    text = "FROM golang:1.19 AS Build\nFROM alpine:3.19 AS scratch\nFROM build AS context\nFROM build\n"
    result = check("run.stage_names", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 3, (1, 2, 3))
    assert result.detail == Text(
        "line 1: `AS Build`: BuildKit lowercases stage names, so write `AS build` and refer to the stage "
        "the same way; line 2: `AS scratch`: `scratch` is the name of the empty base image, so `FROM "
        "scratch` would not mean this stage; choose another name, e.g. `AS build`; line 3: `AS context`: "
        "`context` is reserved for build contexts (`--build-context`); choose another name, e.g. `AS build`",
        "1번째 줄: `AS Build`: BuildKit은 스테이지 이름을 소문자로 바꾸므로 `AS build`로 쓰고 참조할 때도 "
        "똑같이 쓰세요; 2번째 줄: `AS scratch`: `scratch`는 빈 베이스 이미지의 이름이라 `FROM scratch`가 "
        "이 스테이지를 뜻하지 않습니다. `AS build`처럼 다른 이름을 쓰세요; 3번째 줄: `AS context`: "
        "`context`는 빌드 컨텍스트(`--build-context`)용 예약어입니다. `AS build`처럼 다른 이름을 쓰세요",
    )


def test_lowercase_stage_names_pass_and_no_names_pass_saying_so() -> None:
    named = check(
        "run.stage_names", "FROM golang:1.19 AS build-1.x\nFROM scratch\nCOPY --from=build-1.x /a /a\n"
    )
    assert (named.verdict, named.lines, named.detail.en) == (
        "pass",
        (),
        "Every stage name is lowercase and none is a reserved word.",
    )
    unnamed = check("run.stage_names", "FROM python:3.11-slim\n")
    assert (unnamed.verdict, unnamed.detail.ko) == (
        "pass",
        "이름을 붙인 스테이지(FROM ... AS 이름)가 없어 확인할 것이 없습니다.",
    )


# --------------------------------------------------------------------------- run.repeated_instructions


def test_every_cmd_entrypoint_and_healthcheck_but_the_last_of_a_stage_is_reported() -> None:
    text = (
        "FROM python:3.11-slim AS base\n"
        'CMD ["python"]\n'
        "FROM base\n"
        "HEALTHCHECK CMD true\n"
        'ENTRYPOINT ["a"]\n'
        'CMD ["one"]\n'
        "HEALTHCHECK NONE\n"
        'CMD ["two"]\n'
        'CMD ["three"]\n'
    )
    result = check("run.repeated_instructions", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 3, (4, 6, 8))
    assert result.detail == Text(
        "line 4: this HEALTHCHECK is ignored: the HEALTHCHECK on line 7 replaces it in the same stage; "
        "line 6: this CMD is ignored: the CMD on line 9 replaces it in the same stage; "
        "line 8: this CMD is ignored: the CMD on line 9 replaces it in the same stage",
        "4번째 줄: 이 HEALTHCHECK는 무시됩니다. "
        "같은 스테이지의 7번째 줄에 있는 HEALTHCHECK가 이것을 대신합니다; "
        "6번째 줄: 이 CMD는 무시됩니다. 같은 스테이지의 9번째 줄에 있는 CMD가 이것을 대신합니다; "
        "8번째 줄: 이 CMD는 무시됩니다. 같은 스테이지의 9번째 줄에 있는 CMD가 이것을 대신합니다",
    )


def test_one_of_each_per_stage_passes() -> None:
    text = (
        'FROM python:3.11-slim AS a\nCMD ["a"]\nFROM a\nENTRYPOINT ["tini"]\nCMD ["b"]\nONBUILD CMD ["c"]\n'
    )
    result = check("run.repeated_instructions", text)
    assert (result.verdict, result.lines, result.detail.ko) == (
        "pass",
        (),
        "어느 스테이지에도 CMD, ENTRYPOINT, HEALTHCHECK가 두 번 이상 나오지 않습니다.",
    )


# --------------------------------------------------------------------------- opt.key_value_form


def test_legacy_env_and_label_are_reported_with_the_key_value_form() -> None:
    text = "FROM python:3.11-slim\nENV APP_HOME /app\nlabel description a small app\nENV A=1 B=2\n"
    result = check("opt.key_value_form", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (2, 3))
    assert result.detail == Text(
        "line 2: `ENV APP_HOME /app` is the legacy form; write `ENV APP_HOME=/app`; "
        'line 3: `label description a small app` is the legacy form; write `label description="a small app"`',
        "2번째 줄: `ENV APP_HOME /app`는 옛 형식입니다. `ENV APP_HOME=/app`로 쓰세요; "
        "3번째 줄: `label description a small app`는 옛 형식입니다. "
        '`label description="a small app"`로 쓰세요',
    )


def test_key_value_form_passes() -> None:
    result = check("opt.key_value_form", 'FROM python:3.11-slim\nENV A=1 \\\n    B="two words"\nLABEL a=b\n')
    assert (result.verdict, result.detail.en) == ("pass", "Every ENV and LABEL uses the key=value form.")


# --------------------------------------------------------------------------- run.expose_format


def test_expose_with_a_host_port_an_address_or_an_uppercase_protocol_is_reported() -> None:
    text = 'FROM nginx:1.25\nARG PORTS="8080:80 53/UDP"\nEXPOSE 80 $PORTS\nEXPOSE 0.0.0.0:443/tcp\n'
    result = check("run.expose_format", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 3, (3, 4))
    assert result.detail == Text(
        "line 3: `EXPOSE 8080:80` sets a host port or address, which EXPOSE cannot do; write `EXPOSE 80` "
        "and publish it with `docker run -p 8080:80`; line 3: `EXPOSE 53/UDP`: write the protocol in "
        "lowercase, `EXPOSE 53/udp`; line 4: `EXPOSE 0.0.0.0:443/tcp` sets a host port or address, which "
        "EXPOSE cannot do; write `EXPOSE 443/tcp` and publish it with `docker run -p 0.0.0.0::443`",
        "3번째 줄: `EXPOSE 8080:80`은 호스트 포트나 주소를 정하는데, EXPOSE로는 할 수 없습니다. "
        "`EXPOSE 80`으로 쓰고 `docker run -p 8080:80`으로 공개하세요; 3번째 줄: `EXPOSE 53/UDP`: "
        "프로토콜은 소문자로 `EXPOSE 53/udp`처럼 쓰세요; 4번째 줄: `EXPOSE 0.0.0.0:443/tcp`는 호스트 "
        "포트나 주소를 정하는데, EXPOSE로는 할 수 없습니다. `EXPOSE 443/tcp`로 쓰고 "
        "`docker run -p 0.0.0.0::443`으로 공개하세요",
    )


def test_container_ports_pass_and_no_expose_passes_saying_so() -> None:
    ok = check("run.expose_format", "FROM nginx:1.25\nEXPOSE 80 443/tcp 53/udp 8000-8010\n")
    assert (ok.verdict, ok.detail.en) == (
        "pass",
        "Every EXPOSE names a container port, with a lowercase protocol if any.",
    )
    none = check("run.expose_format", "FROM nginx:1.25\n")
    assert (none.verdict, none.detail.ko) == ("pass", "이 Dockerfile에는 EXPOSE가 없습니다.")


# --------------------------------------------------------------------------- opt.instruction_casing


def test_instructions_against_the_majority_case_and_a_mismatched_as_are_reported() -> None:
    text = "FROM python:3.11-slim as build\nRUN true\nrun false\nFrom build\nCOPY a b\n"
    result = check("opt.instruction_casing", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 3, (1, 3, 4))
    assert result.detail == Text(
        "line 1: `as` does not match the case of `FROM`; write `AS`; "
        "line 3: `run`: write it `RUN`, in uppercase like most instructions here; "
        "line 4: `From`: write it `FROM`, in uppercase like most instructions here",
        "1번째 줄: `as`가 `FROM`과 대소문자가 맞지 않습니다. `AS`로 쓰세요; "
        "3번째 줄: `run`: 이 파일의 대부분의 명령어처럼 대문자 `RUN`으로 쓰세요; "
        "4번째 줄: `From`: 이 파일의 대부분의 명령어처럼 대문자 `FROM`으로 쓰세요",
    )


def test_a_lowercase_majority_asks_for_lowercase() -> None:
    result = check("opt.instruction_casing", "from python:3.11-slim as build\nrun true\nCOPY a b\n")
    assert (result.verdict, result.lines) == ("fail", (3,))
    assert result.detail.en == "line 3: `COPY`: write it `copy`, in lowercase like most instructions here"


def test_consistent_casing_passes_and_args_before_from_do_not_count() -> None:
    upper = check("opt.instruction_casing", "arg V=1\nFROM python:3.11-slim AS build\nRUN true\n")
    assert (upper.verdict, upper.detail.en) == ("pass", "Every instruction is written in uppercase.")
    lower = check("opt.instruction_casing", "from python:3.11-slim as build\nrun true\n")
    assert (lower.verdict, lower.detail.ko) == ("pass", "모든 명령어가 일관되게 소문자로 쓰여 있습니다.")


# --------------------------------------------------------------------------- run.empty_continuation


def test_a_blank_line_inside_a_continuation_is_reported_on_its_own_line() -> None:
    text = (
        "FROM python:3.11-slim\n"
        "RUN apt-get update \\\n"
        "    # a comment line is fine\n"
        "\n"
        "  \t\n"
        " && apt-get install -y gcc\n"
        "\n"
        "COPY a b\n"
    )
    result = check("run.empty_continuation", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (4, 5))
    assert result.detail == Text(
        "line 4: a blank line inside the RUN that starts on line 2: the instruction goes on after it; "
        "delete the line; line 5: a blank line inside the RUN that starts on line 2: the instruction "
        "goes on after it; delete the line",
        "4번째 줄: 2번째 줄에서 시작하는 RUN 중간의 빈 줄입니다. 명령은 이 줄 뒤로도 이어집니다. "
        "이 줄을 지우세요; 5번째 줄: 2번째 줄에서 시작하는 RUN 중간의 빈 줄입니다. 명령은 이 줄 "
        "뒤로도 이어집니다. 이 줄을 지우세요",
    )


def test_the_escape_directive_is_followed_and_heredoc_bodies_are_not_read() -> None:
    backtick = check("run.empty_continuation", "# escape=`\nFROM python:3.11-slim\nRUN echo a `\n\n  b\n")
    assert (backtick.verdict, backtick.lines) == ("fail", (4,))
    heredoc = "FROM python:3.11-slim\nRUN <<EOF\necho a \\\n\necho b\nEOF\nRUN a \\\n && b\n"
    result = check("run.empty_continuation", heredoc)
    assert (result.verdict, result.detail.en) == ("pass", "No blank line inside a continued instruction.")


# --------------------------------------------------------------------------- run.copy_ignored


def test_copying_what_dockerignore_excludes_is_reported() -> None:
    text = (
        "FROM python:3.11-slim\n"
        "COPY requirements.txt .\n"
        "COPY tests/ /tests/\n"
        "ADD ./.env config/app.toml /app/\n"
    )
    ignore = "tests\n.env\nconfig\n!config/keep.toml\n"
    context = ["requirements.txt", "tests/test_a.py", ".env", "config/app.toml", "config/keep.toml"]
    result = check("run.copy_ignored", text, dockerignore=ignore, context=context)
    assert (result.verdict, result.value, result.lines) == ("fail", 3, (3, 4))
    assert result.detail == Text(
        "line 3: `COPY tests/`: .dockerignore excludes `tests/`, so it is never sent to the builder; stop "
        "copying it or take it out of .dockerignore; line 4: `ADD ./.env`: .dockerignore excludes "
        "`./.env`, so it is never sent to the builder; stop copying it or take it out of .dockerignore; "
        "line 4: `ADD config/app.toml`: .dockerignore excludes `config/app.toml`, so it is never sent to "
        "the builder; stop copying it or take it out of .dockerignore",
        "3번째 줄: `COPY tests/`: .dockerignore가 `tests/`를 제외해서 빌더로 전송되지 않습니다. 복사하지 "
        "않거나 .dockerignore에서 빼세요; 4번째 줄: `ADD ./.env`: .dockerignore가 `./.env`를 제외해서 "
        "빌더로 전송되지 않습니다. 복사하지 않거나 .dockerignore에서 빼세요; 4번째 줄: `ADD "
        "config/app.toml`: .dockerignore가 `config/app.toml`을 제외해서 빌더로 전송되지 않습니다. "
        "복사하지 않거나 .dockerignore에서 빼세요",
    )


def test_copying_the_root_when_everything_is_ignored_is_reported() -> None:
    result = check(
        "run.copy_ignored", "FROM python:3.11-slim\nCOPY . /app\n", dockerignore="*\n", context=["a.py"]
    )
    assert (result.verdict, result.lines) == ("fail", (2,))
    assert (
        result.detail.ko
        == "2번째 줄: `COPY .`: .dockerignore가 컨텍스트의 모든 파일을 제외해서 아무것도 복사되지 않습니다"
    )


def test_a_directory_with_a_file_let_back_in_and_other_sources_pass() -> None:
    text = (
        "FROM python:3.11-slim AS build\n"
        "COPY config /etc/app/\n"
        "COPY . /app\n"
        "COPY *.py /app/\n"
        "COPY --from=build /tests /tests\n"
    )
    ignore = "config\n!config/keep.toml\ntests\n"
    result = check(
        "run.copy_ignored", text, dockerignore=ignore, context=["config/keep.toml", "a.py", "tests/t.py"]
    )
    assert (result.verdict, result.lines, result.detail.en) == (
        "pass",
        (),
        "No COPY or ADD names a path the .dockerignore excludes.",
    )
    none = check("run.copy_ignored", "FROM python:3.11-slim\nCOPY .env /app/\n", context=[".env"])
    assert (none.verdict, none.value, none.detail.en) == (
        "pass",
        "no .dockerignore",
        "No .dockerignore, so COPY and ADD can reach every file of the context.",
    )


# --------------------------------------------------------------------------- the solutions


def _solutions() -> list[Path]:
    found = sorted(EXERCISES.glob("*/solution/Dockerfile"))
    assert len(found) == 5
    return found


@pytest.mark.parametrize("dockerfile", _solutions(), ids=lambda p: p.parent.parent.name)
def test_every_shipped_solution_passes_every_buildkit_criterion(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    ignore_file = dockerfile.parent / ".dockerignore"
    context_dir = dockerfile.parent.parent / "context"
    context = [str(p.relative_to(context_dir)) for p in context_dir.rglob("*") if p.is_file()]
    results = run_static(
        text,
        parse(text),
        dockerignore=ignore_file.read_text(encoding="utf-8") if ignore_file.exists() else None,
        context_paths=context,
        only=BUILDKIT_IDS,
    )
    assert [(r.criterion, r.verdict) for r in results] == [(cid, "pass") for cid in BUILDKIT_IDS]


# --------------------------------------------------------------------------- the check directive


CHECK_SKIP_ALL = "# check=skip=all\nFROM python:3.11-slim AS Build\nENV A 1\nWORKDIR $APP\nCMD a\nCMD b\n"


def test_a_check_directive_is_a_notice_that_every_criterion_is_graded() -> None:
    found = notices(CHECK_SKIP_ALL.encode(), parse(CHECK_SKIP_ALL), engine_keeps_setuid_chmod=False)
    assert found == [
        Violation(
            "check_directive_ignored",
            1,
            "line 1: the '# check=skip=all' directive is ignored here: it is read as a comment, and every "
            "criterion is graded, including the ones that follow Docker's build checks. Keep it for your "
            "own `docker build --check` if you like.",
            {"line": "1", "value": "skip=all"},
        )
    ]
    (notice,) = found
    assert korean(notice.code, notice.message, notice.params, notice.line) == (
        "1번째 줄: '# check=skip=all' 지시어는 여기서 무시됩니다. 주석으로 읽히며, Docker 빌드 검사를 "
        "따르는 기준을 포함해 모든 채점 기준이 채점됩니다. 직접 `docker build --check`를 쓸 때를 위해 "
        "남겨 두어도 됩니다."
    )


def test_a_check_skip_all_dockerfile_is_still_graded_on_every_criterion() -> None:
    results = run_static(CHECK_SKIP_ALL, parse(CHECK_SKIP_ALL), dockerignore=None, context_paths=())
    assert [r.criterion for r in results] == list(DOCKERFILE_IDS)
    assert [r.criterion for r in results if r.verdict == "skip"] == []
    verdicts = {r.criterion: (r.verdict, r.lines) for r in results if r.criterion in BUILDKIT_IDS}
    assert verdicts == {
        "run.undefined_vars": ("fail", (4,)),
        "run.stage_names": ("fail", (2,)),
        "run.repeated_instructions": ("fail", (5,)),
        "opt.key_value_form": ("fail", (3,)),
        "run.expose_format": ("pass", ()),
        "opt.instruction_casing": ("pass", ()),
        "run.empty_continuation": ("pass", ()),
        "run.copy_ignored": ("pass", ()),
    }


def test_check_error_true_is_a_notice_too() -> None:
    text = "# check=error=true\nFROM python:3.11-slim\n"
    (notice,) = notices(text.encode(), parse(text), engine_keeps_setuid_chmod=False)
    assert (notice.code, notice.line, notice.params["value"]) == ("check_directive_ignored", 1, "error=true")


def test_a_check_line_that_is_not_a_directive_is_no_notice() -> None:
    text = "FROM python:3.11-slim\n# check=skip=all\n"
    assert notices(text.encode(), parse(text), engine_keeps_setuid_chmod=False) == []


# --------------------------------------------------------------------------- bounded on hostile text


def test_large_hostile_files_are_read_in_bounded_time() -> None:
    lines = ["FROM python:3.11-slim AS Build"]
    lines += [f"COPY f{i} $U{i} /d/" for i in range(2000)]
    lines += ["RUN a \\", *([""] * 2000), " && b"]
    lines += [f"EXPOSE {i}:{i}/TCP" for i in range(1000)]
    text = "\n".join(lines) + "\n"
    ignore = "\n".join(f"f{i}*x" for i in range(900)) + "\n"
    started = time.monotonic()
    results = run_static(
        text, parse(text), dockerignore=ignore, context_paths=[f"f{i}" for i in range(500)], only=BUILDKIT_IDS
    )
    assert time.monotonic() - started < 20
    verdicts = {r.criterion: (r.verdict, r.value) for r in results}
    assert verdicts["run.undefined_vars"] == ("fail", 2000)
    assert verdicts["run.empty_continuation"] == ("fail", 2000)
    assert verdicts["run.expose_format"] == ("fail", 1000)
    assert verdicts["run.copy_ignored"] == ("pass", 0)
