import uuid

import pytest

from labs.grading.catalogue import korean
from sandbox import engine
from sandbox.build import BuildRequest, build_image, step_sources
from sandbox.dockerfile import parse
from sandbox.policy import LocalImage, Violation, check_dockerfile, check_utf8, normalize_image, notices
from sandbox.run.locked import run_command

BASES = (
    "debian:bookworm-slim",
    "python:3.11-slim",
    "node:18-bookworm-slim",
    "golang:1.19-bookworm",
    "scratch",
)


def check(text: str | bytes, *, engine_supports_heredocs: bool = False) -> list[Violation]:
    data = text.encode() if isinstance(text, str) else text
    return check_dockerfile(data, allowed_bases=BASES, engine_supports_heredocs=engine_supports_heredocs)


def only(violations: list[Violation], code: str) -> Violation:
    assert [v.code for v in violations] == [code], violations
    return violations[0]


def test_realistic_multi_stage_node_dockerfile_is_allowed() -> None:
    dockerfile = """\
ARG NODE_VERSION=18
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM deps AS build
COPY . .
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=deps /app/node_modules ./node_modules
USER node
CMD ["node", "dist/server.js"]
"""
    assert check(dockerfile) == []


def test_pip_cache_mount_is_allowed() -> None:
    dockerfile = (
        "FROM python:3.11-slim\n"
        "COPY requirements.txt .\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
    )
    assert check(dockerfile) == []


def test_base_not_in_allowlist_is_refused_listing_what_is_available() -> None:
    v = only(check("FROM ubuntu:latest\nRUN true\n"), "base_not_allowed")

    assert v.line == 1
    assert v.message == (
        'line 1: base image "ubuntu:latest" is not available here. Use one of: '
        "debian:bookworm-slim, python:3.11-slim, node:18-bookworm-slim, golang:1.19-bookworm, "
        "scratch"
    )
    assert v.params["base"] == "ubuntu:latest"


def test_untagged_base_means_latest_and_is_refused() -> None:
    v = only(check("FROM python\n"), "base_not_allowed")

    assert '"python"' in v.message


@pytest.mark.parametrize(
    "base",
    [
        "python:3.11-slim",
        "docker.io/library/python:3.11-slim",
        "library/python:3.11-slim",
        "python:3.11-slim@sha256:" + "a" * 64,
        "scratch",
    ],
)
def test_allowed_base_spellings_are_accepted(base: str) -> None:
    assert check(f"FROM {base}\n") == []


def test_scratch_is_refused_when_not_in_the_allowlist() -> None:
    violations = check_dockerfile(b"FROM scratch\n", allowed_bases=["python:3.11-slim"])

    v = only(violations, "base_not_allowed")
    assert "Use one of: python:3.11-slim" in v.message


def test_base_pinned_by_digest_without_tag_is_refused() -> None:
    v = only(check("FROM python@sha256:" + "a" * 64 + "\n"), "base_not_allowed")

    assert "digest without a tag" in v.message


def test_base_from_arg_without_default_is_refused_naming_the_arg() -> None:
    v = only(check("ARG PY_VERSION\nFROM python:${PY_VERSION}-slim\n"), "base_not_allowed")

    assert v.line == 2
    assert "PY_VERSION" in v.message
    assert "default" in v.message


def test_base_from_arg_default_that_resolves_to_a_disallowed_image_is_refused() -> None:
    v = only(check("ARG IMG=alpine:3.19\nFROM $IMG\n"), "base_not_allowed")

    assert v.line == 2
    assert "alpine:3.19" in v.message


def test_from_a_later_stage_name_is_an_image_and_refused() -> None:
    v = only(check("FROM build\nFROM scratch AS build\n"), "base_not_allowed")

    assert v.line == 1


def test_syntax_directive_is_refused_with_its_line() -> None:
    v = only(check("# syntax=docker/dockerfile:1.4\nFROM scratch\n"), "syntax_directive")

    assert v.line == 1
    assert "line 1" in v.message
    assert "frontend" in v.message


def test_syntax_directive_hidden_behind_a_shebang_is_refused() -> None:
    v = only(check("#!/bin/sh\n# syntax=evil/frontend\nFROM scratch\n"), "syntax_directive")

    assert v.line == 2


