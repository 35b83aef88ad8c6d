import itertools

import pytest

from sandbox.dockerfile import parse
from sandbox.policy import LocalImage, check_dockerfile, mount_options
from sandbox.rewrite import (
    RewriteError,
    _Target,
    alias_of,
    cache_id,
    cache_namespace,
    rewrite_for_engine,
    verify,
)

PY = LocalImage("python:3.11-slim", "sha256:" + "a" * 64)
DEB = LocalImage("debian:bookworm-slim", "sha256:" + "b" * 64, digests=("sha256:" + "c" * 64,))
IMAGES = {PY.ref: PY, DEB.ref: DEB}
NS = cache_namespace(b"test-key", "user:7")
OTHER = cache_namespace(b"test-key", "user:8")


def rewrite(text: str, namespace: str = NS) -> str:
    assert check_dockerfile(text.encode(), allowed_bases=[*IMAGES, "scratch"], local_images=IMAGES) == []
    return rewrite_for_engine(text, parse(text), images=IMAGES, namespace=namespace)


def cache_ids(text: str) -> list[str]:
    return [
        mount_options(spec).get("id", "")
        for ins in parse(text).instructions
        for spec in ins.flag_values("mount")
        if mount_options(spec).get("type") == "cache"
    ]


def test_every_base_becomes_the_pinned_local_image_on_its_own_line() -> None:
    text = (
        "ARG BASE=python:3.11-slim\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "RUN echo hi\n"
        "FROM docker.io/library/debian:bookworm-slim@sha256:" + "c" * 64 + " \\\n"
        "  AS run\n"
        "COPY --from=build /a /a\n"
        "COPY --from=python:3.11-slim /usr/bin/python3 /p\n"
        "FROM scratch\n"
        "FROM build\n"
    )
    out = rewrite(text).split("\n")
    assert out == [
        "ARG BASE=python:3.11-slim",
        f"FROM {alias_of(PY)} AS build",
        "RUN echo hi",
        f"FROM {alias_of(DEB)} AS run",
        "",
        "COPY --from=build /a /a",
        f"COPY --from={alias_of(PY)} /usr/bin/python3 /p",
        "FROM scratch",
        "FROM build",
        "",
    ]
    assert alias_of(PY) == "layerlab.invalid/base:" + "a" * 64


def test_a_build_arg_cannot_change_a_base_after_the_check() -> None:
    """The engine gets a literal image: `--build-arg BASE=...` has nothing left to override."""
    out = rewrite("ARG BASE=python:3.11-slim\nFROM $BASE\n")
    assert "$BASE" not in out.split("\n")[1]


def test_the_comment_line_attack_cannot_keep_another_students_cache_id() -> None:
    text = (
        "FROM python:3.11-slim\n"
        "RUN --mount=type=cache,target=/tmp/a \\\n"
        "# a comment ends a line-by-line rewrite\n"
        "    --mount=type=cache,id=layerlab-u2-pip,target=/root/.cache/pip \\\n"
        "    pip install six\n"
    )
    out = rewrite(text)
    assert cache_ids(out) == [cache_id(NS, "/tmp/a"), cache_id(NS, "layerlab-u2-pip")]
    assert out.split("\n")[1] == (
        f"RUN --mount=type=cache,target=/tmp/a,id={cache_id(NS, '/tmp/a')} "
        f"--mount=type=cache,target=/root/.cache/pip,id={cache_id(NS, 'layerlab-u2-pip')} pip install six"
    )
    assert out.split("\n")[2:5] == ["", "", ""]


SEPARATORS = (
    " ",
    " \\\n",
    " \\\n# c --mount=type=cache,id=x,target=/y\n",
    " \\\n\n",
    "\t\\\n\t",
    " \\\n  # c\n  ",
)
FLAGS = (
    "--mount=type=cache,target=/root/.cache/pip",
    "--mount=type=bind,from=build,target=/src",
    "--mount=type=cache,id=npm,target=/root/.npm,sharing=locked",
)


@pytest.mark.parametrize("seps", list(itertools.product(SEPARATORS, repeat=3)))
def test_every_way_of_splitting_the_flags_puts_every_cache_in_the_namespace(seps: tuple[str, ...]) -> None:
    body = "RUN"
    for sep, flag in zip(seps, FLAGS, strict=True):
        body += sep + flag
    text = (
        f"FROM python:3.11-slim AS build\nFROM python:3.11-slim\n{body} \\\n    pip install six\nUSER 1000\n"
    )
    out = rewrite(text)
    assert cache_ids(out) == [cache_id(NS, "/root/.cache/pip"), cache_id(NS, "npm")]
    assert len(out.split("\n")) == len(text.split("\n"))
    last = parse(out).instructions[-1]
    assert (last.keyword, last.start_line) == ("USER", text.split("\n").index("USER 1000") + 1)


