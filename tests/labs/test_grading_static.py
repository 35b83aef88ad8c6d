from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from labs.grading.catalogue import CheckResult
from labs.grading.facts import StaticInput
from labs.grading.registry import DOCKERFILE_IDS, REGISTRY
from labs.grading.shell import split_shell
from labs.grading.static import run_static
from sandbox.dockerfile import parse
from sandbox.dockerignore import DockerIgnore


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


NODE_CLEAN = """\
ARG NODE=18
FROM node:${NODE}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM deps AS build
COPY . .
RUN npm run build

FROM node:${NODE}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/server.js"]
"""

PYTHON_CLEAN = """\
FROM python:3.11-slim AS build
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc \\
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY . .

FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /src/app.py .
USER 10001
ENV PATH=/venv/bin:$PATH
HEALTHCHECK CMD python -c "import urllib.request as u; u.urlopen('http://localhost:8000/')"
CMD ["python", "app.py"]
"""

ROOT_SINGLE = """\
FROM node:18
WORKDIR /app
RUN apt-get update
ADD . /app
COPY . .
RUN npm install
CMD node server.js
"""


@pytest.mark.parametrize(
    ("text", "dockerignore", "context"),
    [
        (
            NODE_CLEAN,
            "**/node_modules\n.git\n",
            ("package.json", "src/app.js", "node_modules/x/i.js", ".git/HEAD"),
        ),
        (
            PYTHON_CLEAN,
            "**/__pycache__\n.venv\n.env\n",
            ("requirements.txt", "app.py", "__pycache__/a.pyc", ".env"),
        ),
    ],
)
def test_clean_multi_stage_non_root_dockerfiles_pass_every_static_criterion(
    text: str, dockerignore: str, context: tuple[str, ...]
) -> None:
    results = run_static(text, parse(text), dockerignore=dockerignore, context_paths=context)
    assert [r.criterion for r in results] == list(DOCKERFILE_IDS)
    assert {r.criterion: r.verdict for r in results if r.verdict != "pass"} == {}


def test_single_stage_root_dockerfile_fails_each_of_its_mistakes_on_the_right_lines() -> None:
    results = {
        r.criterion: r
        for r in run_static(
            ROOT_SINGLE, parse(ROOT_SINGLE), dockerignore=None, context_paths=["package.json"]
        )
    }
    expected = {
        "opt.multi_stage": (1,),
        "opt.slim_final_base": (1,),
        "sec.final_user": (1,),
        "opt.apt_hygiene": (3,),
        "opt.copy_not_add": (4,),
        "opt.exec_form": (7,),
        "opt.cache_order": (4, 5, 6),
        "opt.npm_hygiene": (6,),
    }
    for cid, lines in expected.items():
        assert results[cid].verdict == "fail", cid
        assert results[cid].lines == lines, cid
    assert results["opt.merged_runs"].verdict == "pass"  # RUNs separated by other instructions


def test_run_static_reports_only_the_asked_criteria_in_catalogue_order() -> None:
    text = "FROM alpine:3.19\n"
    results = run_static(
        text, parse(text), dockerignore=None, context_paths=(), only=["sec.no_sudo", "opt.multi_stage"]
    )
    assert [r.criterion for r in results] == ["opt.multi_stage", "sec.no_sudo"]


def test_run_static_rejects_an_unknown_criterion_id() -> None:
    with pytest.raises(ValueError, match=r"opt\.nope"):
        run_static("FROM a:1\n", parse("FROM a:1\n"), dockerignore=None, context_paths=(), only=["opt.nope"])