def test_ordinary_comment_mentioning_syntax_is_allowed() -> None:
    assert check("FROM scratch\n# syntax=this is just a comment here\n") == []


def test_syntax_error_is_reported_with_its_line() -> None:
    v = only(check("FROM python:3.11-slim\n\nFORM scratch\n"), "syntax")

    assert v.line == 3
    assert "did you mean FROM?" in v.message


def test_syntax_directive_and_syntax_error_are_both_reported() -> None:
    violations = check("# syntax=docker/dockerfile:1\nFROM scratch\nBOGUS x\n")

    assert [(v.code, v.line) for v in violations] == [("syntax_directive", 1), ("syntax", 3)]


def test_run_security_insecure_is_refused() -> None:
    v = only(check("FROM scratch\nRUN --security=insecure true\n"), "insecure_security")

    assert v.line == 2
    assert "--security=insecure" in v.message


def test_run_security_sandbox_is_allowed() -> None:
    assert check("FROM scratch\nRUN --security=sandbox true\n") == []


@pytest.mark.parametrize("network", ["host", "default", "none"])
def test_any_run_network_flag_is_refused(network: str) -> None:
    v = only(check(f"FROM scratch\nRUN --network={network} true\n"), "run_network")

    assert v.line == 2
    assert f"--network={network}" in v.message
    assert "without network" in v.message


@pytest.mark.parametrize(
    "mount",
    [
        "type=cache,target=/root/.cache,source=/etc",
        "type=cache,target=/root/.cache,src=sub",
        "TYPE=cache,target=/x,FROM=deps",
    ],
)
def test_cache_mount_with_source_or_from_is_refused(mount: str) -> None:
    dockerfile = f"FROM scratch AS deps\nFROM scratch\nRUN --mount={mount} true\n"

    v = only(check(dockerfile), "cache_mount_source")
    assert v.line == 3
    assert "CVE-2024-23651" in v.message


@pytest.mark.parametrize("kind", ["secret", "ssh"])
def test_secret_and_ssh_mounts_are_refused(kind: str) -> None:
    v = only(check(f"FROM scratch\nRUN --mount=type={kind},id=x true\n"), "mount_type_not_allowed")

    assert v.line == 2
    assert f"type={kind}" in v.message


def test_bind_mount_from_an_earlier_stage_is_allowed() -> None:
    dockerfile = (
        "FROM golang:1.19-bookworm AS build\n"
        "FROM debian:bookworm-slim\n"
        "RUN --mount=type=bind,from=build,source=/go/bin,target=/mnt true\n"
        "RUN --mount=type=bind,from=0,target=/mnt true\n"
    )
    assert check(dockerfile) == []


def test_bind_mount_from_an_image_is_refused() -> None:
    dockerfile = "FROM debian:bookworm-slim\nRUN --mount=from=alpine,target=/mnt true\n"

    v = only(check(dockerfile), "mount_from_not_allowed")
    assert v.line == 2
    assert "from=alpine" in v.message


def test_copy_from_an_unknown_image_is_refused() -> None:
    dockerfile = "FROM debian:bookworm-slim\nCOPY --from=nginx:latest /etc/nginx /etc/nginx\n"

    v = only(check(dockerfile), "copy_from_not_allowed")
    assert v.line == 2
    assert "nginx:latest" in v.message


def test_copy_from_an_allowed_image_is_allowed() -> None:
    assert check("FROM scratch\nCOPY --from=python:3.11-slim /etc/os-release /\n") == []


@pytest.mark.parametrize(
    "source",
    [
        "https://example.com/app.tar.gz",
        "http://example.com/app.tar.gz",
        "git@github.com:example/app.git",
        "https://github.com/example/app.git#main",
    ],
)
def test_add_of_a_remote_source_is_refused(source: str) -> None:
    v = only(check(f"FROM scratch\nADD {source} /app\n"), "add_url")

    assert v.line == 2
    assert source in v.message
    assert "COPY" in v.message


def test_add_of_a_url_hidden_in_an_arg_is_refused() -> None:
    dockerfile = "FROM scratch\nARG SRC=https://example.com/x.tgz\nADD ${SRC} /app\n"

    v = only(check(dockerfile), "add_url")
    assert v.line == 3


def test_add_of_a_local_file_is_allowed() -> None:
    assert check("FROM scratch\nARG DIR=vendor\nADD app.tar.gz ${DIR}/lib.tgz /app/\n") == []


