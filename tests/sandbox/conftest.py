"""Fixtures shared by the test files of one sandbox package: images built, loaded or analysed for
the sandbox.layers tests (test_layers_*.py). Every image a fixture makes is removed."""

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
