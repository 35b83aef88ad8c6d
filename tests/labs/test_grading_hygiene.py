"""The hygiene criteria (labs/grading/dockerfile/hygiene.py): each fails a Dockerfile that
breaks it on the right lines with the text a student reads, passes one that follows it, and
every shipped solution passes all of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from labs.grading.catalogue import CheckResult, Text
from labs.grading.registry import REGISTRY
from labs.grading.rubric import RubricError, rubric_from_data
from labs.grading.static import run_static
from sandbox.dockerfile import parse

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "content" / "image-optimisation" / "exercises"
HYGIENE = (
    "sec.pinned_packages",
    "opt.useradd_no_log_init",
    "opt.no_whole_stage_copy",
    "run.pipefail",
    "opt.yarn_cache",
    "sec.no_ssh_port",
    "run.no_system_workdir",
    "run.no_onbuild_in_final",
)


def check(
    cid: str,
    text: str,
    *,
    dockerignore: str | None = None,
    context: Iterable[str] = (),
    options: Mapping[str, Any] | None = None,
) -> CheckResult:
    [result] = run_static(
        text,
        parse(text),
        dockerignore=dockerignore,
        context_paths=context,
        options_by_id={cid: options} if options else None,
        only=[cid],
    )
    return result


def test_the_family_is_registered_with_its_criteria_in_order() -> None:
    ids = [i for i in REGISTRY if i in HYGIENE]
    assert ids == list(HYGIENE)
    assert [i for i in HYGIENE if not REGISTRY[i].criterion.in_default_rubric] == ["sec.pinned_packages"]
    assert all(1 <= REGISTRY[i].criterion.default_weight <= 5 for i in HYGIENE)


# --------------------------------------------------------------------------- sec.pinned_packages

ALL_MANAGERS = {"managers": ["apt", "apk", "pip", "npm", "gem"]}


def test_pinned_packages_fails_packages_named_without_a_version() -> None:
    text = (
        "FROM python:3.11-slim\n"
        'RUN pip install --no-cache-dir flask "gunicorn>=22" requests==2.32.3\n'
        "RUN npm install -g typescript@5.4.5 && gem install rails\n"
    )
    result = check("sec.pinned_packages", text)
    assert (result.verdict, result.value, result.lines) == ("partial", "1/3 installs pinned", (2, 3))
    assert result.credit() == pytest.approx(1 / 3)
    assert result.detail == Text(
        "line 2: `pip install` installs `flask`, `gunicorn>=22` without an exact version; pin each one, "
        "e.g. `flask==<version>`; line 3: `gem install` installs `rails` without an exact version; pin each "
        "one, e.g. `rails:<version>`",
        "2번째 줄: `pip install`은 `flask`, `gunicorn>=22`를 정확한 버전 없이 설치합니다. "
        "`flask==<version>`처럼 버전을 고정하세요; "
        "3번째 줄: `gem install`은 `rails`를 정확한 버전 없이 설치합니다. "
        "`rails:<version>`처럼 버전을 고정하세요",
    )


def test_pinned_packages_leaves_lock_and_requirements_files_alone() -> None:
    text = (
        "FROM node:18-slim\n"
        "COPY package.json package-lock.json requirements.txt ./\n"
        "RUN npm ci && npm install && pip install -r requirements.txt && pip install -c c.txt flask\n"
        "RUN pip install . && pip install -e ./lib && npm install ./vendor/x.tgz\n"
    )
    result = check("sec.pinned_packages", text)
    assert (result.verdict, result.value, result.lines) == ("pass", "1/1 installs pinned", (4,))


def test_pinned_packages_passes_when_nothing_is_named_on_the_command_line() -> None:
    result = check(
        "sec.pinned_packages", "FROM python:3.11-slim\nRUN pip install --no-cache-dir -r requirements.txt\n"
    )
    assert (result.verdict, result.value, result.lines) == ("pass", "not used", ())
    assert result.detail == Text(
        "No pip, npm, gem install names packages on the command line (requirements and lock files pin "
        "their own).",
        "pip, npm, gem으로 패키지 이름을 직접 적어 설치하는 명령이 없습니다"
        "(requirements 파일과 lock 파일은 버전을 스스로 고정합니다).",
    )


def test_pinned_packages_judges_distribution_packages_only_when_the_rubric_asks() -> None:
    text = (
        "FROM debian:12-slim\n"
        "RUN apt-get update \\\n"
        " && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 tini \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
    )
    assert check("sec.pinned_packages", text).value == "not used"
    result = check("sec.pinned_packages", text, options=ALL_MANAGERS)
    assert (result.verdict, result.value, result.lines) == ("fail", "0/1 installs pinned", (3,))
    assert result.detail.en == (
        "line 3: `apt-get install` installs `tini` without an exact version; pin each one, e.g. "
        "`tini=<version>`"
    )
    pinned = text.replace(" tini", " tini=0.19.0-1")
    assert check("sec.pinned_packages", pinned, options=ALL_MANAGERS).verdict == "pass"


def test_pinned_packages_reads_apk_virtual_names_and_npm_tags() -> None:
    text = (
        "FROM node:20-alpine\n"
        "RUN apk add --no-cache --virtual .build-deps gcc=13.2.1-r0 make \\\n"
        " && npm install -g pnpm@latest @scope/tool@1.2.3\n"
    )
    result = check("sec.pinned_packages", text, options=ALL_MANAGERS)
    assert (result.verdict, result.value, result.lines) == ("fail", "0/2 installs pinned", (2, 3))
    assert result.detail.en == (
        "line 2: `apk add` installs `make` without an exact version; pin each one, e.g. `make=<version>`; "
        "line 3: `npm install` installs `pnpm@latest` without an exact version; pin each one, e.g. "
        "`pnpm@<version>`"
    )


def test_pinned_packages_options_are_checked_when_a_rubric_is_loaded() -> None:
    with pytest.raises(RubricError, match=r"managers: unknown package manager 'yum'"):
        rubric_from_data([{"id": "sec.pinned_packages", "options": {"managers": ["pip", "yum"]}}])
    with pytest.raises(RubricError, match="managers must be a non-empty list"):
        rubric_from_data([{"id": "sec.pinned_packages", "options": {"managers": []}}])
    rubric = rubric_from_data([{"id": "sec.pinned_packages", "options": {"managers": ["apt"]}}])
    assert rubric.options_for("sec.pinned_packages") == {"managers": ["apt"]}


# --------------------------------------------------------------------------- opt.useradd_no_log_init


def test_useradd_no_log_init_fails_a_six_digit_uid_without_l() -> None:
    text = "FROM debian:12-slim\nARG UID=1000000\nRUN groupadd app \\\n && useradd -u ${UID} -g app app\n"
    result = check("opt.useradd_no_log_init", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (4,))
    assert result.detail == Text(
        "line 4: `useradd -u ${UID} -g …` creates UID 1000000 without `-l`: lastlog and faillog grow to that "
        "UID's size in the layer; add `--no-log-init`",
        "4번째 줄: `useradd -u ${UID} -g …`는 `-l` 없이 UID 1000000 사용자를 만듭니다. "
        "lastlog와 faillog가 그 UID 크기만큼 커져 레이어에 들어갑니다. `--no-log-init` 옵션을 추가하세요",
    )


@pytest.mark.parametrize(
    "command",
    [
        "useradd --uid 10001 --no-create-home app",
        "useradd -l -u 100001 app",
        "useradd --no-log-init --uid=100001 app",
        "useradd -lm -u 100001 app",
        "useradd app",
    ],
)
def test_useradd_no_log_init_passes_low_uids_and_l(command: str) -> None:
    result = check("opt.useradd_no_log_init", f"FROM debian:12-slim\nRUN {command}\n")
    assert (result.verdict, result.value, result.lines) == ("pass", 0, (2,))


def test_useradd_no_log_init_does_not_apply_without_useradd() -> None:
    result = check("opt.useradd_no_log_init", "FROM alpine:3.19\nRUN adduser -D -u 100001 app\n")
    assert (result.verdict, result.value, result.detail.en) == ("pass", "not used", "No RUN uses useradd.")


# --------------------------------------------------------------------------- opt.no_whole_stage_copy


@pytest.mark.parametrize("source", ["/", "/.", ".", "/*"])
def test_no_whole_stage_copy_fails_copying_a_whole_build_stage(source: str) -> None:
    text = (
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n"
        "FROM gcr.io/distroless/static-debian12\n"
        f"COPY --from=build {source} /\nCOPY --from=build /out/app /app\n"
    )
    result = check("opt.no_whole_stage_copy", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (6,))
    if source == "/":
        assert result.detail == Text(
            "line 6: `COPY --from=build / /` copies the whole filesystem of stage `build`, build tools and "
            "all, so the final image is as big as that stage; "
            "copy only what the app needs (e.g. `COPY --from=build /app/dist ./dist`)",
            "6번째 줄: `COPY --from=build / /`는 `build` 스테이지의 파일 시스템 전체를 빌드 도구까지 통째로 "
            "복사해서 최종 이미지가 그 스테이지만큼 커집니다. 앱에 필요한 것만 복사하세요"
            "(예: `COPY --from=build /app/dist ./dist`)",
        )


def test_no_whole_stage_copy_allows_a_scratch_stage_of_build_results() -> None:
    text = (
        "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
        "FROM scratch AS export\nCOPY --from=build /out/app /app\n"
        "FROM gcr.io/distroless/static-debian12\nCOPY --from=export / /\n"
    )
    result = check("opt.no_whole_stage_copy", text)
    assert (result.verdict, result.value, result.lines) == ("pass", 0, (6,))
    through = text.replace("COPY --from=build /out/app /app", "COPY --from=build / /")
    result = check("opt.no_whole_stage_copy", through)
    assert (result.verdict, result.lines) == ("fail", (6,))


def test_no_whole_stage_copy_judges_only_what_the_final_image_gets() -> None:
    text = (
        "FROM node:18 AS build\nRUN npm ci\n"
        "FROM node:18 AS debug\nCOPY --from=build / /\n"
        "FROM node:18-slim\nCOPY --from=build /app/dist ./dist\n"
    )
    assert check("opt.no_whole_stage_copy", text).verdict == "pass"
    single = check("opt.no_whole_stage_copy", "FROM node:18-slim\nCOPY . .\n")
    assert (single.verdict, single.value, single.lines) == ("pass", "not used", ())


def test_no_whole_stage_copy_fails_a_whole_external_image() -> None:
    result = check("opt.no_whole_stage_copy", "FROM debian:12-slim\nCOPY --from=ubuntu:22.04 / /\n")
    assert (result.verdict, result.lines) == ("fail", (2,))
    assert result.detail.ko == (
        "2번째 줄: `COPY --from=ubuntu:22.04 / /`는 `ubuntu:22.04` 이미지의 파일 시스템 전체를 최종 이미지에 "
        "복사합니다. 그 이미지에서 필요한 파일만 골라 복사하세요"
    )


# --------------------------------------------------------------------------- run.pipefail


def test_pipefail_fails_a_pipe_without_it() -> None:
    text = "FROM debian:12-slim\nRUN apt-get update \\\n && curl -fsSL https://example.com/x.tgz | tar -xz\n"
    result = check("run.pipefail", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (3,))
    assert result.detail == Text(
        "line 3: `curl -fsSL …` is piped into the next command without pipefail: if it fails, the RUN still "
        "succeeds when the last command does; "
        'put `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before this RUN',
        "3번째 줄: `curl -fsSL …`이 pipefail 없이 다음 명령으로 파이프됩니다. "
        "이 명령이 실패해도 마지막 명령이 "
        '성공하면 RUN은 성공합니다. 이 RUN 앞에 `SHELL ["/bin/bash", "-o", "pipefail", "-c"]`를 두세요',
    )


def test_pipefail_suggests_ash_on_alpine() -> None:
    result = check("run.pipefail", "FROM alpine:3.19\nRUN wget -qO- https://example.com/x | sh\n")
    assert result.detail.en.endswith('put `SHELL ["/bin/ash", "-o", "pipefail", "-c"]` before this RUN')


@pytest.mark.parametrize(
    "text",
    [
        'FROM debian:12-slim\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN curl -fsSL https://x | tar -xz\n",
        'FROM debian:12-slim AS a\nSHELL ["/bin/bash", "-euo", "pipefail", "-c"]\n'
        "FROM a\nRUN curl https://x | tar -x\n",
        "FROM alpine:3.19\nRUN set -eo pipefail && wget -qO- https://x | tar -x\n",
        "FROM debian:12-slim\nRUN bash -o pipefail -c 'curl https://x | tar -x'\n",
        'FROM debian:12-slim\nRUN ["/bin/bash", "-o", "pipefail", "-c", "curl https://x | tar -x"]\n',
    ],
)
def test_pipefail_passes_when_set_by_shell_set_or_a_shell_option(text: str) -> None:
    result = check("run.pipefail", text)
    assert (result.verdict, result.value, result.lines) == ("pass", 0, (len(text.splitlines()),))


def test_pipefail_sees_no_pipe_in_quotes_or_or() -> None:
    text = 'FROM debian:12-slim\nRUN echo "a | b" > /f && grep -q x /f || true\n'
    result = check("run.pipefail", text)
    assert (result.verdict, result.value, result.lines) == ("pass", "no pipes", ())
    assert result.detail == Text(
        "No RUN pipes one command into another.", "명령을 파이프로 잇는 RUN이 없습니다."
    )


def test_pipefail_does_not_apply_under_powershell() -> None:
    text = (
        'FROM mcr.microsoft.com/powershell\nSHELL ["pwsh", "-Command"]\n'
        "RUN Get-ChildItem | Select-Object Name\n"
    )
    assert check("run.pipefail", text).value == "no pipes"


def test_pipefail_set_in_one_run_does_not_carry_to_the_next() -> None:
    text = "FROM alpine:3.19\nRUN set -o pipefail\nRUN wget -qO- https://x | tar -x\n"
    result = check("run.pipefail", text)
    assert (result.verdict, result.lines) == ("fail", (3,))


# --------------------------------------------------------------------------- opt.yarn_cache


def test_yarn_cache_fails_an_install_that_keeps_the_cache() -> None:
    text = (
        "FROM node:18-slim\nCOPY package.json yarn.lock ./\n"
        "RUN yarn install --frozen-lockfile && yarn cache clean\nRUN yarn global add serve@14.2.3\n"
    )
    result = check("opt.yarn_cache", text)
    assert (result.verdict, result.value, result.lines) == (
        "partial",
        "1/2 yarn installs without cache",
        (4,),
    )
    assert result.detail == Text(
        "line 4: `yarn global add serve@14.2.3` leaves yarn's cache in the layer; "
        "add `&& yarn cache clean` in the same RUN (or a cache mount)",
        "4번째 줄: `yarn global add serve@14.2.3`이 yarn 캐시를 레이어에 남깁니다. 같은 RUN에 `&& yarn cache "
        "clean`을 추가하세요(또는 캐시 마운트를 쓰세요)",
    )


@pytest.mark.parametrize(
    "run",
    [
        "RUN yarn install --frozen-lockfile && yarn cache clean",
        "RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile",
        "RUN yarn && rm -rf /usr/local/share/.cache/yarn",
    ],
)
def test_yarn_cache_passes_a_clean_a_mount_or_a_removal(run: str) -> None:
    result = check("opt.yarn_cache", f"FROM node:18-slim\n{run}\n")
    assert (result.verdict, result.value, result.lines) == ("pass", "1/1 yarn installs without cache", (2,))


def test_yarn_cache_does_not_apply_without_yarn() -> None:
    result = check("opt.yarn_cache", "FROM node:18-slim\nRUN npm ci\nRUN yarn build\n")
    assert (result.verdict, result.value, result.lines) == ("pass", "not used", ())


# --------------------------------------------------------------------------- sec.no_ssh_port


@pytest.mark.parametrize("ports", ["22", "8080 22/tcp", "20-25"])
def test_no_ssh_port_fails_exposing_22(ports: str) -> None:
    result = check("sec.no_ssh_port", f"FROM debian:12-slim\nRUN true\nEXPOSE {ports}\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (3,))
    if ports == "22":
        assert result.detail == Text(
            "line 3: EXPOSE `22` announces SSH; "
            "remove it and use `docker exec -it <container> sh` for a shell",
            "3번째 줄: EXPOSE `22`는 SSH 포트를 엽니다. "
            "지우고, 셸이 필요하면 `docker exec -it <컨테이너> sh`를 쓰세요",
        )


def test_no_ssh_port_follows_arg_values_and_ignores_build_stages() -> None:
    text = "FROM debian:12-slim\nARG PORT=22\nEXPOSE ${PORT}\n"
    assert (check("sec.no_ssh_port", text).verdict, check("sec.no_ssh_port", text).lines) == ("fail", (3,))
    staged = "FROM debian:12-slim AS build\nEXPOSE 22\nFROM debian:12-slim\nEXPOSE 8000 2222\n"
    result = check("sec.no_ssh_port", staged)
    assert (result.verdict, result.value, result.lines) == ("pass", 0, (4,))
    assert result.detail == Text(
        "EXPOSE `8000 2222`: no SSH port.", "EXPOSE `8000 2222`: SSH 포트가 없습니다."
    )


# --------------------------------------------------------------------------- run.no_system_workdir


@pytest.mark.parametrize(
    ("workdir", "key"),
    [("/", "system"), ("/usr/", "system"), ("/etc", "system"), ("/root", "home"), ("/proc/app", "kernel")],
)
def test_no_system_workdir_fails_system_directories(workdir: str, key: str) -> None:
    result = check("run.no_system_workdir", f"FROM python:3.11-slim\nWORKDIR {workdir}\nCOPY . .\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 1, (2,))
    path = workdir.rstrip("/") or "/"
    said = REGISTRY["run.no_system_workdir"].say.text(key, path=f"`{path}`")
    assert result.detail == Text(f"line 2: {said.en}", f"2번째 줄: {said.ko}")


def test_no_system_workdir_names_the_directory_in_both_languages() -> None:
    result = check("run.no_system_workdir", "FROM python:3.11-slim\nWORKDIR /usr\nWORKDIR bin\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (2, 3))
    assert result.detail.ko.startswith(
        "2번째 줄: WORKDIR `/usr`는 시스템 디렉터리입니다. "
        "여기서 `COPY . .`를 하면 프로젝트 파일이 운영체제 파일과 섞이고 덮어쓸 수도 있습니다. "
        "`/app`처럼 전용 디렉터리를 쓰세요; 3번째 줄: WORKDIR `/usr/bin`은"
    )


@pytest.mark.parametrize("workdir", ["/app", "/usr/src/app", "/usr/local/app", "/home/app", "/opt/app"])
def test_no_system_workdir_passes_a_directory_of_its_own(workdir: str) -> None:
    result = check("run.no_system_workdir", f"FROM python:3.11-slim\nWORKDIR {workdir}\n")
    assert (result.verdict, result.value, result.lines) == ("pass", 0, (2,))


def test_no_system_workdir_judges_only_the_final_image_stages() -> None:
    text = "FROM golang:1.22 AS build\nWORKDIR /\nRUN go build\nFROM scratch\nCOPY --from=build /app /app\n"
    result = check("run.no_system_workdir", text)
    assert (result.verdict, result.value, result.lines) == ("pass", "no WORKDIR", ())


# --------------------------------------------------------------------------- run.no_onbuild_in_final


def test_no_onbuild_in_final_fails_a_trigger_in_the_final_stage() -> None:
    text = "FROM node:18-slim\nWORKDIR /app\nONBUILD COPY . /app\nONBUILD RUN npm ci\n"
    result = check("run.no_onbuild_in_final", text)
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (3, 4))
    assert result.detail.en.startswith(
        "line 3: `ONBUILD COPY` leaves a trigger in the final image: it runs in the build of whoever "
        "writes `FROM` your image, not in yours; remove it unless you are making a base image for "
        "others; line 4: `ONBUILD RUN`"
    )
    assert result.detail.ko.startswith(
        "3번째 줄: `ONBUILD COPY`는 최종 이미지에 트리거를 남깁니다. "
        "이 트리거는 여러분의 빌드가 아니라 이 이미지를 `FROM`으로 쓰는 사람의 빌드에서 실행됩니다. "
        "다른 사람을 위한 베이스 이미지를 만드는 것이 아니라면 지우세요; "
        "4번째 줄: `ONBUILD RUN`은"
    )


def test_no_onbuild_in_final_passes_triggers_consumed_by_the_final_stage() -> None:
    text = 'FROM node:18 AS base\nONBUILD COPY . /app\nFROM base\nCMD ["node", "/app/server.js"]\n'
    result = check("run.no_onbuild_in_final", text)
    assert (result.verdict, result.value, result.lines) == ("pass", 0, ())
    assert result.detail == Text(
        "The final stage has no ONBUILD triggers.", "최종 스테이지에 ONBUILD 트리거가 없습니다."
    )


# --------------------------------------------------------------------------- the shipped solutions


def _solutions() -> list[Path]:
    return sorted(EXERCISES.glob("*/solution/Dockerfile"))


def test_the_course_ships_solutions_to_grade() -> None:
    assert len(_solutions()) == 5


@pytest.mark.parametrize("dockerfile", _solutions(), ids=lambda p: p.parent.parent.name)
def test_every_shipped_solution_passes_every_hygiene_criterion(dockerfile: Path) -> None:
    folder = dockerfile.parent.parent
    ignore = dockerfile.parent / ".dockerignore"
    context = sorted(
        str(p.relative_to(folder / "context")) for p in (folder / "context").rglob("*") if p.is_file()
    )
    text = dockerfile.read_text(encoding="utf-8")
    results = run_static(
        text,
        parse(text),
        dockerignore=ignore.read_text(encoding="utf-8") if ignore.exists() else None,
        context_paths=context,
        only=HYGIENE,
    )
    assert {r.criterion: r.verdict for r in results} == dict.fromkeys(HYGIENE, "pass")