def test_heredoc_is_refused_when_the_engine_is_too_old() -> None:
    dockerfile = "FROM debian:bookworm-slim\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n"

    v = only(check(dockerfile), "heredoc_unsupported")
    assert v.line == 2
    assert "Docker Engine 23" in v.message
    assert "<<EOF" in v.message
    assert "&&" in v.message
    assert "syntax" not in v.message.lower()


def test_heredoc_is_allowed_when_the_engine_supports_it() -> None:
    dockerfile = "FROM debian:bookworm-slim\nCOPY <<EOF /etc/motd\nhello\nEOF\n"

    assert check(dockerfile, engine_supports_heredocs=True) == []


def test_onbuild_triggers_are_checked_like_the_instruction_itself() -> None:
    dockerfile = (
        "FROM scratch\n"
        "ONBUILD RUN --network=host true\n"
        "ONBUILD ADD https://example.com/x /x\n"
        "ONBUILD RUN --mount=type=secret,id=k true\n"
    )

    violations = check(dockerfile)
    assert [(v.code, v.line) for v in violations] == [
        ("run_network", 2),
        ("add_url", 3),
        ("mount_type_not_allowed", 4),
        ("onbuild_flags", 4),
    ]
    assert all("ONBUILD" in v.message for v in violations)


def test_all_violations_are_reported_in_line_order() -> None:
    dockerfile = (
        "FROM ubuntu:22.04 AS build\n"
        "RUN --network=host apt-get update\n"
        "FROM alpine\n"
        "ADD https://example.com/x /x\n"
        "RUN --security=insecure true\n"
    )

    assert [(v.code, v.line) for v in check(dockerfile)] == [
        ("base_not_allowed", 1),
        ("run_network", 2),
        ("base_not_allowed", 3),
        ("add_url", 4),
        ("insecure_security", 5),
    ]