def test_json_form_and_quoted_flags_survive_the_rewrite() -> None:
    text = (
        "FROM python:3.11-slim AS build\nFROM python:3.11-slim\n"
        'RUN --mount="type=bind,from=build,target=/a b" --mount=type=cache,target=/c '
        '["python3", "-c", "print(\'hi there\')"]\n'
    )
    out = parse(rewrite(text))
    run = out.instructions[-1]
    assert run.json and run.args == ("python3", "-c", "print('hi there')")
    assert run.flag_values("mount") == [
        "type=bind,from=build,target=/a b",
        f"type=cache,target=/c,id={cache_id(NS, '/c')}",
    ]


def test_namespaces_are_keyed_and_stable() -> None:
    assert cache_namespace(b"test-key", "user:7") == NS
    assert NS != OTHER
    assert cache_namespace(b"another-key", "user:7") != NS
    assert "7" not in NS or NS != "u7"


def test_verification_refuses_a_cache_mount_outside_the_namespace() -> None:
    text = "FROM python:3.11-slim\nRUN --mount=type=cache,target=/c true\n"
    parsed = parse(text)
    target = _Target(IMAGES, frozenset(IMAGES), NS)
    forged = f"FROM {alias_of(PY)}\nRUN --mount=type=cache,target=/c,id={cache_id(OTHER, '/c')} true\n"
    with pytest.raises(RewriteError, match=r"line 2: .*outside your own caches"):
        verify(forged, parsed, target)
    verify(
        f"FROM {alias_of(PY)}\nRUN --mount=type=cache,target=/c,id={cache_id(NS, '/c')} true\n",
        parsed,
        target,
    )


def test_verification_refuses_an_unpinned_base_or_a_platform() -> None:
    parsed = parse("FROM python:3.11-slim\n")
    target = _Target(IMAGES, frozenset(IMAGES), NS)
    with pytest.raises(RewriteError, match=r"line 1: .*not a pinned local image"):
        verify("FROM python:3.11-slim\n", parsed, target)
    with pytest.raises(RewriteError, match=r"line 1: .*not a pinned local image"):
        verify(f"FROM --platform=linux/arm64 {alias_of(PY)}\n", parsed, target)


def test_verification_refuses_a_rewrite_that_moves_instructions() -> None:
    parsed = parse("FROM python:3.11-slim\nRUN true\n")
    target = _Target(IMAGES, frozenset(IMAGES), NS)
    with pytest.raises(RewriteError, match="could not be prepared safely"):
        verify(f"FROM {alias_of(PY)}\n\nRUN true\n", parsed, target)


def test_a_heredoc_with_a_cache_mount_is_refused_plainly() -> None:
    text = "FROM python:3.11-slim\nRUN --mount=type=cache,target=/c <<EOF\necho hi\nEOF\n"
    with pytest.raises(RewriteError, match="line 2: RUN with a heredoc cannot also use --mount=type=cache"):
        rewrite_for_engine(text, parse(text), images=IMAGES, namespace=NS)


def test_a_namespace_must_be_a_keyed_hash() -> None:
    with pytest.raises(ValueError, match="not a cache namespace"):
        rewrite_for_engine("FROM scratch\n", parse("FROM scratch\n"), images=IMAGES, namespace="u7")


def test_a_distroless_base_with_a_registry_and_a_tag_is_pinned_to_the_local_image() -> None:
    static = LocalImage("gcr.io/distroless/static-debian12:latest", "sha256:" + "d" * 64)
    nonroot = LocalImage("gcr.io/distroless/static-debian12:nonroot", "sha256:" + "e" * 64)
    images = {static.ref: static, nonroot.ref: nonroot, PY.ref: PY}
    text = (
        "FROM python:3.11-slim AS build\n"
        "FROM gcr.io/distroless/static-debian12:nonroot\n"
        "COPY --from=gcr.io/distroless/static-debian12 /etc/passwd /passwd\n"
        "FROM gcr.io/distroless/static-debian12@" + static.id + "\n"
    )
    assert check_dockerfile(text.encode(), allowed_bases=[*images], local_images=images) == []

    out = rewrite_for_engine(text, parse(text), images=images, namespace=NS).split("\n")

    assert out == [
        f"FROM {alias_of(PY)} AS build",
        f"FROM {alias_of(nonroot)}",
        f"COPY --from={alias_of(static)} /etc/passwd /passwd",
        f"FROM {alias_of(static)}",
        "",
    ]