def test_a_check_that_crashes_is_skipped_not_blamed_on_the_student(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(inp: StaticInput) -> CheckResult:
        raise RuntimeError("bug")

    monkeypatch.setitem(REGISTRY, "sec.no_sudo", dataclasses.replace(REGISTRY["sec.no_sudo"], check=boom))
    result = check("sec.no_sudo", "FROM alpine:3.19\n")
    assert result.verdict == "skip"


def test_every_static_criterion_has_bilingual_teaching_text_and_reads_the_dockerfile() -> None:
    for cid in list(DOCKERFILE_IDS):
        crit = REGISTRY[cid].criterion
        assert crit.source == "dockerfile"
        for text in (crit.title, crit.why, crit.fix):
            assert text.en and text.ko and text.en != text.ko


def test_static_input_built_directly_works_without_run_static() -> None:
    text = "FROM alpine:3.19\nRUN sudo apk add --no-cache curl\n"
    inp = StaticInput(text, parse(text), None, frozenset(), {})
    assert REGISTRY["sec.no_sudo"].check(inp, REGISTRY["sec.no_sudo"].say).lines == (2,)


# opt.multi_stage


def test_multi_stage_passes_when_final_stage_copies_from_a_build_stage() -> None:
    result = check("opt.multi_stage", NODE_CLEAN)
    assert (result.verdict, result.value, result.lines) == ("pass", 3, (11,))


def test_multi_stage_fails_for_a_single_stage() -> None:
    result = check("opt.multi_stage", "FROM python:3.11\nRUN pip install flask\n")
    assert (result.verdict, result.lines) == ("fail", (1,))


def test_multi_stage_fails_when_final_stage_copies_nothing_from_earlier_stages() -> None:
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.19\nCOPY --from=busybox:1 /bin/sh /sh\n"
    result = check("opt.multi_stage", text)
    assert (result.verdict, result.lines) == ("fail", (3,))


def test_multi_stage_counts_a_copy_made_in_the_stage_the_final_one_is_from() -> None:
    text = "FROM golang:1.22 AS build\nFROM alpine:3.19 AS base\nCOPY --from=build /app /app\nFROM base\n"
    assert check("opt.multi_stage", text).verdict == "pass"


# opt.slim_final_base


@pytest.mark.parametrize(
    "base",
    [
        "python:3.11-slim",
        "node:18-bookworm-slim",
        "debian:bookworm-slim",
        "gcr.io/distroless/static-debian12",
        "scratch",
        "node:18-alpine",
        "alpine:3.19",
    ],
)
def test_slim_final_base_passes_for_small_bases(base: str) -> None:
    result = check("opt.slim_final_base", f"FROM {base}\n")
    assert (result.verdict, result.value, result.lines) == ("pass", base, (1,))


@pytest.mark.parametrize("base", ["golang:1.19-bookworm", "node:18", "python:3.11", "ubuntu:22.04"])
def test_slim_final_base_fails_for_full_images(base: str) -> None:
    result = check("opt.slim_final_base", f"FROM alpine:3.19 AS x\nFROM {base}\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_slim_final_base_resolves_arg_templated_base() -> None:
    text = "ARG V=3.11\nFROM python:${V}-slim\n"
    assert check("opt.slim_final_base", text).value == "python:3.11-slim"


def test_slim_final_base_follows_from_stage_chain_and_names_both_lines() -> None:
    text = "FROM golang:1.22 AS build\nFROM debian:bookworm-slim AS base\nRUN true\nFROM base\n"
    result = check("opt.slim_final_base", text)
    assert (result.verdict, result.value, result.lines) == ("pass", "debian:bookworm-slim", (2, 4))


def test_slim_final_base_fails_when_base_depends_on_an_arg_without_default() -> None:
    result = check("opt.slim_final_base", "ARG BASE\nFROM ${BASE}\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


# sec.pinned_base


def test_pinned_base_passes_for_tags_digests_stage_refs_and_scratch() -> None:
    text = (
        "FROM golang:1.22 AS build\nFROM build AS test\n"
        "FROM python:3.11-slim@sha256:abc AS py\nFROM scratch\n"
    )
    assert check("sec.pinned_base", text).verdict == "pass"


def test_pinned_base_fails_untagged_and_latest_bases_on_their_lines() -> None:
    result = check("sec.pinned_base", "FROM ubuntu AS a\nFROM node:latest\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (1, 2))


def test_pinned_base_resolves_from_arg_default_unlike_hadolint_979() -> None:
    text = "ARG BASE_IMAGE=node:18-bookworm-slim\nFROM ${BASE_IMAGE}\n"
    assert check("sec.pinned_base", text).verdict == "pass"


def test_pinned_base_fails_arg_defaulting_to_an_untagged_image() -> None:
    result = check("sec.pinned_base", "ARG BASE=python\nFROM $BASE\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


# sec.final_user


def test_final_user_passes_for_a_non_root_user() -> None:
    result = check("sec.final_user", "FROM alpine:3.19\nUSER app\n")
    assert (result.verdict, result.value, result.lines) == ("pass", "app", (2,))


def test_final_user_fails_without_user_on_the_final_from() -> None:
    text = "FROM alpine:3.19 AS build\nUSER app\nFROM alpine:3.19\nRUN true\n"
    result = check("sec.final_user", text)
    assert (result.verdict, result.lines) == ("fail", (3,))


def test_final_user_fails_when_root_comes_back_after_a_non_root_user() -> None:
    text = "FROM alpine:3.19\nUSER app\nRUN true\nUSER root\n"
    result = check("sec.final_user", text)
    assert (result.verdict, result.lines) == ("fail", (4,))
    assert "USER app" in result.detail.en


@pytest.mark.parametrize("user", ["0", "0:0", "root:root", "root"])
def test_final_user_treats_uid_zero_as_root(user: str) -> None:
    assert check("sec.final_user", f"FROM alpine:3.19\nUSER {user}\n").verdict == "fail"


def test_final_user_is_inherited_from_the_stage_the_final_one_is_from() -> None:
    text = 'FROM alpine:3.19 AS base\nUSER 10001\nFROM base\nCMD ["app"]\n'
    result = check("sec.final_user", text)
    assert (result.verdict, result.lines) == ("pass", (2,))


def test_final_user_resolves_user_from_arg() -> None:
    text = "FROM alpine:3.19\nARG UID=0\nUSER ${UID}\n"
    assert check("sec.final_user", text).verdict == "fail"


# opt.apt_hygiene


def test_apt_hygiene_passes_for_update_install_and_cleanup_in_one_run() -> None:
    text = (
        "FROM debian:bookworm-slim\nRUN apt-get update && \\\n"
        "    apt-get install -y --no-install-recommends curl && \\\n    rm -rf /var/lib/apt/lists/*\n"
    )
    assert check("opt.apt_hygiene", text).verdict == "pass"


def test_apt_hygiene_fails_update_alone_in_a_run() -> None:
    text = "FROM debian:bookworm-slim\nRUN apt-get update\n"
    result = check("opt.apt_hygiene", text)
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_apt_hygiene_gives_partial_credit_and_names_the_install_line() -> None:
    text = (
        "FROM debian:bookworm-slim\nRUN apt-get update \\\n"
        " && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists/*\n"
    )
    result = check("opt.apt_hygiene", text)
    assert (result.verdict, result.lines) == ("partial", (3,))
    assert result.credit() == pytest.approx(2 / 3)
    assert "--no-install-recommends" in result.detail.en


def test_apt_hygiene_accepts_a_cache_mount_on_var_lib_apt() -> None:
    text = (
        "FROM debian:bookworm-slim\n"
        "RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt \\\n"
        "    apt-get update && apt-get install -y --no-install-recommends gcc\n"
    )
    assert check("opt.apt_hygiene", text).verdict == "pass"


def test_apt_hygiene_reads_the_heredoc_body_of_a_run() -> None:
    text = "FROM debian:bookworm-slim\nRUN <<EOF\nset -e\napt-get update\napt-get install -y curl\nEOF\n"
    result = check("opt.apt_hygiene", text)
    assert result.verdict == "partial"
    assert result.lines == (5,)


def test_heredoc_body_is_read_only_when_a_shell_runs_it() -> None:
    bash = "FROM debian:bookworm-slim\nRUN <<EOF\n#!/bin/bash\nsudo true\nEOF\n"
    assert check("sec.no_sudo", bash).lines == (4,)
    python = "FROM python:3.11-slim\nRUN <<EOF\n#!/usr/bin/env python3\nsudo = 1\nEOF\n"
    assert check("sec.no_sudo", python).verdict == "pass"
    data = "FROM debian:bookworm-slim\nRUN cat <<EOF > /etc/motd\nsudo make me a sandwich\nEOF\n"
    assert check("sec.no_sudo", data).verdict == "pass"


def test_apt_hygiene_is_not_fooled_by_echoed_commands() -> None:
    text = 'FROM debian:bookworm-slim\nRUN echo "apt-get install curl" > /notes.txt\n'
    assert check("opt.apt_hygiene", text).value == "not used"


# opt.pip_cache


def test_pip_cache_passes_with_no_cache_dir_and_requirements_file() -> None:
    text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir -r requirements.txt\n"
    assert check("opt.pip_cache", text).verdict == "pass"


def test_pip_cache_fails_pip_upgrade_without_the_flag() -> None:
    text = "FROM python:3.11-slim\nRUN pip install --upgrade pip\n"
    result = check("opt.pip_cache", text)
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_pip_cache_accepts_a_cache_mount_like_hadolint_497_should() -> None:
    text = (
        "FROM python:3.11-slim\n"
        "RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install -r r.txt\n"
    )
    assert check("opt.pip_cache", text).verdict == "pass"


def test_pip_cache_accepts_pip_no_cache_dir_from_env() -> None:
    text = "FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n"
    assert check("opt.pip_cache", text).verdict == "pass"


def test_pip_cache_partial_when_one_of_two_installs_keeps_the_cache() -> None:
    text = (
        "FROM python:3.11-slim\n"
        "RUN pip install --no-cache-dir flask && \\\n    python -m pip install gunicorn\n"
    )
    result = check("opt.pip_cache", text)
    assert (result.verdict, result.lines) == ("partial", (3,))


# opt.npm_hygiene


def test_npm_hygiene_passes_for_npm_ci_with_cache_clean() -> None:
    text = "FROM node:18-slim\nRUN npm ci --omit=dev && npm cache clean --force\n"
    assert check("opt.npm_hygiene", text).verdict == "pass"


def test_npm_hygiene_fails_npm_install_without_cache_clean() -> None:
    result = check("opt.npm_hygiene", "FROM node:18-slim\nRUN npm install\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_npm_hygiene_allows_a_global_tool_install() -> None:
    text = "FROM node:18-slim\nRUN --mount=type=cache,target=/root/.npm npm install -g pm2@5\n"
    assert check("opt.npm_hygiene", text).verdict == "pass"


# opt.apk_cache


def test_apk_cache_passes_with_no_cache() -> None:
    assert check("opt.apk_cache", "FROM alpine:3.19\nRUN apk add --no-cache curl\n").verdict == "pass"


def test_apk_cache_fails_without_no_cache() -> None:
    result = check("opt.apk_cache", "FROM alpine:3.19\nRUN apk update && apk add curl\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_apk_cache_accepts_a_cache_mount() -> None:
    text = "FROM alpine:3.19\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\n"
    assert check("opt.apk_cache", text).verdict == "pass"


# opt.yum_clean


def test_yum_clean_passes_when_the_same_run_cleans() -> None:
    text = "FROM rockylinux:9\nRUN dnf install -y httpd && dnf clean all\n"
    assert check("opt.yum_clean", text).verdict == "pass"


def test_yum_clean_fails_without_clean() -> None:
    result = check("opt.yum_clean", "FROM centos:7\nRUN yum -y install httpd\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_yum_clean_knows_zypper() -> None:
    assert check("opt.yum_clean", "FROM opensuse/leap:15\nRUN zypper -n in curl\n").verdict == "fail"
    ok = "FROM opensuse/leap:15\nRUN zypper -n in curl && zypper clean --all\n"
    assert check("opt.yum_clean", ok).verdict == "pass"


# sec.no_secret_args


def test_no_secret_args_fails_secret_names_on_their_lines() -> None:
    text = "FROM alpine:3.19\nARG NPM_TOKEN\nENV APP=1 DB_PASSWORD=hunter2\nENV AWS_SECRET_ACCESS_KEY=x\n"
    result = check("sec.no_secret_args", text)
    assert (result.verdict, result.lines) == ("fail", (2, 3, 4))
    assert result.value == ["NPM_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY"]
    assert "hunter2" not in result.detail.en + result.detail.ko


def test_no_secret_args_passes_names_that_only_look_secret() -> None:
    text = (
        "FROM python:3.11-slim\nENV TOKENIZERS_PARALLELISM=false KEYBOARD=us PUBLIC_KEY_URL=https://x/k.pub\n"
        "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PASSWORD_FILE=/run/secrets/db\n"
        "ARG NODE_SHA256=3f4d4e6f0c4c0a2e1c7d9b2f6a8e5d1c3b7a9f0e2d4c6b8a0f1e3d5c7b9a1f2e\n"
    )
    assert check("sec.no_secret_args", text).verdict == "pass"


def test_no_secret_args_fails_values_that_look_like_keys() -> None:
    text = (
        "FROM alpine:3.19\nENV AWS_ID=AKIAIOSFODNN7EXAMPLE\nARG GH=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n"
    )
    result = check("sec.no_secret_args", text)
    assert (result.verdict, result.lines) == ("fail", (2, 3))
    assert "AKIA" not in result.detail.en


# sec.tls_verify


@pytest.mark.parametrize(
    "line",
    [
        "RUN curl -k https://x.example/a.sh -o a.sh",
        "RUN curl -fsSLk https://x.example/a",
        "RUN curl --insecure https://x.example/a",
        "RUN wget --no-check-certificate https://x.example/a",
        "RUN pip install --trusted-host pypi.example flask",
        "RUN npm config set strict-ssl false",
        "RUN git -c http.sslVerify=false clone https://x.example/r.git",
        "ENV NODE_TLS_REJECT_UNAUTHORIZED=0",
        "ENV PYTHONHTTPSVERIFY=0",
        "ENV GIT_SSL_NO_VERIFY=true",
        "RUN NODE_TLS_REJECT_UNAUTHORIZED=0 npm ci",
    ],
)
def test_tls_verify_fails_when_verification_is_turned_off(line: str) -> None:
    result = check("sec.tls_verify", f"FROM alpine:3.19\n{line}\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_tls_verify_passes_curl_with_an_output_file_named_k() -> None:
    text = "FROM alpine:3.19\nRUN curl -fsSLo k https://x.example/kubectl && git clone https://x/r.git\n"
    assert check("sec.tls_verify", text).verdict == "pass"


# opt.copy_not_add


def test_copy_not_add_fails_add_of_local_files() -> None:
    result = check("opt.copy_not_add", "FROM alpine:3.19\nADD . /app\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_copy_not_add_passes_add_of_a_local_tar_and_copy() -> None:
    text = "FROM scratch\nADD rootfs.tar.gz /\nCOPY app /app\n"
    assert check("opt.copy_not_add", text).verdict == "pass"


# opt.cache_order


def test_cache_order_fails_copy_of_source_before_npm_install_naming_both_lines() -> None:
    text = "FROM node:18-slim\nWORKDIR /app\nCOPY . .\nRUN npm install\n"
    result = check("opt.cache_order", text)
    assert (result.verdict, result.lines) == ("fail", (3, 4))


def test_cache_order_passes_manifests_then_install_then_source() -> None:
    text = (
        "FROM node:18-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
        "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY src ./src\n"
    )
    result = check("opt.cache_order", text, context=["package.json", "requirements.txt", "src/app.py"])
    assert (result.verdict, result.value) == ("pass", 0)


def test_cache_order_fails_source_dir_before_go_mod_download() -> None:
    text = "FROM golang:1.22\nCOPY go.mod go.sum ./\nCOPY cmd ./cmd\nRUN go mod download\n"
    result = check("opt.cache_order", text, context=["go.mod", "go.sum", "cmd/main.go"])
    assert (result.verdict, result.lines) == ("fail", (3, 4))


def test_cache_order_is_partial_when_a_single_source_file_comes_first() -> None:
    text = "FROM python:3.11-slim\nCOPY requirements.txt app.py ./\nRUN pip install -r requirements.txt\n"
    result = check("opt.cache_order", text, context=["requirements.txt", "app.py"])
    assert (result.verdict, result.lines) == ("partial", (2, 3))


def test_cache_order_does_not_apply_without_a_dependency_install() -> None:
    assert check("opt.cache_order", "FROM alpine:3.19\nCOPY . .\n").value == "not used"


# opt.exec_form


def test_exec_form_passes_json_cmd() -> None:
    result = check("opt.exec_form", 'FROM alpine:3.19\nENTRYPOINT ["/app"]\nCMD ["--port", "80"]\n')
    assert (result.verdict, result.lines) == ("pass", (2, 3))


def test_exec_form_fails_shell_form_cmd_of_the_final_stage_only() -> None:
    text = "FROM alpine:3.19 AS build\nCMD make\nFROM alpine:3.19\nCMD node server.js\n"
    result = check("opt.exec_form", text)
    assert (result.verdict, result.lines) == ("fail", (4,))
    assert '["node", "server.js"]' in result.detail.en


def test_exec_form_fails_shell_form_entrypoint() -> None:
    result = check("opt.exec_form", "FROM alpine:3.19\nENTRYPOINT /app --serve\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


# opt.abs_workdir


def test_abs_workdir_passes_absolute_and_variable_paths() -> None:
    assert check("opt.abs_workdir", "FROM alpine:3.19\nWORKDIR /app\nWORKDIR $HOME/x\n").verdict == "pass"


def test_abs_workdir_fails_a_relative_workdir() -> None:
    result = check("opt.abs_workdir", "FROM alpine:3.19\nWORKDIR /app\nWORKDIR src\n")
    assert (result.verdict, result.lines) == ("fail", (3,))


def test_abs_workdir_is_partial_for_cd_in_run() -> None:
    text = "FROM alpine:3.19\nRUN mkdir /src && \\\n    cd /src && make\n"
    result = check("opt.abs_workdir", text)
    assert (result.verdict, result.lines) == ("partial", (3,))


# sec.no_sudo


def test_no_sudo_fails_sudo_on_its_line() -> None:
    text = "FROM ubuntu:22.04\nUSER app\nRUN echo hi && \\\n    sudo -E apt-get install -y curl\n"
    result = check("sec.no_sudo", text)
    assert (result.verdict, result.lines) == ("fail", (4,))


def test_no_sudo_passes_without_sudo() -> None:
    assert check("sec.no_sudo", 'FROM ubuntu:22.04\nRUN echo "no sudo here"\n').verdict == "pass"


# sec.no_curl_pipe_sh


@pytest.mark.parametrize(
    "run",
    [
        "curl -fsSL https://get.example.com | sh",
        "wget -qO- https://get.example.com | sudo bash -s --",
        'sh -c "$(curl -fsSL https://get.example.com)"',
        "curl -sSL https://install.python-poetry.org | python3 -",
    ],
)
def test_no_curl_pipe_sh_fails_a_download_run_by_a_shell(run: str) -> None:
    result = check("sec.no_curl_pipe_sh", f"FROM debian:bookworm-slim\nRUN {run}\n")
    assert (result.verdict, result.lines) == ("fail", (2,))


def test_no_curl_pipe_sh_passes_download_to_file_and_pipe_to_tar() -> None:
    text = (
        "FROM debian:bookworm-slim\nRUN curl -fsSLo /tmp/i.sh https://x.example/i.sh && sh /tmp/i.sh\n"
        "RUN curl -fsSL https://x.example/a.tgz | tar -xz -C /opt\n"
    )
    assert check("sec.no_curl_pipe_sh", text).verdict == "pass"


# run.healthcheck_declared


def test_healthcheck_passes_when_not_asked() -> None:
    result = check("run.healthcheck_declared", "FROM alpine:3.19\n")
    assert (result.verdict, result.value) == ("pass", "not asked")


def test_healthcheck_required_fails_when_missing_from_the_final_stage() -> None:
    text = "FROM alpine:3.19 AS build\nHEALTHCHECK CMD true\nFROM alpine:3.19\n"
    result = check("run.healthcheck_declared", text, options={"required": True})
    assert (result.verdict, result.lines) == ("fail", (3,))


def test_healthcheck_required_passes_when_declared_and_fails_on_none() -> None:
    ok = check(
        "run.healthcheck_declared",
        "FROM alpine:3.19\nHEALTHCHECK CMD wget -qO- localhost\n",
        options={"required": True},
    )
    assert (ok.verdict, ok.lines) == ("pass", (2,))
    off = check(
        "run.healthcheck_declared", "FROM alpine:3.19\nHEALTHCHECK NONE\n", options={"required": True}
    )
    assert (off.verdict, off.lines) == ("fail", (2,))


# opt.dockerignore and the matcher


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("node_modules", "node_modules/a/index.js", True),
        ("node_modules", "web/node_modules/a.js", False),
        ("**/node_modules", "web/node_modules/a.js", True),
        ("*.pyc", "a.pyc", True),
        ("*.pyc", "src/a.pyc", False),
        ("**/*.pyc", "src/deep/a.pyc", True),
        ("/dist", "dist/app.js", True),
        ("./build/", "build/x", True),
        ("node_modules\n!node_modules/keep.js", "node_modules/keep.js", False),
        ("node_modules\n!node_modules/keep.js", "node_modules/other.js", True),
        ("!README.md\n*.md", "README.md", True),
        ("*.md\n!README.md", "README.md", False),
        ("docs/**", "docs/a/b.txt", True),
        ("# .git\n  .git  ", ".git/HEAD", True),
        ("[ab].txt", "b.txt", True),
        ("?.txt", "ab.txt", False),
        ("**", "anything/at/all", True),
        ("**.pyc", "src/a.pyc", True),
    ],
)
def test_dockerignore_matches_like_docker(patterns: str, path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excludes(path) is excluded


def test_dockerignore_fails_when_absent_and_the_context_has_heavy_files() -> None:
    result = check(
        "opt.dockerignore", "FROM node:18\nCOPY . .\n", context=["node_modules/x.js", ".git/HEAD", "a.js"]
    )
    assert (result.verdict, result.value, result.lines) == ("fail", [".git", "node_modules"], (2,))


def test_dockerignore_may_be_absent_when_there_is_nothing_to_ignore() -> None:
    result = check("opt.dockerignore", "FROM node:18\nCOPY . .\n", context=["package.json", "src/app.js"])
    assert (result.verdict, result.value) == ("pass", "nothing to ignore")


def test_dockerignore_is_partial_when_it_misses_nested_pyc_files() -> None:
    context = [".git/HEAD", "src/__pycache__/a.pyc", "src/b.pyc", ".env", ".env.example"]
    result = check(
        "opt.dockerignore", "FROM python:3.11-slim\n", dockerignore=".git\n*.pyc\n.env\n", context=context
    )
    assert (result.verdict, result.value) == ("partial", ["*.pyc", "__pycache__"])
    assert result.credit() == pytest.approx(2 / 4)


def test_dockerignore_passes_when_every_heavy_file_is_excluded() -> None:
    context = [".git/HEAD", "web/node_modules/x.js", "dist/app.js"]
    ignore = ".git\n**/node_modules\ndist\n"
    assert check("opt.dockerignore", "FROM node:18\n", dockerignore=ignore, context=context).verdict == "pass"


# opt.merged_runs


def test_merged_runs_is_partial_for_one_pair_naming_the_second_run() -> None:
    result = check("opt.merged_runs", "FROM alpine:3.19\nRUN a\nRUN b\n")
    assert (result.verdict, result.value, result.lines) == ("partial", 1, (3,))


def test_merged_runs_fails_three_in_a_row() -> None:
    result = check("opt.merged_runs", "FROM alpine:3.19\nRUN a\nRUN b\nRUN c\n")
    assert (result.verdict, result.value, result.lines) == ("fail", 2, (3, 4))


def test_merged_runs_ignores_runs_separated_by_other_instructions_or_stages() -> None:
    text = "FROM alpine:3.19 AS a\nRUN a\nENV X=1\nRUN b\nFROM alpine:3.19\nRUN c\n"
    assert check("opt.merged_runs", text).verdict == "pass"


def test_merged_runs_honours_max_consecutive() -> None:
    text = "FROM alpine:3.19\nRUN a\nRUN b\n"
    assert check("opt.merged_runs", text, options={"max_consecutive": 2}).verdict == "pass"


# opt.no_maintainer


def test_no_maintainer_fails_maintainer_on_its_line() -> None:
    result = check("opt.no_maintainer", "FROM alpine:3.19\nMAINTAINER me@example.com\n")
    assert (result.verdict, result.lines) == ("fail", (2,))
    assert REGISTRY["opt.no_maintainer"].criterion.default_weight == 1


def test_no_maintainer_passes_with_label() -> None:
    text = 'FROM alpine:3.19\nLABEL org.opencontainers.image.authors="me@example.com"\n'
    assert check("opt.no_maintainer", text).verdict == "pass"


# the shell reader


def test_shell_reader_splits_operators_and_skips_nested_heredoc_bodies() -> None:
    script = "set -e\ncat <<EOT > /etc/x.conf\napt-get install x\nEOT\necho 'a && b' | tee f && ls 2>&1"
    assert [s.words for s in split_shell(script)] == [
        ("set", "-e"),
        ("cat",),
        ("echo", "a && b"),
        ("tee", "f"),
        ("ls",),
    ]


# bounded reading (more in tests/sandbox/test_bounds.py)


def test_env_inherited_from_a_parent_stage_keeps_the_value_the_parents_arg_gave_it() -> None:
    text = (
        "FROM python:3.11-slim AS base\nARG NO_CACHE=1\nENV PIP_NO_CACHE_DIR=${NO_CACHE:-}\n"
        "FROM base\nRUN pip install flask\n"
    )
    assert check("opt.pip_cache", text).verdict == "pass"


def test_a_clean_after_many_installs_counts_for_each_of_them() -> None:
    installs = " && ".join(f"apk add pkg{i}" for i in range(300))
    result = check("opt.apk_cache", f"FROM alpine:3.19\nRUN {installs} && rm -rf /var/cache/apk/*\n")
    assert (result.verdict, result.value) == ("pass", "300/300 apk adds without cache")