def test_file_over_the_size_limit_is_refused_saying_size_and_limit() -> None:
    data = b"FROM scratch\n" + b"# padding\n" * (65 * 1024 // 10)

    v = only(check(data), "too_large")
    assert len(data) > 64 * 1024
    assert f"{len(data):,} bytes" in v.message
    assert "65,536 bytes" in v.message
    assert v.params == {"size": str(len(data)), "limit": "65536"}


def test_file_at_the_size_limit_is_allowed() -> None:
    data = b"FROM scratch\n"
    data += b"#" * (64 * 1024 - len(data))

    assert check(data) == []


def test_non_utf8_bytes_are_refused_with_the_line_of_the_first_bad_byte() -> None:
    v = only(check(b"FROM scratch\nLABEL a=b\nLABEL caf\xe9=1\n"), "not_utf8")

    assert v.line == 3
    assert "line 3" in v.message
    assert "UTF-8" in v.message


def test_utf8_byte_order_mark_is_accepted() -> None:
    assert check(b"\xef\xbb\xbfFROM python:3.11-slim\nRUN echo \xc3\xa9\n") == []


def test_normalize_image_drops_docker_hub_prefixes_and_implies_latest() -> None:
    assert normalize_image("docker.io/library/python:3.11-slim") == "python:3.11-slim"
    assert normalize_image("index.docker.io/library/debian") == "debian:latest"
    assert normalize_image("localhost:5000/app") == "localhost:5000/app:latest"
    assert normalize_image("python@sha256:abc") is None


LOCAL = {
    "python:3.11-slim": LocalImage("python:3.11-slim", "sha256:" + "a" * 64),
    "debian:bookworm-slim": LocalImage("debian:bookworm-slim", "sha256:" + "b" * 64),
}


def check_local(text: str) -> list[Violation]:
    return check_dockerfile(
        text.encode(), allowed_bases=BASES, local_images=LOCAL, host_platform="linux/amd64"
    )


def test_a_digest_must_be_the_local_images_own() -> None:
    assert check_local(f"FROM python:3.11-slim@sha256:{'a' * 64}\n") == []
    assert check_local(f"FROM python@sha256:{'a' * 64}\n") == []
    v = only(check_local(f"FROM python:3.11-slim@sha256:{'f' * 64}\n"), "digest_mismatch")
    assert v.line == 1
    assert v.message == (
        f'line 1: "python:3.11-slim@sha256:{"f" * 64}" asks for a different image than the '
        f"python:3.11-slim this platform has, whose digest is sha256:{'a' * 64}. Images are never "
        "downloaded here, so pin that digest or remove the @sha256:... part."
    )
    only(check_local(f"FROM python@sha256:{'b' * 64}\n"), "base_not_allowed")


def test_copy_from_an_image_checks_its_digest_too() -> None:
    only(
        check_local(f"FROM scratch\nCOPY --from=python:3.11-slim@sha256:{'f' * 64} /a /a\n"),
        "copy_from_not_allowed",
    )
    assert check_local(f"FROM scratch\nCOPY --from=python:3.11-slim@sha256:{'a' * 64} /a /a\n") == []


@pytest.mark.parametrize(
    "platform", ["linux/amd64", "amd64", "$BUILDPLATFORM", "${TARGETPLATFORM}", "linux/amd64/v1"]
)
def test_the_hosts_own_platform_is_allowed(platform: str) -> None:
    assert check_local(f"FROM --platform={platform} python:3.11-slim\n") == []


@pytest.mark.parametrize("platform", ["linux/arm64", "linux/386", "$NOPE", "windows/amd64"])
def test_another_platform_is_refused_with_the_reason(platform: str) -> None:
    v = only(check_local(f"FROM --platform={platform} python:3.11-slim\n"), "platform_not_available")
    assert v.message == (
        f"line 1: FROM --platform={platform} asks for an image built for another kind of computer; "
        "this platform builds only linux/amd64 images, and any other would have to be downloaded. "
        "Remove --platform."
    )


def test_onbuild_may_not_mount_or_copy_from() -> None:
    violations = check(
        "FROM python:3.11-slim AS a\n"
        "FROM python:3.11-slim AS b\n"
        "ONBUILD RUN --mount=type=cache,id=victim,target=/c true\n"
        "ONBUILD COPY --from=a /x /x\n"
    )
    assert [(v.code, v.line) for v in violations] == [("onbuild_flags", 3), ("onbuild_flags", 4)]
    assert violations[0].message.startswith("line 3: ONBUILD RUN --mount is not allowed here")


@pytest.mark.parametrize(
    "mount", ['type=cache,"target=/a b"', "type=cache,target=/a;b", "type=cache,target=$HOME/.cache"]
)
def test_a_cache_mount_must_be_written_plainly(mount: str) -> None:
    only(check(f"FROM python:3.11-slim\nRUN --mount={mount} true\n"), "cache_mount_form")


# Notices: built anyway, but the student should know.


def notices_of(text: str, *, keeps_setuid: bool = False) -> list[Violation]:
    return notices(text.encode(), parse(text), engine_keeps_setuid_chmod=keeps_setuid)


def test_a_bidi_override_is_a_notice_naming_the_line_and_the_characters() -> None:
    text = 'FROM python:3.11-slim\nRUN echo "safe \u202e;hs.lave\u2066"\n'
    assert check(text) == []  # built anyway
    assert notices_of(text) == [
        Violation(
            "bidi_control",
            2,
            "line 2: this line contains invisible characters that change the direction text is shown in: "
            "U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE. What you see may not be what the "
            "engine runs (the Trojan Source trick). Delete them unless you put them there on purpose.",
            {"line": "2", "chars": "U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE"},
        )
    ]


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u202a", "U+202A LEFT-TO-RIGHT EMBEDDING"),
        ("\u202b", "U+202B RIGHT-TO-LEFT EMBEDDING"),
        ("\u202c", "U+202C POP DIRECTIONAL FORMATTING"),
        ("\u202d", "U+202D LEFT-TO-RIGHT OVERRIDE"),
        ("\u2067", "U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("\u2068", "U+2068 FIRST STRONG ISOLATE"),
        ("\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
        ("\u200e", "U+200E LEFT-TO-RIGHT MARK"),
        ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
        ("\u061c", "U+061C ARABIC LETTER MARK"),
    ],
)
def test_every_direction_control_is_named(char: str, name: str) -> None:
    found = notices_of(f"FROM python:3.11-slim\n# a comment{char}\n")
    assert [(v.code, v.line, v.params["chars"]) for v in found] == [("bidi_control", 2, name)]


def test_a_plain_dockerfile_has_no_notices() -> None:
    assert notices_of("FROM python:3.11-slim\nCOPY --chmod=0755 app.py /app/\nRUN echo 'שלום'\n") == []


def test_copy_chmod_setuid_is_a_notice_that_this_engine_drops_it() -> None:
    found = notices_of("FROM python:3.11-slim\nCOPY --chmod=4755 tool /usr/local/bin/tool\n")
    assert found == [
        Violation(
            "chmod_bits_dropped",
            2,
            "line 2: COPY --chmod=4755 asks for the setuid bit, but this platform's engine (Docker 20.10's "
            "BuildKit) drops the setuid, setgid and sticky bits of --chmod: the file will be 0755. If you "
            "really need it, set it with RUN chmod 4755 <path>; otherwise write --chmod=0755.",
            {"line": "2", "instruction": "COPY", "mode": "4755", "bits": "setuid", "result": "0755"},
        )
    ]


def test_add_chmod_setuid_and_setgid_names_both_bits() -> None:
    (v,) = notices_of("FROM python:3.11-slim\nADD --chmod=6750 tool /tool\n")
    assert v.message.startswith("line 2: ADD --chmod=6750 asks for the setuid and setgid bits, but")
    assert v.params["result"] == "0750"


def test_chmod_bits_are_no_notice_where_the_engine_keeps_them() -> None:
    assert notices_of("FROM python:3.11-slim\nCOPY --chmod=2755 tool /tool\n", keeps_setuid=True) == []


def test_onbuild_in_the_final_stage_is_a_notice() -> None:
    text = "FROM python:3.11-slim AS base\nONBUILD RUN echo early\nFROM base\nONBUILD COPY . /app\n"
    assert notices_of(text) == [
        Violation(
            "onbuild_in_final",
            4,
            "line 4: ONBUILD COPY in the final stage leaves a trigger in your image: it runs not in your "
            "build but in the build of whoever writes FROM your image. Remove it unless you are making a "
            "base image for others.",
            {"line": "4", "instruction": "COPY"},
        )
    ]


def test_notices_come_in_line_order() -> None:
    text = "FROM python:3.11-slim\nONBUILD RUN x\nCOPY --chmod=4755 a /a\n# \u200f\n"
    assert [(v.code, v.line) for v in notices_of(text)] == [
        ("onbuild_in_final", 2),
        ("chmod_bits_dropped", 3),
        ("bidi_control", 4),
    ]


def test_notices_in_korean() -> None:
    (bidi,) = notices_of("FROM python:3.11-slim\n#\u202e\n")
    assert korean(bidi.code, bidi.message, bidi.params, bidi.line) == (
        "2번째 줄: 이 줄에 글자가 표시되는 방향을 바꾸는 보이지 않는 문자가 있습니다: "
        "U+202E RIGHT-TO-LEFT OVERRIDE. "
        '화면에 보이는 것과 엔진이 실행하는 것이 다를 수 있습니다("Trojan Source" 기법). '
        "일부러 넣은 것이 아니라면 "
        "지우세요."
    )
    (chmod,) = notices_of("FROM python:3.11-slim\nCOPY --chmod=4755 a /a\n")
    assert korean(chmod.code, chmod.message, chmod.params, chmod.line) == (
        "2번째 줄: COPY --chmod=4755 옵션은 setuid 비트를 요청하지만, "
        "이 플랫폼의 엔진(Docker 20.10의 BuildKit)은 "
        "--chmod의 setuid, setgid, sticky 비트를 버립니다. 파일은 0755 권한으로 만들어집니다. 꼭 필요하다면 "
        "RUN chmod 4755 <경로>로 설정하고, 아니라면 --chmod=0755처럼 쓰세요."
    )
    (onbuild,) = notices_of("FROM python:3.11-slim\nONBUILD RUN x\n")
    assert korean(onbuild.code, onbuild.message, onbuild.params, onbuild.line).startswith(
        "2번째 줄: 최종 스테이지의 ONBUILD RUN 명령은 이미지에 트리거를 남깁니다."
    )


@pytest.mark.docker
def test_this_engine_really_drops_setuid_from_copy_chmod() -> None:
    """What the chmod notice says, checked: `engine_keeps_setuid_chmod=False` is right here."""
    tag = f"layerlab-test/chmod:{uuid.uuid4().hex[:10]}"
    dockerfile = "FROM debian:bookworm-slim\nCOPY --chmod=4755 tool /tool\n"
    request = BuildRequest(
        dockerfile=dockerfile,
        context_files={"tool": uuid.uuid4().hex},
        tag=tag,
        labels={engine.LABEL_SUBMISSION: f"test-{tag[-10:]}"},
        sources=step_sources(parse(dockerfile)),
    )
    try:
        result = build_image(request, lambda event: None)
        assert result.ok, result.message
        ran = run_command(tag, ["stat", "-c", "%a", "/tool"], entrypoint=[])
        assert (ran.exit_code, ran.stdout.strip()) == (0, "755")
    finally:
        engine.image_remove(tag)


# Look-alike characters in a refused base name.


def test_a_cyrillic_letter_in_the_base_is_pointed_out_with_the_real_name() -> None:
    v = only(check("FROM pyth\u043en:3.11-slim\n"), "base_not_allowed")
    assert v.message == (
        'line 1: base image "pyth\u043en:3.11-slim" is not available here. It contains characters that only '
        'look like ASCII letters (#position "character" name → the letter it passes for): #5 "\u043e" U+043E '
        'CYRILLIC SMALL LETTER O → "o". The real name is python:3.11-slim: type it in plain ASCII. Use one '
        "of: debian:bookworm-slim, python:3.11-slim, node:18-bookworm-slim, golang:1.19-bookworm, scratch"
    )
    assert korean(v.code, v.message, v.params, v.line) == (
        '1번째 줄: 베이스 이미지 "pyth\u043en:3.11-slim"는 여기서 쓸 수 없습니다. '
        "ASCII 글자처럼 보이지만 다른 "
        '글자가 들어 있습니다(#위치 "글자" 이름 → 닮은 ASCII 글자): '
        '#5 "\u043e" U+043E CYRILLIC SMALL LETTER O '
        '→ "o". 진짜 이름은 python:3.11-slim입니다. ASCII 글자로 다시 입력하세요. 다음 중 하나를 쓰세요: '
        "debian:bookworm-slim, python:3.11-slim, node:18-bookworm-slim, golang:1.19-bookworm, scratch"
    )


def test_several_look_alikes_and_fullwidth_letters_are_each_named() -> None:
    v = only(check("FROM \uff50yth\u043en:3.11-sl\u0456m\n"), "base_not_allowed")
    assert v.params["lookalikes"] == (
        '#1 "\uff50" U+FF50 FULLWIDTH LATIN SMALL LETTER P → "p"; '
        '#5 "\u043e" U+043E CYRILLIC SMALL LETTER O → "o"; '
        '#15 "\u0456" U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I → "i"'
    )
    assert v.params["real"] == "python:3.11-slim"


def test_a_non_ascii_base_that_resembles_nothing_available_is_still_explained() -> None:
    v = only(check("FROM pyth\u00f6n:3.11-slim\n"), "base_not_allowed")
    assert v.message == (
        'line 1: base image "pyth\u00f6n:3.11-slim" is not available here. Image names are plain ASCII, and '
        'it contains other characters: #5 "\u00f6" U+00F6 LATIN SMALL LETTER O WITH DIAERESIS. Use one of: '
        "debian:bookworm-slim, python:3.11-slim, node:18-bookworm-slim, golang:1.19-bookworm, scratch"
    )


# not_utf8 says the real size and where; nothing is decoded with replacement.


def test_not_utf8_gives_the_line_the_byte_and_the_real_size() -> None:
    data = b"FROM scratch\nLABEL a=b\nLABEL caf\xe9=1\n"
    v = only(check(data), "not_utf8")
    assert v.message == (
        "line 3: the Dockerfile is not valid UTF-8 text (byte 33 of 36). Save it as UTF-8 and remove any "
        "binary data."
    )
    assert v.params == {"line": "3", "byte": "33", "size": "36"}
    assert korean(v.code, v.message, v.params, v.line) == (
        "3번째 줄: Dockerfile이 올바른 UTF-8 텍스트가 아닙니다(36바이트 중 33번째 바이트). UTF-8로 저장하고 "
        "바이너리 데이터를 지우세요."
    )


def test_not_utf8_counts_bytes_from_the_start_of_the_file_even_after_a_bom() -> None:
    v = only(check(b"\xef\xbb\xbfFROM x\n\xff\n"), "not_utf8")
    assert (v.line, v.params["byte"], v.params["size"]) == (2, "11", "12")


def test_check_utf8_passes_utf8_and_refuses_the_rest() -> None:
    assert check_utf8("FROM python:3.11-slim\nRUN echo é\n".encode()) is None
    refused = check_utf8(b"FROM x\nRUN echo \xc3\n")
    assert refused is not None and (refused.code, refused.line) == ("not_utf8", 2)


# Alpine images cannot be made offline: the refusal names the nearest base the exercise allows.

GO_BASES = (
    "golang:1.19-bookworm",
    "scratch",
    "gcr.io/distroless/static-debian12:nonroot",
    "gcr.io/distroless/static-debian12",
)
NOT_HERE = (
    "Alpine images cannot be made on this platform: there is no registry to pull them from, and "
    "Alpine's apk packages are not available offline."
)
NOT_HERE_KO = (
    "이 플랫폼에는 이미지를 내려받을 레지스트리가 없고 Alpine의 apk 패키지도 오프라인으로는 구할 수 없어서 "
    "Alpine 이미지를 만들 수 없습니다."
)
APT_KO = "셸과 패키지 관리자가 있는 Debian 기반 이미지에서는 apk 대신 apt-get을 씁니다."
ALL_BASES = "debian:bookworm-slim, python:3.11-slim, node:18-bookworm-slim, golang:1.19-bookworm, scratch"


def test_an_alpine_language_image_is_refused_naming_its_slim_twin() -> None:
    v = only(check("FROM python:3.11-alpine\n"), "base_not_allowed")

    assert v.message == (
        f'line 1: base image "python:3.11-alpine" is not available here. {NOT_HERE} Use python:3.11-slim '
        "(Debian slim), the nearest available base: the same python 3.11 on Debian instead of Alpine; "
        f"install packages with apt-get instead of apk. Use one of: {ALL_BASES}"
    )
    assert v.params == {
        "line": "1",
        "base": "python:3.11-alpine",
        "allowed": ALL_BASES,
        "variant": "alpine",
        "nearest": "python:3.11-slim",
        "kind": "Debian slim",
    }
    assert korean(v.code, v.message, v.params, v.line) == (
        f'1번째 줄: 베이스 이미지 "python:3.11-alpine"는 여기서 쓸 수 없습니다. {NOT_HERE_KO} 가장 가까운 '
        f"베이스는 python:3.11-slim(Debian slim)입니다. {APT_KO} 다음 중 하나를 쓰세요: {ALL_BASES}"
    )


def test_alpine_itself_is_refused_naming_debian_slim_and_why() -> None:
    v = only(check("FROM alpine:3.19\n"), "base_not_allowed")

    assert v.message == (
        f'line 1: base image "alpine:3.19" is not available here. {NOT_HERE} Use debian:bookworm-slim '
        "(Debian slim), the nearest available base: a small Debian with a shell and a package manager, as "
        f"Alpine has; install packages with apt-get instead of apk. Use one of: {ALL_BASES}"
    )
    assert korean(v.code, v.message, v.params, v.line) == (
        f'1번째 줄: 베이스 이미지 "alpine:3.19"는 여기서 쓸 수 없습니다. {NOT_HERE_KO} 가장 가까운 '
        f"베이스는 debian:bookworm-slim(Debian slim)입니다. {APT_KO} 다음 중 하나를 쓰세요: {ALL_BASES}"
    )


def test_alpine_as_a_final_stage_where_only_distroless_fits_names_distroless_static() -> None:
    dockerfile = "FROM golang:1.19-bookworm AS build\nFROM alpine:3.19\n"
    [v] = check_dockerfile(dockerfile.encode(), allowed_bases=GO_BASES)
    go_bases = ", ".join(GO_BASES)

    assert (v.code, v.line) == ("base_not_allowed", 2)
    assert v.message == (
        f'line 2: base image "alpine:3.19" is not available here. {NOT_HERE} Use '
        "gcr.io/distroless/static-debian12:nonroot (distroless), the nearest available base: for a final "
        "stage that only runs your program: CA certificates, time zones and /etc/passwd, but no shell and no "
        f"package manager (build in an earlier stage). Use one of: {go_bases}"
    )
    assert korean(v.code, v.message, v.params, v.line) == (
        f'2번째 줄: 베이스 이미지 "alpine:3.19"는 여기서 쓸 수 없습니다. {NOT_HERE_KO} 가장 가까운 베이스는 '
        f"gcr.io/distroless/static-debian12:nonroot(distroless)입니다. {APT_KO} "
        f"다음 중 하나를 쓰세요: {go_bases}"
    )


@pytest.mark.parametrize(
    ("base", "allowed", "nearest", "kind"),
    [
        ("node:18-alpine", BASES, "node:18-bookworm-slim", "Debian slim"),
        ("docker.io/library/node:18-alpine3.19", BASES, "node:18-bookworm-slim", "Debian slim"),
        ("golang:1.19-alpine", GO_BASES, "golang:1.19-bookworm", "Debian"),
        ("python:3.12-alpine", BASES, "python:3.11-slim", "Debian slim"),
        ("node:18-alpine", ("python:3.11-slim", "scratch"), "python:3.11-slim", "Debian slim"),
        ("alpine", ("scratch",), "scratch", "empty image"),
    ],
)
def test_the_nearest_base_is_chosen_from_what_the_exercise_allows(
    base: str, allowed: tuple[str, ...], nearest: str, kind: str
) -> None:
    [v] = check_dockerfile(f"FROM {base}\n".encode(), allowed_bases=allowed)

    assert (v.code, v.params["variant"], v.params["nearest"], v.params["kind"]) == (
        "base_not_allowed",
        "alpine",
        nearest,
        kind,
    )
    assert f"Use {nearest} ({kind}), the nearest available base: " in v.message


def test_a_differently_versioned_twin_is_named_as_what_the_exercise_has() -> None:
    v = only(check("FROM python:3.12-alpine3.19\n"), "base_not_allowed")

    assert (
        "Use python:3.11-slim (Debian slim), the nearest available base: the python image this exercise "
        "has, on Debian instead of Alpine; install packages with apt-get instead of apk."
    ) in v.message


def test_alpine_is_only_unavailable_not_forbidden() -> None:
    # With a registry (or a stand-in) the exercise could allow it, and then it is a base like any other.
    assert check_dockerfile(b"FROM alpine:3.19\n", allowed_bases=["alpine:3.19"]) == []
    assert check_dockerfile(b"FROM python:3.11-alpine\n", allowed_bases=["python:3.11-alpine"]) == []


def test_with_nothing_allowed_an_alpine_base_gets_the_plain_refusal() -> None:
    [v] = check_dockerfile(b"FROM alpine:3.19\n", allowed_bases=[])

    assert (
        v.message
        == 'line 1: base image "alpine:3.19" is not available here. Use one of: (none are configured)'
    )
    assert "variant" not in v.params


# Distroless references: a registry host, a tag, and the untagged name meaning :latest.


def test_distroless_references_normalise_with_their_registry_and_tag() -> None:
    assert normalize_image("gcr.io/distroless/static-debian12") == "gcr.io/distroless/static-debian12:latest"
    assert (
        normalize_image("gcr.io/distroless/static-debian12:nonroot")
        == "gcr.io/distroless/static-debian12:nonroot"
    )
    assert (
        normalize_image("gcr.io/distroless/base-debian12:debug-nonroot@sha256:" + "a" * 64)
        == "gcr.io/distroless/base-debian12:debug-nonroot"
    )
    assert normalize_image("gcr.io/distroless/static-debian12@sha256:" + "a" * 64) is None


def test_distroless_bases_are_allowed_by_tag_and_the_untagged_name_is_latest() -> None:
    allowed = [
        "golang:1.19-bookworm",
        "gcr.io/distroless/static-debian12",
        "gcr.io/distroless/cc-debian12:nonroot",
    ]
    ok = "FROM golang:1.19-bookworm AS build\nFROM {}\n"
    for base in (
        "gcr.io/distroless/static-debian12",
        "gcr.io/distroless/static-debian12:latest",
        "gcr.io/distroless/cc-debian12:nonroot",
    ):
        assert check_dockerfile(ok.format(base).encode(), allowed_bases=allowed) == [], base
    [v] = check_dockerfile(
        ok.format("gcr.io/distroless/static-debian12:nonroot").encode(), allowed_bases=allowed
    )
    assert (v.code, v.line, v.params["base"]) == (
        "base_not_allowed",
        2,
        "gcr.io/distroless/static-debian12:nonroot",
    )
