"""Fixtures shared by the test files of one sandbox package: images built, loaded or analysed for
the sandbox.layers tests (test_layers_*.py), and the images and labels of the sandbox.run tests
(test_run_*.py). Every image and container a fixture makes is removed."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from sandbox import engine
from sandbox.layers.analyse import forget_memory
from tests.sandbox import run_images


@pytest.fixture
def archive_file() -> Iterator[Callable[[bytes], str]]:
    with tempfile.TemporaryDirectory(prefix="layerlab-archive-") as tmp:
        counter = iter(range(1_000_000))

        def write(data: bytes) -> str:
            path = Path(tmp) / f"image-{next(counter)}.tar"
            path.write_bytes(data)
            return str(path)

        yield write


@pytest.fixture
def cache_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="layerlab-layer-cache-") as tmp:
        yield Path(tmp)
    forget_memory()


def _build_image(dockerfile: str, files: Mapping[str, bytes], tags: list[str]) -> str:
    tag = f"layerlab-test/layers:{uuid.uuid4().hex[:12]}"
    tags.append(tag)
    cli = engine.build_cli()
    with tempfile.TemporaryDirectory(prefix="layerlab-layers-ctx-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        for name, content in files.items():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            (ctx / name).write_bytes(content)
        done = subprocess.run(
            [*cli.argv, "--network=none", "--progress=plain", "--tag", tag, str(ctx)],
            env={**os.environ, **cli.env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tag


@pytest.fixture(scope="module")
def images() -> Iterator[Callable[..., str]]:
    """Builds images offline for this module and removes every one of them at the end."""
    tags: list[str] = []
    built: dict[str, str] = {}

    def build(dockerfile: str, files: Mapping[str, bytes] | None = None) -> str:
        key = dockerfile + repr(sorted((files or {}).items()))
        if key not in built:
            built[key] = _build_image(dockerfile, files or {}, tags)
        return built[key]

    yield build
    for tag in tags:
        engine.image_remove(tag)


@pytest.fixture
def loaded() -> Iterator[Callable[[str], str]]:
    """`docker load`s a hand-made archive and removes the image afterwards."""
    refs: list[str] = []

    def load(path: str) -> str:
        done = subprocess.run(
            [engine.build_cli().argv[0], "load", "--input", path], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        ref = done.stdout.strip().rsplit(" ", 1)[-1]
        refs.append(ref)
        return ref

    yield load
    for ref in refs:
        engine.image_remove(ref)


@pytest.fixture
def labels() -> Iterator[dict[str, str]]:
    """A label of this test's own; whatever the test did, no container may carry it afterwards."""
    value = f"test-run-{uuid.uuid4().hex[:10]}"
    yield {engine.LABEL_SUBMISSION: value}
    assert engine.labelled_leftovers(value=value) == {"containers": [], "images": []}


@pytest.fixture(scope="module")
def app_image() -> Iterator[str]:
    ref = run_images.build(
        run_images.tag("app"),
        {
            "Dockerfile": (
                f"FROM {run_images.DEBIAN}\n"
                "RUN groupadd -g 10001 app && useradd -u 10001 -g 10001 -M -d /app app \\\n"
                " && mkdir /app && printf 'version=1.2.3\\nchannel=stable\\n' > /app/VERSION \\\n"
                " && chown 10001:10001 /app/VERSION && chmod 640 /app/VERSION \\\n"
                " && printf '#!/bin/sh\\necho hi\\n' > /app/run.sh && chmod 755 /app/run.sh \\\n"
                " && ln -s VERSION /app/current\n"
                "ENV APP_HOME=/app GREETING=hello\n"
                'LABEL org.example.vendor="ACME" org.example.build="2024-05-01"\n'
                "EXPOSE 8080\n"
                "VOLUME /data\n"
                "WORKDIR /app\n"
                "USER 10001\n"
                'ENTRYPOINT ["/bin/false"]\n'
                'CMD ["serve"]\n'
            )
        },
    )
    yield ref
    engine.image_remove(ref)


@pytest.fixture(scope="module")
def scratch_images() -> Iterator[dict[str, str]]:
    """A static Go binary in `scratch`: no shell, no `id`, one with a numeric USER and one with a
    named USER resolved through a copied /etc/passwd."""
    files = {
        "main.go": run_images.HELLO_GO,
        "passwd": "root:x:0:0:root:/:/hello\napp:x:4242:4343:app:/:/hello\n",
        "Dockerfile": (
            f"FROM {run_images.GOLANG} AS build\n"
            "WORKDIR /src\n"
            "COPY main.go .\n"
            "RUN CGO_ENABLED=0 go build -o /hello main.go\n"
            "FROM scratch AS named\n"
            "COPY --from=build /hello /hello\n"
            "COPY passwd /etc/passwd\n"
            "USER app\n"
            'ENTRYPOINT ["/hello"]\n'
            "FROM scratch AS numeric\n"
            "COPY --from=build /hello /hello\n"
            "USER 65534\n"
            'ENTRYPOINT ["/hello"]\n'
        ),
    }
    refs = {
        "numeric": run_images.build(run_images.tag("scratch-numeric"), files, target="numeric"),
        "named": run_images.build(run_images.tag("scratch-named"), files, target="named"),
    }
    yield refs
    for ref in refs.values():
        engine.image_remove(ref)
